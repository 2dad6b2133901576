import { PermanentError, TransientError } from '../../core/errors.js';
import { isGraphTimestamp } from '../../core/model.js';
import { silentLogger, type Logger } from '../../ports.js';
import type { CallOptions } from '../../core/io.js';
import { AuthorizedRequests, type TenantHttpClientOptions } from '../http/authorizedRequests.js';
import { RateLimiter } from '../http/rateLimiter.js';
import { malformedGraphResponse, sendGraphJson } from './graphJson.js';

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
 * Graph allows 150 requests per minute per app per tenant on the security API. At
 * most `burst + requestsPerMinute` = 140 requests start in any 60 s window, leaving room for another
 * client of the same app.
 */
export const GRAPH_RATE = { requestsPerMinute: 120, burst: 20 } as const;


export interface GraphSecurityClientOptions extends TenantHttpClientOptions {
  /** `https://graph.microsoft.com` or an override; the only origin that ever receives this tenant's Graph token. */
  readonly graphEndpoint: string;
  /** Guard against a next-link loop. Default 10,000 pages per scan. */
  readonly maxPages?: number;
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
  private readonly http: AuthorizedRequests;
  private readonly log: Logger;

  constructor(private readonly options: GraphSecurityClientOptions) {
    this.origin = new URL(options.graphEndpoint).origin;
    this.log = options.logger ?? silentLogger;
    this.http = new AuthorizedRequests({ ...options, origin: this.origin, rateLimiter: options.rateLimiter ?? new RateLimiter(GRAPH_RATE) });
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
      const checked = typeof next === 'string' ? checkGraphNextLink(next, this.origin, spec.path) : 'not a string';
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

  private getJson(url: URL, options: CallOptions & { operation: string; permission: string }): Promise<unknown> {
    const context = { tenantId: this.options.tenantId, operation: options.operation, permission: options.permission };
    const headers = { Accept: 'application/json', Prefer: 'include-unknown-enum-members' };
    return sendGraphJson(this.http, { operation: options.operation, url, headers, abortSignal: options.abortSignal }, context);
  }

  private malformed(operation: string, what: string): TransientError {
    return malformedGraphResponse(operation, this.options.tenantId, what);
  }
}

/**
 * A Graph `@odata.nextLink` as a URL when it stays on `origin` over https, without credentials, on
 * `path` (compared case-insensitively); otherwise why not. Only such a link ever gets the tenant's token.
 */
export function checkGraphNextLink(link: string, origin: string, path: string): URL | string {
  let url: URL;
  try {
    url = new URL(link);
  } catch {
    return 'not an absolute URL';
  }
  if (url.protocol !== 'https:') return `scheme ${url.protocol} is not https`;
  if (url.username || url.password) return 'the link carries credentials';
  if (url.origin !== origin) return `host ${url.host} is not the configured Graph host`;
  if (url.pathname.toLowerCase() !== path.toLowerCase()) return `path ${url.pathname.slice(0, 100)} is not ${path}`;
  return url;
}
