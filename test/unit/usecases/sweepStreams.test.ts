import { describe, expect, it } from 'vitest';
import { TransientError } from '../../../shared/core/errors.js';
import type { StreamKey } from '../../../shared/core/model.js';
import { DAY_MS, HOUR_MS, LISTING_RETENTION_MS, MINUTE_MS } from '../../../shared/core/windows.js';
import { LATENESS_SAMPLES, sweepStreams } from '../../../shared/usecases/sweepStreams.js';
import { ManualClock, memoryDeps, MemoryListingLog, MemoryQueue, MemorySweepStore, ScriptedFeed } from '../../fakes/ports.js';

const T1 = '11111111-1111-4111-8111-111111111111';
const exchange: StreamKey = { tenantId: T1, contentType: 'Audit.Exchange' };
const start = Date.parse('2026-11-20T00:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();

function setup() {
  const clock = new ManualClock(start);
  const deps = { ...memoryDeps(clock), feed: new ScriptedFeed(), queue: new MemoryQueue(), listings: new MemoryListingLog(), sweeps: new MemorySweepStore() };
  deps.feed.pageSize = 50;
  const enabled = async (coverageStart?: number) =>
    deps.cursors.write(exchange, { subscription: 'enabled', consecutiveFailures: 0, gapCount: 0, gapTotalMs: 0, cursor: iso(start - 10 * MINUTE_MS), ...(coverageStart !== undefined && { coverageStart: iso(coverageStart) }) }, undefined);
  const sweep = (deadline = clock.now() + 8 * MINUTE_MS) => sweepStreams([exchange], deps, { settleLagInMs: 10 * MINUTE_MS, overlapInMs: 120 * MINUTE_MS, concurrency: 1, deadlineAtMs: deadline });
  /** A blob the ledger already has (as a poll would have left it). */
  const known = async (id: string, created: number) => {
    deps.feed.add(exchange, id, created);
    await deps.ledger.insertIfAbsent([{ tenantId: T1, contentType: 'Audit.Exchange', contentId: id, contentUri: 'u', contentCreated: iso(created), contentExpiration: iso(created + 7 * DAY_MS), listedAt: iso(created), status: 'done', foundBy: 'poll' }]);
  };
  return { deps, clock, enabled, sweep, known };
}

describe('sweepStreams (the retention sweep)', () => {
  it('lists the whole retrievable range, newest window first, and inserts and enqueues only what the ledger lacks', async () => {
    const { deps, enabled, sweep, known } = setup();
    await enabled();
    for (let i = 0; i < 100; i++) await known(`k${i}`, start - 6 * DAY_MS + i * HOUR_MS);
    deps.feed.add(exchange, 'missed-old', start - 6 * DAY_MS - 30 * MINUTE_MS);
    deps.feed.add(exchange, 'missed-new', start - 3 * HOUR_MS);
    let offered = 0;
    const insert = deps.ledger.insertIfAbsent.bind(deps.ledger);
    deps.ledger.insertIfAbsent = async (entries) => {
      offered += entries.length;
      return insert(entries);
    };
    const [result] = await sweep();
    expect(result).toMatchObject({ outcome: 'complete', blobsListed: 102, blobsFound: 2, windowsPlanned: 8, windows: 8 });
    expect(offered).toBe(2); // not one insert per listed entry
    expect(deps.queue.messages.map((m) => m.contentId).sort()).toEqual(['missed-new', 'missed-old']);
    expect(await deps.ledger.get(exchange, 'missed-old')).toMatchObject({ status: 'listed', foundBy: 'sweep' });
    const windows = deps.feed.lists.map((l) => l.window);
    expect(windows[0]!.end).toBe(start - 10 * MINUTE_MS);
    expect(windows.at(-1)!.start).toBe(start - LISTING_RETENTION_MS + 15 * MINUTE_MS);
    for (let i = 1; i < windows.length; i++) expect(windows[i]!.end).toBe(windows[i - 1]!.start); // contiguous, newest first
    // Every listed blob has a listing fact, by the sweep.
    expect(deps.listings.all(exchange)).toHaveLength(102);
    expect(new Set(deps.listings.all(exchange).map((f) => f.by))).toEqual(new Set(['sweep']));
  });

  it('records each find\'s lateness on the sweep row and as a metric, and warns naming OVERLAP_MINUTES when it exceeds the overlap', async () => {
    const { deps, enabled, sweep } = setup();
    await enabled();
    deps.feed.add(exchange, 'six-hours-late', start - 6 * HOUR_MS);
    deps.feed.add(exchange, 'a-little-late', start - 40 * MINUTE_MS);
    await sweep();
    const state = await deps.sweeps.read(exchange);
    expect(state).toMatchObject({ lastOutcome: 'complete', blobsFound: 2, lastSweepAt: iso(start) });
    expect(state!.lateness.map(([, ms]) => ms).sort((a, b) => a - b)).toEqual([40 * MINUTE_MS, 6 * HOUR_MS]);
    expect(deps.metrics.counts.filter((c) => c.name === 'sweep.lateness.ms').map((c) => c.value).sort((a, b) => a - b)).toEqual([40 * MINUTE_MS, 6 * HOUR_MS]);
    const warnings = deps.logger.lines.filter((l) => l.level === 'warn' && l.message.includes('OVERLAP_MINUTES'));
    expect(warnings.map((w) => w.fields?.contentId)).toEqual(['six-hours-late']);
    expect(state!.apiCalls).toBeGreaterThanOrEqual(8);
    expect(state!.tableOps).toBeGreaterThan(8);
  });

  it('keeps lateness samples of the last 24 hours only, at most 500', async () => {
    const { deps, clock, enabled, sweep } = setup();
    await enabled();
    await deps.sweeps.write(exchange, { windows: 0, blobsListed: 0, blobsFound: 0, apiCalls: 0, tableOps: 0, durationMs: 0, lateness: [[start - 25 * HOUR_MS, 1], ...Array.from({ length: 600 }, (_, i) => [start - HOUR_MS + i, 2] as [number, number])] });
    deps.feed.add(exchange, 'new', start - HOUR_MS);
    clock.advance(MINUTE_MS);
    await sweep();
    const { lateness } = (await deps.sweeps.read(exchange))!;
    expect(lateness).toHaveLength(LATENESS_SAMPLES);
    expect(lateness.every(([at]) => at >= start - HOUR_MS)).toBe(true);
    expect(lateness.at(-1)![1]).toBe(HOUR_MS + MINUTE_MS);
  });

  it('starts no earlier than the stream\'s coverage start (INITIAL_LOOKBACK_HOURS keeps its meaning)', async () => {
    const { deps, enabled, sweep } = setup();
    await enabled(start - DAY_MS);
    deps.feed.add(exchange, 'before-onboarding', start - 2 * DAY_MS);
    deps.feed.add(exchange, 'after', start - 2 * HOUR_MS);
    const [result] = await sweep();
    expect(result).toMatchObject({ blobsFound: 1, windowsPlanned: 2 });
    expect(deps.queue.messages.map((m) => m.contentId)).toEqual(['after']);
  });

  it('skips a stream whose subscription its poll has not enabled yet', async () => {
    const { deps, sweep } = setup();
    expect((await sweep())[0]).toMatchObject({ outcome: 'skipped', apiCalls: 0 });
    expect(deps.feed.lists).toEqual([]);
  });

  it('stops at the time budget as partial, keeping what it found', async () => {
    const { deps, clock, enabled } = setup();
    await enabled();
    deps.feed.add(exchange, 'newest', start - HOUR_MS);
    deps.feed.add(exchange, 'old', start - 5 * DAY_MS);
    const listContent = deps.feed.listContent.bind(deps.feed);
    deps.feed.listContent = (stream, window) => {
      clock.advance(4 * MINUTE_MS);
      return listContent(stream, window);
    };
    const [result] = await sweepStreams([exchange], deps, { settleLagInMs: 10 * MINUTE_MS, overlapInMs: 120 * MINUTE_MS, concurrency: 1, deadlineAtMs: start + 7 * MINUTE_MS });
    expect(result).toMatchObject({ outcome: 'partial', windows: 1, blobsFound: 1 });
    expect(deps.queue.messages.map((m) => m.contentId)).toEqual(['newest']);
    expect(await deps.sweeps.read(exchange)).toMatchObject({ lastOutcome: 'partial', blobsFound: 1 });
  });

  it('a listing failure ends the sweep as failed on its row (the cursor row is untouched); what it found stays enqueued', async () => {
    const { deps, enabled } = setup();
    await enabled();
    deps.feed.add(exchange, 'found-first', start - HOUR_MS);
    const before = await deps.cursors.read(exchange);
    let calls = 0;
    const listContent = deps.feed.listContent.bind(deps.feed);
    deps.feed.listContent = (stream, window) => {
      if (++calls === 2) throw new TransientError('ServiceUnavailable', 'AF50000 (test)');
      return listContent(stream, window);
    };
    const [result] = await sweepStreams([exchange], deps, { settleLagInMs: 10 * MINUTE_MS, overlapInMs: 120 * MINUTE_MS, concurrency: 1, deadlineAtMs: start + 8 * MINUTE_MS });
    expect(result).toMatchObject({ outcome: 'failed', blobsFound: 1 });
    expect(await deps.sweeps.read(exchange)).toMatchObject({ lastOutcome: 'failed', lastError: expect.stringMatching(/AF50000/) });
    expect(await deps.cursors.read(exchange)).toEqual(before);
    expect(deps.queue.messages.map((m) => m.contentId)).toEqual(['found-first']);
  });
});
