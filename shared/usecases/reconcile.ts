import { describeError } from '../core/errors.js';
import { streamHealth } from '../core/health.js';
import { isSecurityStream, streamId, type AnyStreamKey } from '../core/model.js';
import { HOUR_MS } from '../core/windows.js';
import type { Clock, ContentQueue, CursorStore, HealthStore, Ledger, LedgerEntry, Logger, Metrics, StreamHealth } from '../ports.js';
import { redeliverStream } from './redelivery.js';

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
  const { stuck, expiringSoon } = isSecurityStream(stream) ? { stuck: 0, expiringSoon: 0 } : await redeliverStream(stream, deps, options);

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
