import { RateLimiter, type RateLimiterOptions } from './rateLimiter.js';

/**
 * A small share of a tenant's request budget for background traffic (the retention sweep): each request
 * first waits in its own bucket, then takes a token from the tenant's bucket like any other request. The
 * sweep therefore counts against the tenant's budget, can never take more than its share of it, and
 * leaves the rest to live polls and downloads.
 */
export class ShareLimiter extends RateLimiter {
  constructor(
    private readonly tenant: RateLimiter,
    options: RateLimiterOptions,
  ) {
    super(options);
  }

  override async acquire(signal?: AbortSignal): Promise<void> {
    await super.acquire(signal);
    await this.tenant.acquire(signal);
  }
}

/** The sweep's share: 200 requests a minute plus a burst of 10, about a tenth of the default 1,900. */
export const SWEEP_RATE = { requestsPerMinute: 200, burst: 10 } as const;
