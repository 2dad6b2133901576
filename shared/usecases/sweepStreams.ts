import { mapLimit } from '../core/concurrency.js';
import { describeError } from '../core/errors.js';
import { streamId, type StreamKey, type TimeWindow } from '../core/model.js';
import { DAY_MS, DEFAULT_MAX_WINDOW_MS, DEFAULT_RETENTION_MARGIN_MS, LISTING_RETENTION_MS, MINUTE_MS } from '../core/windows.js';
import type { ActivityFeed, CursorStore, SweepStore } from '../ports.js';
import type { CallOptions } from '../core/io.js';
import type { LedgerEntry, SweepState } from '../core/ledger.js';
import { WindowRecorder, type ListingRecorderDependencies } from './common/listingRecorder.js';
import type { StreamOutcome } from './common/streamCursor.js';
import { RunBudget } from './common/streamRun.js';

/**
 * The retention sweep: independently of the cursor, each stream's whole retrievable range
 * (`now − 7 days + margin` … `now − settle lag`, from the stream's coverage start on) is listed again,
 * window by window, newest first, and compared with that window's ledger rows read by one ranged query.
 * What the ledger lacks is recorded and enqueued like a poll's find (`foundBy: sweep`), and its lateness
 * (found − contentCreated) is measured: the overlap catches the usual late listings, the sweep the rest
 * while the content still exists. The cursor is never read for planning and never written.
 */
export interface SweepStreamsDependencies extends ListingRecorderDependencies {
  /** The listing with the sweep's own, smaller request budget, so live polls and downloads go first. */
  readonly feed: ActivityFeed;
  /** Read only: whether the stream is subscribed, and where its coverage starts. */
  readonly cursors: CursorStore;
  readonly sweeps: SweepStore;
}

export interface SweepStreamsOptions {
  readonly settleLagInMs: number;
  /** OVERLAP_MINUTES in ms: a find later than this is what the overlap should have caught. */
  readonly overlapInMs: number;
  /** Streams swept at once. */
  readonly concurrency: number;
  /** Epoch ms by which the run must have stopped starting work. */
  readonly deadlineAtMs: number;
  readonly retentionMarginInMs?: number;
  readonly abortSignal?: AbortSignal;
}

export interface StreamSweepResult {
  readonly stream: StreamKey;
  readonly outcome: StreamOutcome;
  readonly windowsPlanned: number;
  readonly windows: number;
  readonly blobsListed: number;
  readonly blobsFound: number;
  readonly entriesRejected: number;
  /** Listing requests (pages) the sweep made. */
  readonly apiCalls: number;
  /** Storage table operations the sweep made (queries and their pages, inserts, marks, fact writes, rows read and written). */
  readonly tableOps: number;
  readonly durationMs: number;
  /** The largest lateness of what this sweep found (ms). */
  readonly maxLatenessMs?: number;
  readonly reason?: string;
}

/** Lateness samples kept per stream: the last 24 hours, at most this many. */
export const LATENESS_SAMPLES = 500;
/** A Table query page holds at most this many rows. */
const QUERY_PAGE_ROWS = 1000;
/** Late finds logged one by one per stream and sweep; the rest are summed up in one line. */
const WARNINGS_PER_SWEEP = 10;

export async function sweepStreams(streams: readonly StreamKey[], deps: SweepStreamsDependencies, options: SweepStreamsOptions): Promise<StreamSweepResult[]> {
  return mapLimit(streams, options.concurrency, (stream) => new StreamSweep(stream, deps, options).run());
}

class StreamSweep {
  private readonly call: CallOptions;
  private readonly counts = { windowsPlanned: 0, windows: 0, blobsListed: 0, blobsFound: 0, entriesRejected: 0, apiCalls: 0, tableOps: 0 };
  private readonly found: LedgerEntry[] = [];
  private readonly started: number;
  private readonly budget: RunBudget;

  constructor(
    private readonly stream: StreamKey,
    private readonly deps: SweepStreamsDependencies,
    private readonly options: SweepStreamsOptions,
  ) {
    this.call = { abortSignal: options.abortSignal };
    this.started = deps.clock.now();
    this.budget = new RunBudget(deps.clock, options);
  }

  async run(): Promise<StreamSweepResult> {
    const { deps, stream } = this;
    let previous: SweepState | undefined;
    try {
      const row = await deps.cursors.read(stream, this.call);
      this.counts.tableOps++;
      if (!row || row.state.subscription !== 'enabled') return this.result('skipped', 'the stream has no enabled subscription yet (its poll starts it)');
      previous = await deps.sweeps.read(stream, this.call);
      this.counts.tableOps++;
      const windows = this.plan(row.state.coverageStart);
      this.counts.windowsPlanned = windows.length;
      for (const window of windows) {
        if (this.outOfTime()) return await this.finish(previous, 'partial', 'time budget reached; the next sweep starts again from the newest window');
        if (!(await this.sweepWindow(window))) return await this.finish(previous, 'partial', 'time budget reached mid-window');
        this.counts.windows++;
      }
      return await this.finish(previous, 'complete');
    } catch (err) {
      deps.logger.warn('retention sweep failed; the next sweep lists the range again', { stream: streamId(stream), error: describeError(err), found: this.found.length });
      deps.metrics.count('sweep.failed', 1, { tenantId: stream.tenantId, contentType: stream.contentType });
      return this.finish(previous, 'failed', describeError(err)).catch((writeErr: unknown) => {
        deps.logger.error('could not record the sweep outcome', { stream: streamId(stream), error: describeError(writeErr) });
        return this.result('failed', describeError(err));
      });
    }
  }

  /** `[max(now − 7 d + margin, coverage start), now − settle lag)` in windows under 24 h, newest first. */
  private plan(coverageStart: string | undefined): TimeWindow[] {
    const now = this.deps.clock.now();
    const earliest = Math.ceil((now - LISTING_RETENTION_MS + (this.options.retentionMarginInMs ?? DEFAULT_RETENTION_MARGIN_MS)) / 1000) * 1000;
    const coverage = coverageStart === undefined ? NaN : Date.parse(coverageStart);
    const from = Number.isNaN(coverage) ? earliest : Math.max(earliest, Math.floor(coverage / 1000) * 1000);
    const to = Math.floor((now - this.options.settleLagInMs) / 1000) * 1000;
    const windows: TimeWindow[] = [];
    for (let end = to; end > from; end -= DEFAULT_MAX_WINDOW_MS) windows.push({ start: Math.max(from, end - DEFAULT_MAX_WINDOW_MS), end });
    return windows;
  }

  /** Lists one window against its ledger rows; false when the time budget ran out before the last page. */
  private async sweepWindow(window: TimeWindow): Promise<boolean> {
    const recorder = new WindowRecorder(this.stream, window, 'sweep', this.deps, this.call);
    await recorder.open();
    this.counts.tableOps += Math.max(1, Math.ceil(recorder.ledgerRowsRead / QUERY_PAGE_ROWS));
    for await (const page of this.deps.feed.listContent(this.stream, window, this.call)) {
      this.counts.apiCalls++;
      this.counts.blobsListed += page.items.length + (page.rejected?.length ?? 0);
      const recorded = await recorder.page(page);
      this.counts.tableOps += recorded.storageCalls;
      this.counts.entriesRejected += recorded.rejected;
      this.found.push(...recorded.found);
      if (this.outOfTime()) return false;
    }
    return true;
  }

  /** Lateness metrics and warnings for what was found, then the stream's sweep row. */
  private async finish(previous: SweepState | undefined, outcome: Exclude<StreamOutcome, 'skipped'>, reason?: string): Promise<StreamSweepResult> {
    const { deps, stream } = this;
    const now = deps.clock.now();
    const dims = { tenantId: stream.tenantId, contentType: stream.contentType };
    const samples: [number, number][] = [];
    let warned = 0;
    for (const entry of this.found) {
      const foundAt = Date.parse(entry.enqueuedAt ?? entry.listedAt);
      const lateness = foundAt - Date.parse(entry.contentCreated);
      samples.push([foundAt, lateness]);
      deps.metrics.count('sweep.lateness.ms', lateness, dims);
      if (lateness > this.options.overlapInMs && warned++ < WARNINGS_PER_SWEEP) {
        deps.logger.warn(`blob found by the retention sweep ${Math.round(lateness / MINUTE_MS)} minutes after its contentCreated, later than OVERLAP_MINUTES (${Math.round(this.options.overlapInMs / MINUTE_MS)}); raise OVERLAP_MINUTES if this is common`, {
          stream: streamId(stream),
          contentId: entry.contentId,
          contentCreated: entry.contentCreated,
          latenessMinutes: Math.round(lateness / MINUTE_MS),
        });
      }
    }
    if (warned > WARNINGS_PER_SWEEP) deps.logger.warn(`${warned - WARNINGS_PER_SWEEP} more blobs found by the sweep later than OVERLAP_MINUTES`, { stream: streamId(stream) });
    this.counts.blobsFound = this.found.length;
    if (this.found.length > 0) {
      deps.metrics.count('sweep.blobs.found', this.found.length, dims);
      deps.logger.info('retention sweep found blobs the ledger lacked; they are enqueued', { stream: streamId(stream), found: this.found.length });
    }
    this.counts.tableOps++; // the sweep row below
    const state: SweepState = {
      lastSweepAt: new Date(now).toISOString(),
      lastOutcome: outcome,
      lastError: outcome === 'complete' ? undefined : reason,
      windows: this.counts.windows,
      blobsListed: this.counts.blobsListed,
      blobsFound: this.found.length,
      apiCalls: this.counts.apiCalls,
      tableOps: this.counts.tableOps,
      durationMs: now - this.started,
      lateness: [...(previous?.lateness ?? []).filter(([at]) => at >= now - DAY_MS), ...samples].slice(-LATENESS_SAMPLES),
    };
    await deps.sweeps.write(stream, state, this.call);
    deps.metrics.count('sweep.api.calls', this.counts.apiCalls, dims);
    deps.metrics.count('sweep.table.ops', this.counts.tableOps, dims);
    return this.result(outcome, reason);
  }

  private result(outcome: StreamOutcome, reason?: string): StreamSweepResult {
    const lateness = this.found.map((e) => Date.parse(e.enqueuedAt ?? e.listedAt) - Date.parse(e.contentCreated));
    return {
      stream: this.stream,
      outcome,
      ...this.counts,
      blobsFound: this.found.length,
      durationMs: this.deps.clock.now() - this.started,
      maxLatenessMs: lateness.length > 0 ? Math.max(...lateness) : undefined,
      reason,
    };
  }

  private outOfTime(): boolean {
    return this.budget.spent();
  }
}
