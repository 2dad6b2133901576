import { describe, expect, it } from 'vitest';
import { TransientError } from '../../../shared/core/errors.js';
import type { StreamKey } from '../../../shared/core/model.js';
import { DAY_MS, HOUR_MS, MINUTE_MS } from '../../../shared/core/windows.js';
import { pollStreams, RELIST_AFTER_START_MS, RELIST_BEFORE_START_MS, START_COOLDOWN_MS } from '../../../shared/usecases/pollStreams.js';
import { af, ManualClock, memoryDeps, MemoryGapStore, MemoryListingLog, MemoryQueue, ScriptedFeed } from '../../fakes/ports.js';

const T1 = '11111111-1111-4111-8111-111111111111';
const T2 = '22222222-2222-4222-8222-222222222222';
const exchange: StreamKey = { tenantId: T1, contentType: 'Audit.Exchange' };
const sharepoint: StreamKey = { tenantId: T2, contentType: 'Audit.SharePoint' };
const start = Date.parse('2026-11-20T00:00:00Z');

function setup() {
  const clock = new ManualClock(start);
  const deps = { ...memoryDeps(clock), feed: new ScriptedFeed(), queue: new MemoryQueue(), listings: new MemoryListingLog(), gaps: new MemoryGapStore() };
  const options = () => ({
    settleLagInMs: 10 * MINUTE_MS,
    overlapInMs: 120 * MINUTE_MS,
    initialLookbackInMs: 24 * HOUR_MS,
    concurrency: 2,
    deadlineAtMs: clock.now() + 5 * MINUTE_MS,
  });
  const poll = (streams: StreamKey[] = [exchange]) => pollStreams(streams, deps, options());
  const enqueuedIds = () => deps.queue.messages.map((m) => m.contentId).sort();
  return { deps, clock, poll, enqueuedIds };
}

describe('pollStreams', () => {
  it('first run: starts the subscription, lists the lookback, enqueues each blob once, advances the cursor', async () => {
    const { deps, poll, enqueuedIds } = setup();
    deps.feed.add(exchange, 'b1', start - 23 * HOUR_MS);
    deps.feed.add(exchange, 'b2', start - 2 * HOUR_MS);
    deps.feed.add(exchange, 'old', start - 30 * HOUR_MS); // before the lookback
    const [result] = await poll();
    expect(result).toMatchObject({ outcome: 'complete', windowsListed: 2, blobsEnqueued: 2, cursor: new Date(start - 10 * MINUTE_MS).toISOString() });
    expect(deps.feed.starts).toEqual([`${T1}|Audit.Exchange`]);
    expect(enqueuedIds()).toEqual(['b1', 'b2']);
    const row = await deps.ledger.get(exchange, 'b1');
    expect(row).toMatchObject({ status: 'listed', attempts: 0, enqueuedAt: new Date(start).toISOString() });
    const cursor = (await deps.cursors.read(exchange))!.state;
    expect(cursor).toMatchObject({ subscription: 'enabled', consecutiveFailures: 0, lastSuccessAt: new Date(start).toISOString() });
    expect(cursor.lastStartAt).toBe(new Date(start).toISOString());
  });

  it('overlapping re-lists enqueue nothing twice, and a late blob inside an old window is found', async () => {
    const { deps, clock, poll, enqueuedIds } = setup();
    deps.feed.add(exchange, 'b1', start - HOUR_MS);
    await poll();
    clock.advance(5 * MINUTE_MS);
    // Listed late: its contentCreated lies inside the window already polled.
    deps.feed.add(exchange, 'late', start - 40 * MINUTE_MS);
    const [second] = await poll();
    expect(second).toMatchObject({ outcome: 'complete', blobsListed: 2, blobsEnqueued: 1 });
    expect(enqueuedIds()).toEqual(['b1', 'late']);
    expect(deps.feed.starts).toHaveLength(1); // started once, not every poll
  });

  it('a failure on page N leaves the cursor where it was; the rerun enqueues exactly the missing blobs', async () => {
    const { deps, clock, poll, enqueuedIds } = setup();
    await poll(); // establish a cursor
    clock.advance(RELIST_AFTER_START_MS); // past the re-listing after the subscription start
    await poll();
    const before = (await deps.cursors.read(exchange))!.state.cursor;
    const base = clock.now();
    clock.advance(3 * HOUR_MS);
    for (let i = 0; i < 9; i++) deps.feed.add(exchange, `p${i}`, base + i * 10 * MINUTE_MS);
    deps.feed.failOnPage = { page: 3, error: new TransientError('ServiceUnavailable', 'AF50000 test', { afCode: 'AF50000' }) };
    const [failed] = await poll();
    expect(failed).toMatchObject({ outcome: 'failed', blobsEnqueued: 6 });
    const afterFailure = (await deps.cursors.read(exchange))!.state;
    expect(afterFailure.cursor).toBe(before);
    expect(afterFailure).toMatchObject({ consecutiveFailures: 1, lastErrorCode: 'ServiceUnavailable/AF50000' });
    const [rerun] = await poll();
    expect(rerun).toMatchObject({ outcome: 'complete', blobsEnqueued: 3 });
    expect(enqueuedIds()).toEqual(['p0', 'p1', 'p2', 'p3', 'p4', 'p5', 'p6', 'p7', 'p8']);
    expect((await deps.cursors.read(exchange))!.state).toMatchObject({ consecutiveFailures: 0, lastErrorCode: undefined });
  });

  it('a failed enqueue leaves the cursor before that window, and the rerun enqueues the blob', async () => {
    const { deps, poll, enqueuedIds } = setup();
    deps.feed.add(exchange, 'b1', start - 30 * MINUTE_MS); // in the second window of the first run
    deps.queue.failNext = 1;
    const [result] = await poll();
    expect(result).toMatchObject({ outcome: 'failed', windowsListed: 1 });
    expect((await deps.cursors.read(exchange))!.state.cursor).toBe(new Date(start - HOUR_MS).toISOString());
    expect(await deps.ledger.get(exchange, 'b1')).toBeUndefined(); // the row was given back
    const [rerun] = await poll();
    expect(rerun).toMatchObject({ outcome: 'complete', blobsEnqueued: 1 });
    expect(enqueuedIds()).toEqual(['b1']);
  });

  it('isolates streams: one tenant failing does not stop another', async () => {
    const { deps, poll } = setup();
    deps.feed.add(sharepoint, 's1', start - HOUR_MS);
    deps.feed.listErrors = [new TransientError('Network', 'ECONNRESET')];
    const results = await poll([exchange, sharepoint]);
    const byTenant = Object.fromEntries(results.map((r) => [r.stream.tenantId, r.outcome]));
    expect(byTenant).toEqual({ [T1]: 'failed', [T2]: 'complete' });
    expect(deps.queue.messages.map((m) => m.contentId)).toEqual(['s1']);
    expect(deps.logger.lines.some((l) => l.level === 'warn' && l.message.includes('stream poll failed'))).toBe(true);
  });

  it('catches up after a 3-day outage window by window', async () => {
    const { deps, clock, poll, enqueuedIds } = setup();
    await poll();
    const blobs: string[] = [];
    for (let h = 0; h < 72; h += 3) {
      deps.feed.add(exchange, `h${h}`, start + h * HOUR_MS);
      blobs.push(`h${h}`);
    }
    clock.advance(3 * DAY_MS);
    const [result] = await poll();
    expect(result).toMatchObject({ outcome: 'complete', windowsPlanned: 4, windowsListed: 4 });
    expect(enqueuedIds()).toEqual(blobs.sort());
    expect(deps.cursors.writes).toBeGreaterThanOrEqual(5); // after each window, and once at the end
  });

  it('records a gap after an outage longer than 7 days: cursor row, warning, metric', async () => {
    const { deps, clock, poll } = setup();
    await poll();
    clock.advance(10 * DAY_MS);
    const [result] = await poll();
    expect(result?.gap).toBeDefined();
    const gapMs = result!.gap!.end - result!.gap!.start;
    expect(gapMs).toBeGreaterThan(2.9 * DAY_MS);
    const state = (await deps.cursors.read(exchange))!.state;
    expect(state).toMatchObject({ gapCount: 1, gapTotalMs: gapMs, lastGapStart: new Date(result!.gap!.start).toISOString() });
    expect(deps.logger.lines.filter((l) => l.level === 'warn' && l.message.startsWith('content gap'))).toHaveLength(1);
    expect(deps.metrics.total('stream.gap.ms')).toBe(gapMs);
    // A later run does not count the same gap again.
    clock.advance(5 * MINUTE_MS);
    await poll();
    expect((await deps.cursors.read(exchange))!.state.gapCount).toBe(1);
  });

  it('AF20022: starts the subscription and lists again', async () => {
    const { deps, clock, poll, enqueuedIds } = setup();
    await poll();
    clock.advance(START_COOLDOWN_MS);
    deps.feed.add(exchange, 'b1', clock.now() - HOUR_MS);
    deps.feed.listErrors = [af('SubscriptionMissing', 'AF20022')];
    const [result] = await poll();
    expect(result?.outcome).toBe('complete');
    expect(deps.feed.starts).toHaveLength(2);
    expect(enqueuedIds()).toEqual(['b1']);
  });

  it('AF20023 again after a start surfaces as an actionable error on the stream', async () => {
    const { deps, clock, poll } = setup();
    await poll();
    clock.advance(START_COOLDOWN_MS);
    deps.feed.listErrors = [af('SubscriptionDisabled', 'AF20023')];
    deps.feed.onListAfterStart = [af('SubscriptionDisabled', 'AF20023')];
    const [result] = await poll();
    expect(result?.outcome).toBe('failed');
    const state = (await deps.cursors.read(exchange))!.state;
    expect(state).toMatchObject({ subscription: 'disabled', lastErrorCode: 'SubscriptionDisabled/AF20023' });
    expect(state.lastError).toMatch(/disabled by an administrator and starting it did not re-enable it/);
    expect(deps.logger.lines.some((l) => l.level === 'error')).toBe(true);
  });

  it('never starts twice within 15 minutes', async () => {
    const { deps, clock, poll } = setup();
    await poll();
    clock.advance(5 * MINUTE_MS);
    deps.feed.listErrors = [af('SubscriptionMissing', 'AF20022')];
    const [result] = await poll();
    expect(result?.outcome).toBe('failed');
    expect(deps.feed.starts).toHaveLength(1);
    expect((await deps.cursors.read(exchange))!.state.lastError).toMatch(/next is allowed 15 minutes later/);
  });

  it('stops cleanly at the time budget, keeping the cursor consistent', async () => {
    const { deps, clock } = setup();
    await pollStreams([exchange], deps, { settleLagInMs: 0, overlapInMs: 0, initialLookbackInMs: 24 * HOUR_MS, concurrency: 1, deadlineAtMs: start + MINUTE_MS });
    clock.advance(3 * DAY_MS);
    // The budget is already spent when the second window would start.
    const deadline = clock.now();
    const [result] = await pollStreams([exchange], deps, { settleLagInMs: 0, overlapInMs: 0, initialLookbackInMs: 0, concurrency: 1, deadlineAtMs: deadline });
    expect(result).toMatchObject({ outcome: 'partial', windowsListed: 0 });
    expect((await deps.cursors.read(exchange))!.state.cursor).toBe(new Date(start).toISOString());
  });

  it('yields to a concurrent poller instead of overwriting its cursor', async () => {
    const { deps, poll } = setup();
    deps.feed.add(exchange, 'b1', start - HOUR_MS);
    // Another poller writes the row between our read and our first write.
    const realWrite = deps.cursors.write.bind(deps.cursors);
    let raced = false;
    deps.cursors.write = async (stream, state, etag) => {
      if (!raced) {
        raced = true;
        await realWrite(stream, { ...state, cursor: 'other' }, etag);
      }
      return realWrite(stream, state, etag);
    };
    const [result] = await poll();
    expect(result?.outcome).toBe('skipped');
    expect((await deps.cursors.read(exchange))!.state.cursor).toBe('other');
  });
});

describe('pollStreams: onboarding, restarts, bad entries, bad cursors', () => {
  const iso = (ms: number) => new Date(ms).toISOString();

  it('persists the intended start of a first run that fails before listing, and a later run lists from it', async () => {
    const { deps, clock, poll, enqueuedIds } = setup();
    deps.feed.startError = new TransientError('ServiceUnavailable', 'start failed (test)');
    const [failed] = await poll();
    expect(failed?.outcome).toBe('failed');
    const failedRow = (await deps.cursors.read(exchange))!.state;
    expect(failedRow).toMatchObject({ intendedStart: iso(start - DAY_MS), coverageStart: iso(start - DAY_MS), consecutiveFailures: 1 });
    expect(failedRow.cursor).toBeUndefined();
    deps.feed.startError = undefined;
    deps.feed.add(exchange, 'first-day', start - 20 * HOUR_MS);
    clock.advance(30 * HOUR_MS);
    const [ok] = await poll();
    expect(ok?.outcome).toBe('complete');
    expect(enqueuedIds()).toEqual(['first-day']);
    expect(deps.feed.lists[0]!.window.start).toBe(start - DAY_MS);
    expect(await deps.gaps.listAll()).toEqual([]);
  });

  it('a first run that failed for more than 7 days records the part it can no longer list as a retention gap', async () => {
    const { deps, clock, poll } = setup();
    deps.feed.startError = new TransientError('ServiceUnavailable', 'start failed (test)');
    await poll();
    deps.feed.startError = undefined;
    clock.advance(7 * DAY_MS);
    const [ok] = await poll();
    expect(ok?.outcome).toBe('complete');
    const [gap] = await deps.gaps.listAll();
    expect(gap).toMatchObject({ cause: 'retention', start: iso(start - DAY_MS), provisional: false });
    expect(Date.parse(gap!.end)).toBe(clock.now() - 7 * DAY_MS + 15 * MINUTE_MS);
    expect((await deps.cursors.read(exchange))!.state.gapCount).toBe(1);
  });

  it('after a start, re-lists from the intended start for 24 h: a backlog the API lists late is found', async () => {
    const { deps, clock, poll, enqueuedIds } = setup();
    await poll(); // nothing listed yet: the first content takes hours
    clock.advance(11 * HOUR_MS);
    deps.feed.add(exchange, 'backlog', start - 22 * HOUR_MS);
    const [result] = await poll();
    expect(result).toMatchObject({ outcome: 'complete', blobsEnqueued: 1 });
    expect(enqueuedIds()).toEqual(['backlog']);
    clock.advance(14 * HOUR_MS);
    deps.feed.add(exchange, 'too-late', start - 21 * HOUR_MS);
    await poll(); // 25 h after the start: the re-listing is over, only the overlap is listed
    expect(enqueuedIds()).toEqual(['backlog']);
    expect((await deps.cursors.read(exchange))!.state.intendedStart).toBeUndefined();
  });

  it('a long initial lookback is listed in full once; the re-listing reaches back about a day before the start', async () => {
    const { deps, clock } = setup();
    const options = { settleLagInMs: 10 * MINUTE_MS, overlapInMs: 120 * MINUTE_MS, initialLookbackInMs: 6 * DAY_MS, concurrency: 1, deadlineAtMs: start + 5 * MINUTE_MS };
    await pollStreams([exchange], deps, options);
    expect(deps.feed.lists[0]!.window.start).toBe(start - 6 * DAY_MS);
    clock.advance(HOUR_MS);
    deps.feed.lists.length = 0;
    await pollStreams([exchange], deps, { ...options, deadlineAtMs: clock.now() + 5 * MINUTE_MS });
    expect(deps.feed.lists[0]!.window.start).toBe(start - RELIST_BEFORE_START_MS);
  });

  it('a re-listed window is compared with its ledger rows by one ranged query, not one insert per entry', async () => {
    const { deps, clock, poll } = setup();
    for (let i = 0; i < 30; i++) deps.feed.add(exchange, `b${i}`, start - 20 * HOUR_MS + i * MINUTE_MS);
    await poll();
    let offered = 0;
    const insert = deps.ledger.insertIfAbsent.bind(deps.ledger);
    deps.ledger.insertIfAbsent = async (entries) => {
      offered += entries.length;
      return insert(entries);
    };
    clock.advance(HOUR_MS);
    const [again] = await poll();
    expect(again).toMatchObject({ outcome: 'complete', blobsListed: 30, blobsEnqueued: 0 });
    expect(offered).toBe(0);
  });

  it('records an unusable entry as failed (reason, quarantine, listing fact, pipeline event) and lists the rest of the window', async () => {
    const { deps, poll, enqueuedIds } = setup();
    deps.feed.add(exchange, 'good1', start - 3 * HOUR_MS);
    deps.feed.add(exchange, 'good2', start - 2 * HOUR_MS);
    deps.feed.addRejected(exchange, start - 3 * HOUR_MS, { contentId: 'unusable-abc', reason: 'unusable listing entry: contentId "a b" cannot name a blob', entry: '{"contentId":"a b"}', contentCreated: iso(start - 3 * HOUR_MS) });
    const [result] = await poll();
    expect(result).toMatchObject({ outcome: 'complete', blobsEnqueued: 2, entriesRejected: 1 });
    expect(enqueuedIds()).toEqual(['good1', 'good2']);
    expect(await deps.ledger.get(exchange, 'unusable-abc')).toMatchObject({ status: 'failed', lastError: expect.stringMatching(/cannot name a blob/), foundBy: 'poll', contentCreated: iso(start - 3 * HOUR_MS) });
    expect(JSON.parse(deps.blobs.blobs.get(`quarantine/listings/${T1}/Audit.Exchange/unusable-abc.json`)!)).toMatchObject({ entry: '{"contentId":"a b"}', by: 'poll' });
    expect(deps.listings.all(exchange).map((f) => f.contentId).sort()).toEqual(['good1', 'good2', 'unusable-abc']);
    const [event] = deps.sink.published.map((e) => JSON.parse(e.body) as Record<string, unknown>);
    expect(event).toMatchObject({ EventSchema: 'PipelineError', LedgerStatus: 'failed', SourceContentId: 'unusable-abc' });
    expect(deps.metrics.total('listing.entries.unusable')).toBe(1);
    // Listed again by the overlap: recorded once.
    await poll();
    expect(deps.sink.published).toHaveLength(1);
  });

  it('writes a listing fact for every blob before its ledger row', async () => {
    const { deps, poll } = setup();
    deps.feed.add(exchange, 'b1', start - HOUR_MS);
    const order: string[] = [];
    const record = deps.listings.record.bind(deps.listings);
    deps.listings.record = async (stream, facts) => {
      order.push(...facts.map((f) => `fact:${f.contentId}:${f.by}`));
      return record(stream, facts);
    };
    const insert = deps.ledger.insertIfAbsent.bind(deps.ledger);
    deps.ledger.insertIfAbsent = async (entries) => {
      order.push(...entries.map((e) => `row:${e.contentId}:${e.foundBy}`));
      return insert(entries);
    };
    await poll();
    expect(order).toEqual(['fact:b1:poll', 'row:b1:poll']);
  });

  it.each([
    ['does not parse', 'not a time'],
    ['lies in the future', new Date(start + HOUR_MS).toISOString()],
  ])('a cursor that %s fails the stream with InvalidCursor (error log, metric) instead of listing nothing as complete', async (_what, cursor) => {
    const { deps, poll } = setup();
    await deps.cursors.write(exchange, { subscription: 'enabled', consecutiveFailures: 0, gapCount: 0, gapTotalMs: 0, cursor }, undefined);
    const [result] = await poll();
    expect(result).toMatchObject({ outcome: 'failed', windowsPlanned: 0 });
    expect(deps.feed.lists).toEqual([]);
    expect((await deps.cursors.read(exchange))!.state).toMatchObject({ lastErrorCode: 'InvalidCursor', consecutiveFailures: 1, cursor });
    expect(deps.logger.lines.some((l) => l.level === 'error' && l.fields?.code === 'InvalidCursor')).toBe(true);
    expect(deps.metrics.total('stream.cursor.invalid')).toBe(1);
  });

  it('a cursor a few minutes ahead (clock skew) is not an error', async () => {
    const { deps, poll } = setup();
    await deps.cursors.write(exchange, { subscription: 'enabled', consecutiveFailures: 0, gapCount: 0, gapTotalMs: 0, cursor: new Date(start + 4 * MINUTE_MS).toISOString() }, undefined);
    expect((await poll())[0]?.outcome).toBe('complete');
  });

  it('AF20022 after listing: a provisional gap from the cursor to the restart, re-listing from the cursor', async () => {
    const { deps, clock, poll } = setup();
    await poll();
    const cursor = (await deps.cursors.read(exchange))!.state.cursor!;
    clock.advance(30 * HOUR_MS);
    deps.feed.listErrors = [af('SubscriptionMissing', 'AF20022')];
    const [result] = await poll();
    expect(result?.outcome).toBe('complete');
    const [gap] = await deps.gaps.listAll();
    expect(gap).toMatchObject({ cause: 'subscriptionDisabled', provisional: true, start: cursor, end: iso(clock.now()) });
    expect((await deps.cursors.read(exchange))!.state).toMatchObject({ intendedStart: cursor, enabledAt: iso(clock.now()), subscription: 'enabled', disabledSince: undefined });
    // Nothing found in it by the end of the re-listing: the gap stays whole and becomes final.
    clock.advance(RELIST_AFTER_START_MS);
    await poll();
    const [final] = await deps.gaps.listAll();
    expect(final).toMatchObject({ start: cursor, provisional: false });
    expect((await deps.cursors.read(exchange))!.state.gapCount).toBe(1);
  });

  it('an administrator-locked subscription keeps its provisional gap growing, run after run', async () => {
    const { deps, clock, poll } = setup();
    await poll();
    for (let i = 1; i <= 2; i++) {
      clock.advance(START_COOLDOWN_MS);
      deps.feed.listErrors = [af('SubscriptionDisabled', 'AF20023')];
      deps.feed.onListAfterStart = [af('SubscriptionDisabled', 'AF20023')];
      expect((await poll())[0]?.outcome).toBe('failed');
    }
    const gaps = await deps.gaps.listAll();
    expect(gaps).toHaveLength(1);
    expect(gaps[0]).toMatchObject({ provisional: true, end: iso(clock.now()) });
    expect((await deps.cursors.read(exchange))!.state.disabledSince).toBe(iso(start + START_COOLDOWN_MS));
  });
});


describe('pollStreams: a feed that lets an unusable contentId through', () => {
  it('records it as failed instead of failing the page', async () => {
    const { deps, poll, enqueuedIds } = setup();
    deps.feed.add(exchange, 'good', start - 2 * HOUR_MS);
    deps.feed.add(exchange, 'has space', start - 2 * HOUR_MS);
    const [result] = await poll();
    expect(result).toMatchObject({ outcome: 'complete', entriesRejected: 1 });
    expect(enqueuedIds()).toEqual(['good']);
    const failed = [...deps.ledger.rows.values()].filter((r) => r.status === 'failed');
    expect(failed.map((r) => r.contentId)).toEqual([expect.stringMatching(/^unusable-[0-9a-f]{32}$/)]);
  });
});
