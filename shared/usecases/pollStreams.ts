import { describeError, IngestError, PermanentError } from '../core/errors.js';
import { streamId, type StreamKey, type TimeWindow } from '../core/model.js';
import { mapLimit } from '../core/concurrency.js';
import { HOUR_MS, MINUTE_MS, planWindows } from '../core/windows.js';
import type { ActivityFeed, CursorStore, GapStore } from '../ports.js';
import type { GapRecord } from '../core/gaps.js';
import { WindowRecorder, type ListingRecorderDependencies } from './common/listingRecorder.js';
import type { StreamOutcome } from './common/streamCursor.js';
import { CursorRun } from './common/streamRun.js';

export interface PollStreamsDependencies extends ListingRecorderDependencies {
  readonly feed: ActivityFeed;
  readonly cursors: CursorStore;
  readonly gaps: GapStore;
}

export interface PollStreamsOptions {
  readonly settleLagInMs: number;
  readonly overlapInMs: number;
  readonly initialLookbackInMs: number;
  /** Streams polled at once. */
  readonly concurrency: number;
  /** Epoch ms by which the run must have stopped starting work (well before the function timeout). */
  readonly deadlineAtMs: number;
  readonly abortSignal?: AbortSignal;
}

export interface StreamPollResult {
  readonly stream: StreamKey;
  readonly outcome: StreamOutcome;
  readonly windowsListed: number;
  readonly windowsPlanned: number;
  readonly pagesListed: number;
  /** Entries listed, usable or not (overlap re-lists included). */
  readonly blobsListed: number;
  readonly blobsEnqueued: number;
  /** Unusable listing entries recorded as `failed` by this run. */
  readonly entriesRejected: number;
  readonly cursor?: string;
  readonly gap?: TimeWindow;
  /** Why the stream stopped early or failed. */
  readonly reason?: string;
}

/** The API asks for 15 minutes between start requests for a subscription. */
export const START_COOLDOWN_MS = 15 * MINUTE_MS;

/**
 * After a subscription start the API may take up to 12 hours to list the first content, and then lists a
 * backlog from up to about a day before the start: listing re-covers the intended start this long.
 */
export const RELIST_AFTER_START_MS = 24 * HOUR_MS;

/**
 * How far before a start the re-listing reaches: a new subscription's backlog goes back about a day
 * (22 h observed), so content created earlier than this before the start was either listed at once (the
 * subscription existed already) or is never listed; its ordinary late listings are the overlap's and the
 * sweep's. A longer INITIAL_LOOKBACK_HOURS is listed in full once, not every run for a day.
 */
export const RELIST_BEFORE_START_MS = 26 * HOUR_MS;

/** A cursor later than now by more than this is not a place listing has reached: it is an error. */
export const CURSOR_FUTURE_TOLERANCE_MS = 5 * MINUTE_MS;

/**
 * Discovery: for every stream, plan windows from its cursor (or its intended start), list every page,
 * record the listing facts, record new content blobs in the ledger and enqueue exactly those, and only
 * then move the cursor (ETag-guarded). Streams are isolated: one stream's failure is recorded on its own
 * cursor row and never stops another.
 */
export async function pollStreams(streams: readonly StreamKey[], deps: PollStreamsDependencies, options: PollStreamsOptions): Promise<StreamPollResult[]> {
  // run() records every failure on the stream's own row and never throws, so one stream cannot stop another.
  return mapLimit(streams, options.concurrency, (stream) => new StreamPoll(stream, deps, options).run());
}

/** One stream's poll: owns its cursor row for the duration of the run. */
class StreamPoll extends CursorRun<StreamPollResult> {
  private readonly result = { windowsListed: 0, windowsPlanned: 0, pagesListed: 0, blobsListed: 0, blobsEnqueued: 0, entriesRejected: 0 };
  private gap?: TimeWindow;

  constructor(
    private readonly stream: StreamKey,
    private readonly deps: PollStreamsDependencies,
    private readonly options: PollStreamsOptions,
  ) {
    super(stream, deps, options);
  }

  protected async work(): Promise<StreamPollResult> {
    await this.row.load();
    const now = this.deps.clock.now();
    this.row.update({ lastRunAt: iso(now) });
    const cursor = this.checkedCursor(now);
    const intended = this.checkedIntendedStart();
    if (cursor === undefined && intended === undefined) {
      // The first plan: persisted at once, so a first run that fails keeps where the stream was meant to start.
      const start = iso(Math.floor((now - this.options.initialLookbackInMs) / 1000) * 1000);
      this.row.update({ intendedStart: start, coverageStart: start });
      await this.row.save();
    }
    await this.finishRelisting(now);

    // A stream that never listed anything starts its subscription first; later losses show up while listing.
    if (cursor === undefined && this.state.subscription !== 'enabled' && this.state.enabledAt === undefined) await this.firstStart();

    let intendedStart = this.state.intendedStart === undefined ? undefined : Date.parse(this.state.intendedStart);
    if (intendedStart !== undefined && cursor !== undefined && this.state.enabledAt !== undefined) intendedStart = Math.max(intendedStart, Date.parse(this.state.enabledAt) - RELIST_BEFORE_START_MS);
    const plan = planWindows({
      cursor,
      now,
      settleLagInMs: this.options.settleLagInMs,
      overlapInMs: this.options.overlapInMs,
      initialLookbackInMs: this.options.initialLookbackInMs,
      intendedStart: cursor === undefined || this.relisting(now) ? intendedStart : undefined,
    });
    this.result.windowsPlanned = plan.windows.length;

    for (const [index, window] of plan.windows.entries()) {
      if (this.outOfTime()) return this.finish('partial', 'time budget reached; the next run continues from the cursor');
      // A window wholly before the cursor is a re-list: compare it with the ledger instead of inserting every entry.
      const relist = cursor !== undefined && window.end <= cursor;
      if (!(await this.listWindow(window, relist))) return this.finish('partial', 'time budget reached mid-window; the window is listed again next run');
      // The gap becomes final when the cursor moves past it; until then a rerun would plan it again.
      if (plan.gap && this.gap === undefined) await this.recordRetentionGap(plan.gap);
      const next = Math.max(window.end, this.state.cursor === undefined ? -Infinity : Date.parse(this.state.cursor));
      this.row.update({ subscription: 'enabled', cursor: iso(next) });
      // Persist after every window, so a catch-up survives a crash or timeout window by window (the last one is saved below).
      if (index < plan.windows.length - 1) await this.row.save();
      this.result.windowsListed++;
    }
    this.row.succeeded({});
    await this.row.save();
    return this.finish('complete');
  }

  /**
   * The cursor as epoch ms. One that does not parse, or lies in the future, is an error on the stream:
   * planning from it would list nothing and call the stream complete.
   */
  private checkedCursor(now: number): number | undefined {
    const cursor = this.state.cursor;
    if (cursor === undefined) return undefined;
    const ms = Date.parse(cursor);
    const problem = Number.isNaN(ms) ? 'does not parse' : ms > now + CURSOR_FUTURE_TOLERANCE_MS ? `lies ${Math.round((ms - now) / MINUTE_MS)} minutes in the future` : undefined;
    if (problem === undefined) return ms;
    this.deps.metrics.count('stream.cursor.invalid', 1, { tenantId: this.stream.tenantId, contentType: this.stream.contentType });
    throw new PermanentError(
      'InvalidCursor',
      `tenant ${this.stream.tenantId}: the ${this.stream.contentType} cursor ${JSON.stringify(cursor.slice(0, 64))} ${problem}. Nothing is listed from it; ` +
        'the retention sweep still covers the stream. Set the cursor row\'s "cursor" to the ISO time listing really reached (or a little earlier: re-listing is free).',
      { tenantId: this.stream.tenantId },
    );
  }

  private checkedIntendedStart(): number | undefined {
    const text = this.state.intendedStart;
    if (text === undefined) return undefined;
    const ms = Date.parse(text);
    if (!Number.isNaN(ms)) return ms;
    this.deps.metrics.count('stream.cursor.invalid', 1, { tenantId: this.stream.tenantId, contentType: this.stream.contentType });
    throw new PermanentError('InvalidCursor', `tenant ${this.stream.tenantId}: the ${this.stream.contentType} intended start ${JSON.stringify(text.slice(0, 64))} does not parse; remove it or set it to an ISO time`, {
      tenantId: this.stream.tenantId,
    });
  }

  /** Whether listing still re-covers the intended start: the subscription was (re)started less than 24 h ago. */
  private relisting(now: number): boolean {
    const enabledAt = this.state.enabledAt === undefined ? NaN : Date.parse(this.state.enabledAt);
    return this.state.intendedStart !== undefined && now - enabledAt < RELIST_AFTER_START_MS;
  }

  /**
   * Once the re-listing after a start is over, the gaps of a disabled subscription are final: each shrinks
   * to what no listing covered (after the newest blob the ledger holds inside it) or goes away.
   */
  private async finishRelisting(now: number): Promise<void> {
    const { intendedStart, enabledAt } = this.state;
    if (intendedStart === undefined || enabledAt === undefined || now - Date.parse(enabledAt) < RELIST_AFTER_START_MS) return;
    for (const gap of await this.deps.gaps.list(this.stream, this.call)) {
      if (!gap.provisional || gap.cause !== 'subscriptionDisabled') continue;
      let newest = -Infinity;
      for await (const row of this.deps.ledger.query(this.stream, { createdFrom: gap.start, createdTo: gap.end }, this.call)) newest = Math.max(newest, Date.parse(row.contentCreated));
      const start = Math.max(Date.parse(gap.start), newest + 1);
      const end = Date.parse(gap.end);
      if (start >= end) {
        await this.deps.gaps.remove(this.stream, gap.start, this.call);
        this.deps.logger.info('subscription gap covered by the re-listing after the restart', { stream: this.id, gapStart: gap.start, gapEnd: gap.end });
        continue;
      }
      const final: GapRecord = { ...gap, start: iso(start), provisional: false, recordedAt: iso(now) };
      await this.deps.gaps.record(final, this.call);
      if (final.start !== gap.start) await this.deps.gaps.remove(this.stream, gap.start, this.call);
      this.countGap({ start, end }, 'content gap: the subscription was disabled and the API does not serve what was created meanwhile');
    }
    this.row.update({ intendedStart: undefined });
  }

  /** The stream's first subscription start (it was never enabled): the 15-minute spacing applies to retries too. */
  private async firstStart(): Promise<void> {
    if (!this.mayStart()) {
      throw new PermanentError('SubscriptionMissing', `tenant ${this.stream.tenantId}: the ${this.stream.contentType} subscription was requested at ${this.state.lastStartAt} and is not enabled yet; the next start is allowed 15 minutes later`, {
        tenantId: this.stream.tenantId,
      });
    }
    await this.startSubscription();
  }

  /** Lists every page of a window; false when the time budget ran out before the last page. */
  private async listWindow(window: TimeWindow, relist: boolean): Promise<boolean> {
    const recorder = new WindowRecorder(this.stream, window, 'poll', this.deps, this.call);
    if (relist) await recorder.open();
    try {
      return await this.listPages(window, recorder);
    } catch (err) {
      const code = err instanceof IngestError ? err.code : undefined;
      if (code !== 'SubscriptionMissing' && code !== 'SubscriptionDisabled') throw err;
      // A stream that has listed before lost its subscription: the time from its cursor on cannot be read.
      const restart = this.state.cursor !== undefined;
      const now = iso(this.deps.clock.now());
      this.row.update({ subscription: code === 'SubscriptionMissing' ? 'missing' : 'disabled', disabledSince: this.state.disabledSince ?? now });
      const gapStart = this.state.cursor ?? this.state.intendedStart ?? iso(window.start);
      if (restart) await this.recordDisabledGap(gapStart, now);
      if (!this.mayStart()) {
        throw new PermanentError(code, `${(err as Error).message}; a start was requested at ${this.state.lastStartAt}, the next is allowed 15 minutes later`, { afCode: (err as IngestError).afCode, tenantId: this.stream.tenantId });
      }
      const disabledSince = this.state.disabledSince;
      await this.startSubscription();
      if (restart) {
        // Re-list from where listing stopped for a day: content the API serves late after the restart is found.
        const earlier = this.relisting(this.deps.clock.now()) && this.state.intendedStart !== undefined && this.state.intendedStart < gapStart ? this.state.intendedStart : gapStart;
        this.row.update({ intendedStart: earlier });
        await this.recordDisabledGap(gapStart, this.state.enabledAt!);
      }
      try {
        return await this.listPages(window, recorder);
      } catch (retryErr) {
        if (retryErr instanceof IngestError && retryErr.code === 'SubscriptionDisabled') {
          this.row.update({ subscription: 'disabled', disabledSince });
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

  private async listPages(window: TimeWindow, recorder: WindowRecorder): Promise<boolean> {
    for await (const page of this.deps.feed.listContent(this.stream, window, this.call)) {
      this.result.pagesListed++;
      this.result.blobsListed += page.items.length + (page.rejected?.length ?? 0);
      const recorded = await recorder.page(page);
      this.result.blobsEnqueued += recorded.found.length;
      this.result.entriesRejected += recorded.rejected;
      if (this.outOfTime()) return false;
    }
    return true;
  }

  private async startSubscription(): Promise<void> {
    const at = iso(this.deps.clock.now());
    // Record the attempt even if it fails: the 15-minute spacing counts from the request.
    this.row.update({ lastStartAt: at });
    const { alreadyEnabled } = await this.deps.feed.startSubscription(this.stream, this.call);
    this.row.update({ subscription: 'enabled', enabledAt: iso(this.deps.clock.now()), disabledSince: undefined });
    this.deps.logger.info('subscription started', { stream: this.id, alreadyEnabled });
  }

  private mayStart(): boolean {
    return this.state.lastStartAt === undefined || this.deps.clock.now() - Date.parse(this.state.lastStartAt) >= START_COOLDOWN_MS;
  }

  /** A provisional gap while a subscription cannot be read: until the re-listing after its restart is over. */
  private async recordDisabledGap(start: string, end: string): Promise<void> {
    if (!(Date.parse(end) > Date.parse(start))) return;
    await this.deps.gaps.record(
      { tenantId: this.stream.tenantId, contentType: this.stream.contentType, start, end, cause: 'subscriptionDisabled', recordedAt: iso(this.deps.clock.now()), provisional: true },
      this.call,
    );
    this.deps.logger.warn('subscription disabled: its content cannot be read until it is started again (provisional gap)', { stream: this.id, gapStart: start, gapEnd: end });
  }

  /** Time the API no longer lists (7-day limit): a gap record, the cursor's counters, a warning, a metric. */
  private async recordRetentionGap(gap: TimeWindow): Promise<void> {
    this.gap = gap;
    await this.deps.gaps.record(
      { tenantId: this.stream.tenantId, contentType: this.stream.contentType, start: iso(gap.start), end: iso(gap.end), cause: 'retention', recordedAt: iso(this.deps.clock.now()), provisional: false },
      this.call,
    );
    this.countGap(gap, 'content gap: the API no longer lists this time range');
  }

  private countGap(gap: TimeWindow, message: string): void {
    const lengthInMs = gap.end - gap.start;
    this.row.update({
      gapCount: this.state.gapCount + 1,
      gapTotalMs: this.state.gapTotalMs + lengthInMs,
      lastGapStart: iso(gap.start),
      lastGapEnd: iso(gap.end),
    });
    this.deps.logger.warn(message, { stream: this.id, gapStart: iso(gap.start), gapEnd: iso(gap.end), gapHours: Math.round((lengthInMs / HOUR_MS) * 10) / 10 });
    this.deps.metrics.count('stream.gap.ms', lengthInMs, { tenantId: this.stream.tenantId, contentType: this.stream.contentType });
  }

  protected async fail(err: unknown): Promise<StreamPollResult> {
    await this.row.recordFailure(err, this.deps, { retryable: 'stream poll failed; the next run retries', permanent: 'stream poll failed and needs attention' });
    return this.finish('failed', describeError(err));
  }

  protected finish(outcome: StreamOutcome, reason?: string): StreamPollResult {
    return { stream: this.stream, outcome, ...this.result, cursor: this.state.cursor, gap: this.gap, reason };
  }
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** For log lines. */
export { streamId };
