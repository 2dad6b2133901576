import { toContentMessage } from '../../core/contentMessage.js';
import { backoffMs, type RetryPolicy } from '../../core/deliveryRetry.js';
import { streamId, type StreamKey } from '../../core/model.js';
import { HOUR_MS, MINUTE_MS } from '../../core/windows.js';
import type { Clock, ContentQueue, Ledger, Logger, Metrics } from '../../ports.js';
import type { LedgerEntry } from '../../core/ledger.js';

/** What reconcile's redelivery step works through. */
export interface RedeliverStreamDependencies {
  readonly ledger: Ledger;
  readonly queue: ContentQueue;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

export interface RedeliverStreamOptions {
  /** A row whose last enqueue (or retry time, or lease) lapsed this long ago is stuck: its message is presumed lost. Default 1 h. */
  readonly stuckAfterInMs?: number;
  /** Rows re-enqueued at most per stream and run (K), oldest first; the rest wait for the next run. Default 100. */
  readonly redeliverPerRun?: number;
  /**
   * The content queue's approximate depth, read once per reconcile run. When it holds at least as many
   * messages as the stream has pending rows, their messages are presumably still queued (a backlog, not a
   * loss), and a row counts as stuck only after {@link BACKLOG_STUCK_AFTER_MS}.
   */
  readonly queueDepth?: number;
  /** The delivery backoff, for poisoned rows re-enqueued again before their previous copy ran. */
  readonly retry?: RetryPolicy;
  readonly abortSignal?: AbortSignal;
}

/** Rows without `enqueuedAt` are given this long: a poller may be between its insert and its enqueue. */
const NEVER_ENQUEUED_GRACE_MS = 10 * MINUTE_MS;
const DEFAULT_STUCK_AFTER_MS = 60 * MINUTE_MS;
export const DEFAULT_REDELIVER_PER_RUN = 100;
/** While the queue holds a backlog, a queued message is given this long before its row counts as stuck. */
export const BACKLOG_STUCK_AFTER_MS = 6 * HOUR_MS;
const PENDING = ['listed', 'delivering', 'poisoned'] as const;

/**
 * Re-enqueues an audit stream's blobs whose message is lost: rows never enqueued, rows whose last enqueue,
 * retry time and lease all lapsed, and poisoned rows whose retry time came (the queue host gave up on their
 * message; this is their backoff). At most `redeliverPerRun` per run, so a backlog never multiplies: a row
 * re-enqueued is not due again for another `stuckAfterInMs`. Expired rows too: the worker records them as
 * expired, with the in-band event, instead of leaving them pending.
 */
export async function redeliverStream(stream: StreamKey, deps: RedeliverStreamDependencies, options: RedeliverStreamOptions): Promise<{ stuck: number; deferred: number }> {
  const now = deps.clock.now();
  const call = { abortSignal: options.abortSignal };
  const dims = { tenantId: stream.tenantId, contentType: stream.contentType };
  const pending: LedgerEntry[] = [];
  for await (const entry of deps.ledger.query(stream, { statuses: [...PENDING] }, call)) pending.push(entry);
  const backlog = options.queueDepth !== undefined && options.queueDepth >= pending.length;
  const stuckAfter = options.stuckAfterInMs ?? DEFAULT_STUCK_AFTER_MS;
  const due = pending
    .map((entry) => ({ entry, at: dueAt(entry, backlog ? Math.max(stuckAfter, BACKLOG_STUCK_AFTER_MS) : stuckAfter) }))
    .filter((d) => d.at <= now)
    .sort((a, b) => a.at - b.at || (a.entry.contentCreated < b.entry.contentCreated ? -1 : 1));
  const batch = due.slice(0, options.redeliverPerRun ?? DEFAULT_REDELIVER_PER_RUN);
  if (batch.length > 0) {
    await deps.queue.enqueue(batch.map((d) => toContentMessage(stream, d.entry, now)), call);
    const at = new Date(now).toISOString();
    for (const { entry } of batch) {
      // A poisoned row's next retry time moves on by its backoff, so it is not sent again before this copy ran.
      const backoff = options.retry ? backoffMs(entry.attempts ?? 1, options.retry, 0.5) : 0;
      const nextAttemptAt = entry.status === 'poisoned' ? new Date(now + Math.max(stuckAfter, backoff)).toISOString() : undefined;
      await deps.ledger.update(stream, entry.contentId, { enqueuedAt: at, nextAttemptAt }, call);
    }
    const poisoned = batch.filter((d) => d.entry.status === 'poisoned').length;
    deps.logger.warn('stuck blobs re-enqueued', {
      stream: streamId(stream),
      count: batch.length,
      poisoned,
      deferred: due.length - batch.length,
      backlog,
      oldestListedAt: batch.map((d) => d.entry.listedAt).sort()[0],
    });
    deps.metrics.count('blobs.reenqueued', batch.length, dims);
  }
  return { stuck: batch.length, deferred: due.length - batch.length };
}

/** When a pending row's message counts as lost. */
function dueAt(entry: LedgerEntry, stuckAfter: number): number {
  const time = (iso: string | undefined) => (iso ? Date.parse(iso) : Number.NaN);
  const latest = (...values: number[]) => values.filter(Number.isFinite).reduce((a, b) => Math.max(a, b), Number.NEGATIVE_INFINITY);
  // The queue gave up on its message: due at its retry time (moved on each time reconcile re-enqueues it).
  if (entry.status === 'poisoned') return latest(time(entry.nextAttemptAt), time(entry.completedAt), time(entry.listedAt));
  const last = latest(time(entry.enqueuedAt), time(entry.nextAttemptAt), entry.status === 'delivering' ? time(entry.leaseUntil) : Number.NaN);
  if (!Number.isFinite(last)) return time(entry.listedAt) + NEVER_ENQUEUED_GRACE_MS;
  return last + stuckAfter;
}
