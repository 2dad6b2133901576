import { silentLogger, type Logger } from '../../ports.js';
import { RateLimiter, type RateLimiterOptions } from './rateLimiter.js';

/** What a claim on the shared budget returned: `granted` tokens of the window [windowStart, windowEnd). */
export interface BudgetClaim {
  /** 0 when the window is spent: nothing more until `windowEnd`. */
  readonly granted: number;
  readonly windowStart: number;
  readonly windowEnd: number;
  /** When nothing was granted, the earliest moment to claim again: `windowEnd`, or sooner after a lost race. */
  readonly retryAt: number;
}

/** A tenant's request budget shared by every process (`shared/adapters/storage/tableRequestBudget.ts`). */
export interface RequestBudget {
  /** Claims up to `tokens` of the current window; rejects when the budget's store cannot be reached. */
  claim(tenantId: string, tokens: number, signal?: AbortSignal): Promise<BudgetClaim>;
}

export interface SharedBudgetLimiterOptions extends RateLimiterOptions {
  readonly tenantId: string;
  readonly budget: RequestBudget;
  /** Tokens claimed at once; what a window's end leaves unspent is lost. */
  readonly blockSize?: number;
  /** A block's tokens are spent only until this long before its window ends, so a request goes out inside it. */
  readonly endMarginInMs?: number;
  /** Longest a claim may take; after that the process goes on with its own rate alone. */
  readonly claimTimeoutInMs?: number;
  /** While the budget cannot be reached, how often to try it again (in the background). */
  readonly retryBudgetAfterInMs?: number;
  /** Callers that found a window spent wake up to this much after the next begins, not all at once. */
  readonly jitterInMs?: number;
  readonly logger?: Logger;
}

/** 25 tokens a claim: 40 claims (a read and a write each) per 1,000 requests. */
export const SHARED_BUDGET = { blockSize: 25, endMarginInMs: 200, claimTimeoutInMs: 3000, retryBudgetAfterInMs: 30_000, jitterInMs: 250 } as const;

/**
 * The tenant's limiter when several processes call the API for the same tenant: every request takes a
 * token of this process's own bucket first (the RateLimiter it extends), then one of the tenant's budget
 * shared by all processes. That budget is claimed a block at a time and kept here until its window ends;
 * concurrent callers share one claim in flight. A spent window makes callers wait for the next one.
 *
 * If the budget cannot be reached (a claim fails or times out), requests go on with this process's bucket
 * alone: one warning, a background retry every `retryBudgetAfterInMs`, an info line when it answers again.
 * Ingest never stalls on the budget's store; the aggregate is then only bounded by the instances' buckets.
 */
export class SharedBudgetLimiter extends RateLimiter {
  private readonly tenantId: string;
  private readonly budget: RequestBudget;
  private readonly blockSize: number;
  private readonly endMarginInMs: number;
  private readonly claimTimeoutInMs: number;
  private readonly retryBudgetAfterInMs: number;
  private readonly jitterInMs: number;
  private readonly logger: Logger;
  /** Tokens of the claimed block left, spendable until `spendUntil` (the window's end less the margin). */
  private left = 0;
  private spendUntil = 0;
  /** The window of the last claim; `spent`: it granted nothing, so callers wait until `wakeAt`. */
  private windowEnd = 0;
  private spent = false;
  private wakeAt = 0;
  private claiming: Promise<void> | undefined;
  /** Set while the budget cannot be reached: requests go on with the local bucket alone. */
  private degraded = false;
  private retryAt = 0;

  constructor(options: SharedBudgetLimiterOptions) {
    super(options);
    const blockSize = options.blockSize ?? SHARED_BUDGET.blockSize;
    if (!(Number.isInteger(blockSize) && blockSize >= 1)) throw new RangeError('blockSize must be an integer >= 1');
    this.tenantId = options.tenantId;
    this.budget = options.budget;
    this.blockSize = blockSize;
    this.endMarginInMs = options.endMarginInMs ?? SHARED_BUDGET.endMarginInMs;
    this.claimTimeoutInMs = options.claimTimeoutInMs ?? SHARED_BUDGET.claimTimeoutInMs;
    this.retryBudgetAfterInMs = options.retryBudgetAfterInMs ?? SHARED_BUDGET.retryBudgetAfterInMs;
    this.jitterInMs = options.jitterInMs ?? SHARED_BUDGET.jitterInMs;
    this.logger = options.logger ?? silentLogger;
  }

  override async acquire(signal?: AbortSignal): Promise<void> {
    await super.acquire(signal);
    for (;;) {
      signal?.throwIfAborted();
      const now = this.pacing.now();
      if (this.left > 0 && now < this.spendUntil) {
        this.left -= 1;
        return;
      }
      if (this.degraded) {
        if (now >= this.retryAt && !this.claiming) this.claiming = this.claim(); // its outcome is for later callers
        return;
      }
      // Nothing granted (the window is spent), or the window is in its last moments: wait rather than claim.
      const waiting = this.spent ? now < this.wakeAt : now >= this.spendUntil && now < this.windowEnd;
      if (waiting) {
        await this.pacing.sleep(this.wakeAt - now, signal);
        continue;
      }
      this.claiming ??= this.claim();
      await abortable(this.claiming, signal);
    }
  }

  /** One claim for every caller waiting; never rejects (a failure switches to the local bucket alone). */
  private claim(): Promise<void> {
    const run = async () => {
      try {
        const claim = await this.budget.claim(this.tenantId, this.blockSize, AbortSignal.timeout(this.claimTimeoutInMs));
        // Unspent tokens of the previous block are dropped: their window is over (or soon will be).
        this.left = claim.granted;
        this.spendUntil = claim.windowEnd - this.endMarginInMs;
        this.windowEnd = claim.windowEnd;
        this.spent = claim.granted === 0;
        // Processes that wait for the next window wake a little apart, so they do not all race for its row.
        const retryAt = claim.granted > 0 ? claim.windowEnd : claim.retryAt;
        this.wakeAt = retryAt >= claim.windowEnd ? retryAt + Math.floor(this.pacing.random() * this.jitterInMs) : retryAt;
        if (this.degraded) {
          this.degraded = false;
          this.logger.info('shared request budget reachable again; requests count against the tenant budget of all instances', { tenantId: this.tenantId });
        }
      } catch (err) {
        this.retryAt = this.pacing.now() + this.retryBudgetAfterInMs;
        if (!this.degraded) {
          this.degraded = true;
          this.logger.warn(
            'shared request budget unreachable; requests are limited by this instance\'s own rate until it answers again, so instances together may exceed the tenant\'s throttle',
            { tenantId: this.tenantId, error: err instanceof Error ? err.message : String(err) },
          );
        }
      }
    };
    return run().finally(() => {
      this.claiming = undefined;
    });
  }
}

/** Waits for `promise`, or rejects as soon as `signal` aborts (the promise itself goes on). */
function abortable(promise: Promise<void>, signal: AbortSignal | undefined): Promise<void> {
  if (!signal) return promise;
  signal.throwIfAborted();
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}
