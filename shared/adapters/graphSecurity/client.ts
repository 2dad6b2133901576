import { IngestError, PermanentError, TransientError } from '../../core/errors.js';
import { isGraphTimestamp } from '../../core/model.js';
import { silentLogger, type CallOptions, type Logger } from '../../ports.js';
import { backoffDelay, networkReason, parseRetryAfter, requestDeadline, type RetryOptions } from '../http/request.js';
import { RateLimiter, realSleep, type Sleep } from '../http/rateLimiter.js';
import type { AccessTokenSource } from '../identity/tokenSource.js';
import { classifyGraphFailure, parseGraphErrorBody } from './graphErrors.js';

/** The two collections of Microsoft Graph security the Defender XDR streams read. */
export type SecurityCollection = 'incidents' | 'alerts';

interface CollectionSpec {
  readonly path: string;
  /** Page size asked for (`$top`); the service may send fewer and a next link. */
  readonly top: number;
  readonly expand?: string;
  /** The application permission the collection needs. */
  readonly permission: string;
}

const COLLECTIONS: Readonly<Record<SecurityCollection, CollectionSpec>> = {
  incidents: { path: '/v1.0/security/incidents', top: 50, expand: 'alerts', permission: 'SecurityIncident.Read.All' },
  alerts: { path: '/v1.0/security/alerts_v2', top: 200, permission: 'SecurityAlert.Read.All' },
};

/**
 * Graph allows 150 requests per minute per app per tenant on the security API (reference §11.3). At
 * most `burst + requestsPerMinute` = 140 requests start in any 60 s window, leaving room for another
 * client of the same app.
 */
export const GRAPH_RATE = { requestsPerMinute: 120, burst: 20 } as const;

/** Statuses whose Retry-After the service means: wait that long, then try again. */
const RETRY_AFTER_STATUSES: ReadonlySet<number> = new Set([429, 503, 504]);

export interface GraphSecurityClientOptions {
  readonly tenantId: string;
  /** `https://graph.microsoft.com` or an override; the only origin that ever receives this tenant's Graph token. */
  readonly graphEndpoint: string;
  readonly tokens: AccessTokenSource;
  readonly rateLimiter?: RateLimiter;
  readonly retry?: RetryOptions;
  /** How long one request (headers and body) may take. Default 60 s. */
  readonly requestTimeoutInMs?: number;
  /** Guard against a next-link loop. Default 10,000 pages per scan. */
  readonly maxPages?: number;
  readonly logger?: Logger;
  readonly sleep?: Sleep;
  readonly random?: () => number;
  readonly now?: () => number;
}

/** One page of a collection: its entities, parsed but otherwise untouched. */
export interface GraphPage {
  readonly pageNumber: number;
  readonly items: unknown[];
  /** The URL this page was read from. */
  readonly url: string;
}

/**
 * Client for one tenant's Microsoft Graph security incidents and alerts. Every request passes the
 * tenant's rate limiter, asks for evolvable enum members (`Prefer: include-unknown-enum-members`),
 * retries transient failures a bounded number of times (honouring Retry-After on 429, 503 and 504),
 * refreshes the token once on a 401, never follows redirects, and follows `@odata.nextLink` only on
 * the configured Graph origin and the collection's path: the token never goes anywhere else.
 */
export class GraphSecurityClient {
  private readonly origin: string;
  private readonly limiter: RateLimiter;
  private readonly retry: Required<RetryOptions>;
  private readonly timeoutInMs: number;
  private readonly log: Logger;
  private readonly sleep: Sleep;
  private readonly random: () => number;
  private readonly now: () => number;

  constructor(private readonly options: GraphSecurityClientOptions) {
    this.origin = new URL(options.graphEndpoint).origin;
    this.limiter = options.rateLimiter ?? new RateLimiter(GRAPH_RATE);
    this.retry = { maxAttempts: 4, baseDelayInMs: 500, maxDelayInMs: 20_000, maxRetryAfterInMs: 60_000, ...options.retry };
    this.timeoutInMs = options.requestTimeoutInMs ?? 60_000;
    this.log = options.logger ?? silentLogger;
    this.sleep = options.sleep ?? realSleep;
    this.random = options.random ?? Math.random;
    this.now = options.now ?? Date.now;
  }

  get tenantId(): string {
    return this.options.tenantId;
  }

  /**
   * Every entity of `collection` with `lastUpdateDateTime ge since`, oldest first
   * (`$orderby=lastUpdateDateTime asc`), one page at a time, following `@odata.nextLink` until the
   * service sends none. `since` is sent with all its fraction digits. A next link off the Graph
   * origin or the collection's path is refused before a token is attached, as is a link that repeats.
   */
  async *listUpdatedSince(collection: SecurityCollection, since: string, options: CallOptions = {}): AsyncGenerator<GraphPage> {
    if (!isGraphTimestamp(since)) throw new RangeError(`listUpdatedSince: ${JSON.stringify(since)} is not a timestamp`);
    const spec = COLLECTIONS[collection];
    const operation = `list ${collection}`;
    const tenantId = this.options.tenantId;
    const query: [string, string][] = [
      ['$filter', `lastUpdateDateTime ge ${since}`],
      ['$orderby', 'lastUpdateDateTime asc'],
      ['$top', String(spec.top)],
      ...(spec.expand ? [['$expand', spec.expand] as [string, string]] : []),
    ];
    // Built by hand: URLSearchParams would write spaces as '+' and `$` as %24, which OData services read inconsistently.
    let url = new URL(`${this.origin}${spec.path}?${query.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&')}`);
    const visited = new Set<string>();
    for (let pageNumber = 1; ; pageNumber++) {
      visited.add(url.href);
      const body = await this.getJson(url, { ...options, operation, permission: spec.permission });
      const value = (body as { value?: unknown }).value;
      if (!Array.isArray(value)) throw this.malformed(operation, 'expected a JSON object with a "value" array');
      yield { pageNumber, items: value, url: url.href };

      const next = (body as Record<string, unknown>)['@odata.nextLink'];
      if (next === undefined || next === null) return;
      const checked = typeof next === 'string' ? this.checkNextLink(next, spec.path) : 'not a string';
      if (typeof checked === 'string') {
        this.log.warn('next page link refused', { tenantId, collection, problem: checked });
        throw new PermanentError('ForeignHost', `${operation} for tenant ${tenantId}: the @odata.nextLink was refused (${checked}); the token is only sent to ${this.origin}${spec.path}`, { tenantId });
      }
      url = checked;
      if (visited.has(url.href) || pageNumber >= (this.options.maxPages ?? 10_000)) {
        throw new TransientError('ServiceUnavailable', `${operation} for tenant ${tenantId}: paging did not end after ${pageNumber} pages (loop or runaway); the scan is repeated next run`, { tenantId });
      }
    }
  }

  /** The next link as a URL when it stays on the Graph origin and the collection's path; otherwise why not. */
  private checkNextLink(link: string, path: string): URL | string {
    let url: URL;
    try {
      url = new URL(link);
    } catch {
      return 'not an absolute URL';
    }
    if (url.protocol !== 'https:') return `scheme ${url.protocol} is not https`;
    if (url.username || url.password) return 'the link carries credentials';
    if (url.origin !== this.origin) return `host ${url.host} is not the configured Graph host`;
    if (url.pathname.toLowerCase() !== path.toLowerCase()) return `path ${url.pathname.slice(0, 100)} is not ${path}`;
    return url;
  }

  private async getJson(url: URL, options: CallOptions & { operation: string; permission: string }): Promise<unknown> {
    const tenantId = this.options.tenantId;
    const context = { tenantId, operation: options.operation, permission: options.permission };
    let refreshed = false;
    for (let attempt = 1; ; attempt++) {
      let failure: IngestError;
      await this.limiter.acquire(options.abortSignal);
      const token = await this.options.tokens.getToken({ abortSignal: options.abortSignal });
      const { signal, release, timedOut } = requestDeadline(this.timeoutInMs, options.abortSignal);
      try {
        const response = await fetch(url, {
          headers: { Authorization: `Bearer ${token}`, Accept: 'application/json', Prefer: 'include-unknown-enum-members' },
          redirect: 'manual',
          signal,
        });
        const text = await response.text();
        if (response.ok) return this.parse(text, options.operation, response.status);
        if (response.status >= 300 && response.status < 400) {
          throw new PermanentError('ForeignHost', `${options.operation} for tenant ${tenantId}: Graph answered with a redirect (HTTP ${response.status}); redirects are never followed, so the token stays on ${this.origin}`, { httpStatus: response.status, tenantId });
        }
        if (response.status === 401 && !refreshed) {
          // An expired or revoked token: get a new one and try again in place, once.
          refreshed = true;
          this.log.debug('token refused, refreshing', { tenantId, operation: options.operation });
          await this.options.tokens.getToken({ forceRefresh: true, abortSignal: options.abortSignal });
          attempt--;
          continue;
        }
        failure = classifyGraphFailure(
          { httpStatus: response.status, ...parseGraphErrorBody(text.slice(0, 64 * 1024)), retryAfterInMs: parseRetryAfter(response.headers.get('retry-after'), this.now()) },
          context,
        );
      } catch (err) {
        if (err instanceof IngestError) throw err;
        if (options.abortSignal?.aborted) throw options.abortSignal.reason ?? err;
        failure = timedOut()
          ? new TransientError('Timeout', `${options.operation} for tenant ${tenantId}: no complete response within ${this.timeoutInMs} ms`, { tenantId, cause: err })
          : new TransientError('Network', `${options.operation} for tenant ${tenantId}: ${networkReason(err)}`, { tenantId, cause: err });
      } finally {
        release();
      }
      if (!failure.retryable || attempt >= this.retry.maxAttempts) throw failure;
      // Graph's Retry-After counts on 429, 503 and 504; elsewhere the client's own backoff applies.
      const retryAfter = failure.httpStatus !== undefined && RETRY_AFTER_STATUSES.has(failure.httpStatus) ? failure.retryAfterInMs : undefined;
      const waitInMs = backoffDelay(attempt, retryAfter, this.retry, this.random);
      if (waitInMs === undefined) throw failure;
      this.log.debug('retrying', { tenantId, operation: options.operation, attempt, waitInMs, code: failure.code, httpStatus: failure.httpStatus });
      await this.sleep(waitInMs, options.abortSignal);
    }
  }

  private parse(text: string, operation: string, httpStatus: number): unknown {
    try {
      const body: unknown = JSON.parse(text);
      if (typeof body === 'object' && body !== null && !Array.isArray(body)) return body;
    } catch (err) {
      // A truncated or garbled page: the scan is repeated (next attempt or next run).
      throw new TransientError('ServiceUnavailable', `${operation} for tenant ${this.options.tenantId}: the response was not valid JSON`, { tenantId: this.options.tenantId, httpStatus, cause: err });
    }
    throw this.malformed(operation, 'expected a JSON object');
  }

  private malformed(operation: string, what: string): TransientError {
    return new TransientError('ServiceUnavailable', `${operation} for tenant ${this.options.tenantId}: unexpected response shape (${what})`, { tenantId: this.options.tenantId });
  }
}
