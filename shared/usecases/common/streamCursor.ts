import { describeError, IngestError } from '../../core/errors.js';
import { streamId, type AnyStreamKey } from '../../core/model.js';
import type { Clock, CursorStore, Logger, Metrics } from '../../ports.js';
import type { CallOptions } from '../../core/io.js';
import type { CursorState } from '../../core/ledger.js';

/** How one stream's run ended (polls, sweeps and Defender scans alike). */
export type StreamOutcome = 'complete' | 'partial' | 'failed' | 'skipped';

/** Another poller wrote the stream's cursor row since this one read it. */
export class ConcurrentPollerError extends Error {
  override readonly name = 'ConcurrentPollerError';
}

const INITIAL_STATE: CursorState = { subscription: 'unknown', consecutiveFailures: 0, gapCount: 0, gapTotalMs: 0 };

/**
 * A stream's cursor row held for one poll run (audit or Defender): read once, written with the ETag it
 * was read with, so two pollers never silently overwrite each other, and the run's failure recorded on
 * the row with a log line and a metric.
 */
export class StreamCursor {
  state: CursorState = INITIAL_STATE;
  private etag: string | undefined;
  readonly id: string;

  constructor(
    private readonly stream: AnyStreamKey,
    private readonly cursors: CursorStore,
    private readonly call: CallOptions,
  ) {
    this.id = streamId(stream);
  }

  async load(): Promise<void> {
    const read = await this.cursors.read(this.stream, this.call);
    if (read) ({ state: this.state, etag: this.etag } = read);
  }

  update(patch: Partial<CursorState>): void {
    this.state = { ...this.state, ...patch };
  }

  /** Writes the row; throws {@link ConcurrentPollerError} when another poller wrote it first. */
  async save(): Promise<void> {
    const etag = await this.cursors.write(this.stream, this.state, this.etag, this.call);
    if (etag === undefined) throw new ConcurrentPollerError();
    this.etag = etag;
  }

  /** A completed run: the failure streak and the last error are cleared. */
  succeeded(patch: Partial<CursorState>): void {
    this.update({ ...patch, lastSuccessAt: this.state.lastRunAt, consecutiveFailures: 0, lastError: undefined, lastErrorCode: undefined, lastErrorAt: undefined });
  }

  /**
   * Records a failed run on the row (error, streak), logs it (warning when the next run may succeed,
   * error when someone must act) and counts it. Never throws: a lost race or a storage error while
   * recording is itself logged.
   */
  async recordFailure(err: unknown, deps: { clock: Clock; logger: Logger; metrics: Metrics }, messages: { retryable: string; permanent: string }, fields: Record<string, unknown> = {}): Promise<void> {
    const code = err instanceof IngestError ? err.code : 'Unexpected';
    const retryable = !(err instanceof IngestError) || err.retryable;
    this.update({
      consecutiveFailures: this.state.consecutiveFailures + 1,
      lastErrorCode: err instanceof IngestError && err.afCode ? `${code}/${err.afCode}` : code,
      lastError: describeError(err),
      lastErrorAt: new Date(deps.clock.now()).toISOString(),
    });
    const logged = { stream: this.id, code, error: describeError(err), consecutiveFailures: this.state.consecutiveFailures, ...fields };
    if (retryable) deps.logger.warn(messages.retryable, logged);
    else deps.logger.error(messages.permanent, logged);
    deps.metrics.count('stream.poll.failed', 1, { tenantId: this.stream.tenantId, contentType: this.stream.contentType, code });
    try {
      await this.save();
    } catch (saveErr) {
      if (!(saveErr instanceof ConcurrentPollerError)) deps.logger.error('could not record the failure on the cursor row', { stream: this.id, error: describeError(saveErr) });
    }
  }
}
