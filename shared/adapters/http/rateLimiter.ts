import { setTimeout as delay } from 'node:timers/promises';

/** Sleeps for `ms`, or rejects when `signal` aborts. */
export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

export const realSleep: Sleep = (ms, signal) => delay(ms, undefined, { signal });

/** The clock, sleep and randomness an adapter paces itself by; tests pass their own. */
export interface PacingOptions {
  readonly now?: () => number;
  readonly sleep?: Sleep;
  readonly random?: () => number;
}

/** {@link PacingOptions} with the real clock, timers and `Math.random` where none is given. */
export interface Pacing {
  readonly now: () => number;
  readonly sleep: Sleep;
  readonly random: () => number;
}

export function pacingOf(options: PacingOptions): Pacing {
  return { now: options.now ?? Date.now, sleep: options.sleep ?? realSleep, random: options.random ?? Math.random };
}

export interface RateLimiterOptions extends PacingOptions {
  /** Sustained requests per minute. */
  readonly requestsPerMinute: number;
  /** Requests that may go out at once after a quiet period. */
  readonly burst: number;
}

/**
 * A token bucket per tenant. The API's documented baseline is 2,000 requests per minute per tenant
 * (docs/management-api.md, "Throttling"); the defaults stay under it with room for the burst: in any 60 s window at most
 * `burst + requestsPerMinute` requests start. Callers reserve in arrival order, so a burst queues
 * fairly instead of stampeding when tokens return.
 */
export class RateLimiter {
  private readonly ratePerMs: number;
  private readonly burst: number;
  protected readonly pacing: Pacing;
  private tokens: number;
  private updatedAt: number;

  constructor(options: RateLimiterOptions) {
    if (!(options.requestsPerMinute > 0) || !(options.burst >= 1)) throw new RangeError('requestsPerMinute must be > 0 and burst >= 1');
    this.ratePerMs = options.requestsPerMinute / 60_000;
    this.burst = options.burst;
    this.pacing = pacingOf(options);
    this.tokens = options.burst;
    this.updatedAt = this.pacing.now();
  }

  /** Resolves when the caller may send one request. */
  async acquire(signal?: AbortSignal): Promise<void> {
    const now = this.pacing.now();
    this.tokens = Math.min(this.burst, this.tokens + (now - this.updatedAt) * this.ratePerMs);
    this.updatedAt = now;
    // Reserve now (the balance may go negative) and wait until the reservation is covered.
    this.tokens -= 1;
    if (this.tokens >= 0) return;
    const waitInMs = Math.ceil(-this.tokens / this.ratePerMs);
    try {
      await this.pacing.sleep(waitInMs, signal);
    } catch (err) {
      this.tokens += 1; // give the reservation back
      throw err;
    }
  }
}

/** Defaults: 1,800/min sustained plus a burst of 100 = at most 1,900 in any minute, under the 2,000 baseline. */
export const DEFAULT_RATE = { requestsPerMinute: 1800, burst: 100 } as const;
