import { toContentMessage } from '../core/contentMessage.js';
import { describeError } from '../core/errors.js';
import { streamHealth } from '../core/health.js';
import { isSecurityStream, streamId, type AnyStreamKey, type StreamKey } from '../core/model.js';
import { DAY_MS, HOUR_MS, MINUTE_MS } from '../core/windows.js';
import type { Clock, ContentQueue, CursorStore, HealthStore, Ledger, LedgerEntry, Logger, Metrics, StreamHealth } from '../ports.js';

export interface ReconcileDependencies {
  readonly ledger: Ledger;
  readonly cursors: CursorStore;
  readonly queue: ContentQueue;
  readonly health: HealthStore;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

export interface ReconcileOptions {
  /** Hours of contentCreated accounted per stream. Default 48. */
  readonly windowHours?: number;
  /** A `listed` row older than this is stuck: enqueued but never delivered, or never enqueued. */
  readonly stuckAfterMs?: number;
  readonly abortSignal?: AbortSignal;
}

/** Rows without `enqueuedAt` are given this long: a poller may be between its insert and its enqueue. */
const NEVER_ENQUEUED_GRACE_MS = 10 * MINUTE_MS;
const DEFAULT_STUCK_AFTER_MS = 60 * MINUTE_MS;

/**
 * Reconcile (DESIGN.md §5): per stream, re-enqueue blobs stuck in `listed`, raise blobs close to
 * expiry loudly, account every listed blob per hour, and write the stream's health row. Duplicate
 * messages are harmless (delivery is idempotent), so re-enqueueing errs on the side of delivery.
 * Defender XDR streams are accounted from their page rows, which are written `done` and never wait
 * on the queue, so there is nothing of theirs to re-enqueue or to expire.
 */
export async function reconcile(streams: readonly AnyStreamKey[], deps: ReconcileDependencies, options: ReconcileOptions = {}): Promise<StreamHealth[]> {
  const results: StreamHealth[] = [];
  for (const stream of streams) {
    try {
      results.push(await reconcileStream(stream, deps, options));
    } catch (err) {
      deps.logger.error('reconcile failed for a stream', { stream: streamId(stream), error: describeError(err) });
    }
  }
  return results;
}

async function reconcileStream(stream: AnyStreamKey, deps: ReconcileDependencies, options: ReconcileOptions): Promise<StreamHealth> {
  const now = deps.clock.now();
  const call = { abortSignal: options.abortSignal };
  const dims = { tenantId: stream.tenantId, contentType: stream.contentType };
  const { stuck, expiringSoon } = isSecurityStream(stream) ? { stuck: 0, expiringSoon: 0 } : await reenqueueStuck(stream, deps, options);

  const from = new Date(now - (options.windowHours ?? 48) * HOUR_MS).toISOString();
  const entries: LedgerEntry[] = [];
  for await (const entry of deps.ledger.query(stream, { createdFrom: from }, call)) entries.push(entry);
  const cursor = (await deps.cursors.read(stream, call))?.state;
  // A Defender cursor is the newest lastUpdateDateTime seen, which stands still while a tenant is quiet:
  // how far behind the stream is shows in its last complete scan instead.
  const listing = cursor && isSecurityStream(stream) ? { ...cursor, cursor: cursor.lastSuccessAt } : cursor;
  const computed = streamHealth({ ...stream, now, cursor: listing, entries, stuck, expiringSoon });
  const health = { ...computed, cursor: cursor?.cursor };
  await deps.health.write(stream, health, call);
  if (health.unexplained > 0) deps.logger.error('ledger rows ended without a reason', { stream: streamId(stream), count: health.unexplained });
  if (health.deliveryLagMinutes !== undefined) deps.metrics.count('stream.deliveryLag.minutes', health.deliveryLagMinutes, dims);
  if (health.listingLagMinutes !== undefined) deps.metrics.count('stream.listingLag.minutes', health.listingLagMinutes, dims);
  return health;
}

/** Re-enqueues an audit stream's stuck blobs and raises those close to expiry; returns how many of each. */
async function reenqueueStuck(stream: StreamKey, deps: ReconcileDependencies, options: ReconcileOptions): Promise<{ stuck: number; expiringSoon: number }> {
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
