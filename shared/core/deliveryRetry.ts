import { HOUR_MS, MINUTE_MS } from './windows.js';

/**
 * When a content blob is tried again after a transient failure. Shared by ingest (which re-enqueues
 * the blob itself) and reconcile (which picks up blobs whose message was lost or poisoned), so both
 * keep one schedule: exponential from `initialInMs`, capped at `maxInMs`, with jitter, and never past the
 * content's retry deadline.
 */
export interface RetryPolicy {
  /** First delay (RETRY_INITIAL_SECONDS). */
  readonly initialInMs: number;
  /** Longest delay (RETRY_MAX_SECONDS). */
  readonly maxInMs: number;
  /** Retries stop this long before contentExpiration: a download then would race the expiry. */
  readonly expiryMarginInMs?: number;
}

/** Default margin before contentExpiration after which a blob is not tried again. */
export const DEFAULT_EXPIRY_MARGIN_MS = 10 * MINUTE_MS;

/** A blob still not done this long before its expiry raises the alarm, whatever its status. */
export const EXPIRY_ALARM_MS = 24 * HOUR_MS;

/**
 * Delay before attempt `attempts + 1`, having made `attempts` (≥ 1) attempts: initial × 2^(attempts − 1),
 * capped at max, then jittered down by up to a quarter (`random` in [0, 1)) so copies that failed
 * together do not come back together.
 */
export function backoffMs(attempts: number, policy: RetryPolicy, random: number): number {
  const exponent = Math.max(0, Math.min(30, Math.floor(attempts) - 1));
  const base = Math.min(policy.maxInMs, policy.initialInMs * 2 ** exponent);
  const jitter = Math.min(Math.max(random, 0), 0.999_999) * 0.25;
  return Math.max(1, Math.round(base * (1 - jitter)));
}

/** The last moment (ms) an attempt may start: contentExpiration minus the margin; NaN-safe (unreadable = now). */
export function retryDeadline(contentExpiration: string, policy: RetryPolicy): number {
  const expires = Date.parse(contentExpiration);
  return Number.isFinite(expires) ? expires - (policy.expiryMarginInMs ?? DEFAULT_EXPIRY_MARGIN_MS) : Number.NEGATIVE_INFINITY;
}

export type RetryDecision =
  | { readonly retry: true; readonly delayInMs: number; readonly nextAttemptAt: number }
  | { readonly retry: false; readonly reason: string };

/**
 * After a transient failure at `now` with `attempts` made: try again after the backoff, or give up
 * because the next attempt could not start before the content's deadline.
 */
export function nextRetry(attempts: number, contentExpiration: string, now: number, policy: RetryPolicy, random: number): RetryDecision {
  const delayInMs = backoffMs(attempts, policy, random);
  const deadlineAtMs = retryDeadline(contentExpiration, policy);
  if (now >= deadlineAtMs) return { retry: false, reason: `expired during retries (${attempts} attempts; contentExpiration ${contentExpiration})` };
  // The last attempt is moved up to the deadline rather than skipped.
  const nextAttemptAt = Math.min(now + delayInMs, deadlineAtMs);
  return { retry: true, delayInMs: nextAttemptAt - now, nextAttemptAt };
}
