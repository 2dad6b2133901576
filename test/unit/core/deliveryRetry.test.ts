import { describe, expect, it } from 'vitest';
import { backoffMs, DEFAULT_EXPIRY_MARGIN_MS, nextRetry, retryDeadline } from '../../../shared/core/deliveryRetry.js';

const policy = { initialInMs: 30_000, maxInMs: 3_600_000 };

describe('backoffMs', () => {
  it('doubles per attempt from the initial delay up to the cap', () => {
    expect([1, 2, 3, 4, 8, 9, 50].map((a) => backoffMs(a, policy, 0))).toEqual([30_000, 60_000, 120_000, 240_000, 3_600_000, 3_600_000, 3_600_000]);
  });

  it('jitters down by at most a quarter', () => {
    expect(backoffMs(1, policy, 0.5)).toBe(26_250);
    expect(backoffMs(1, policy, 0.999_999_9)).toBeGreaterThanOrEqual(22_500);
    expect(backoffMs(0, policy, 0)).toBe(30_000);
  });
});

describe('nextRetry', () => {
  const now = Date.parse('2026-12-02T10:00:00Z');

  it('retries after the backoff while the deadline is ahead', () => {
    const decision = nextRetry(2, '2026-12-05T10:00:00Z', now, policy, 0);
    expect(decision).toEqual({ retry: true, delayInMs: 60_000, nextAttemptAt: now + 60_000 });
  });

  it('moves the last attempt up to the deadline instead of skipping it', () => {
    const expiration = new Date(now + DEFAULT_EXPIRY_MARGIN_MS + 20_000).toISOString();
    expect(nextRetry(9, expiration, now, policy, 0)).toEqual({ retry: true, delayInMs: 20_000, nextAttemptAt: now + 20_000 });
  });

  it('gives up once the deadline has passed, saying so', () => {
    const expiration = new Date(now + DEFAULT_EXPIRY_MARGIN_MS - 1).toISOString();
    const decision = nextRetry(40, expiration, now, policy, 0);
    expect(decision.retry).toBe(false);
    expect(!decision.retry && decision.reason).toMatch(/^expired during retries \(40 attempts/);
  });

  it('treats an unreadable expiration as past', () => {
    expect(retryDeadline('not a date', policy)).toBe(Number.NEGATIVE_INFINITY);
    expect(nextRetry(1, 'not a date', now, policy, 0).retry).toBe(false);
  });
});
