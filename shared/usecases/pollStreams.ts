import { toContentMessage } from '../core/contentMessage.js';
import { describeError, IngestError, PermanentError } from '../core/errors.js';
import { streamId, type ContentListing, type StreamKey, type TimeWindow } from '../core/model.js';
import { mapLimit } from '../core/concurrency.js';
import { MINUTE_MS, planWindows } from '../core/windows.js';
import type { ActivityFeed, CallOptions, Clock, ContentQueue, CursorState, CursorStore, Ledger, LedgerEntry, Logger, Metrics } from '../ports.js';
import { ConcurrentPollerError, StreamCursor } from './streamCursor.js';

export interface PollDependencies {
  readonly feed: ActivityFeed;
  readonly ledger: Ledger;
  readonly queue: ContentQueue;
  readonly cursors: CursorStore;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

export interface PollOptions {
  readonly settleLagMs: number;
  readonly overlapMs: number;
  readonly initialLookbackMs: number;
  /** Streams polled at once. */
  readonly concurrency: number;
  /** Epoch ms by which the run must have stopped starting work (well before the function timeout). */
  readonly deadline: number;
  readonly abortSignal?: AbortSignal;
}

export type StreamOutcome = 'complete' | 'partial' | 'failed' | 'skipped';

export interface StreamPollResult {
  readonly stream: StreamKey;
  readonly outcome: StreamOutcome;
  readonly windowsListed: number;
  readonly windowsPlanned: number;
  readonly pagesListed: number;
  readonly blobsListed: number;
  readonly blobsEnqueued: number;
  readonly cursor?: string;
  readonly gap?: TimeWindow;
  /** Why the stream stopped early or failed. */
  readonly reason?: string;
}

/** The API asks for 15 minutes between start requests for a subscription (reference §3.1). */
export const START_COOLDOWN_MS = 15 * MINUTE_MS;

/**
 * Discovery (DESIGN.md §2): for every stream, plan windows from its cursor, list every page, record new
 * content blobs in the ledger and enqueue exactly those, and only then move the cursor (ETag-guarded).
 * Streams are isolated: one stream's failure is recorded on its own cursor row and never stops another.
 */
export async function pollStreams(streams: readonly StreamKey[], deps: PollDependencies, options: PollOptions): Promise<StreamPollResult[]> {
  // run() records every failure on the stream's own row and never throws, so one stream cannot stop another.
  return mapLimit(streams, options.concurrency, (stream) => new StreamPoll(stream, deps, options).run());
}

/** One stream's poll: owns its cursor row for the duration of the run. */
class StreamPoll {
  private readonly row: StreamCursor;
  private readonly id: string;
  private readonly result = { windowsListed: 0, windowsPlanned: 0, pagesListed: 0, blobsListed: 0, blobsEnqueued: 0 };
  private gap?: TimeWindow;

  constructor(
    private readonly stream: StreamKey,
    private readonly deps: PollDependencies,
    private readonly options: PollOptions,
  ) {
    this.row = new StreamCursor(stream, deps.cursors, { abortSignal: options.abortSignal });
    this.id = this.row.id;
  }

  /** The cursor row as read (and as this run changes it). */
  private get state(): CursorState {
    return this.row.state;
  }

  async run(): Promise<StreamPollResult> {
    const { logger } = this.deps;
    try {
      await this.row.load();
      const now = this.deps.clock.now();
      this.row.update({ lastRunAt: iso(now) });

      if (this.state.subscription !== 'enabled' && this.state.lastStartAt === undefined) await this.startSubscription();

      const plan = planWindows({
        cursor: this.state.cursor === undefined ? undefined : Date.parse(this.state.cursor),
        now,
        settleLagMs: this.options.settleLagMs,
        overlapMs: this.options.overlapMs,
        initialLookbackMs: this.options.initialLookbackMs,
      });
      this.result.windowsPlanned = plan.windows.length;

      for (const window of plan.windows) {
        if (this.outOfTime()) return this.finish('partial', 'time budget reached; the next run continues from the cursor');
        if (!(await this.listWindow(window))) return this.finish('partial', 'time budget reached mid-window; the window is listed again next run');
        // The gap becomes final when the cursor moves past it; until then a rerun would plan it again.
        if (plan.gap && this.gap === undefined) this.recordGap(plan.gap);
        this.row.update({ subscription: 'enabled', cursor: iso(window.end) });
        // Persist after every window, so a catch-up survives a crash or timeout window by window.
        await this.row.save();
        this.result.windowsListed++;
      }
      this.row.succeeded({});
      await this.row.save();
      return this.finish('complete');
    } catch (err) {
      if (err instanceof ConcurrentPollerError) {
        logger.warn('stream skipped: another poller updated its cursor', { stream: this.id });
        return this.finish('skipped', 'another poller is working on this stream');
      }
      return this.fail(err);
    }
  }

  /** Lists every page of a window; false when the time budget ran out before the last page. */
  private async listWindow(window: TimeWindow): Promise<boolean> {
    try {
      return await this.listPages(window);
    } catch (err) {
      const code = err instanceof IngestError ? err.code : undefined;
      if (code !== 'SubscriptionMissing' && code !== 'SubscriptionDisabled') throw err;
      this.row.update({ subscription: code === 'SubscriptionMissing' ? 'missing' : 'disabled' });
      if (!this.mayStart()) {
        throw new PermanentError(code, `${(err as Error).message}; a start was requested at ${this.state.lastStartAt}, the next is allowed 15 minutes later`, { afCode: (err as IngestError).afCode, tenantId: this.stream.tenantId });
      }
      await this.startSubscription();
      try {
        return await this.listPages(window);
      } catch (retryErr) {
        if (retryErr instanceof IngestError && retryErr.code === 'SubscriptionDisabled') {
          this.row.update({ subscription: 'disabled' });
          throw new PermanentError(
            'SubscriptionDisabled',
            `tenant ${this.stream.tenantId}: the ${this.stream.contentType} subscription was disabled by an administrator and starting it did not re-enable it (AF20023). ` +
              'An administrator must re-enable it (or check that unified audit logging is on and the app still has ActivityFeed.Read); the pipeline retries every 15 minutes.',
            { afCode: retryErr.afCode, tenantId: this.stream.tenantId, cause: retryErr },
          );
        }
        throw retryErr;
      }
    }
  }

  private async listPages(window: TimeWindow): Promise<boolean> {
    const call: CallOptions = { abortSignal: this.options.abortSignal };
    for await (const page of this.deps.feed.listContent(this.stream, window, call)) {
      this.result.pagesListed++;
      this.result.blobsListed += page.items.length;
      await this.record(page.items);
      if (this.outOfTime()) return false;
    }
    return true;
  }

  private async record(items: readonly ContentListing[]): Promise<void> {
    const enqueued = await recordListing(this.stream, items, this.deps, { abortSignal: this.options.abortSignal });
    this.result.blobsEnqueued += enqueued;
  }

  private async startSubscription(): Promise<void> {
    const at = iso(this.deps.clock.now());
    // Record the attempt even if it fails: the 15-minute spacing counts from the request.
    this.row.update({ lastStartAt: at });
    const { alreadyEnabled } = await this.deps.feed.startSubscription(this.stream, { abortSignal: this.options.abortSignal });
    this.row.update({ subscription: 'enabled' });
    this.deps.logger.info('subscription started', { stream: this.id, alreadyEnabled });
  }

  private mayStart(): boolean {
    return this.state.lastStartAt === undefined || this.deps.clock.now() - Date.parse(this.state.lastStartAt) >= START_COOLDOWN_MS;
  }

  private recordGap(gap: TimeWindow): void {
    this.gap = gap;
    const lengthMs = gap.end - gap.start;
    this.row.update({
      gapCount: this.state.gapCount + 1,
      gapTotalMs: this.state.gapTotalMs + lengthMs,
      lastGapStart: iso(gap.start),
      lastGapEnd: iso(gap.end),
    });
    this.deps.logger.warn('content gap: the API no longer lists this time range', {
      stream: this.id,
      gapStart: iso(gap.start),
      gapEnd: iso(gap.end),
      gapHours: Math.round((lengthMs / 3_600_000) * 10) / 10,
    });
    this.deps.metrics.count('stream.gap.ms', lengthMs, { tenantId: this.stream.tenantId, contentType: this.stream.contentType });
  }

  private outOfTime(): boolean {
    return this.deps.clock.now() >= this.options.deadline || this.options.abortSignal?.aborted === true;
  }

  private async fail(err: unknown): Promise<StreamPollResult> {
    await this.row.recordFailure(err, this.deps, { retryable: 'stream poll failed; the next run retries', permanent: 'stream poll failed and needs attention' });
    return this.finish('failed', describeError(err));
  }

  private finish(outcome: StreamOutcome, reason?: string): StreamPollResult {
    return { stream: this.stream, outcome, ...this.result, cursor: this.state.cursor, gap: this.gap, reason };
  }
}

/**
 * Ledger first (insert-if-absent), then enqueue exactly the new rows, then mark them enqueued. Rows whose
 * enqueue failed are given back, so the next listing inserts and enqueues them again. Returns how many
 * blobs were enqueued.
 */
export async function recordListing(
  stream: StreamKey,
  items: readonly ContentListing[],
  deps: Pick<PollDependencies, 'ledger' | 'queue' | 'clock' | 'logger' | 'metrics'>,
  call: CallOptions,
): Promise<number> {
  if (items.length === 0) return 0;
  const listedAt = deps.clock.now();
  const unique = new Map<string, ContentListing>();
  for (const item of items) if (!unique.has(item.contentId)) unique.set(item.contentId, item);
  const entries: LedgerEntry[] = [...unique.values()].map((item) => ({
    tenantId: stream.tenantId,
    contentType: stream.contentType,
    contentId: item.contentId,
    contentUri: item.contentUri,
    contentCreated: item.contentCreated,
    contentExpiration: item.contentExpiration,
    listedAt: iso(listedAt),
    status: 'listed',
    attempts: 0,
  }));
  const inserted = await deps.ledger.insertIfAbsent(entries, call);
  if (inserted.length === 0) return 0;
  const ids = inserted.map((e) => e.contentId);
  try {
    await deps.queue.enqueue(inserted.map((e) => toContentMessage(stream, unique.get(e.contentId)!, listedAt)), call);
  } catch (err) {
    await deps.ledger.forget(stream, ids, call).catch((forgetErr: unknown) =>
      deps.logger.error('could not undo ledger rows after a failed enqueue; reconcile will re-enqueue them', { stream: streamId(stream), count: ids.length, error: describeError(forgetErr) }),
    );
    throw err;
  }
  await deps.ledger.markEnqueued(stream, ids, iso(deps.clock.now()), call);
  deps.metrics.count('blobs.enqueued', ids.length, { tenantId: stream.tenantId, contentType: stream.contentType });
  return ids.length;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
