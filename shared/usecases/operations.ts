import { toContentMessage } from '../core/contentMessage.js';
import { PermanentError } from '../core/errors.js';
import type { AnyStreamKey, StreamKey, TimeWindow } from '../core/model.js';
import { DEFAULT_MAX_WINDOW_MS, LISTING_RETENTION_MS } from '../core/windows.js';
import type { ActivityFeed, Clock, ContentQueue, CursorStore, HealthStore, Ledger, Logger } from '../ports.js';
import type { StreamHealth } from '../core/accounting.js';
import type { CallOptions } from '../core/io.js';
import type { CursorState, LedgerPatch, LedgerStatus } from '../core/ledger.js';
import { WindowRecorder, type ListingRecorderDependencies } from './common/listingRecorder.js';

/** Operator actions (the `ops` CLI): backfill a window, replay failed blobs, report status. */

export interface BackfillDependencies extends ListingRecorderDependencies {
  readonly feed: ActivityFeed;
}

/**
 * Lists `window` again for one stream and enqueues every blob the ledger does not know yet. Idempotent:
 * a second backfill of the same window enqueues nothing. The cursor is not touched.
 */
export async function backfill(stream: StreamKey, window: TimeWindow, deps: BackfillDependencies, call: CallOptions = {}): Promise<{ windows: number; listed: number; enqueued: number }> {
  const now = deps.clock.now();
  // The API lists at most 7 days back; leave a few minutes for the requests to go out.
  const earliest = now - LISTING_RETENTION_MS + 5 * 60_000;
  if (window.start < earliest) {
    throw new PermanentError('InvalidWindow', `backfill can start no earlier than ${new Date(earliest).toISOString()} (the API lists 7 days back); asked for ${new Date(window.start).toISOString()}`);
  }
  if (!(window.end > window.start)) throw new PermanentError('InvalidWindow', 'backfill window must end after it starts');
  let listed = 0;
  let enqueued = 0;
  let windows = 0;
  for (let start = Math.floor(window.start / 1000) * 1000; start < window.end; start += DEFAULT_MAX_WINDOW_MS) {
    const part = { start, end: Math.min(window.end, start + DEFAULT_MAX_WINDOW_MS) };
    // A backfill re-lists known time: compare with the window's ledger rows, insert only what they lack.
    const recorder = new WindowRecorder(stream, part, 'backfill', deps, call);
    await recorder.open();
    for await (const page of deps.feed.listContent(stream, part, call)) {
      listed += page.items.length + (page.rejected?.length ?? 0);
      enqueued += (await recorder.page(page)).found.length;
    }
    windows++;
  }
  deps.logger.info('backfill finished', { tenantId: stream.tenantId, contentType: stream.contentType, windows, listed, enqueued });
  return { windows, listed, enqueued };
}

export interface ReplayDependencies {
  readonly ledger: Ledger;
  readonly queue: ContentQueue;
  readonly clock: Clock;
  readonly logger: Logger;
}

/**
 * Puts blobs that ended `poisoned` or `failed` (or the statuses asked for) back on the queue as `listed`.
 * Content past its expiration cannot be fetched any more and is left as it is, counted in `skippedExpired`.
 */
export async function replay(
  stream: StreamKey,
  deps: ReplayDependencies,
  options: { statuses?: readonly LedgerStatus[]; contentIds?: readonly string[] } & CallOptions = {},
): Promise<{ replayed: string[]; skippedExpired: string[] }> {
  const now = deps.clock.now();
  const statuses = options.statuses ?? ['poisoned', 'failed'];
  const replayed: string[] = [];
  const skippedExpired: string[] = [];
  for await (const entry of deps.ledger.query(stream, { statuses }, options)) {
    if (options.contentIds && !options.contentIds.includes(entry.contentId)) continue;
    if (Date.parse(entry.contentExpiration) <= now) {
      skippedExpired.push(entry.contentId);
      continue;
    }
    // A done blob is delivered again from its first record (asked for by name of status, never by default);
    // any other keeps its resume offset, so what the hub already acknowledged is not sent twice.
    const patch: LedgerPatch = {
      status: 'listed',
      attempts: 0,
      enqueuedAt: new Date(now).toISOString(),
      nextAttemptAt: new Date(now).toISOString(),
      lastError: `replayed after ${entry.status}${entry.lastError ? `: ${entry.lastError}` : ''}`,
      ...(entry.status === 'done' ? { resumeOffset: 0, events: 0 } : {}),
    };
    await deps.ledger.update(stream, entry.contentId, patch, options);
    await deps.queue.enqueue([toContentMessage(stream, entry, now)], options);
    replayed.push(entry.contentId);
  }
  deps.logger.info('replay finished', { tenantId: stream.tenantId, contentType: stream.contentType, replayed: replayed.length, skippedExpired: skippedExpired.length });
  return { replayed, skippedExpired };
}

export interface StreamStatus {
  readonly stream: AnyStreamKey;
  readonly cursor?: CursorState;
  readonly health?: StreamHealth;
}

/** Cursor rows (live) and the latest health rows (written by reconcile) of the given streams, audit and Defender XDR alike. */
export async function status(streams: readonly AnyStreamKey[], deps: { cursors: CursorStore; health: HealthStore }, call: CallOptions = {}): Promise<StreamStatus[]> {
  const health = await deps.health.readAll(call);
  return Promise.all(
    streams.map(async (stream) => ({
      stream,
      cursor: (await deps.cursors.read(stream, call))?.state,
      health: health.find((h) => h.tenantId === stream.tenantId && h.contentType === stream.contentType),
    })),
  );
}
