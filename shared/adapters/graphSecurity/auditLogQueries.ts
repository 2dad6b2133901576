import { PermanentError, TransientError } from '../../core/errors.js';
import { silentLogger, type AuditSearch, type Logger } from '../../ports.js';
import type { AuditLogQueryInfo, AuditLogQuerySpec, AuditRecordPage, CallOptions } from '../../core/io.js';
import { AuthorizedRequests, type TenantHttpClientOptions } from '../http/authorizedRequests.js';
import { RateLimiter } from '../http/rateLimiter.js';
import { checkGraphNextLink } from './client.js';
import { malformedGraphResponse, sendGraphJson } from './graphJson.js';

/** The Graph API versions that serve the audit log query API (the version is a setting: it has moved before). */
export type AuditApiVersion = 'v1.0' | 'beta';

const PERMISSION = 'AuditLogsQuery.Read.All';
const FORBIDDEN_HINT = 'or the per-service AuditLogsQuery-*.Read.All permissions; and check that auditing (Microsoft Purview Audit) is on in this tenant';
/**
 * Requests per tenant: Graph documents no per-request limit for audit log queries (only submissions per
 * day, queries at once and records per query), so this bucket only keeps polls and pages from bursting;
 * Graph's global limit (130,000 requests per 10 s per app) is far above it.
 */
export const AUDIT_RATE = { requestsPerMinute: 600, burst: 60 } as const;
/** Graph query ids are GUIDs; anything else is not put into a URL path. */
const QUERY_ID = /^[A-Za-z0-9-]{1,128}$/;

export interface GraphAuditSearchClientOptions extends TenantHttpClientOptions {
  /** The Graph origin; the only origin that ever receives this tenant's Graph token. */
  readonly graphEndpoint: string;
  readonly apiVersion: AuditApiVersion;
  /** Guard against a next-link loop. Default 100,000 pages per paging. */
  readonly maxPages?: number;
}

/**
 * Client for one tenant's audit log queries on Microsoft Graph: create a query, read its status, page its
 * records. Shares the Graph request loop (rate limiter, bearer token, no redirects, one token refresh,
 * bounded retries honouring Retry-After on 429, 503 and 504) and follows `@odata.nextLink` only on the
 * configured Graph origin and the query's records path, so the token never goes anywhere else.
 */
export class GraphAuditSearchClient {
  private readonly origin: string;
  private readonly root: string;
  private readonly http: AuthorizedRequests;
  private readonly log: Logger;

  constructor(private readonly options: GraphAuditSearchClientOptions) {
    this.origin = new URL(options.graphEndpoint).origin;
    this.root = `/${options.apiVersion}/security/auditLog/queries`;
    this.log = options.logger ?? silentLogger;
    this.http = new AuthorizedRequests({ ...options, origin: this.origin, rateLimiter: options.rateLimiter ?? new RateLimiter(AUDIT_RATE) });
  }

  async createQuery(spec: AuditLogQuerySpec, options: CallOptions = {}): Promise<AuditLogQueryInfo> {
    const body = {
      '@odata.type': '#microsoft.graph.security.auditLogQuery',
      displayName: spec.displayName,
      filterStartDateTime: spec.from,
      filterEndDateTime: spec.to,
      ...(spec.recordTypeFilters ? { recordTypeFilters: spec.recordTypeFilters } : {}),
    };
    const info = await this.json(new URL(`${this.origin}${this.root}`), 'create audit log query', options, JSON.stringify(body));
    return this.queryInfo(info, 'create audit log query');
  }

  async getQuery(queryId: string, options: CallOptions = {}): Promise<AuditLogQueryInfo> {
    const info = await this.json(new URL(`${this.origin}${this.root}/${this.checkedId(queryId)}`), 'get audit log query', options);
    return this.queryInfo(info, 'get audit log query');
  }

  /**
   * The query's records, one page at a time, from the first page or from `next` (a link an earlier
   * page returned, checked again before it gets a token), until a page without `@odata.nextLink`.
   */
  async *listRecords(queryId: string, options: CallOptions & { readonly next?: string } = {}): AsyncGenerator<AuditRecordPage> {
    const path = `${this.root}/${this.checkedId(queryId)}/records`;
    const operation = 'list audit log records';
    let url = options.next === undefined ? new URL(`${this.origin}${path}`) : this.followable(options.next, path, operation);
    const visited = new Set<string>();
    for (let pageNumber = 1; ; pageNumber++) {
      visited.add(url.href);
      const body = (await this.json(url, operation, options)) as Record<string, unknown>;
      const value = body.value;
      if (!Array.isArray(value)) throw this.malformed(operation, 'expected a JSON object with a "value" array');
      const next = body['@odata.nextLink'];
      if (next === undefined || next === null) {
        yield { records: value };
        return;
      }
      const nextUrl = typeof next === 'string' ? this.followable(next, path, operation) : this.refuse(operation, 'not a string', path);
      if (visited.has(nextUrl.href) || pageNumber >= (this.options.maxPages ?? 100_000)) {
        throw new TransientError('ServiceUnavailable', `${operation} for tenant ${this.options.tenantId}: paging did not end after ${pageNumber} pages (loop or runaway)`, { tenantId: this.options.tenantId });
      }
      yield { records: value, next: nextUrl.href };
      url = nextUrl;
    }
  }

  private followable(link: string, path: string, operation: string): URL {
    const checked = checkGraphNextLink(link, this.origin, path);
    return typeof checked === 'string' ? this.refuse(operation, checked, path) : checked;
  }

  private refuse(operation: string, problem: string, path: string): never {
    this.log.warn('next page link refused', { tenantId: this.options.tenantId, operation, problem });
    throw new PermanentError('ForeignHost', `${operation} for tenant ${this.options.tenantId}: the @odata.nextLink was refused (${problem}); the token is only sent to ${this.origin}${path}`, { tenantId: this.options.tenantId });
  }

  private checkedId(queryId: string): string {
    if (!QUERY_ID.test(queryId)) throw new PermanentError('BadRequest', `audit log query id ${JSON.stringify(queryId.slice(0, 80))} is not a Graph id`, { tenantId: this.options.tenantId });
    return queryId;
  }

  private json(url: URL, operation: string, options: CallOptions, body?: string): Promise<unknown> {
    const context = { tenantId: this.options.tenantId, operation, permission: PERMISSION, forbiddenHint: FORBIDDEN_HINT };
    const headers = { Accept: 'application/json', ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) };
    return sendGraphJson(this.http, { operation, url, method: body === undefined ? 'GET' : 'POST', headers, body, abortSignal: options.abortSignal }, context);
  }

  private queryInfo(body: unknown, operation: string): AuditLogQueryInfo {
    const b = body as Record<string, unknown>;
    if (typeof b.id !== 'string' || !QUERY_ID.test(b.id)) throw this.malformed(operation, 'the query has no usable id');
    return {
      id: b.id,
      // The create answer may omit the status: a new query has not started.
      status: typeof b.status === 'string' ? b.status : 'notStarted',
      isRecordCountLimitExceeded: b.isRecordCountLimitExceeded === true || b.isRecordCountLimitExceeded === 'true',
      approximateReturnedRecordCount: int64(b.approximateReturnedRecordCount),
      recordCountLimit: int64(b.recordCountLimit),
    };
  }

  private malformed(operation: string, what: string): TransientError {
    return malformedGraphResponse(operation, this.options.tenantId, what);
  }
}

/** Graph serializes Int64 as a number or, with some serializers, as a string. */
function int64(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && /^\d{1,18}$/.test(value)) return Number(value);
  return undefined;
}

/** The AuditSearch port over one audit search client per tenant. */
export class GraphAuditSearch implements AuditSearch {
  constructor(private readonly clientFor: (tenantId: string) => GraphAuditSearchClient) {}

  createQuery(tenantId: string, spec: AuditLogQuerySpec, options?: CallOptions): Promise<AuditLogQueryInfo> {
    return this.clientFor(tenantId).createQuery(spec, options);
  }

  getQuery(tenantId: string, queryId: string, options?: CallOptions): Promise<AuditLogQueryInfo> {
    return this.clientFor(tenantId).getQuery(queryId, options);
  }

  listRecords(tenantId: string, queryId: string, options?: CallOptions & { readonly next?: string }): AsyncIterable<AuditRecordPage> {
    return this.clientFor(tenantId).listRecords(queryId, options);
  }
}
