import { afterEach, describe, expect, it } from 'vitest';
import type { ContentMessage } from '../../../shared/core/contentMessage.js';
import { DAY_MS, HOUR_MS, MINUTE_MS } from '../../../shared/core/windows.js';
import { RecordingLogger } from '../../fakes/ports.js';
import { listedIds, newTenantId, startHarness, T0, type Harness } from '../harness.js';

/**
 * Discovery that misses nothing, against the simulated tenant and Azurite: onboarding with a first-content
 * delay and a backfill, a first run that fails for 30 hours, a blob listed hours late, an unusable entry on a
 * page, a corrupt cursor, a disabled subscription.
 */
const EXCHANGE = 'Audit.Exchange' as const;
const stream = (tenantId: string) => ({ tenantId, contentType: EXCHANGE });
let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const ids = (messages: ContentMessage[]) => messages.map((m) => m.contentId).sort();

/** Polls every `stepMs` until `untilMs` (feed clock), draining the queue; returns every contentId enqueued. */
async function pollUntil(harness: Harness, untilMs: number, stepMs: number): Promise<string[]> {
  const enqueued: string[] = [];
  for (;;) {
    await harness.poll();
    enqueued.push(...ids(await harness.drainQueue()));
    if (harness.clock.now() + stepMs > untilMs) return enqueued;
    harness.clock.advance(stepMs);
  }
}

describe('onboarding: the first content appears hours after /start, with a backlog behind it', () => {
  it('every blob the API lists for the lookback is enqueued, though the first polls find nothing', async () => {
    const tenantId = newTenantId();
    h = await startHarness({
      tenants: [{ tenantId, blobsPerHour: 6, firstContent: { delayInMs: 11 * HOUR_MS, backfillInMs: 22 * HOUR_MS } }],
      env: { O365_CONTENT_TYPES: EXCHANGE },
    });
    const enqueued = await pollUntil(h, T0 + 13 * HOUR_MS, 30 * MINUTE_MS);
    // The backlog: 22 h before the start, listable from T0 + 11 h.
    const expected = listedIds(h.sim, tenantId, EXCHANGE, T0 - 24 * HOUR_MS, h.clock.now() - 10 * MINUTE_MS);
    expect(h.sim.blobs(tenantId, EXCHANGE, T0 - 24 * HOUR_MS, T0 - 12 * HOUR_MS).length).toBeGreaterThan(50); // the backlog
    expect(expected.length).toBeGreaterThan(200);
    expect(enqueued.sort()).toEqual(expected);
    expect(new Set(enqueued).size).toBe(enqueued.length);
    const state = (await h.wiring.cursors.read(stream(tenantId)))!.state;
    expect(state).toMatchObject({ intendedStart: new Date(T0 - 24 * HOUR_MS).toISOString(), enabledAt: new Date(T0).toISOString(), gapCount: 0 });
    expect(await h.wiring.gaps.list(stream(tenantId))).toEqual([]);
  });

  it('re-lists from the intended start until the subscription has been enabled 24 h, then only the overlap', async () => {
    const tenantId = newTenantId();
    h = await startHarness({ tenants: [{ tenantId, blobsPerHour: 1 }], env: { O365_CONTENT_TYPES: EXCHANGE } });
    await h.poll();
    const firstStarts = () => h!.sim.requestLog().filter((r) => r.op === 'content' && !('nextPage' in r.query)).map((r) => Date.parse(`${r.query.startTime}Z`));
    h.clock.advance(23 * HOUR_MS);
    h.sim.resetStats();
    await h.poll();
    expect(Math.min(...firstStarts())).toBe(T0 - 24 * HOUR_MS);
    h.clock.advance(2 * HOUR_MS);
    h.sim.resetStats();
    await h.poll();
    expect(Math.min(...firstStarts())).toBe(h.clock.now() - 2 * HOUR_MS - 10 * MINUTE_MS - 2 * HOUR_MS);
    expect((await h.wiring.cursors.read(stream(tenantId)))!.state.intendedStart).toBeUndefined();
  });
});

describe('a first run that fails for 30 hours, then succeeds', () => {
  it('lists from the original intended start (still inside 7 days): every blob arrives, no gap', async () => {
    const tenantId = newTenantId();
    h = await startHarness({ tenants: [{ tenantId, blobsPerHour: 4 }], env: { O365_CONTENT_TYPES: EXCHANGE } });
    // E.g. consent not granted yet: every call fails until T0 + 30 h.
    h.sim.faults.inject({ op: 'start', activeUntil: T0 + 30 * HOUR_MS, fault: { kind: 'status', status: 503 } });
    const [first] = await h.poll();
    expect(first?.outcome).toBe('failed');
    expect((await h.wiring.cursors.read(stream(tenantId)))!.state.intendedStart).toBe(new Date(T0 - 24 * HOUR_MS).toISOString());
    h.clock.advance(15 * HOUR_MS);
    expect((await h.poll())[0]?.outcome).toBe('failed');
    h.clock.advance(15 * HOUR_MS + 5 * MINUTE_MS);
    const [ok] = await h.poll();
    expect(ok?.outcome).toBe('complete');
    const expected = listedIds(h.sim, tenantId, EXCHANGE, T0 - 24 * HOUR_MS, h.clock.now() - 10 * MINUTE_MS);
    expect(ids(await h.drainQueue())).toEqual(expected);
    expect(expected.length).toBeGreaterThan(4 * 50);
    const state = (await h.wiring.cursors.read(stream(tenantId)))!.state;
    expect(state.gapCount).toBe(0);
    expect(await h.wiring.gaps.list(stream(tenantId))).toEqual([]);
  });
});

describe('the retention sweep', () => {
  it('finds a blob listable only 6 h after its contentCreated, long after the overlap passed it; its lateness is on the sweep row', async () => {
    const tenantId = newTenantId();
    const logger = new RecordingLogger();
    h = await startHarness({ tenants: [{ tenantId, blobsPerHour: 2 }], env: { O365_CONTENT_TYPES: EXCHANGE }, logger });
    // A day after onboarding: the re-listing after the subscription start is over.
    await pollUntil(h, T0 + 25 * HOUR_MS, 5 * HOUR_MS);
    await h.drainQueue();
    const t = h.clock.now();
    const late = h.sim.addBlob(tenantId, EXCHANGE, { contentCreated: t - 30 * MINUTE_MS, visibleAt: t + 5 * HOUR_MS + 30 * MINUTE_MS, records: [{ Id: 'late' }] });
    const polled = await pollUntil(h, t + 5 * HOUR_MS + 45 * MINUTE_MS, 15 * MINUTE_MS);
    expect(polled).not.toContain(late.contentId); // the overlap moved past it hours ago
    const [swept] = await h.sweep();
    expect(swept).toMatchObject({ outcome: 'complete', blobsFound: 1 });
    const queued = await h.drainQueue();
    expect(ids(queued)).toEqual([late.contentId]);
    expect(await h.wiring.ledger.get(stream(tenantId), late.contentId)).toMatchObject({ status: 'listed', foundBy: 'sweep' });
    const state = await h.wiring.sweeps.read(stream(tenantId));
    expect(state).toMatchObject({ lastOutcome: 'complete', blobsFound: 1 });
    // The sweep covers what the stream was meant to cover: from its initial lookback (inside 7 days) on.
    expect(state!.blobsListed).toBeGreaterThan(95);
    expect(state!.blobsListed).toBeLessThan(125);
    expect(state!.apiCalls).toBeGreaterThanOrEqual(2);
    expect(state!.lateness).toHaveLength(1);
    expect(state!.lateness[0]![1]).toBe(h.clock.now() - (t - 30 * MINUTE_MS));
    const warning = logger.lines.find((l) => l.level === 'warn' && /OVERLAP_MINUTES/.test(l.message));
    expect(warning?.fields).toMatchObject({ contentId: late.contentId });
    // A second sweep finds nothing new.
    const [again] = await h.sweep();
    expect(again).toMatchObject({ outcome: 'complete', blobsFound: 0 });
    // Every blob it listed is a listing fact.
    const hour = new Date(t - 30 * MINUTE_MS).toISOString().slice(0, 13);
    const facts = [];
    for await (const f of h.wiring.listings.hour(stream(tenantId), hour)) facts.push(f);
    expect(facts.find((f) => f.contentId === late.contentId)).toMatchObject({ by: 'sweep' });
  });
});

describe('a bad listing entry never stalls a stream', () => {
  it('one unusable entry beside good ones: the good ones are enqueued, the bad one is failed with a reason and quarantined', async () => {
    const tenantId = newTenantId();
    h = await startHarness({ tenants: [{ tenantId, blobsPerHour: 6 }], env: { O365_CONTENT_TYPES: EXCHANGE, INITIAL_LOOKBACK_HOURS: '3' } });
    h.sim.faults.inject({ op: 'content', times: 1, fault: { kind: 'unusable-entry', entry: 'space-in-id' } });
    const [result] = await h.poll();
    expect(result?.outcome).toBe('complete');
    const expected = listedIds(h.sim, tenantId, EXCHANGE, T0 - 3 * HOUR_MS, T0 - 10 * MINUTE_MS);
    expect(ids(await h.drainQueue())).toEqual(expected);
    const rows = [];
    for await (const row of h.wiring.ledger.query(stream(tenantId), { statuses: ['failed'] })) rows.push(row);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.lastError).toMatch(/contentId/);
    expect(rows[0]!.contentId).toMatch(/^unusable-/);
    const container = h.wiring.storage.blobService().getContainerClient('quarantine');
    const names: string[] = [];
    for await (const b of container.listBlobsFlat({ prefix: `listings/${tenantId}/` })) names.push(b.name);
    expect(names).toHaveLength(1);
    const kept = JSON.parse((await container.getBlobClient(names[0]!).downloadToBuffer()).toString('utf8')) as { reason: string; entry: string };
    expect(kept.entry).toMatch(/ copy/);
    // The same entry on a later listing is not recorded twice.
    h.sim.faults.inject({ op: 'content', times: 1, fault: { kind: 'unusable-entry', entry: 'space-in-id' } });
    h.clock.advance(5 * MINUTE_MS);
    expect((await h.poll())[0]?.outcome).toBe('complete');
    const again = [];
    for await (const row of h.wiring.ledger.query(stream(tenantId), { statuses: ['failed'] })) again.push(row);
    expect(again).toHaveLength(1);
  });

  it('an entry without contentUri or contentExpiration is still delivered', async () => {
    const tenantId = newTenantId();
    h = await startHarness({ tenants: [{ tenantId, blobsPerHour: 6 }], env: { O365_CONTENT_TYPES: EXCHANGE, INITIAL_LOOKBACK_HOURS: '3' } });
    h.sim.faults.inject({ op: 'content', times: 1, fault: { kind: 'unusable-entry', entry: 'no-uri' } });
    h.sim.faults.inject({ op: 'content', times: 1, fault: { kind: 'unusable-entry', entry: 'no-expiration' } });
    const [result] = await h.poll();
    expect(result?.outcome).toBe('complete');
    const queued = await h.drainQueue();
    expect(ids(queued)).toEqual(listedIds(h.sim, tenantId, EXCHANGE, T0 - 3 * HOUR_MS, T0 - 10 * MINUTE_MS));
    for (const m of queued) {
      expect(m.contentUri).toBe(`${h.sim.url}/api/v1.0/${tenantId}/activity/feed/audit/${m.contentId}`);
      expect(Number.isNaN(Date.parse(m.contentExpiration))).toBe(false);
    }
  });
});

describe('cursors that cannot lie', () => {
  it.each([
    ['does not parse', 'garbage'],
    ['lies in the future', new Date(T0 + DAY_MS).toISOString()],
  ])('a cursor that %s is reported on the row (InvalidCursor), never "complete"; the sweep still covers the stream', async (_what, cursor) => {
    const tenantId = newTenantId();
    h = await startHarness({ tenants: [{ tenantId, blobsPerHour: 2 }], env: { O365_CONTENT_TYPES: EXCHANGE } });
    await h.poll();
    const polled = new Set(ids(await h.drainQueue()));
    const row = (await h.wiring.cursors.read(stream(tenantId)))!;
    await h.wiring.cursors.write(stream(tenantId), { ...row.state, cursor }, row.etag);
    const blob = h.sim.addBlob(tenantId, EXCHANGE, { contentCreated: T0 + 10 * MINUTE_MS, records: [{ Id: 'x' }] });
    h.clock.advance(30 * MINUTE_MS);
    const [result] = await h.poll();
    expect(result?.outcome).toBe('failed');
    expect((await h.wiring.cursors.read(stream(tenantId)))!.state).toMatchObject({ lastErrorCode: 'InvalidCursor', consecutiveFailures: 1, cursor });
    expect(await h.drainQueue()).toEqual([]);
    const [swept] = await h.sweep();
    // What no poll enqueued: the added blob, those created since the last good poll, and any blob of the
    // lookback that was not yet visible at that poll (the simulated visibility delay is random).
    const unpolled = listedIds(h.sim, tenantId, EXCHANGE, T0 - h.config.poll.initialLookbackHours * HOUR_MS, h.clock.now() - 10 * MINUTE_MS).filter((id) => !polled.has(id));
    expect(unpolled).toContain(blob.contentId);
    expect(swept?.blobsFound).toBe(unpolled.length);
    expect(ids(await h.drainQueue())).toEqual(unpolled);
  });
});

describe('a subscription disabled for a while', () => {
  it('records the unreadable time as a provisional gap at the restart, and shrinks it to what the re-listing could not cover once it is over', async () => {
    const tenantId = newTenantId();
    h = await startHarness({ tenants: [{ tenantId, blobsPerHour: 6 }], env: { O365_CONTENT_TYPES: EXCHANGE } });
    await h.poll();
    await h.drainQueue();
    h.clock.advance(HOUR_MS);
    const disabledAt = h.clock.now();
    h.sim.setSubscription(tenantId, EXCHANGE, 'disabled');
    h.clock.advance(2 * HOUR_MS);
    const [restarted] = await h.poll();
    expect(restarted?.outcome).toBe('complete');
    const restartAt = h.clock.now();
    const [provisional] = await h.wiring.gaps.list(stream(tenantId));
    expect(provisional).toMatchObject({ cause: 'subscriptionDisabled', provisional: true, start: new Date(T0 - 10 * MINUTE_MS).toISOString(), end: new Date(restartAt).toISOString() });
    await pollUntil(h, restartAt + 25 * HOUR_MS, 3 * HOUR_MS);
    const gaps = await h.wiring.gaps.list(stream(tenantId));
    expect(gaps).toHaveLength(1);
    const gap = gaps[0]!;
    expect(gap).toMatchObject({ cause: 'subscriptionDisabled', end: new Date(restartAt).toISOString() });
    expect(gap.provisional).toBeFalsy();
    // The newest blob listed before the subscription was disabled bounds the gap: it starts just after it.
    const before = h.sim.blobs(tenantId, EXCHANGE, T0 - HOUR_MS, disabledAt).map((b) => Date.parse(b.contentCreated));
    expect(Date.parse(gap.start)).toBe(Math.max(...before) + 1);
    expect((await h.wiring.cursors.read(stream(tenantId)))!.state).toMatchObject({ gapCount: 1, subscription: 'enabled' });
  });
});
