/**
 * Request plumbing shared by the HTTP clients (Management Activity API, Graph security): a per-request
 * deadline, jittered backoff, and a readable reason for network failures.
 */

export interface RequestDeadline {
  readonly signal: AbortSignal;
  /** Clears the timer and detaches from the caller's signal; call when done with the response. */
  readonly release: () => void;
  /** Restarts the timer: an idle timeout while a body streams in. */
  readonly touch: () => void;
  readonly timedOut: () => boolean;
}

/** An abort signal for one request: the caller's signal plus a timeout of `timeoutInMs`. */
export function requestDeadline(timeoutInMs: number, outer?: AbortSignal): RequestDeadline {
  const controller = new AbortController();
  let expired = false;
  let timer: NodeJS.Timeout | undefined;
  const touch = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      expired = true;
      controller.abort(new Error('request timed out'));
    }, timeoutInMs);
  };
  const onAbort = () => controller.abort(outer?.reason);
  outer?.addEventListener('abort', onAbort, { once: true });
  touch();
  const release = () => {
    clearTimeout(timer);
    outer?.removeEventListener('abort', onAbort);
  };
  return { signal: controller.signal, release, touch, timedOut: () => expired };
}

/** In-process retry of one HTTP call: short and bounded; longer waits belong to the platform's retry. */
export interface RetryOptions {
  /** Attempts per call, the first included. Default 4. */
  readonly maxAttempts?: number;
  readonly baseDelayInMs?: number;
  readonly maxDelayInMs?: number;
  /** A Retry-After longer than this is not slept in-process; the error goes to the caller (the platform retries). */
  readonly maxRetryAfterInMs?: number;
}

export type BackoffOptions = Required<Pick<RetryOptions, 'baseDelayInMs' | 'maxDelayInMs' | 'maxRetryAfterInMs'>>;

/**
 * How long to wait before attempt `attempt + 1`: the service's Retry-After when given, else full-jitter
 * exponential backoff (half fixed, half random). Undefined when the service asks for longer than is
 * sensible to wait in-process: the caller then hands the error to the platform's retry.
 */
export function backoffDelay(attempt: number, retryAfterInMs: number | undefined, options: BackoffOptions, random: () => number): number | undefined {
  if (retryAfterInMs !== undefined) return retryAfterInMs <= options.maxRetryAfterInMs ? retryAfterInMs : undefined;
  const ceiling = Math.min(options.maxDelayInMs, options.baseDelayInMs * 2 ** (attempt - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/** The most telling part of a fetch failure (`ECONNRESET`, `UND_ERR_SOCKET`, ...). */
export function networkReason(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } })?.cause;
  return cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : String(err));
}

/** `Retry-After` as delta-seconds or an HTTP date, in ms from `now`; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
