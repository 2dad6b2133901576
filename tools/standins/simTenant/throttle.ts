import { performance } from 'node:perf_hooks';

/**
 * Token buckets of `requestsPerMinute` capacity, refilled continuously on the real (monotonic) clock, so
 * a frozen or jumping feed clock never changes how fast a client may call.
 */
export class Throttle {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly requestsPerMinute: number,
    private readonly clock: () => number = () => performance.now(),
  ) {}

  /** Takes one token from bucket `key`; false when it is empty (the request is throttled). */
  take(key: string): boolean {
    const bucket = this.refill(key);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  /** Milliseconds until bucket `key` holds a whole token again (0 when it does now): what a Retry-After says. */
  waitMs(key: string): number {
    const bucket = this.refill(key);
    return bucket.tokens >= 1 ? 0 : ((1 - bucket.tokens) * 60_000) / this.requestsPerMinute;
  }

  private refill(key: string): { tokens: number; at: number } {
    const now = this.clock();
    const bucket = this.buckets.get(key) ?? { tokens: this.requestsPerMinute, at: now };
    bucket.tokens = Math.min(this.requestsPerMinute, bucket.tokens + ((now - bucket.at) * this.requestsPerMinute) / 60_000);
    bucket.at = now;
    this.buckets.set(key, bucket);
    return bucket;
  }
}
