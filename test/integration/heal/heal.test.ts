import { describe, expect, it } from 'vitest';
import { type ContentType, type StreamKey } from '../../../shared/core/model.js';
import { DAY_MS, HOUR_MS, MINUTE_MS } from '../../../shared/core/windows.js';
import type { GapRecord } from '../../../shared/core/gaps.js';
import { healGaps, healRange, type HealGapsDependencies, type HealGapsOptions } from '../../../shared/usecases/healGaps.js';
import { APP_ID, APP_SECRET, newTenantId, T0, type Harness, type HarnessOptions } from '../harness.js';
import { ingestWorker, startDeliveryStack } from '../setup.js';

const HUB = 'm365-audit';
const { broker, startHarness } = await startDeliveryStack(HUB, 4);

interface HubEvent {
  EventId: string;
  EventOriginalUid?: string;
  Source: string;
  SourceContentType: string;
  SourceContentId: string;
  EventSchema: string;
  HealState?: string;
  EventResultDetails?: string;
  EventSeverity?: string;
  Queries?: number;
  RecordsDelivered?: number;
}

function hubEvents(): (HubEvent & { partitionKey?: string })[] {
  return broker.events(HUB).map((e) => ({ ...(JSON.parse(e.body.toString('utf8')) as HubEvent), partitionKey: e.partitionKey }));
}

async function pipeline(setup: Omit<HarnessOptions, 'env'> & { env?: Record<string, string> }) {
  const harness = await startHarness(setup);
  const worker = ingestWorker(harness);
  const deps: HealGapsDependencies = {
    ...harness.wiring,
    clock: harness.clock,
    logger: harness.logger,
    metrics: { count() {} },
    // Waiting for a query moves the shared feed clock: the simulated queries run on it.
    sleep: async (ms) => harness.clock.advance(ms),
  };
  const options = (overrides: Partial<HealGapsOptions> = {}): HealGapsOptions => ({
    automatic: harness.config.heal.enabled,
    lookbehindInMs: harness.config.heal.lookbehindHours * HOUR_MS,
    queriesPerDay: harness.config.heal.queriesPerDay,
    maxRunningQueries: harness.config.heal.maxRunningQueries,
    maxEventBytes: harness.config.ingest.maxEventBytes,
    partitionKeyMode: harness.config.ingest.partitionKeyMode,
    deadlineAtMs: harness.clock.now() + 2 * HOUR_MS,
    ...overrides,
  });
  return { h: harness, worker, deps, options };
}

/** What discovery records for a gap its poll reported. */
function retentionGap(h: Harness, stream: StreamKey, gap: { start: number; end: number }): GapRecord {
  return { ...stream, start: new Date(gap.start).toISOString(), end: new Date(gap.end).toISOString(), cause: 'retention', recordedAt: new Date(h.clock.now()).toISOString() };
}

/** Record ids of every blob created in [from, to) for a stream, listable or long expired. */
function recordIdsOfBlobs(h: Harness, tenantId: string, contentType: ContentType, from: number, to: number): string[] {
  return h.sim.blobsCreated(tenantId, contentType, from, to).flatMap((b) => (h.sim.recordsOf(tenantId, b.contentId) as { Id: string }[]).map((r) => r.Id.toLowerCase()));
}

/** Two streams keep the run short; Audit.General's unfiltered query also picks up record types no other stream claims. */
const STREAMS: ContentType[] = ['Audit.Exchange', 'Audit.General'];

describe('healing gaps from Purview audit search', () => {
  it('a nine-day outage: the two days beyond the Management API retention come from audit search, the rest from the Management API, each record under one EventId', async () => {
    const tenantId = newTenantId();
    const { h, worker, deps, options } = await pipeline({
      tenants: [{ tenantId, blobsPerHour: 1, recordsPerBlob: 4, historyStart: T0 - 12 * DAY_MS, contentTypes: STREAMS }],
      sim: { auditSearch: { pageSize: 200 } },
      // The simulated records reach a blob up to 6 days after they were created.
      env: { O365_CONTENT_TYPES: STREAMS.join(','), INITIAL_LOOKBACK_HOURS: '24', HEAL_LOOKBEHIND_HOURS: '144' },
    });
    // Running normally nine days ago ...
    h.clock.current = T0 - 9 * DAY_MS;
    expect((await h.poll()).every((r) => r.outcome === 'complete')).toBe(true);
    await worker.drain();
    // ... then down for nine days: the first poll after it can list only the last seven.
    h.clock.current = T0;
    const after = await h.poll();
    for (const r of after) {
      expect(r.gap, r.stream.contentType).toBeDefined();
      await h.wiring.gaps.record(retentionGap(h, r.stream, r.gap!));
    }
    await worker.drain();
    const gap = after[0]!.gap!;
    expect(gap.end - gap.start).toBeGreaterThan(2 * DAY_MS - HOUR_MS);
    // What the API listed at that poll (a blob's visibility delay is random: one created just before the
    // settle lag may not be listable yet, and the heal's waits move the clock on).
    const listableAtPoll = new Map(STREAMS.map((ct) => [ct, h.sim.blobs(tenantId, ct, gap.end, T0 - 10 * MINUTE_MS).map((b) => b.contentId)]));
    const fromFeed = new Set(hubEvents().map((e) => e.EventOriginalUid?.toLowerCase()));

    const healed = await healGaps(deps, options(), (g) => g.tenantId === tenantId);
    expect(healed).toHaveLength(STREAMS.length);
    for (const g of healed) {
      expect(g.heal, g.contentType).toMatchObject({ state: 'healed' });
      expect(g.heal!.queries.length).toBeGreaterThan(0);
      for (const q of g.heal!.queries) expect(q).toMatchObject({ id: expect.stringMatching(/^[0-9a-f-]{36}$/), state: 'delivered' });
      expect(g.heal!.recordsDelivered).toBe(g.heal!.recordsFound);
      expect(g.heal!.recordsDelivered).toBeGreaterThan(0);
      // Stored: the completeness view reads it back from the gap table.
      expect((await h.wiring.gaps.list({ tenantId: g.tenantId, contentType: g.contentType as ContentType })).find((x) => x.start === g.start)?.heal?.state).toBe('healed');
    }

    const events = hubEvents().filter((e) => e.EventSchema !== 'PipelineHeal' && e.EventSchema !== 'BlobManifest');
    const eventIdsByRecord = new Map<string, Set<string>>();
    const sourcesByRecord = new Map<string, Set<string>>();
    for (const e of events) {
      const id = e.EventOriginalUid!.toLowerCase();
      (eventIdsByRecord.get(id) ?? eventIdsByRecord.set(id, new Set()).get(id)!).add(e.EventId);
      (sourcesByRecord.get(id) ?? sourcesByRecord.set(id, new Set()).get(id)!).add(e.Source);
    }
    // No record under two EventIds, whichever way it came.
    expect([...eventIdsByRecord].filter(([, ids]) => ids.size > 1)).toEqual([]);

    let gapRecords = 0;
    let fromSearchOnly = 0;
    for (const contentType of STREAMS) {
      // The gap's blobs were never listed: their records came from audit search.
      const inGap = recordIdsOfBlobs(h, tenantId, contentType, gap.start, gap.end);
      gapRecords += inGap.length;
      const missing = inGap.filter((id) => !sourcesByRecord.get(id)?.has('PurviewAuditSearch') && !fromFeed.has(id));
      expect(missing, `${contentType}: records of the gap not delivered`).toEqual([]);
      fromSearchOnly += inGap.filter((id) => !fromFeed.has(id)).length;
      // The seven days after it came from the Management API.
      const listed = listableAtPoll.get(contentType)!.flatMap((contentId) => (h.sim.recordsOf(tenantId, contentId) as { Id: string }[]).map((r) => r.Id.toLowerCase()));
      expect(listed.filter((id) => !sourcesByRecord.get(id)?.has('O365ManagementActivity'))).toEqual([]);
    }
    expect(fromSearchOnly).toBeGreaterThan(100);
    const healedEvents = events.filter((e) => e.Source === 'PurviewAuditSearch');
    expect(healedEvents.every((e) => e.SourceContentId.startsWith('AuditSearch$') && e.partitionKey === e.SourceContentId)).toBe(true);
    const sentTwice = [...sourcesByRecord.values()].filter((s) => s.size > 1).length;
    const heals = hubEvents().filter((e) => e.EventSchema === 'PipelineHeal');
    expect(heals.map((e) => e.HealState)).toEqual(STREAMS.map(() => 'healed'));
    console.info(
      `nine-day outage: gap ${((gap.end - gap.start) / HOUR_MS).toFixed(1)} h; records in gap blobs ${gapRecords}; healed events ${healedEvents.length}; ` +
        `records sent by both sources (same EventId) ${sentTwice}; queries ${healed.reduce((n, g) => n + g.heal!.queries.length, 0)}; splits ${healed.reduce((n, g) => n + (g.heal!.splits ?? 0), 0)}`,
    );
  }, 240_000);

  it('a 500 in the middle of paging: the next run resumes at the saved page, nothing is sent twice', async () => {
    const tenantId = newTenantId();
    const stream: StreamKey = { tenantId, contentType: 'Audit.Exchange' };
    const { h, deps, options } = await pipeline({
      tenants: [{ tenantId, blobsPerHour: 4, recordsPerBlob: 5, contentTypes: ['Audit.Exchange'], historyStart: T0 - 12 * DAY_MS }],
      sim: { auditSearch: { pageSize: 10 } },
      env: { O365_CONTENT_TYPES: 'Audit.Exchange', HEAL_LOOKBEHIND_HOURS: '0' },
    });
    const gap = { start: T0 - 10 * DAY_MS, end: T0 - 10 * DAY_MS + 6 * HOUR_MS };
    await h.wiring.gaps.record(retentionGap(h, stream, gap));
    // Every records page after the first fails, longer than the client's own retries last.
    h.sim.faults.inject({ op: 'auditRecords', skip: 1, times: 1000, fault: { kind: 'status', status: 500 } });
    const [first] = await healGaps(deps, options({ deadlineAtMs: h.clock.now() + 20 * MINUTE_MS }), (g) => g.tenantId === tenantId);
    const q = first!.heal!.queries[0]!;
    expect(first!.heal!.state).toBe('running');
    expect(q).toMatchObject({ state: 'succeeded', delivered: 10, next: expect.stringContaining('/security/auditLog/queries/') });
    expect(h.sim.stats().requests[tenantId]?.auditRecords?.['500']).toBeGreaterThan(4);

    h.sim.faults.clear();
    const [second] = await healGaps(deps, options(), (g) => g.tenantId === tenantId);
    expect(second!.heal).toMatchObject({ state: 'healed' });
    const expected = h.sim
      .auditRecords(tenantId, gap.start, gap.end)
      .filter((r) => [1, 2, 3, 19, 50].includes(Number(r.RecordType)))
      .map((r) => String(r.Id).toLowerCase());
    const served = h.sim.stats().servedAuditRecordIds.map((id) => id.toLowerCase());
    expect(new Set(served).size).toBe(served.length);
    const delivered = hubEvents().filter((e) => e.Source === 'PurviewAuditSearch').map((e) => e.EventOriginalUid!.toLowerCase());
    expect(delivered.sort()).toEqual([...expected].sort());
    expect(second!.heal!.recordsDelivered).toBe(expected.length);
  }, 120_000);

  it('a query over its record-count limit is split until every part fits, and the range is complete', async () => {
    const tenantId = newTenantId();
    const stream: StreamKey = { tenantId, contentType: 'Audit.AzureActiveDirectory' };
    const { h, deps, options } = await pipeline({
      tenants: [{ tenantId, blobsPerHour: 1, recordsPerBlob: 4, contentTypes: ['Audit.AzureActiveDirectory'], historyStart: T0 - 12 * DAY_MS }],
      sim: { auditSearch: { recordCountLimit: 40, pageSize: 25 } },
      env: { O365_CONTENT_TYPES: 'Audit.AzureActiveDirectory', HEAL_LOOKBEHIND_HOURS: '0' },
    });
    const gap = { start: T0 - 10 * DAY_MS, end: T0 - 9 * DAY_MS };
    await h.wiring.gaps.record(retentionGap(h, stream, gap));
    const [healed] = await healGaps(deps, options(), (g) => g.tenantId === tenantId);
    const heal = healed!.heal!;
    expect(heal.state).toBe('healed');
    expect(heal.splits).toBeGreaterThanOrEqual(2);
    const leaves = heal.queries.filter((q) => q.state !== 'split');
    expect(leaves.every((q) => q.state === 'delivered' && (q.records ?? 0) <= 40)).toBe(true);
    // The delivered parts tile the range exactly.
    const sorted = [...leaves].sort((a, b) => a.from.localeCompare(b.from));
    expect(sorted[0]!.from).toBe(new Date(gap.start).toISOString());
    expect(sorted.at(-1)!.to).toBe(new Date(gap.end).toISOString());
    for (let i = 1; i < sorted.length; i++) expect(sorted[i]!.from).toBe(sorted[i - 1]!.to);
    const expected = h.sim
      .auditRecords(tenantId, gap.start, gap.end)
      .filter((r) => [8, 9, 15].includes(Number(r.RecordType)))
      .map((r) => String(r.Id).toLowerCase());
    expect(expected.length).toBeGreaterThan(80);
    const delivered = hubEvents().filter((e) => e.Source === 'PurviewAuditSearch').map((e) => e.EventOriginalUid!.toLowerCase());
    expect(delivered.sort()).toEqual(expected.sort());
    const queries = h.sim.auditQueries(tenantId);
    expect(queries.length).toBe(heal.queries.length);
    console.info(`record-count limit 40: ${expected.length} records, ${queries.length} queries, ${heal.splits} splits`);

    // Healing the same range again (an operator's ops heal) finds it healed and delivers nothing new.
    const before = hubEvents().length;
    const again = await healRange(stream, { start: gap.start + HOUR_MS, end: gap.end - HOUR_MS }, deps, options());
    expect(again.heal).toMatchObject({ state: 'healed', recordsDelivered: 0 });
    expect(again.heal!.reason).toMatch(/nothing missing.*healed before/);
    expect(h.sim.auditQueries(tenantId).length).toBe(queries.length);
    expect(hubEvents().filter((e) => e.EventSchema !== 'PipelineHeal').length).toBe(before - 1);
  }, 120_000);

  it('zero records where the stream normally has data is reported as suspicious, naming AuditLogsQuery.Read.All, not as healed', async () => {
    const tenantId = newTenantId();
    const { h, worker, deps, options } = await pipeline({
      tenants: [{ tenantId, blobsPerHour: 1, recordsPerBlob: 4, contentTypes: ['Audit.Exchange'], historyStart: T0 - 12 * DAY_MS, apps: [{ clientId: APP_ID, secret: APP_SECRET, graphRoles: ['SecurityIncident.Read.All', 'SecurityAlert.Read.All'] }] }],
      env: { O365_CONTENT_TYPES: 'Audit.Exchange', INITIAL_LOOKBACK_HOURS: '24' },
    });
    h.clock.current = T0 - 9 * DAY_MS;
    await h.poll();
    await worker.drain();
    h.clock.current = T0;
    const [after] = await h.poll();
    await h.wiring.gaps.record(retentionGap(h, after!.stream, after!.gap!));
    await worker.drain();
    const before = hubEvents().length;

    const [result] = await healGaps(deps, options(), (g) => g.tenantId === tenantId);
    expect(result!.heal).toMatchObject({ state: 'suspicious', recordsFound: 0, recordsDelivered: 0 });
    expect(result!.heal!.reason).toMatch(/no Audit\.Exchange records.*AuditLogsQuery\.Read\.All.*zero records instead of an error/);
    expect(h.sim.auditQueries(tenantId).every((q) => q.status === 'succeeded')).toBe(true);
    const events = hubEvents().slice(before);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ EventSchema: 'PipelineHeal', HealState: 'suspicious', EventSeverity: 'Medium' });
  });

  it('a GCC High tenant is refused with a clear message, and nothing is sent to Graph', async () => {
    const tenantId = newTenantId();
    const stream: StreamKey = { tenantId, contentType: 'Audit.Exchange' };
    const { h, deps, options } = await pipeline({
      tenants: [{ tenantId, contentTypes: ['Audit.Exchange'] }],
      env: { O365_TENANTS: JSON.stringify([{ tenantId, clientId: APP_ID, cloud: 'gcchigh', contentTypes: ['Audit.Exchange'], credential: { type: 'secret', secretName: 'SIM_APP_SECRET' } }]) },
    });
    await h.wiring.gaps.record(retentionGap(h, stream, { start: T0 - 9 * DAY_MS, end: T0 - 7 * DAY_MS }));
    const [result] = await healGaps(deps, options(), (g) => g.tenantId === tenantId);
    expect(result!.heal!.state).toBe('unavailable');
    expect(result!.heal!.reason).toMatch(/not available in GCC High \(US Government L4\).*global service only/);
    expect(h.sim.stats().totals.auditQuery ?? 0).toBe(0);
    expect(h.sim.stats().totals.token ?? 0).toBe(0);
    expect(hubEvents()).toMatchObject([{ EventSchema: 'PipelineHeal', HealState: 'unavailable', EventSeverity: 'High' }]);
    // A later run leaves it as it is.
    await healGaps(deps, options(), (g) => g.tenantId === tenantId);
    expect(hubEvents()).toHaveLength(1);
  });

  it('ops heal on a range the Management API delivered submits no query and delivers nothing new', async () => {
    const tenantId = newTenantId();
    const stream: StreamKey = { tenantId, contentType: 'Audit.Exchange' };
    const { h, worker, deps, options } = await pipeline({
      tenants: [{ tenantId, blobsPerHour: 2, recordsPerBlob: 4, contentTypes: ['Audit.Exchange'] }],
      env: { O365_CONTENT_TYPES: 'Audit.Exchange', INITIAL_LOOKBACK_HOURS: '72' },
    });
    await h.poll();
    await worker.drain();
    const before = hubEvents().length;
    expect(before).toBeGreaterThan(50);
    const result = await healRange(stream, { start: T0 - 60 * HOUR_MS, end: T0 - 36 * HOUR_MS }, deps, options({ automatic: false }));
    expect(result).toMatchObject({ cause: 'operator', heal: { state: 'healed', queries: [], recordsDelivered: 0 } });
    expect(result.heal!.reason).toMatch(/nothing missing .*\(24 h delivered by the Management API\); no audit log query was needed/);
    expect(h.sim.stats().totals.auditQuery ?? 0).toBe(0);
    expect(hubEvents().filter((e) => e.EventSchema !== 'PipelineHeal')).toHaveLength(before);

    // A blob that expired before it was delivered is something missing: its hours are healed.
    const rows = [];
    for await (const r of h.wiring.ledger.query(stream, { createdFrom: new Date(T0 - 50 * HOUR_MS).toISOString(), createdTo: new Date(T0 - 49 * HOUR_MS).toISOString() })) rows.push(r);
    const [row] = rows;
    await h.wiring.ledger.update(stream, row!.contentId, { status: 'expired', lastError: 'test' });
    const healed = await healRange(stream, { start: T0 - 60 * HOUR_MS + MINUTE_MS, end: T0 - 36 * HOUR_MS }, deps, options({ lookbehindInMs: 2 * HOUR_MS }));
    expect(healed.heal!.state).toBe('healed');
    expect(healed.heal!.queries).toHaveLength(1);
    expect(healed.heal!.recordsDelivered).toBeGreaterThan(0);
  });

  it('HEAL_GAPS=false leaves recorded gaps unhealed and says so; an operator can still heal them', async () => {
    const tenantId = newTenantId();
    const stream: StreamKey = { tenantId, contentType: 'Audit.Exchange' };
    const { h, deps, options } = await pipeline({
      tenants: [{ tenantId, blobsPerHour: 2, recordsPerBlob: 4, contentTypes: ['Audit.Exchange'], historyStart: T0 - 12 * DAY_MS }],
      env: { O365_CONTENT_TYPES: 'Audit.Exchange', HEAL_GAPS: 'false', HEAL_LOOKBEHIND_HOURS: '0' },
    });
    const gap = retentionGap(h, stream, { start: T0 - 10 * DAY_MS, end: T0 - 10 * DAY_MS + 4 * HOUR_MS });
    await h.wiring.gaps.record(gap);
    const [off] = await healGaps(deps, options(), (g) => g.tenantId === tenantId);
    expect(off!.heal).toMatchObject({ state: 'off', reason: expect.stringMatching(/HEAL_GAPS is false/) });
    expect(h.sim.stats().totals.auditQuery ?? 0).toBe(0);
    const healed = await healRange(stream, { start: Date.parse(gap.start), end: Date.parse(gap.end) }, deps, options());
    expect(healed).toMatchObject({ cause: 'retention', heal: { state: 'healed' } });
    expect(healed.heal!.recordsDelivered).toBeGreaterThan(0);
  });
});
