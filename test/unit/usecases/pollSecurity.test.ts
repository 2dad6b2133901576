import { describe, expect, it } from 'vitest';
import { PermanentError, TransientError } from '../../../shared/core/errors.js';
import type { PartitionKeyMode, SecurityStreamKey } from '../../../shared/core/model.js';
import { DAY_MS, MINUTE_MS } from '../../../shared/core/windows.js';
import { status } from '../../../shared/usecases/operations.js';
import { pollSecurity } from '../../../shared/usecases/pollSecurity.js';
import { reconcile } from '../../../shared/usecases/reconcile.js';
import { ManualClock, memoryDeps, MemoryHealthStore, MemoryQueue, reconcileStores, ScriptedSecurityFeed } from '../../fakes/ports.js';

const TENANT = '5c5c5c5c-1d1d-4e2e-8f3f-404040404040';
const OTHER = '6d6d6d6d-2e2e-4f3f-9a4a-515151515151';
const incidents: SecurityStreamKey = { tenantId: TENANT, contentType: 'DefenderXDR.Incidents' };
const alerts: SecurityStreamKey = { tenantId: TENANT, contentType: 'DefenderXDR.Alerts' };
const start = Date.parse('2026-11-20T12:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();

function incident(id: string, lastUpdateDateTime: string, alertIds: string[] = []) {
  return { id, displayName: `Incident ${id}`, status: 'active', severity: 'medium', lastUpdateDateTime, alerts: alertIds.map((a) => ({ id: a, incidentId: id, category: 'Execution' })) };
}

function alert(id: string, incidentId: string | null, lastUpdateDateTime: string, extra: Record<string, unknown> = {}) {
  return { id, incidentId, title: `Alert ${id}`, status: 'new', severity: 'low', serviceSource: 'microsoftDefenderForEndpoint', lastUpdateDateTime, ...extra };
}

function setup(overrides: { partitionKeyMode?: PartitionKeyMode; maxEventBytes?: number } = {}) {
  const clock = new ManualClock(start);
  const deps = { ...memoryDeps(clock), feed: new ScriptedSecurityFeed() };
  const options = () => ({
    overlapInMs: 10 * MINUTE_MS,
    initialLookbackInMs: DAY_MS,
    maxEventBytes: overrides.maxEventBytes ?? 61_440,
    partitionKeyMode: overrides.partitionKeyMode ?? 'content',
    concurrency: 2,
    deadlineAtMs: clock.now() + 5 * MINUTE_MS,
  });
  const poll = (streams: SecurityStreamKey[] = [incidents]) => pollSecurity(streams, deps, options());
  const events = () => deps.sink.published.map((e) => ({ ...e, event: JSON.parse(e.body) as Record<string, unknown> }));
  const cursorOf = async (stream: SecurityStreamKey) => (await deps.cursors.read(stream))?.state;
  const pageRows = () => [...deps.ledger.rows.values()].filter((r) => r.contentType === incidents.contentType).sort((a, b) => a.contentId.localeCompare(b.contentId));
  return { deps, clock, poll, events, cursorOf, pageRows };
}

describe('pollSecurity', () => {
  it('first run: scans the initial lookback, publishes every entity, records each page, moves the cursor to the newest lastUpdateDateTime verbatim', async () => {
    const { deps, poll, events, cursorOf, pageRows } = setup();
    deps.feed.add(
      incidents,
      incident('11', '2026-11-20T11:59:30.9999998Z', ['da1', 'da2']),
      incident('12', '2026-11-20T11:59:30.9999999Z'),
      incident('13', '2026-11-20T08:00:00Z'),
      incident('14', '2026-11-20T09:00:00.5Z'),
      incident('15', '2026-11-20T10:00:00.1234567Z'),
      incident('16', '2026-11-20T11:00:00.1234567Z'),
      incident('17', '2026-11-20T11:30:00.1234567Z'),
    );
    const [result] = await poll();
    const since = iso(start - DAY_MS);
    expect(result).toMatchObject({ outcome: 'complete', since, pages: 3, events: 7, cursor: '2026-11-20T11:59:30.9999999Z' });
    expect(deps.feed.scans).toEqual([{ stream: `${TENANT}|DefenderXDR.Incidents`, since }]);

    const published = events();
    expect(published.map((e) => e.event.EventOriginalUid).sort()).toEqual(['11', '12', '13', '14', '15', '16', '17']);
    for (const e of published) {
      expect(e.messageId).toBe(e.event.EventId);
      expect(e.event).toMatchObject({ Source: 'DefenderXDR', SourceContentType: 'DefenderXDR.Incidents', EventSchema: 'AlertEvent', OrganizationId: TENANT });
      expect(e.correlationId).toBe(e.event.SourceContentId);
      expect(e.properties).toMatchObject({ Source: 'DefenderXDR', EventSchema: 'AlertEvent', SourceContentType: 'DefenderXDR.Incidents', OrganizationId: TENANT, AMQPheaders: '1' });
    }
    expect(published.find((e) => e.event.EventOriginalUid === '11')?.event.AlertIds).toEqual(['da1', 'da2']);

    expect(pageRows().map((r) => [r.contentId, r.status, r.records, r.events])).toEqual([
      [`${since}|p0001`, 'done', 3, 3],
      [`${since}|p0002`, 'done', 3, 3],
      [`${since}|p0003`, 'done', 1, 1],
    ]);
    expect(pageRows()[0]).toMatchObject({ tenantId: TENANT, contentUri: expect.stringContaining('page=1'), contentCreated: iso(start), completedAt: iso(start) });
    expect(await cursorOf(incidents)).toMatchObject({ cursor: '2026-11-20T11:59:30.9999999Z', lastRunAt: iso(start), lastSuccessAt: iso(start), consecutiveFailures: 0 });
    expect(deps.metrics.total('security.events.published')).toBe(7);
  });

  it('the next scan starts at the cursor minus the overlap, every fraction digit kept', async () => {
    const { deps, clock, poll } = setup();
    deps.feed.add(incidents, incident('21', '2026-11-20T11:50:00.1234567Z'));
    await poll();
    clock.advance(5 * MINUTE_MS);
    await poll();
    expect(deps.feed.scans.map((s) => s.since)).toEqual([iso(start - DAY_MS), '2026-11-20T11:40:00.1234567Z']);
  });

  it('an incident updated twice arrives as three revisions with distinct EventIds; a rescan of the overlap repeats an EventId, never invents one', async () => {
    const { deps, clock, poll, events } = setup();
    deps.feed.add(incidents, incident('31', '2026-11-20T11:00:00.1000000Z'));
    await poll();
    for (const [minutes, time] of [[5, '2026-11-20T12:03:00.2000000Z'], [5, '2026-11-20T12:08:00.3000000Z']] as const) {
      clock.advance(minutes * MINUTE_MS);
      deps.feed.entities.set(`${TENANT}|DefenderXDR.Incidents`, [{ ...incident('31', time), status: 'inProgress' }]);
      await poll();
    }
    const revisions = events().filter((e) => e.event.EventOriginalUid === '31');
    expect(revisions.map((e) => (e.event.AdditionalFields as Record<string, unknown>).LastUpdateDateTime)).toEqual(['2026-11-20T11:00:00.1000000Z', '2026-11-20T12:03:00.2000000Z', '2026-11-20T12:08:00.3000000Z']);
    expect(new Set(revisions.map((e) => e.event.EventId)).size).toBe(3);
    expect((await deps.cursors.read(incidents))?.state.cursor).toBe('2026-11-20T12:08:00.3000000Z');
  });

  it('partitions by incident: an incident by its id, an alert by its incidentId, an alert without one by its own id', async () => {
    const { deps, poll, events } = setup();
    deps.feed.pageSize = 10;
    deps.feed.add(alerts, alert('a1', '41', '2026-11-20T10:00:00Z'), alert('a2', '42', '2026-11-20T10:01:00Z'), alert('a3', '41', '2026-11-20T10:02:00Z'), alert('a4', null, '2026-11-20T10:03:00Z'));
    deps.feed.add(incidents, incident('41', '2026-11-20T10:04:00Z'));
    await poll([incidents, alerts]);
    const keyOf = new Map(events().map((e) => [e.event.EventOriginalUid, e.partitionKey]));
    expect(Object.fromEntries(keyOf)).toEqual({ a1: '41', a2: '42', a3: '41', a4: 'a4', 41: '41' });
    // One incident's alerts keep their order on its partition.
    expect(events().filter((e) => e.partitionKey === '41' && e.event.SourceContentType === 'DefenderXDR.Alerts').map((e) => e.event.EventOriginalUid)).toEqual(['a1', 'a3']);
  });

  it.each([
    ['tenant', TENANT],
    ['none', undefined],
  ] as const)('honours PARTITION_KEY_MODE %s', async (mode, key) => {
    const { deps, poll, events } = setup({ partitionKeyMode: mode });
    deps.feed.add(alerts, alert('b1', '51', '2026-11-20T10:00:00Z'), alert('b2', '52', '2026-11-20T10:01:00Z'));
    await poll([alerts]);
    expect(events().map((e) => e.partitionKey)).toEqual([key, key]);
  });

  it('a failure on page 3 leaves the cursor where it was and records the error; the rerun delivers everything and rewrites the same page rows', async () => {
    const { deps, clock, poll, events, cursorOf, pageRows } = setup();
    deps.feed.add(incidents, incident('60', '2026-11-20T11:00:00.0000001Z'));
    await poll();
    const before = (await cursorOf(incidents))!;
    clock.advance(30 * MINUTE_MS);
    for (let i = 0; i < 8; i++) deps.feed.add(incidents, incident(`6${i + 1}`, `2026-11-20T12:${String(10 + i).padStart(2, '0')}:00.5555555Z`));
    deps.feed.failOnPage = { page: 3, error: new TransientError('ServiceUnavailable', 'list incidents for tenant x failed with HTTP 500', { httpStatus: 500 }) };
    const [failed] = await poll();
    expect(failed).toMatchObject({ outcome: 'failed', pages: 2 });
    const afterFailure = (await cursorOf(incidents))!;
    expect(afterFailure).toMatchObject({ cursor: before.cursor, lastSuccessAt: before.lastSuccessAt, consecutiveFailures: 1, lastErrorCode: 'ServiceUnavailable', lastErrorAt: iso(start + 30 * MINUTE_MS) });
    expect(afterFailure.lastError).toMatch(/HTTP 500/);
    expect(deps.logger.lines.some((l) => l.level === 'warn' && l.message.startsWith('security stream poll failed'))).toBe(true);
    const deliveredBefore = new Set(events().map((e) => e.event.EventOriginalUid));
    expect(deliveredBefore.has('67')).toBe(false);

    clock.advance(5 * MINUTE_MS);
    const [rerun] = await poll();
    expect(rerun).toMatchObject({ outcome: 'complete', since: failed!.since, cursor: '2026-11-20T12:17:00.5555555Z' });
    // Everything arrives, and what the failed run had published is not sent again.
    const delivered = events().map((e) => e.event.EventOriginalUid);
    for (const id of ['60', '61', '62', '63', '64', '65', '66', '67', '68']) expect(delivered.filter((d) => d === id)).toHaveLength(1);
    const recovered = (await cursorOf(incidents))!;
    expect(recovered).toMatchObject({ consecutiveFailures: 0, lastSuccessAt: iso(start + 35 * MINUTE_MS) });
    expect([recovered.lastErrorCode, recovered.lastError]).toEqual([undefined, undefined]);
    // Same scan start, same row keys: pages 1 and 2 (all sent by the failed run; incident 60 by the first) are
    // not rewritten by the rerun, page 3 is written by it; the rows count what each run published.
    const rows = pageRows().filter((r) => r.contentId.startsWith(failed!.since!));
    expect(rows.map((r) => [r.contentId.slice(-5), r.records, r.events, r.completedAt])).toEqual([
      ['p0001', 2, 2, iso(start + 30 * MINUTE_MS)],
      ['p0002', 3, 3, iso(start + 30 * MINUTE_MS)],
      ['p0003', 3, 3, iso(start + 35 * MINUTE_MS)],
    ]);
  });

  it('a hub failure mid-page leaves the cursor and writes no row for that page', async () => {
    const { deps, poll, cursorOf, pageRows } = setup();
    deps.sink.batchSize = 1;
    deps.feed.add(incidents, incident('71', '2026-11-20T10:00:00Z'), incident('72', '2026-11-20T10:01:00Z'), incident('73', '2026-11-20T10:02:00Z'), incident('74', '2026-11-20T10:03:00Z'));
    deps.sink.failOnSend = 4;
    const [result] = await poll();
    expect(result).toMatchObject({ outcome: 'failed', pages: 1 });
    expect(pageRows()).toHaveLength(1);
    const state = (await cursorOf(incidents))!;
    expect(state).toMatchObject({ consecutiveFailures: 1, lastErrorCode: 'SinkUnavailable' });
    expect(state.cursor).toBeUndefined();
  });

  it('stops between pages at the time budget without moving the cursor; the next run completes', async () => {
    const { deps, clock, poll, cursorOf } = setup();
    for (let i = 0; i < 10; i++) deps.feed.add(incidents, incident(`8${i}`, `2026-11-20T10:0${i}:00Z`));
    // Each page takes three minutes to serve; the budget is five.
    deps.feed.onPage = () => clock.advance(3 * MINUTE_MS);
    const [partial] = await poll();
    expect(partial).toMatchObject({ outcome: 'partial', pages: 2 });
    const state = (await cursorOf(incidents))!;
    expect([state.cursor, state.lastSuccessAt, state.consecutiveFailures]).toEqual([undefined, undefined, 0]);
    deps.feed.onPage = undefined;
    const [complete] = await poll();
    expect(complete).toMatchObject({ outcome: 'complete', pages: 4, cursor: '2026-11-20T10:09:00Z' });
  });

  it('a second poller of the same stream in the same run loses the cursor row and does no work', async () => {
    const { deps, poll, events } = setup();
    deps.feed.add(incidents, incident('91', '2026-11-20T10:00:00Z'));
    const results = await poll([incidents, incidents]);
    expect(results.map((r) => r.outcome).sort()).toEqual(['complete', 'skipped']);
    expect(events()).toHaveLength(1);
    expect(deps.feed.scans).toHaveLength(1);
  });

  it('keeps streams apart: one stream failing for good does not stop the other, and is logged as an error', async () => {
    const { deps, cursorOf } = setup();
    const other: SecurityStreamKey = { tenantId: OTHER, contentType: 'DefenderXDR.Alerts' };
    deps.feed.add(incidents, incident('101', '2026-11-20T10:00:00Z'));
    deps.feed.add(other, alert('c1', '7', '2026-11-20T10:00:00Z'));
    deps.feed.failOnPage = { page: 1, error: new PermanentError('ForeignHost', 'list incidents: the @odata.nextLink was refused') };
    // One stream at a time, so the failure lands on the first; the overlap is left to its default.
    const results = await pollSecurity([incidents, other], deps, { initialLookbackInMs: DAY_MS, maxEventBytes: 61_440, partitionKeyMode: 'content', concurrency: 1, deadlineAtMs: start + MINUTE_MS });
    expect(results.map((r) => r.outcome)).toEqual(['failed', 'complete']);
    expect(await cursorOf(incidents)).toMatchObject({ lastErrorCode: 'ForeignHost', consecutiveFailures: 1 });
    expect(await cursorOf(other)).toMatchObject({ cursor: '2026-11-20T10:00:00Z' });
    expect(deps.logger.lines.find((l) => l.level === 'error')?.fields).toMatchObject({ code: 'ForeignHost' });
  });

  it('never moves the cursor backwards, and publishes an entity without a usable lastUpdateDateTime without letting it move the cursor', async () => {
    const { deps, clock, poll, events, cursorOf } = setup();
    deps.feed.add(incidents, incident('111', '2026-11-20T11:55:00Z'));
    await poll();
    clock.advance(5 * MINUTE_MS);
    deps.feed.entities.set(`${TENANT}|DefenderXDR.Incidents`, [incident('112', '2026-11-20T11:50:00Z'), { id: '113', lastUpdateDateTime: 'yesterday' }, 'not an incident']);
    const [second] = await poll();
    expect(second).toMatchObject({ outcome: 'complete', events: 3, cursor: '2026-11-20T11:55:00Z' });
    expect(await cursorOf(incidents)).toMatchObject({ cursor: '2026-11-20T11:55:00Z' });
    const hostile = events().filter((e) => e.event.EventOriginalUid === '113' || e.event.EventOriginalUid === null);
    expect(hostile).toHaveLength(2);
    for (const e of hostile) expect((e.event.ParseWarnings as string[]).length).toBeGreaterThan(0);
  });

  it('moves an oversize event’s Raw to a claim-check blob and keeps the event under MAX_EVENT_BYTES', async () => {
    const { deps, poll, events } = setup({ maxEventBytes: 4096 });
    const big = alert('big', '120', '2026-11-20T10:00:00Z', { recommendedActions: 'x'.repeat(20_000) });
    deps.feed.add(alerts, big, alert('small', '120', '2026-11-20T10:01:00Z'));
    await poll([alerts]);
    const [bigEvent, small] = events();
    expect(Buffer.byteLength(bigEvent!.body)).toBeLessThanOrEqual(4096);
    expect(bigEvent!.event).toMatchObject({ EventOriginalUid: 'big', Raw: null, RawTruncated: true });
    const ref = String(bigEvent!.event.RawRef);
    expect(ref).toBe(`https://blobs.test/claim-check/${TENANT}/DefenderXDR.Alerts/${bigEvent!.event.EventId}.json`);
    expect(JSON.parse(deps.blobs.blobs.get(`claim-check/${TENANT}/DefenderXDR.Alerts/${bigEvent!.event.EventId}.json`)!)).toEqual(big);
    expect(small!.event).toMatchObject({ RawTruncated: false, Raw: expect.objectContaining({ id: 'small' }) });
  });

  it.each([
    ['is not a timestamp', 'garbage'],
    ['lies in the future', '2027-01-01T00:00:00.1234567Z'],
  ])('a cursor that %s is reported (InvalidCursor on the row, an error, a metric) and nothing is scanned from it', async (problem, cursor) => {
    const { deps, poll } = setup();
    deps.feed.add(incidents, incident('130', '2026-11-20T11:00:00Z'));
    await deps.cursors.write(incidents, { subscription: 'unknown', consecutiveFailures: 0, gapCount: 0, gapTotalMs: 0, cursor }, undefined);
    const [result] = await poll();
    expect(result).toMatchObject({ outcome: 'failed', events: 0 });
    expect(deps.feed.scans).toEqual([]);
    expect((await deps.cursors.read(incidents))?.state).toMatchObject({ cursor, lastErrorCode: 'InvalidCursor', consecutiveFailures: 1 });
    expect(deps.logger.lines.find((l) => l.level === 'error')?.fields?.error).toMatch(new RegExp(problem));
    expect(deps.metrics.total('stream.cursor.invalid')).toBe(1);
  });

  it('an entity stamped in the future is delivered with a warning and never carries the cursor past now + 5 min; later changes still arrive', async () => {
    const { deps, clock, poll, events, cursorOf } = setup();
    deps.feed.add(incidents, incident('140', '2026-11-20T11:50:00.1Z'), incident('141', '2031-01-01T00:00:00.1234567Z'));
    await poll();
    expect(events().map((e) => e.event.EventOriginalUid)).toEqual(['140', '141']);
    expect(deps.logger.lines.some((l) => l.level === 'warn' && /lies in the future/.test(l.message))).toBe(true);
    expect(deps.metrics.total('security.timestamp.future')).toBe(1);
    expect((await cursorOf(incidents))?.cursor).toBe('2026-11-20T11:50:00.1Z');
    clock.advance(5 * MINUTE_MS);
    deps.feed.add(incidents, incident('142', '2026-11-20T12:03:00Z'));
    await poll();
    expect(events().map((e) => e.event.EventOriginalUid)).toEqual(['140', '141', '142']); // 141 is not sent again
    expect((await cursorOf(incidents))?.cursor).toBe('2026-11-20T12:03:00Z');
  });

  it('a quiet stream sends each revision once however often the overlap re-reads it; a new revision of the same entity still goes', async () => {
    const { deps, clock, poll, events, cursorOf } = setup();
    deps.feed.add(incidents, incident('150', '2026-11-20T11:58:00.5Z'), incident('151', '2026-11-20T11:59:00.5Z'));
    for (let run = 0; run < 4; run++) {
      await poll();
      clock.advance(5 * MINUTE_MS);
    }
    expect(events().map((e) => e.event.EventOriginalUid)).toEqual(['150', '151']);
    expect(deps.feed.scans.at(-1)?.since).toBe('2026-11-20T11:49:00.5Z'); // the overlap did re-read them
    expect((await cursorOf(incidents))?.recentRevisions?.split(',')).toHaveLength(2);
    deps.feed.entities.set(`${TENANT}|DefenderXDR.Incidents`, [incident('150', '2026-11-20T12:20:00Z'), incident('151', '2026-11-20T11:59:00.5Z')]);
    await poll();
    expect(events().map((e) => `${e.event.EventOriginalUid}|${(e.event.AdditionalFields as Record<string, unknown>).LastUpdateDateTime}`)).toEqual([
      '150|2026-11-20T11:58:00.5Z',
      '151|2026-11-20T11:59:00.5Z',
      '150|2026-11-20T12:20:00Z',
    ]);
    // Revisions older than the next scan's start are forgotten: the row stays small.
    expect((await cursorOf(incidents))?.recentRevisions?.split(',')).toHaveLength(1);
  });
});

describe('reconcile and status over the Defender XDR streams', () => {
  it('accounts page rows, re-enqueues nothing, and measures listing lag from the last complete scan (a quiet tenant is ok)', async () => {
    const { deps, clock, poll } = setup();
    // A tenant whose last incident change was three days ago.
    await deps.cursors.write(incidents, { subscription: 'unknown', consecutiveFailures: 0, gapCount: 0, gapTotalMs: 0, cursor: '2026-11-17T10:00:00Z' }, undefined);
    deps.feed.add(incidents, incident('201', '2026-11-17T10:00:00Z'));
    await poll();
    clock.advance(10 * MINUTE_MS);
    await poll();
    const reconcileDeps = { ledger: deps.ledger, cursors: deps.cursors, queue: new MemoryQueue(), health: new MemoryHealthStore(), ...reconcileStores(), clock, logger: deps.logger, metrics: deps.metrics };
    const [health] = await reconcile([incidents], reconcileDeps);
    // The cursor is three days old (nothing has changed since), but the last scan completed just now.
    expect(health).toMatchObject({ tenantId: TENANT, contentType: 'DefenderXDR.Incidents', state: 'ok', cursor: '2026-11-17T10:00:00Z', listingLagMinutes: 0, stuck: 0, expiringSoon: 0, unexplained: 0 });
    // Both scans started at the same place (the cursor stood still), so the second rewrote the first's page row.
    expect(health!.counts).toMatchObject({ done: 1, listed: 0 });
    expect(reconcileDeps.queue.messages).toEqual([]);

    clock.advance(2 * DAY_MS);
    const [stale] = await reconcile([incidents], reconcileDeps);
    expect(stale!.state).toBe('failing');
    expect(stale!.reasons.join()).toMatch(/listing is 48 h behind/);

    const [row] = await status([incidents], reconcileDeps);
    expect(row).toMatchObject({ stream: incidents, cursor: { cursor: '2026-11-17T10:00:00Z' }, health: { state: 'failing' } });
  });

  it('a stream that keeps failing turns degraded, then failing', async () => {
    const { deps, clock, poll } = setup();
    const reconcileDeps = { ledger: deps.ledger, cursors: deps.cursors, queue: new MemoryQueue(), health: new MemoryHealthStore(), ...reconcileStores(), clock, logger: deps.logger, metrics: deps.metrics };
    const states: string[] = [];
    for (let i = 0; i < 3; i++) {
      deps.feed.failOnPage = { page: 1, error: new TransientError('Throttled', 'throttled (HTTP 429)', { httpStatus: 429 }) };
      await poll();
      states.push((await reconcile([incidents], reconcileDeps))[0]!.state);
      clock.advance(5 * MINUTE_MS);
    }
    expect(states).toEqual(['degraded', 'degraded', 'failing']);
  });
});
