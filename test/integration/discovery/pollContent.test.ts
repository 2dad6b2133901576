import { afterEach, describe, expect, it } from 'vitest';
import { DAY_MS, HOUR_MS, LISTING_RETENTION_MS, MINUTE_MS } from '../../../shared/core/windows.js';
import { RecordingLogger } from '../../fakes/ports.js';
import { listedIds, newTenantId, startHarness, T0, type Harness } from '../harness.js';

const EXCHANGE = 'Audit.Exchange' as const;
let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

function ids(messages: { contentId: string }[]): string[] {
  return messages.map((m) => m.contentId).sort();
}

async function cursorOf(tenantId: string) {
  return (await h!.wiring.cursors.read({ tenantId, contentType: EXCHANGE }))?.state;
}

describe('pollContent against the simulated tenant and Azurite', () => {
  it('first run: starts the subscription, enqueues every blob of the lookback once, advances the cursor', async () => {
    const tenantId = newTenantId();
    h = await startHarness({ tenants: [{ tenantId, blobsPerHour: 6 }], env: { O365_CONTENT_TYPES: EXCHANGE } });
    const [result] = await h.poll();
    expect(result?.outcome).toBe('complete');
    const expected = listedIds(h.sim, tenantId, EXCHANGE, T0 - 24 * HOUR_MS, T0 - 10 * MINUTE_MS);
    expect(expected.length).toBeGreaterThan(100);
    const queued = await h.drainQueue();
    expect(ids(queued)).toEqual(expected);
    expect(queued[0]).toMatchObject({ v: 1, tenantId, contentType: EXCHANGE });
    expect(h.sim.subscription(tenantId, EXCHANGE)).toMatchObject({ status: 'enabled', startCalls: 1 });
    expect(await cursorOf(tenantId)).toMatchObject({ cursor: new Date(T0 - 10 * MINUTE_MS).toISOString(), subscription: 'enabled', consecutiveFailures: 0 });
    const row = await h.wiring.ledger.get({ tenantId, contentType: EXCHANGE }, expected[0]!);
    expect(row).toMatchObject({ status: 'listed', attempts: 0 });
    expect(row?.enqueuedAt).toBeDefined();
  });

  it('overlapping re-lists enqueue nothing twice; a blob listed late inside a polled window is still found', async () => {
    const tenantId = newTenantId();
    h = await startHarness({ tenants: [{ tenantId, blobsPerHour: 6 }], env: { O365_CONTENT_TYPES: EXCHANGE } });
    await h.poll();
    const first = ids(await h.drainQueue());
    // A blob created 50 minutes ago that only becomes listable 15 minutes from now.
    const late = h.sim.addBlob(tenantId, EXCHANGE, { contentCreated: T0 - 50 * MINUTE_MS, visibleAt: T0 + 15 * MINUTE_MS, records: [{ Id: 'late-record' }] });
    for (let i = 0; i < 4; i++) {
      h.clock.advance(5 * MINUTE_MS);
      await h.poll();
    }
    const later = ids(await h.drainQueue());
    expect(later).toContain(late.contentId);
    expect(later.filter((id) => first.includes(id))).toEqual([]); // nothing enqueued twice
    const all = listedIds(h.sim, tenantId, EXCHANGE, T0 - 24 * HOUR_MS, h.clock.now() - 10 * MINUTE_MS);
    expect([...first, ...later].sort()).toEqual(all);
  });

  it('catches up after a 3-day outage in windows under 24 h, missing nothing', async () => {
    const tenantId = newTenantId();
    h = await startHarness({ tenants: [{ tenantId, blobsPerHour: 4 }], env: { O365_CONTENT_TYPES: EXCHANGE } });
    await h.poll();
    const before = ids(await h.drainQueue());
    h.clock.advance(3 * DAY_MS);
    h.sim.resetStats();
    const [result] = await h.poll();
    expect(result).toMatchObject({ outcome: 'complete', windowsPlanned: 4, windowsListed: 4 });
    const windows = h.sim.requestLog().filter((r) => r.op === 'content' && !('nextPage' in r.query));
    for (const w of windows) expect(Date.parse(`${w.query.endTime}Z`) - Date.parse(`${w.query.startTime}Z`)).toBeLessThan(DAY_MS);
    const after = ids(await h.drainQueue());
    const expected = listedIds(h.sim, tenantId, EXCHANGE, T0 - 24 * HOUR_MS, h.clock.now() - 10 * MINUTE_MS);
    expect([...before, ...after].sort()).toEqual(expected);
  });

  it('an outage longer than 7 days is clamped inside the limit and the gap is recorded loudly', async () => {
    const tenantId = newTenantId();
    const logger = new RecordingLogger();
    h = await startHarness({ tenants: [{ tenantId, blobsPerHour: 1 }], env: { O365_CONTENT_TYPES: EXCHANGE }, logger });
    await h.poll();
    await h.drainQueue();
    h.clock.advance(10 * DAY_MS);
    const [result] = await h.poll();
    expect(result?.outcome).toBe('complete'); // no AF20055: the start was clamped
    const state = await cursorOf(tenantId);
    expect(state).toMatchObject({ gapCount: 1, lastGapStart: new Date(T0 - 10 * MINUTE_MS).toISOString() });
    expect(Date.parse(state!.lastGapEnd!)).toBeGreaterThan(h.clock.now() - LISTING_RETENTION_MS);
    expect(state!.gapTotalMs).toBeGreaterThan(3 * DAY_MS - HOUR_MS);
    expect(logger.lines.some((l) => l.level === 'warn' && l.message.startsWith('content gap'))).toBe(true);
  });

  it('pages across many pages', async () => {
    const tenantId = newTenantId();
    h = await startHarness({ tenants: [{ tenantId, blobsPerHour: 12 }], sim: { pageSize: 7 }, env: { O365_CONTENT_TYPES: EXCHANGE } });
    const [result] = await h.poll();
    const expected = listedIds(h.sim, tenantId, EXCHANGE, T0 - 24 * HOUR_MS, T0 - 10 * MINUTE_MS);
    expect(result!.pagesListed).toBeGreaterThan(40);
    expect(ids(await h.drainQueue())).toEqual(expected);
  });

  it('a failure on page N leaves the cursor unchanged and a rerun enqueues exactly the missing blobs', async () => {
    const tenantId = newTenantId();
    h = await startHarness({ tenants: [{ tenantId, blobsPerHour: 12 }], sim: { pageSize: 10 }, env: { O365_CONTENT_TYPES: EXCHANGE, INITIAL_LOOKBACK_HOURS: '12' } });
    // Every request for a second page fails (AF20031) until the fault is used up, past the client's retries.
    h.sim.faults.inject({ op: 'content', times: 4, fault: { kind: 'stale-next-page' } });
    const [failed] = await h.poll();
    expect(failed?.outcome).toBe('failed');
    const state = await cursorOf(tenantId);
    expect(state?.cursor).toBeUndefined();
    expect(state).toMatchObject({ consecutiveFailures: 1, lastErrorCode: 'InvalidPageToken/AF20031' });
    const firstPage = ids(await h.drainQueue());
    expect(firstPage).toHaveLength(10);
    const [rerun] = await h.poll();
    expect(rerun?.outcome).toBe('complete');
    const rest = ids(await h.drainQueue());
    const expected = listedIds(h.sim, tenantId, EXCHANGE, T0 - 12 * HOUR_MS, T0 - 10 * MINUTE_MS);
    expect(rest).toHaveLength(expected.length - 10);
    expect([...firstPage, ...rest].sort()).toEqual(expected);
  });

  it('two pollers at once neither double-enqueue nor lose a cursor write', async () => {
    const tenantId = newTenantId();
    h = await startHarness({ tenants: [{ tenantId, blobsPerHour: 12 }], sim: { pageSize: 20 }, env: { O365_CONTENT_TYPES: EXCHANGE } });
    const results = await Promise.all([h.poll(), h.poll(h.secondWiring())]);
    const outcomes = results.map(([r]) => r!.outcome).sort();
    expect(outcomes.filter((o) => o === 'complete').length).toBeGreaterThanOrEqual(1);
    const queued = ids(await h.drainQueue());
    expect(queued).toEqual(listedIds(h.sim, tenantId, EXCHANGE, T0 - 24 * HOUR_MS, T0 - 10 * MINUTE_MS));
    expect(new Set(queued).size).toBe(queued.length);
    expect((await cursorOf(tenantId))?.cursor).toBe(new Date(T0 - 10 * MINUTE_MS).toISOString());
  });

  it('AF20022 → start → list', async () => {
    const tenantId = newTenantId();
    h = await startHarness({ tenants: [{ tenantId, blobsPerHour: 2 }], env: { O365_CONTENT_TYPES: EXCHANGE } });
    await h.poll();
    await h.drainQueue();
    h.sim.setSubscription(tenantId, EXCHANGE, 'none'); // e.g. stopped by someone
    h.clock.advance(20 * MINUTE_MS);
    const [result] = await h.poll();
    expect(result?.outcome).toBe('complete');
    expect(h.sim.subscription(tenantId, EXCHANGE).status).toBe('enabled');
    const codes = h.sim.requestLog().filter((r) => r.op === 'content' || r.op === 'start').map((r) => `${r.op}:${r.outcome}`);
    expect(codes).toContain('content:400');
    expect(codes.slice(codes.indexOf('content:400') + 1, codes.indexOf('content:400') + 3)).toEqual(['start:200', 'content:200']);
  });

  it('AF20023 after a start surfaces on the stream as an actionable error', async () => {
    const tenantId = newTenantId();
    h = await startHarness({ tenants: [{ tenantId, blobsPerHour: 2 }], env: { O365_CONTENT_TYPES: EXCHANGE } });
    await h.poll();
    h.sim.setSubscription(tenantId, EXCHANGE, 'disabled', { adminLocked: true });
    h.clock.advance(20 * MINUTE_MS);
    const [result] = await h.poll();
    expect(result?.outcome).toBe('failed');
    const state = await cursorOf(tenantId);
    expect(state).toMatchObject({ subscription: 'disabled', lastErrorCode: 'SubscriptionDisabled/AF20023', consecutiveFailures: 1 });
    expect(state?.lastError).toMatch(/disabled by an administrator and starting it did not re-enable it/);
  });

  it('one tenant failing (audit log off) while another succeeds', async () => {
    const good = newTenantId();
    const bad = newTenantId();
    h = await startHarness({ tenants: [{ tenantId: good, blobsPerHour: 2 }, { tenantId: bad, blobsPerHour: 2, auditingEnabled: false }], env: { O365_CONTENT_TYPES: EXCHANGE } });
    const results = await h.poll();
    const byTenant = Object.fromEntries(results.map((r) => [r.stream.tenantId, r]));
    expect(byTenant[good]?.outcome).toBe('complete');
    expect(byTenant[bad]?.outcome).toBe('failed');
    const badState = (await h.wiring.cursors.read({ tenantId: bad, contentType: EXCHANGE }))?.state;
    expect(badState?.lastErrorCode).toMatch(/^AuditingDisabled/);
    expect(badState?.lastError).toMatch(/unified audit logging appears to be turned off/);
    const queued = await h.drainQueue();
    expect(new Set(queued.map((m) => m.tenantId))).toEqual(new Set([good]));
  });
});
