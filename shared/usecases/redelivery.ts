import { toContentMessage } from '../core/contentMessage.js';
import { streamId, type StreamKey } from '../core/model.js';
import { DAY_MS, MINUTE_MS } from '../core/windows.js';
import type { Clock, ContentQueue, Ledger, LedgerEntry, Logger, Metrics } from '../ports.js';

/** What reconcile's redelivery step works through. */
export interface RedeliveryDependencies {
  readonly ledger: Ledger;
  readonly queue: ContentQueue;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

export interface RedeliveryOptions {
  /** A `listed` row older than this is stuck: enqueued but never delivered, or never enqueued. */
  readonly stuckAfterMs?: number;
  readonly abortSignal?: AbortSignal;
}

/** Rows without `enqueuedAt` are given this long: a poller may be between its insert and its enqueue. */
const NEVER_ENQUEUED_GRACE_MS = 10 * MINUTE_MS;
const DEFAULT_STUCK_AFTER_MS = 60 * MINUTE_MS;

/** Re-enqueues an audit stream's stuck blobs and raises those close to expiry; returns how many of each. */
export async function redeliverStream(stream: StreamKey, deps: RedeliveryDependencies, options: RedeliveryOptions): Promise<{ stuck: number; expiringSoon: number }> {
  const now = deps.clock.now();
  const call = { abortSignal: options.abortSignal };
  const stuckAfter = options.stuckAfterMs ?? DEFAULT_STUCK_AFTER_MS;
  const dims = { tenantId: stream.tenantId, contentType: stream.contentType };

  // Every pending row, however old: those are the ones that can still be lost.
  const pending: LedgerEntry[] = [];
  for await (const entry of deps.ledger.query(stream, { statuses: ['listed'] }, call)) pending.push(entry);
  const stuck = pending.filter((e) =>
    e.enqueuedAt ? now - Date.parse(e.enqueuedAt) >= stuckAfter : now - Date.parse(e.listedAt) >= NEVER_ENQUEUED_GRACE_MS,
  );
  // Expired ones too: the worker records them as expired, with the in-band event, instead of leaving them pending.
  if (stuck.length > 0) {
    await deps.queue.enqueue(stuck.map((e) => toContentMessage(stream, e, now)), call);
    for (const e of stuck) await deps.ledger.update(stream, e.contentId, { enqueuedAt: new Date(now).toISOString() }, call);
    deps.logger.warn('stuck blobs re-enqueued', { stream: streamId(stream), count: stuck.length, oldestListedAt: stuck.map((e) => e.listedAt).sort()[0] });
    deps.metrics.count('blobs.reenqueued', stuck.length, dims);
  }
  const expiringSoon = pending.filter((e) => Date.parse(e.contentExpiration) - now < DAY_MS);
  if (expiringSoon.length > 0) {
    deps.logger.error('undelivered blobs expire within a day', {
      stream: streamId(stream),
      count: expiringSoon.length,
      firstExpiration: expiringSoon.map((e) => e.contentExpiration).sort()[0],
      contentIds: expiringSoon.slice(0, 10).map((e) => e.contentId),
    });
    deps.metrics.count('blobs.expiringSoon', expiringSoon.length, dims);
  }
  return { stuck: stuck.length, expiringSoon: expiringSoon.length };
}
