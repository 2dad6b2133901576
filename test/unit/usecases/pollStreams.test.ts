import { describe, expect, it } from 'vitest';
import { TransientError } from '../../../shared/core/errors.js';
import type { StreamKey } from '../../../shared/core/model.js';
import { DAY_MS, HOUR_MS, MINUTE_MS } from '../../../shared/core/windows.js';
import { pollStreams, RELIST_AFTER_START_MS, START_COOLDOWN_MS } from '../../../shared/usecases/pollStreams.js';
import { af, ManualClock, MemoryBlobStore, MemoryCursorStore, MemoryGapStore, MemoryLedger, MemoryListingLog, MemoryQueue, MemorySink, RecordingLogger, RecordingMetrics, ScriptedFeed } from '../../fakes/ports.js';

const T1 = '11111111-1111-4111-8111-111111111111';
const T2 = '22222222-2222-4222-8222-222222222222';
const exchange: StreamKey = { tenantId: T1, contentType: 'Audit.Exchange' };
const sharepoint: StreamKey = { tenantId: T2, contentType: 'Audit.SharePoint' };
const start = Date.parse('2026-11-20T00:00:00Z');

function setup() {
  const clock = new ManualClock(start);
  const deps = {
    feed: new ScriptedFeed(),
    ledger: new MemoryLedger(),
    queue: new MemoryQueue(),
    cursors: new MemoryCursorStore(),
    listings: new MemoryListingLog(),
    gaps: new MemoryGapStore(),
    sink: new MemorySink(),
    blobs: new MemoryBlobStore(),
    clock,
    logger: new RecordingLogger(),
    metrics: new RecordingMetrics(),
  };
  const options = () => ({
    settleLagMs: 10 * MINUTE_MS,
    overlapMs: 120 * MINUTE_MS,
    initialLookbackMs: 24 * HOUR_MS,
    concurrency: 2,
    deadline: clock.now() + 5 * MINUTE_MS,
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
    await pollStreams([exchange], deps, { settleLagMs: 0, overlapMs: 0, initialLookbackMs: 24 * HOUR_MS, concurrency: 1, deadline: start + MINUTE_MS });
    clock.advance(3 * DAY_MS);
    // The budget is already spent when the second window would start.
    const deadline = clock.now();
    const [result] = await pollStreams([exchange], deps, { settleLagMs: 0, overlapMs: 0, initialLookbackMs: 0, concurrency: 1, deadline });
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
