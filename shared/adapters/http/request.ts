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
 * How long to wait before attempt `attempt + 1`: the service's Retry-After when given (and positive), else full-jitter
 * exponential backoff (half fixed, half random). Undefined when the service asks for longer than is
 * sensible to wait in-process: the caller then hands the error to the platform's retry.
 */
export function backoffDelay(attempt: number, retryAfterInMs: number | undefined, options: BackoffOptions, random: () => number): number | undefined {
  // A hint of no wait (or no number) is no hint: retrying at once is what a throttled service least wants.
  if (retryAfterInMs !== undefined && retryAfterInMs > 0 && Number.isFinite(retryAfterInMs)) {
    return retryAfterInMs <= options.maxRetryAfterInMs ? retryAfterInMs : undefined;
  }
  const ceiling = Math.min(options.maxDelayInMs, options.baseDelayInMs * 2 ** (attempt - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/** The most telling part of a fetch failure (`ECONNRESET`, `UND_ERR_SOCKET`, ...); a TLS trust failure says so with the host. */
export function networkReason(err: unknown, url?: string): string {
  const tls = tlsTrustFailure(err);
  if (tls) return tlsTrustMessage(tls, url);
  const cause = (err as { cause?: { code?: string; message?: string } })?.cause;
  return cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : String(err));
}

/** The longest wait a Retry-After is taken for; a service asking for more gets this (a day). */
export const MAX_RETRY_AFTER_MS = 24 * 3_600_000;

/** The three HTTP-date forms (IMF-fixdate, RFC 850, asctime) all start with the day of the week. */
const HTTP_DATE = /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*,? [A-Za-z0-9 :,-]+$/;

/**
 * `Retry-After` as delta-seconds or an HTTP date, in ms from `now` (at most {@link MAX_RETRY_AFTER_MS}).
 * Undefined, meaning no hint (the caller's jittered backoff applies), when absent, unreadable, or when it
 * asks for no wait at all: zero, a negative number or a date not after `now`. Such a value would
 * otherwise turn a throttled retry loop into a tight one.
 */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  let waitInMs: number;
  if (/^\d+(\.\d+)?$/.test(trimmed)) waitInMs = Math.round(Number(trimmed) * 1000);
  // asctime carries no zone but means GMT; Date.parse would read it as local time.
  else if (HTTP_DATE.test(trimmed)) waitInMs = Date.parse(/GMT$/i.test(trimmed) ? trimmed : `${trimmed} GMT`) - now;
  else return undefined;
  if (Number.isNaN(waitInMs) || waitInMs <= 0) return undefined;
  return Math.min(waitInMs, MAX_RETRY_AFTER_MS);
}

/** OpenSSL/Node verification codes that mean "this peer's certificate is not trusted here". */
const TLS_TRUST_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT', 'CERT_UNTRUSTED', 'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID', 'ERR_TLS_CERT_ALTNAME_INVALID', 'CERT_SIGNATURE_FAILURE',
]);
const TLS_TRUST_TEXT = /unable to verify the first certificate|self[- ]signed certificate|unable to get (?:local )?issuer certificate|certificate has expired|does not match certificate's altnames/i;

/** The verification code of a TLS trust failure anywhere in an error's cause chain (fetch, core-rest-pipeline, MSAL), or undefined. */
export function tlsTrustFailure(err: unknown): string | undefined {
  const seen = new Set<unknown>();
  for (let e: unknown = err; e && typeof e === 'object' && !seen.has(e); e = (e as { cause?: unknown }).cause) {
    seen.add(e);
    const { code, message } = e as { code?: unknown; message?: unknown };
    if (typeof code === 'string' && TLS_TRUST_CODES.has(code)) return code;
    if (typeof message === 'string') {
      const named = [...TLS_TRUST_CODES].find((c) => message.includes(c));
      if (named) return named;
      if (TLS_TRUST_TEXT.test(message)) return message.match(TLS_TRUST_TEXT)![0];
    }
  }
  return undefined;
}

/** "TLS: the certificate of <host> is not trusted (<code>)" with what to do about it. */
export function tlsTrustMessage(code: string, url?: string): string {
  let host = 'the server';
  try {
    if (url) host = new URL(url).host;
  } catch {
    /* keep the generic name */
  }
  return (
    `TLS: the certificate of ${host} is not trusted (${code}). If a TLS-inspecting proxy or a corporate CA sits in between, ` +
    'add its CA certificate to the file NODE_EXTRA_CA_CERTS names'
  );
}
