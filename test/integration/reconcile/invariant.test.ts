import { HttpRequest, InvocationContext, type Timer } from '@azure/functions';
import { describe, expect, it } from 'vitest';
import { handleReconcileTimer } from '../../../functions/reconcile.js';
import { handleStatusRequest } from '../../../functions/status.js';
import { hourOf } from '../../../shared/core/invariant.js';
import type { StreamKey } from '../../../shared/core/model.js';
import { DAY_MS, HOUR_MS, MINUTE_MS } from '../../../shared/core/windows.js';
import type { HourAccount, InvariantState } from '../../../shared/core/accounting.js';
import type { LedgerEntry, ListingFact } from '../../../shared/core/ledger.js';
import { reconcile } from '../../../shared/usecases/reconcile.js';
import { RecordingLogger } from '../../fakes/ports.js';
import { newTenantId, T0, type Harness } from '../harness.js';
import { ingestWorker, startDeliveryStack } from '../setup.js';

const HUB = 'm365-audit';
const { startHarness, startHarnessWithoutBroker } = await startDeliveryStack(HUB, 2);

const timer = { isPastDue: false, schedule: { adjustForDST: false }, scheduleStatus: { last: '', next: '', lastUpdated: '' } } as unknown as Timer;
const context = () => new InvocationContext({ functionName: 'reconcile', invocationId: 'test', logHandler: () => undefined });

interface StatusBody {
  state: string;
  invariantHolds: boolean;
  streams: Array<{ contentType: string; state: string; reasons: string[]; invariant: InvariantState; health: { hours: HourAccount[] } }>;
}

async function statusOf(harness: Harness): Promise<StatusBody['streams'][number]> {
  await handleReconcileTimer(timer, context(), harness.wiring);
  const response = await handleStatusRequest(new HttpRequest({ url: 'http://localhost/api/status', method: 'GET' }), context(), harness.wiring);
  return (response.jsonBody as StatusBody).streams[0]!;
}

describe('the completeness invariant against Azurite, the simulated tenant and the broker', () => {
  it('holds on a healthy run, then fails on a row deleted by hand, a listed blob the ledger lacks, and a done row short of events', async () => {
    const tenantId = newTenantId();
    const stream: StreamKey = { tenantId, contentType: 'Audit.Exchange' };
    const harness = await startHarness({ tenants: [{ tenantId, blobsPerHour: 3, recordsPerBlob: 6, contentTypes: ['Audit.Exchange'] }], env: { INITIAL_LOOKBACK_HOURS: '4', O365_CONTENT_TYPES: 'Audit.Exchange' } });
    const worker = ingestWorker(harness);
    expect((await harness.poll())[0]?.outcome).toBe('complete');
    await worker.drain();
    // The listing facts of what the API listed (the simulator's own listing of the polled range), as discovery writes them.
    const listed = harness.sim.blobs(tenantId, 'Audit.Exchange', T0 - 4 * HOUR_MS, T0 - 10 * MINUTE_MS);
    expect(listed.length).toBeGreaterThan(8);
    const facts: ListingFact[] = listed.map((b) => ({ contentId: b.contentId, contentCreated: b.contentCreated, listedAt: new Date(harness.clock.now()).toISOString(), by: 'poll' }));
    await harness.wiring.listings.record(stream, facts);
    harness.clock.advance(20 * MINUTE_MS);

    const healthy = await statusOf(harness);
    expect(healthy.invariant, healthy.reasons.join('; ')).toMatchObject({ holds: true, violations: 0 });
    expect(healthy.invariant.listed).toBe(listed.length);
    expect(healthy.invariant.ledger).toBeGreaterThanOrEqual(listed.length);
    expect(healthy.invariant.records).toBe(healthy.invariant.events);
    const listedRecords = listed.reduce((sum, b) => sum + harness.sim.recordsOf(tenantId, b.contentId).length, 0);
    expect(healthy.invariant.records).toBeGreaterThanOrEqual(listedRecords);
    expect(healthy.health.hours.every((a) => a.holds)).toBe(true);
    expect(healthy.state).not.toBe('failing');

    // A ledger row deleted by hand.
    const [gone, short] = listed;
    await harness.wiring.ledger.forget(stream, [gone!.contentId]);
    const deleted = await statusOf(harness);
    expect(deleted.state).toBe('failing');
    expect(deleted.invariant.examples).toMatchObject([{ contentId: gone!.contentId, problem: 'notInLedger', hour: hourOf(Date.parse(gone!.contentCreated)) }]);
    expect(deleted.health.hours.find((a) => a.hour === hourOf(Date.parse(gone!.contentCreated)))).toMatchObject({ holds: false, notInLedger: 1 });

    // A blob the API lists that the ledger lacks (its insert never happened).
    const phantom = { contentId: `${gone!.contentId}-phantom`, contentCreated: gone!.contentCreated, listedAt: new Date(harness.clock.now() - 30 * MINUTE_MS).toISOString(), by: 'sweep' as const };
    await harness.wiring.listings.record(stream, [phantom]);
    // A done row whose acknowledged events fall short of its records.
    const row = (await harness.wiring.ledger.get(stream, short!.contentId)) as LedgerEntry;
    await harness.wiring.ledger.update(stream, short!.contentId, { events: row.records! - 1 });
    const worse = await statusOf(harness);
    expect(worse.invariant).toMatchObject({ holds: false, violations: 3, byProblem: { notInLedger: 2, countMismatch: 1 } });
    expect(worse.invariant.examples.map((v) => v.contentId).sort()).toEqual([gone!.contentId, phantom.contentId, short!.contentId].sort());
    expect(worse.reasons[0]).toMatch(/^completeness invariant violated: 3 blobs/);
  });
});

describe('ledger retention on Azurite', () => {
  it('deletes rows and facts older than LEDGER_RETENTION_DAYS only once summarized; the invariant still covers them', async () => {
    const tenantId = newTenantId();
    const stream: StreamKey = { tenantId, contentType: 'Audit.General' };
    const h = await startHarnessWithoutBroker({ tenants: [{ tenantId, blobsPerHour: 1, contentTypes: ['Audit.General'] }], env: { O365_CONTENT_TYPES: 'Audit.General' } });
    const { wiring, clock } = h;
    const now = clock.now();
    const rows: LedgerEntry[] = [];
    const facts: ListingFact[] = [];
    for (let hour = 1; hour <= 34 * 24; hour += 2) {
      const created = new Date(now - hour * HOUR_MS + 7 * MINUTE_MS).toISOString();
      const contentId = `r${hour}`;
      rows.push({ ...stream, contentId, contentUri: 'u', contentCreated: created, contentExpiration: new Date(Date.parse(created) + 7 * DAY_MS).toISOString(), listedAt: created, status: 'done', records: 2, events: 2, recordsQuarantined: 0 });
      facts.push({ contentId, contentCreated: created, listedAt: created, by: 'poll' });
    }
    await wiring.listings.record(stream, facts);
    await wiring.ledger.insertIfAbsent(rows);
    const deps = { ...wiring, logger: new RecordingLogger(), metrics: { count() {} } };
    const cutoffHour = hourOf(now - 30 * DAY_MS);
    const oldRows = async () => {
      const out: LedgerEntry[] = [];
      for await (const r of wiring.ledger.query(stream, { createdTo: `${cutoffHour}:00:00.000Z` })) out.push(r);
      return out;
    };

    let health = (await reconcile([stream], deps, { finalizeHoursPerRun: 48 }))[0]!;
    // One run finalized (and then purged) the two oldest days; the rest waits for its final summary.
    const progress = await wiring.summaries.progress(stream);
    const oldest = Date.parse(rows.at(-1)!.contentCreated);
    expect(progress).toMatchObject({ finalizedFrom: hourOf(oldest), finalizedThrough: hourOf(oldest + 48 * HOUR_MS), purgedThrough: hourOf(oldest + 48 * HOUR_MS) });
    const remaining = await oldRows();
    expect(remaining.length).toBeGreaterThan(0);
    for (const r of remaining) expect(r.contentCreated.slice(0, 13) >= progress.finalizedThrough!).toBe(true);

    health = (await reconcile([stream], deps, { finalizeHoursPerRun: 24 * 30 }))[0]!;
    expect(await oldRows()).toEqual([]);
    const oldFacts: ListingFact[] = [];
    for await (const f of wiring.listings.range(stream, '0000', cutoffHour)) oldFacts.push(f);
    expect(oldFacts).toEqual([]);
    expect(health.invariant).toMatchObject({ holds: true, listed: rows.length, ledger: rows.length, records: 2 * rows.length, events: 2 * rows.length });
    const summarized = await wiring.summaries.range(stream, '0000', cutoffHour);
    expect(summarized.length).toBeGreaterThan(3 * 24);
    expect(summarized.every((s) => s.final && s.holds)).toBe(true);
  });
});
