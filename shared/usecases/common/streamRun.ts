import type { AnyStreamKey } from '../../core/model.js';
import type { Clock, CursorStore, Logger } from '../../ports.js';
import type { CallOptions } from '../../core/io.js';
import type { CursorState } from '../../core/ledger.js';
import { ConcurrentPollerError, StreamCursor, type StreamOutcome } from './streamCursor.js';

/** What bounds a run: the instant (epoch ms) by which it must have stopped starting work, and the host's abort. */
export interface RunLimits {
  readonly deadlineAtMs: number;
  readonly abortSignal?: AbortSignal;
}

/** A run's time budget, shared by the pollers, the sweep and healing. */
export class RunBudget {
  constructor(
    private readonly clock: Clock,
    private readonly limits: RunLimits,
  ) {}

  /** The deadline has passed. */
  pastDeadline(): boolean {
    return this.clock.now() >= this.limits.deadlineAtMs;
  }

  /** Waiting `waitInMs` from now would end after the deadline. */
  cannotWait(waitInMs: number): boolean {
    return this.clock.now() + waitInMs > this.limits.deadlineAtMs;
  }

  /** Past the deadline or aborted: start no more work. */
  spent(): boolean {
    return this.pastDeadline() || this.limits.abortSignal?.aborted === true;
  }
}

/**
 * One stream's run over its cursor row (audit polls and Defender XDR scans): the row, the call options,
 * the time budget, and the handling of a lost race for the row. `run()` does the subclass's `work()`.
 */
export abstract class CursorRun<R> {
  protected readonly row: StreamCursor;
  protected readonly id: string;
  protected readonly call: CallOptions;
  private readonly budget: RunBudget;
  private readonly logger: Logger;

  constructor(stream: AnyStreamKey, deps: { readonly cursors: CursorStore; readonly clock: Clock; readonly logger: Logger }, limits: RunLimits) {
    this.call = { abortSignal: limits.abortSignal };
    this.row = new StreamCursor(stream, deps.cursors, this.call);
    this.id = this.row.id;
    this.budget = new RunBudget(deps.clock, limits);
    this.logger = deps.logger;
  }

  /** The stream's work: reads and writes the row, and says how the run ended. */
  protected abstract work(): Promise<R>;
  /** The run's result with this outcome. */
  protected abstract finish(outcome: StreamOutcome, reason?: string): R;
  /** Records a failed run on the row; never throws. */
  protected abstract fail(err: unknown): Promise<R>;

  /** The cursor row as read (and as this run changes it). */
  protected get state(): CursorState {
    return this.row.state;
  }

  /** Past the deadline or aborted: start no more work. */
  protected outOfTime(): boolean {
    return this.budget.spent();
  }

  /**
   * Runs `work()`. Another poller writing the row first ({@link ConcurrentPollerError}) ends the run as
   * `skipped` (a warning, nothing recorded); any other error goes to `fail`, which records it on the row.
   */
  async run(): Promise<R> {
    try {
      return await this.work();
    } catch (err) {
      if (err instanceof ConcurrentPollerError) {
        this.logger.warn('stream skipped: another poller updated its cursor', { stream: this.id });
        return this.finish('skipped', 'another poller is working on this stream');
      }
      return this.fail(err);
    }
  }
}
