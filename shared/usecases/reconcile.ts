import { mapLimit } from '../core/concurrency.js';
import { describeError } from '../core/errors.js';
import { streamHealth } from '../core/health.js';
import {
  checkHours, DEFAULT_HORIZON_GRACE_MS, DEFAULT_INSERT_GRACE_MS, describeInvariant, hourOf, hoursBetween, hourStart, invariantState, nextHour, type HourCheck, type InvariantOptions,
} from '../core/invariant.js';
import type { RetryPolicy } from '../core/deliveryRetry.js';
import { isSecurityStream, streamId, type AnyStreamKey, type StreamKey } from '../core/model.js';
import { DAY_MS, HOUR_MS, utcHourOf } from '../core/windows.js';
import type { Clock, ContentQueue, CursorStore, GapStore, HealthStore, Ledger, ListingLog, Logger, Metrics, SummaryStore, SweepStore } from '../ports.js';
import type { HourSummary, StreamHealth } from '../core/accounting.js';
import type { CallOptions } from '../core/io.js';
import type { LedgerEntry } from '../core/ledger.js';
import { RangeReader } from './common/rangeReader.js';
import { redeliverStream } from './common/redelivery.js';
import { FINAL_AFTER_MS, finalizeHours, purgeExpiredState } from './common/retention.js';

export interface ReconcileDependencies {
  readonly ledger: Ledger;
  readonly cursors: CursorStore;
  readonly queue: ContentQueue;
  readonly health: HealthStore;
  /** Listing facts: what the API listed, per stream and hour. */
  readonly listings: ListingLog;
  /** Hour summaries and the progress of summarizing and retention. */
  readonly summaries: SummaryStore;
  readonly sweeps: SweepStore;
  readonly gaps: GapStore;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

export interface ReconcileOptions {
  /** Hours of contentCreated read in full every run (the recent range). Default 48. */
  readonly windowHours?: number;
  /** Hours of the older, not yet final range counted again per run (in rotation). Default 12. */
  readonly recountHours?: number;
  /** Hours summarized for the last time, and hours purged, at most per run. Default 48. */
  readonly finalizeHoursPerRun?: number;
  /** Ledger rows (and listing facts) are deleted this many days after contentCreated, once summarized. Default 30. */
  readonly ledgerRetentionDays?: number;
  /** A pending row whose last enqueue, retry time and lease lapsed this long ago is stuck (its message presumed lost). Default 1 h. */
  readonly stuckAfterInMs?: number;
  /** Stuck rows re-enqueued at most per stream and run. Default 100. */
  readonly redeliverPerRun?: number;
  /** The delivery backoff (RETRY_INITIAL_SECONDS, RETRY_MAX_SECONDS), for poisoned rows. */
  readonly retry?: RetryPolicy;
  readonly insertGraceInMs?: number;
  readonly horizonGraceInMs?: number;
  /** Streams reconciled at once. Default 4. */
  readonly concurrency?: number;
  readonly abortSignal?: AbortSignal;
}

/**
 * Reconcile (docs/architecture.md, "Reconcile and health"), per stream: redeliver stuck blobs (redelivery.ts), check the completeness
 * invariant over the recent range, a rotating slice of older hours and the hours that changed, summarize
 * every hour it counted, summarize hours that can no longer change for the last time, delete ledger rows
 * and listing facts past retention once summarized, and write the health row. Defender XDR streams are
 * accounted from their page rows (written `done`, never queued, never expiring).
 */
export async function reconcile(streams: readonly AnyStreamKey[], deps: ReconcileDependencies, options: ReconcileOptions = {}): Promise<StreamHealth[]> {
  // Once per run: whether the queue still holds a backlog (then queued messages are not presumed lost).
  const queueDepth = await deps.queue.approximateDepth({ abortSignal: options.abortSignal }).catch((err: unknown) => {
    deps.logger.warn('could not read the content queue depth; redelivery assumes no backlog', { error: describeError(err) });
    return undefined;
  });
  // Streams are independent; a few at once keep a partner's hundreds of streams within the schedule.
  const results = await mapLimit(streams, options.concurrency ?? 4, async (stream) => {
    try {
      return await reconcileStream(stream, deps, options, queueDepth);
    } catch (err) {
      deps.logger.error('reconcile failed for a stream', { stream: streamId(stream), error: describeError(err) });
      return undefined;
    }
  });
  return results.filter((h): h is StreamHealth => h !== undefined);
}

const NOT_DONE = ['listed', 'delivering', 'failed', 'poisoned'] as const;
/** Summaries are kept this long past ledger retention, so the invariant still covers the purged hours. */
const SUMMARIES_SHOWN_PAST_RETENTION_MS = 7 * DAY_MS;

async function reconcileStream(stream: AnyStreamKey, deps: ReconcileDependencies, options: ReconcileOptions, queueDepth: number | undefined): Promise<StreamHealth> {
  const now = deps.clock.now();
  const call: CallOptions = { abortSignal: options.abortSignal };
  const id = streamId(stream);
  const dims = { tenantId: stream.tenantId, contentType: stream.contentType };
  const security = isSecurityStream(stream);
  const check: InvariantOptions = {
    insertGraceInMs: options.insertGraceInMs ?? DEFAULT_INSERT_GRACE_MS,
    horizonGraceInMs: options.horizonGraceInMs ?? DEFAULT_HORIZON_GRACE_MS,
    listingFacts: !security,
  };
  const retentionDays = options.ledgerRetentionDays ?? 30;
  const { stuck } = security ? { stuck: 0 } : await redeliverStream(stream, deps, { ...options, queueDepth });

  const hotFrom = hourOf(now - (options.windowHours ?? 48) * HOUR_MS);
  const finalLimit = hourOf(now - FINAL_AFTER_MS);
  const summariesFrom = hourOf(now - retentionDays * DAY_MS - SUMMARIES_SHOWN_PAST_RETENTION_MS);
  const reader = new RangeReader(stream, deps, call);

  // 1. What this run reads, side by side: the recent range in full (facts first: a fact seen then has its row
  //    inserted before the ledger read), the older hours as summarized, the not-done rows of the listing range
  //    (filtered on the server), and the stream's cursor, sweep and gap rows.
  const [hot, startProgress, older, notDone, cursorRow, sweep, gaps] = await Promise.all([
    (async () => {
      const facts = await reader.facts(hotFrom, '9999');
      return { facts, rows: await reader.rows(hotFrom, undefined) };
    })(),
    deps.summaries.progress(stream, call),
    deps.summaries.range(stream, summariesFrom, hotFrom, call),
    collect(deps.ledger.query(stream, { statuses: [...NOT_DONE], createdFrom: new Date(hourStart(finalLimit)).toISOString() }, call)),
    deps.cursors.read(stream, call),
    security ? Promise.resolve(undefined) : deps.sweeps.read(stream as StreamKey, call),
    deps.gaps.list(stream, call),
  ]);
  let progress = startProgress;
  const newestRowHour = hot.rows.reduce((max, r) => (utcHourOf(r.contentCreated) > max ? utcHourOf(r.contentCreated) : max), hourOf(now));
  const hotChecks = checkHours(hoursBetween(hotFrom, nextHour(newestRowHour)), hot.facts, hot.rows, now, check);
  const expiringSoon = notDone.filter((r) => {
    const expiration = Date.parse(r.contentExpiration);
    return expiration > now && expiration - now <= DAY_MS;
  });

  // 2. Count again: a rotating slice of the older, not yet final hours, and every such hour whose pending rows changed.
  const recount = recountHours({ older, notDone, from: finalLimit, to: hotFrom, next: progress.recountNext, slice: options.recountHours ?? 12, now, check });
  const recountChecks: HourCheck[] = [];
  for (const [from, to] of ranges(recount.hours)) {
    recountChecks.push(...checkHours(hoursBetween(from, to), await reader.facts(from, to), await reader.rows(from, to), now, check));
  }
  progress = { ...progress, recountNext: recount.next };

  // 3. Hours that can no longer change: summarized for the last time.
  const finalized = await finalizeHours(stream, reader, progress, { finalLimit, maxHours: options.finalizeHoursPerRun ?? 48, now, check }, deps, call);
  progress = finalized.progress;

  // 4. The invariant over everything covered, and the health row.
  const checked = [...finalized.checks, ...recountChecks, ...hotChecks].filter((c) => c.account.hour >= summariesFrom);
  const invariant = invariantState(checked, older);
  const cursor = cursorRow?.state;
  // A Defender cursor is the newest lastUpdateDateTime seen, which stands still while a tenant is quiet:
  // how far behind the stream is shows in its last complete scan instead.
  const listing = cursor && security ? { ...cursor, cursor: cursor.lastSuccessAt } : cursor;
  const health = {
    ...streamHealth({
      ...stream, now, cursor: listing, storedCursor: cursor?.cursor, entries: hot.rows, hours: hotChecks.map((c) => c.account), invariant, stuck, expiringSoon: expiringSoon.length, sweep, gaps,
    }),
    cursor: cursor?.cursor,
  };

  // 5. Store the summaries, then the progress that vouches for them, and only then delete on its strength.
  const toWrite: HourSummary[] = [...hotChecks, ...recountChecks].map((c) => summaryOf(c, now, false)).concat(finalized.checks.map((c) => summaryOf(c, now, true)));
  await Promise.all([deps.summaries.write(stream, toWrite, call), deps.health.write(stream, health, call)]);
  if (JSON.stringify(progress) !== JSON.stringify(startProgress)) await deps.summaries.writeProgress(stream, progress, call);
  const purged = await purgeExpiredState(stream, reader, progress, { retentionDays, maxHours: options.finalizeHoursPerRun ?? 48, now }, deps, call);
  if (purged.progress !== progress) await deps.summaries.writeProgress(stream, (progress = purged.progress), call);

  if (!invariant.holds) {
    deps.logger.error('completeness invariant violated', { stream: id, summary: describeInvariant(invariant), hours: invariant.violatingHours.slice(0, 5), blobs: invariant.examples.slice(0, 10).map((v) => `${v.contentId} (${v.problem})`) });
  }
  if (expiringSoon.length > 0) {
    deps.logger.error('blobs not done expire within a day', { stream: id, count: expiringSoon.length, firstExpiration: expiringSoon.map((e) => e.contentExpiration).sort()[0], blobs: expiringSoon.slice(0, 10).map((e) => `${e.contentId} (${e.status})`) });
  }
  if (health.unexplained > 0) deps.logger.error('ledger rows ended without a reason', { stream: id, count: health.unexplained });
  if (purged.rows > 0 || finalized.checks.length > 0) deps.logger.info('ledger retention', { stream: id, hoursFinalized: finalized.checks.length, rowsDeleted: purged.rows, factHoursDeleted: purged.hours });
  deps.metrics.count('invariant.violations', invariant.violations, dims);
  deps.metrics.count('blobs.notDoneNearExpiry', expiringSoon.length, dims);
  if (purged.rows > 0) deps.metrics.count('ledger.rowsDeleted', purged.rows, dims);
  if (health.sweep?.latenessMaxMinutes !== undefined) deps.metrics.count('sweep.lateness.max.minutes', health.sweep.latenessMaxMinutes, dims);
  if (health.deliveryLagMinutes !== undefined) deps.metrics.count('stream.deliveryLag.minutes', health.deliveryLagMinutes, dims);
  if (health.listingLagMinutes !== undefined) deps.metrics.count('stream.listingLag.minutes', health.listingLagMinutes, dims);
  return health;
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

export function summaryOf(check: HourCheck, now: number, final: boolean): HourSummary {
  return { ...check.account, computedAt: new Date(now).toISOString(), final, examples: check.examples };
}

/**
 * Which hours of [from, to) (summarized, not final) to count again this run: a slice of `slice` hours from
 * `next` (wrapping), every hour without a summary, and every hour whose pending rows differ from its summary.
 */
export function recountHours(input: {
  older: readonly HourSummary[];
  notDone: readonly LedgerEntry[];
  from: string;
  to: string;
  next?: string;
  slice: number;
  now: number;
  check: InvariantOptions;
}): { hours: string[]; next: string | undefined } {
  const span = hoursBetween(input.from, input.to);
  if (span.length === 0) return { hours: [], next: undefined };
  const chosen = new Set<string>();
  let start = input.next && input.next >= input.from && input.next < input.to ? input.next : input.from;
  for (let i = 0; i < Math.min(input.slice, span.length); i++) {
    chosen.add(start);
    start = nextHour(start);
    if (start >= input.to) start = input.from;
  }
  const summaries = new Map(input.older.map((s) => [s.hour, s]));
  const pendingNow = checkHours(span, [], input.notDone, input.now, { ...input.check, listingFacts: false });
  for (const { account } of pendingNow) {
    const summary = summaries.get(account.hour);
    if (!summary || summary.pending !== account.pending || summary.pastHorizon !== account.pastHorizon) chosen.add(account.hour);
  }
  return { hours: [...chosen].sort(), next: start };
}

/** Contiguous `[from, to)` ranges of sorted hours. */
export function ranges(hours: readonly string[]): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const hour of hours) {
    const last = out.at(-1);
    if (last && last[1] === hour) last[1] = nextHour(hour);
    else out.push([hour, nextHour(hour)]);
  }
  return out;
}
