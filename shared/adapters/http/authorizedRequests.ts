import { IngestError, PermanentError, TransientError } from '../../core/errors.js';
import { silentLogger, type Logger } from '../../ports.js';
import type { AccessTokenSource } from '../identity/tokenSource.js';
import { proxiedFetch } from './proxy.js';
import { pacingOf, type Pacing, type PacingOptions, type RateLimiter } from './rateLimiter.js';
import { backoffDelay, networkReason, requestDeadline, tlsTrustFailure, type RequestDeadline, type RetryOptions } from './request.js';

/** What every client of one tenant's API takes (the Management Activity API, Graph security, Graph audit search). */
export interface TenantHttpClientOptions extends PacingOptions {
  readonly tenantId: string;
  readonly tokens: AccessTokenSource;
  /** The tenant's request budget (each client has its default). */
  readonly rateLimiter?: RateLimiter;
  readonly retry?: RetryOptions;
  /** How long to wait for response headers (and, for a kept response, between body chunks). Default 60 s. */
  readonly requestTimeoutInMs?: number;
  readonly logger?: Logger;
}

export interface AuthorizedRequestsOptions extends TenantHttpClientOptions {
  /** The only origin this tenant's token may go to (for messages; callers check their URLs against it). */
  readonly origin: string;
  readonly rateLimiter: RateLimiter;
}

/** What an API makes of a response that is not a redirect. */
export type ResponseOutcome<T> =
  | {
      readonly result: T;
      /** The result holds the body open: the deadline becomes its idle timeout, and the caller releases it. */
      readonly keepsDeadline?: boolean;
    }
  | {
      readonly failure: IngestError;
      /** The token itself was refused: refresh it once and try again in place. */
      readonly tokenRefused?: boolean;
    };

export interface AuthorizedRequest<T> {
  readonly operation: string;
  readonly url: URL;
  readonly method?: 'GET' | 'POST';
  readonly headers?: Readonly<Record<string, string>>;
  /** A request body (JSON text for a POST); sent again on every attempt. */
  readonly body?: string;
  readonly abortSignal?: AbortSignal;
  readonly read: (response: Response, deadline: RequestDeadline) => Promise<ResponseOutcome<T>>;
  /** The wait the service asked for, where this API honours it (default: the failure's Retry-After). */
  readonly retryAfter?: (failure: IngestError) => number | undefined;
}

/**
 * The request loop both API clients share: each attempt passes the tenant's rate limiter, carries a
 * bearer token, never follows a redirect (the token stays on its origin), refreshes a refused token
 * once in place, and retries transient failures a bounded number of times with jittered backoff or
 * the service's Retry-After. Anything longer goes back to the caller, whose platform retries.
 */
export class AuthorizedRequests {
  private readonly retry: Required<RetryOptions>;
  private readonly timeoutInMs: number;
  private readonly log: Logger;
  private readonly pacing: Pacing;

  constructor(private readonly options: AuthorizedRequestsOptions) {
    this.retry = { maxAttempts: 4, baseDelayInMs: 500, maxDelayInMs: 20_000, maxRetryAfterInMs: 60_000, ...options.retry };
    this.timeoutInMs = options.requestTimeoutInMs ?? 60_000;
    this.log = options.logger ?? silentLogger;
    this.pacing = pacingOf(options);
  }

  /** The clock the requests are paced by (a Retry-After date is read against it). */
  now(): number {
    return this.pacing.now();
  }

  async send<T>(request: AuthorizedRequest<T>): Promise<T> {
    const { tenantId, tokens } = this.options;
    const { operation, abortSignal } = request;
    let refreshed = false;
    for (let attempt = 1; ; attempt++) {
      let failure: IngestError;
      await this.options.rateLimiter.acquire(abortSignal);
      const token = await tokens.getToken({ abortSignal });
      const deadline = requestDeadline(this.timeoutInMs, abortSignal);
      let kept = false;
      try {
        const response = await proxiedFetch(request.url, {
          method: request.method ?? 'GET',
          headers: { ...request.headers, Authorization: `Bearer ${token}` },
          ...(request.body === undefined ? {} : { body: request.body }),
          redirect: 'manual',
          signal: deadline.signal,
        });
        if (response.status >= 300 && response.status < 400) {
          await response.body?.cancel().catch(() => undefined);
          throw new PermanentError('ForeignHost', `${operation} for tenant ${tenantId}: the service answered with a redirect (HTTP ${response.status}); redirects are never followed, so the token stays on ${this.options.origin}`, { httpStatus: response.status, tenantId });
        }
        const outcome = await request.read(response, deadline);
        if ('result' in outcome) {
          kept = outcome.keepsDeadline === true;
          return outcome.result;
        }
        if (outcome.tokenRefused && !refreshed) {
          // An expired or revoked token: get a new one and try again in place, once.
          refreshed = true;
          this.log.debug('token refused, refreshing', { tenantId, operation });
          await tokens.getToken({ forceRefresh: true, abortSignal });
          attempt--;
          continue;
        }
        failure = outcome.failure;
      } catch (err) {
        if (err instanceof IngestError) throw err;
        if (abortSignal?.aborted) throw abortSignal.reason ?? err;
        failure = deadline.timedOut()
          ? new TransientError('Timeout', `${operation} for tenant ${tenantId}: no response within ${this.timeoutInMs} ms`, { tenantId, cause: err })
          : new TransientError(tlsTrustFailure(err) ? 'TlsUntrusted' : 'Network', `${operation} for tenant ${tenantId}: ${networkReason(err, String(request.url))}`, { tenantId, cause: err });
      } finally {
        if (!kept) deadline.release();
      }
      if (!failure.retryable || attempt >= this.retry.maxAttempts) throw failure;
      const retryAfter = request.retryAfter ? request.retryAfter(failure) : failure.retryAfterInMs;
      const waitInMs = backoffDelay(attempt, retryAfter, this.retry, this.pacing.random);
      if (waitInMs === undefined) throw failure;
      this.log.debug('retrying', { tenantId, operation, attempt, waitInMs, code: failure.code, afCode: failure.afCode, httpStatus: failure.httpStatus });
      await this.pacing.sleep(waitInMs, abortSignal);
    }
  }
}
