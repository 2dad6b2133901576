import { describe, expect, it } from 'vitest';
import { PermanentError, TransientError } from '../../../shared/core/errors.js';
import type { AuditSearch } from '../../../shared/ports.js';
import type { GapRecord } from '../../../shared/core/gaps.js';
import type { AuditLogQueryInfo, AuditLogQuerySpec, AuditRecordPage } from '../../../shared/core/io.js';
import { healGaps, type HealGapsOptions } from '../../../shared/usecases/healGaps.js';
import { ManualClock, MemoryBlobStore, MemoryCursorStore, MemoryGapStore, MemoryLedger, MemorySink, RecordingLogger } from '../../fakes/ports.js';

const T0 = Date.UTC(2026, 10, 20, 12);
const H = 3_600_000;
const TENANT = 'a0b1c2d3-e4f5-4a6b-8c7d-9e0f1a2b3c4d';

/** Audit search in memory: each query succeeds after `runs` polls with `records(spec)`; failures on request. */
class FakeSearch implements AuditSearch {
  readonly created: AuditLogQuerySpec[] = [];
  private readonly queries = new Map<string, { spec: AuditLogQuerySpec; polls: number; fail: boolean }>();
  failCreate?: Error;
  failEvery = false;
  constructor(private readonly records: (spec: AuditLogQuerySpec) => unknown[] = () => []) {}
  async createQuery(_tenant: string, spec: AuditLogQuerySpec): Promise<AuditLogQueryInfo> {
    if (this.failCreate) throw this.failCreate;
    const id = `00000000-0000-4000-8000-${String(this.created.length).padStart(12, '0')}`;
    this.created.push(spec);
    this.queries.set(id, { spec, polls: 0, fail: this.failEvery });
    return { id, status: 'notStarted' };
  }
  /** Queries created and not finished yet. */
  running(): number {
    return [...this.queries.values()].filter((q) => q.polls < 2).length;
  }
  async getQuery(_tenant: string, id: string): Promise<AuditLogQueryInfo> {
    const q = this.queries.get(id)!;
    q.polls++;
    return { id, status: q.polls < 2 ? 'running' : q.fail ? 'failed' : 'succeeded' };
  }
  async *listRecords(_tenant: string, id: string): AsyncIterable<AuditRecordPage> {
    yield { records: this.records(this.queries.get(id)!.spec) };
  }
}

function setup(search: FakeSearch, cloud: 'commercial' | 'gcchigh' = 'commercial') {
  const clock = new ManualClock(T0);
  const gaps = new MemoryGapStore();
  const sink = new MemorySink();
  const logger = new RecordingLogger();
  const deps = {
    gaps, ledger: new MemoryLedger(), cursors: new MemoryCursorStore(), auditSearch: search, sink, blobs: new MemoryBlobStore(),
    tenants: new Map([[TENANT, { cloud }]]), clock, logger, metrics: { count() {} }, sleep: async (ms: number) => clock.advance(ms),
  };
  const options = (o: Partial<HealGapsOptions> = {}): HealGapsOptions => ({
    automatic: true, lookbehindInMs: 0, queriesPerDay: 200, maxRunningQueries: 50, maxEventBytes: 61440, partitionKeyMode: 'content', deadlineAtMs: clock.now() + H, ...o,
  });
  return { clock, gaps, sink, deps, options, logger };
}

const gap = (start: number, end: number, extra: Partial<GapRecord> = {}): GapRecord => ({
  tenantId: TENANT, contentType: 'Audit.Exchange', start: new Date(start).toISOString(), end: new Date(end).toISOString(), cause: 'retention', recordedAt: new Date(T0).toISOString(), ...extra,
});

const exchangeRecord = (id: string) => ({ auditLogRecordType: 'exchangeItem', auditData: { Id: id, RecordType: 2, CreationTime: '2026-11-10T01:00:00', Operation: 'Send', Workload: 'Exchange' } });

describe('healGaps', () => {
  it('keeps to the submission budget: what does not fit waits, says why, and goes when the 24 hours allow', async () => {
    const search = new FakeSearch((spec) => [exchangeRecord(`id-${spec.from}`)]);
    const { gaps, deps, options, clock } = setup(search);
    // Two gaps of more than 7 days each: two queries each.
    await gaps.record(gap(T0 - 40 * 24 * H, T0 - 30 * 24 * H));
    const [waiting] = await healGaps(deps, options({ queriesPerDay: 1 }));
    expect(search.created).toHaveLength(1);
    expect(waiting!.heal).toMatchObject({ state: 'running', reason: expect.stringMatching(/waiting for the query budget: 1 audit log queries .*HEAL_QUERIES_PER_DAY=1/) });
    expect(waiting!.heal!.queries.map((q) => q.state)).toEqual(['delivered', 'planned']);
    clock.advance(25 * H);
    const [done] = await healGaps(deps, options({ queriesPerDay: 1 }));
    expect(search.created).toHaveLength(2);
    expect(done!.heal).toMatchObject({ state: 'healed', recordsFound: 2, recordsDelivered: 2 });
  });

  it("waits out a 429's Retry-After before submitting again, without asking in between", async () => {
    const search = new FakeSearch((spec) => [exchangeRecord(`id-${spec.from}`)]);
    let refusals = 0;
    const wrapped: AuditSearch = {
      createQuery: async (t, s) => {
        if (refusals++ === 0) throw new TransientError('Throttled', 'create audit log query was throttled (HTTP 429)', { httpStatus: 429, retryAfterInMs: 600_000 });
        return search.createQuery(t, s);
      },
      getQuery: (t, id) => search.getQuery(t, id),
      listRecords: (t, id) => search.listRecords(t, id),
    };
    const { gaps, deps, options, clock } = setup(search);
    await gaps.record(gap(T0 - 12 * 24 * H, T0 - 11 * 24 * H));
    const [result] = await healGaps({ ...deps, auditSearch: wrapped }, options());
    expect(result!.heal!.state).toBe('healed');
    expect(refusals).toBe(2);
    expect(Date.parse(result!.heal!.queries[0]!.submittedAt!)).toBeGreaterThanOrEqual(T0 + 600_000);
    expect(clock.now()).toBeGreaterThan(T0 + 600_000);
  });

  it('keeps to the running-queries budget within a run', async () => {
    const search = new FakeSearch();
    const { gaps, deps, options } = setup(search);
    await gaps.record(gap(T0 - 40 * 24 * H, T0 - 10 * 24 * H));
    const seen: number[] = [];
    const wrapped: AuditSearch = {
      createQuery: async (t, s) => {
        seen.push(search.running());
        return search.createQuery(t, s);
      },
      getQuery: (t, id) => search.getQuery(t, id),
      listRecords: (t, id) => search.listRecords(t, id),
    };
    const [result] = await healGaps({ ...deps, auditSearch: wrapped }, options({ maxRunningQueries: 2 }));
    expect(search.created.length).toBe(5);
    expect(Math.max(...seen)).toBeLessThan(2);
    expect(result!.heal!.state).toBe('healed');
  });

  it('submits a failed query again, gives up after three attempts, and reports the range as not healed', async () => {
    const search = new FakeSearch();
    search.failEvery = true;
    const { gaps, sink, deps, options } = setup(search);
    await gaps.record(gap(T0 - 12 * 24 * H, T0 - 11 * 24 * H));
    const [result] = await healGaps(deps, options());
    expect(search.created).toHaveLength(3);
    expect(result!.heal).toMatchObject({ state: 'failed', queries: [{ state: 'abandoned', attempt: 3 }] });
    expect(JSON.parse(sink.published.at(-1)!.body)).toMatchObject({ EventSchema: 'PipelineHeal', HealState: 'failed', EventSeverity: 'High' });
  });

  it('names the permission when Graph refuses the query, and ends failed', async () => {
    const search = new FakeSearch();
    search.failCreate = new PermanentError('PermissionMissing', 'create audit log query for tenant t was forbidden: grant the application permission AuditLogsQuery.Read.All');
    const { gaps, deps, options } = setup(search);
    await gaps.record(gap(T0 - 12 * 24 * H, T0 - 11 * 24 * H));
    const [result] = await healGaps(deps, options());
    expect(result!.heal).toMatchObject({ state: 'failed', reason: expect.stringMatching(/AuditLogsQuery\.Read\.All/) });
  });

  it('waits for a provisional gap, refuses a cloud without the API, and publishes only records of its content type', async () => {
    const search = new FakeSearch(() => [exchangeRecord('e1'), { auditLogRecordType: 'microsoftTeams', auditData: { Id: 't1', RecordType: 25, Workload: 'MicrosoftTeams' } }]);
    const { gaps, sink, deps, options } = setup(search);
    await gaps.record(gap(T0 - 12 * 24 * H, T0 - 11 * 24 * H, { provisional: true }));
    expect((await healGaps(deps, options()))[0]!.heal).toBeUndefined();
    await gaps.record(gap(T0 - 12 * 24 * H, T0 - 11 * 24 * H));
    const [healed] = await healGaps(deps, options());
    expect(healed!.heal).toMatchObject({ state: 'healed', recordsDelivered: 1, queries: [{ outOfScope: 1 }] });
    const event = JSON.parse(sink.published[0]!.body);
    expect(event).toMatchObject({ Source: 'PurviewAuditSearch', EventOriginalUid: 'e1', SourceContentType: 'Audit.Exchange', SourceContentId: expect.stringMatching(/^AuditSearch\$/) });
    expect(sink.published[0]!.partitionKey).toBe(event.SourceContentId);
    expect(sink.published[0]!.properties.Source).toBe('PurviewAuditSearch');

    const gcc = setup(new FakeSearch(), 'gcchigh');
    await gcc.gaps.record(gap(T0 - 12 * 24 * H, T0 - 11 * 24 * H));
    const [refused] = await healGaps(gcc.deps, gcc.options());
    expect(refused!.heal!.state).toBe('unavailable');
  });

  it('writes healed records in the configured event profile, as content blobs are', async () => {
    const record = exchangeRecord('e2');
    const full = setup(new FakeSearch(() => [record]));
    await full.gaps.record(gap(T0 - 12 * 24 * H, T0 - 11 * 24 * H));
    await healGaps(full.deps, full.options());
    const compact = setup(new FakeSearch(() => [record]));
    await compact.gaps.record(gap(T0 - 12 * 24 * H, T0 - 11 * 24 * H));
    await healGaps(compact.deps, compact.options({ eventProfile: 'compact' }));

    const [fullEvent, compactEvent] = [full, compact].map((s) => JSON.parse(s.sink.published[0]!.body));
    expect(fullEvent.Raw).toEqual(record.auditData);
    expect(compactEvent.Raw).toBeUndefined();
    expect(compactEvent.EventId).toBe(fullEvent.EventId);
    expect(compactEvent.EventOriginalUid).toBe('e2');
    expect(compact.sink.published[0]!.body.length).toBeLessThan(full.sink.published[0]!.body.length);
  });
});
