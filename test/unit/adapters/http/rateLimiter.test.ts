import { describe, expect, it } from 'vitest';
import { RateLimiter, DEFAULT_RATE } from '../../../../shared/adapters/http/rateLimiter.js';

/** A virtual clock: sleeping advances time instantly, so the test measures the limiter, not the machine. */
function virtualTime() {
  let now = 0;
  return {
    now: () => now,
    sleep: async (ms: number) => {
      now += ms;
    },
  };
}

/** The most request starts inside any 60-second window. */
function maxPerMinute(starts: number[]): number {
  const sorted = [...starts].sort((a, b) => a - b);
  let max = 0;
  let lo = 0;
  for (let hi = 0; hi < sorted.length; hi++) {
    while (sorted[hi]! - sorted[lo]! >= 60_000) lo++;
    max = Math.max(max, hi - lo + 1);
  }
  return max;
}

describe('RateLimiter', () => {
  it('holds a burst of 10,000 requests under the documented 2,000 per minute per tenant', async () => {
    const time = virtualTime();
    const limiter = new RateLimiter({ ...DEFAULT_RATE, now: time.now, sleep: time.sleep });
    const starts: number[] = [];
    // Sequential acquisition with a virtual clock: each start is recorded at the time it was allowed.
    for (let i = 0; i < 10_000; i++) {
      await limiter.acquire();
      starts.push(time.now());
    }
    expect(maxPerMinute(starts)).toBeLessThanOrEqual(DEFAULT_RATE.burst + DEFAULT_RATE.requestsPerMinute);
    expect(maxPerMinute(starts)).toBeLessThan(2000);
    // And it does not throttle itself far below the rate: 10,000 requests take about 10,000/1,800 minutes.
    const minutes = time.now() / 60_000;
    expect(minutes).toBeGreaterThan((10_000 - DEFAULT_RATE.burst) / DEFAULT_RATE.requestsPerMinute - 0.01);
    expect(minutes).toBeLessThan((10_000 - DEFAULT_RATE.burst) / DEFAULT_RATE.requestsPerMinute + 0.05);
  });

  it('lets the burst through at once and then paces', async () => {
    const time = virtualTime();
    const limiter = new RateLimiter({ requestsPerMinute: 60, burst: 5, now: time.now, sleep: time.sleep });
    const starts: number[] = [];
    for (let i = 0; i < 8; i++) {
      await limiter.acquire();
      starts.push(time.now());
    }
    expect(starts.slice(0, 5)).toEqual([0, 0, 0, 0, 0]);
    expect(starts.slice(5)).toEqual([1000, 2000, 3000]);
  });

  it('serves concurrent callers in arrival order without exceeding the rate', async () => {
    let now = 0;
    const wakeups: Array<{ at: number; resolve: () => void }> = [];
    const limiter = new RateLimiter({
      requestsPerMinute: 600,
      burst: 2,
      now: () => now,
      sleep: (ms) => new Promise<void>((resolve) => wakeups.push({ at: now + ms, resolve })),
    });
    const order: number[] = [];
    const all = Array.from({ length: 6 }, (_, i) => limiter.acquire().then(() => order.push(i)));
    // Drive virtual time: wake sleepers in deadline order.
    while (order.length < 6) {
      await Promise.resolve();
      wakeups.sort((a, b) => a.at - b.at);
      const next = wakeups.shift();
      if (!next) continue;
      now = next.at;
      next.resolve();
      await new Promise((r) => setImmediate(r));
    }
    await Promise.all(all);
    expect(order).toEqual([0, 1, 2, 3, 4, 5]);
    expect(now).toBe(400); // 4 requests beyond the burst at 100 ms each
  });

  it('returns the reservation when the caller gives up', async () => {
    let now = 0;
    let abort = true;
    const slept: number[] = [];
    const limiter = new RateLimiter({
      requestsPerMinute: 60,
      burst: 1,
      now: () => now,
      sleep: async (ms) => {
        if (abort) throw new Error('aborted');
        slept.push(ms);
        now += ms;
      },
    });
    await limiter.acquire();
    await expect(limiter.acquire()).rejects.toThrow('aborted');
    await expect(limiter.acquire()).rejects.toThrow('aborted');
    // Both abandoned reservations were given back: one second later a token is free without waiting.
    abort = false;
    now += 1000;
    await limiter.acquire();
    expect(slept).toEqual([]);
    await limiter.acquire();
    expect(slept).toEqual([1000]);
  });
});
