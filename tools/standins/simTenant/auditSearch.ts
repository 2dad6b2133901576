/**
 * Microsoft Purview audit search through Microsoft Graph: `POST /{v1.0|beta}/security/auditLog/queries`,
 * `GET …/queries/{id}` and `GET …/queries/{id}/records`. A query searches the same generated records the
 * Management API serves in its blobs (Purview's 180-day retention, not the listing's 7 days), runs on the
 * feed clock (notStarted → running → succeeded, or failed under a `query-failed` fault), stops at a
 * record-count limit with `isRecordCountLimitExceeded`, and pages its records by `@odata.nextLink`. An app
 * without an AuditLogsQuery role gets a query that succeeds with zero records, as Graph has done since 2026.
 */
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { AccessTokenClaims } from './entra.js';
import { GRAPH_PAGE_FAULTS, type Faults } from './faults.js';
import type { BlobCatalog } from './generator.js';
import { graphError, type GraphReply } from './graph.js';
import type { StatsRecorder } from './stats.js';
import type { TenantState } from './tenants.js';
import type { Throttle } from './throttle.js';
import { DAY, MINUTE } from './time.js';
import type { ContentType, Fault } from './types.js';

/** The audit search operations (stats keys and fault `op`). */
export type AuditOperation = 'auditQuery' | 'auditQueryStatus' | 'auditRecords';

export interface AuditRequest {
  op: AuditOperation;
  version: string;
  queryId?: string;
  query: URLSearchParams;
  /** The JSON body of a POST. */
  body?: string;
  headers: IncomingHttpHeaders;
  origin: string;
  claims: AccessTokenClaims | undefined;
}

export interface AuditSettings {
  now: () => number;
  /** Records per page without `$top` (at most 1,000 with it). */
  pageSize: number;
  /** Records one query returns at most; more sets `isRecordCountLimitExceeded`. */
  recordCountLimit: number;
  /** Feed time from creation to running, and from running to done. */
  startDelayInMs: number;
  runDurationInMs: number;
  /** How long Purview keeps records (Audit Standard: 180 days). */
  retentionInMs: number;
  /** Query submissions per tenant in any 24 h of feed time, and queries queued or running per tenant. */
  submissionsPerDay: number;
  maxRunningQueries: number;
  pageKey: Buffer;
}

export interface AuditDeps {
  tenants: ReadonlyMap<string, TenantState>;
  catalog: BlobCatalog;
  throttle: Throttle;
  faults: Faults;
  stats: StatsRecorder;
}

/** A query as the simulator keeps it. */
export interface SimAuditQuery {
  id: string;
  tenantId: string;
  appId: string;
  roles: readonly string[];
  createdAt: number;
  displayName: string;
  from: number;
  to: number;
  recordTypeFilters?: string[];
  serviceFilters?: string[];
  /** A `query-failed` fault makes it end failed. */
  fails: boolean;
  /** Materialized when it first succeeds. */
  result?: { records: Record<string, unknown>[]; matching: number };
}

/** Records reach a blob at most this long after their CreationTime (the generator's longest lag, with margin). */
const MAX_RECORD_LAG = 7 * DAY;
const MAX_TOP = 1000;
const ALL_ROLE = 'AuditLogsQuery.Read.All';
/** Per-service roles and the workloads (`Workload` of the record) they open. */
const SERVICE_ROLES: Readonly<Record<string, readonly string[]>> = {
  'AuditLogsQuery-Exchange.Read.All': ['Exchange'],
  'AuditLogsQuery-SharePoint.Read.All': ['SharePoint'],
  'AuditLogsQuery-OneDrive.Read.All': ['OneDrive'],
  'AuditLogsQuery-Entra.Read.All': ['AzureActiveDirectory'],
  'AuditLogsQuery-Endpoint.Read.All': ['Endpoint'],
  'AuditLogsQuery-CRM.Read.All': ['CRM'],
};
/** Graph's `auditLogRecordType` names of the record types the generator produces. */
const GRAPH_RECORD_TYPES: Readonly<Record<number, string>> = {
  1: 'exchangeAdmin', 2: 'exchangeItem', 3: 'exchangeItemGroup', 4: 'sharePoint', 6: 'sharePointFileOperation', 7: 'oneDrive', 8: 'azureActiveDirectory',
  9: 'azureActiveDirectoryAccountLogon', 11: 'complianceDLPSharePoint', 13: 'complianceDLPExchange', 14: 'sharePointSharingOperation', 15: 'azureActiveDirectoryStsLogon',
  19: 'exchangeAggregatedOperation', 20: 'powerBIAudit', 22: 'yammer', 25: 'microsoftTeams', 28: 'threatIntelligence', 40: 'securityComplianceAlerts',
  50: 'exchangeItemAggregated', 63: 'dlpEndpoint', 261: 'copilotInteraction',
};
const USER_TYPES = ['regular', 'reserved', 'admin', 'dcAdmin', 'system', 'application', 'servicePrincipal', 'customPolicy', 'systemPolicy', 'partnerTechnician', 'guest'];

/** The audit search surface; synchronous, so a request sees one consistent state. */
export class AuditSearchApi {
  private readonly queries = new Map<string, SimAuditQuery>();
  /** Records of blobs already generated for a search (queries over neighbouring ranges read the same blobs). */
  private readonly blobRecords = new Map<string, unknown[]>();

  constructor(
    private readonly deps: AuditDeps,
    private readonly settings: AuditSettings,
  ) {}

  /** The queries of a tenant, oldest first (tests). */
  list(tenantId: string): SimAuditQuery[] {
    return [...this.queries.values()].filter((q) => q.tenantId === tenantId).sort((a, b) => a.createdAt - b.createdAt);
  }

  /** The audit log a tenant has for record time [from, to) as of the feed clock, every workload (tests' oracle). */
  records(tenantId: string, from: number, to: number): Record<string, unknown>[] {
    return this.search(tenantId, from, to, () => true);
  }

  handle(req: AuditRequest): GraphReply {
    const { claims, headers } = req;
    if (!claims || !this.deps.tenants.has(claims.tid)) {
      return graphError(401, 'InvalidAuthenticationToken', 'Access token is empty, expired or not issued for Microsoft Graph.', headers, { 'WWW-Authenticate': 'Bearer' });
    }
    const bucket = `${claims.tid}|${claims.appid}|audit`;
    if (!this.deps.throttle.take(bucket)) {
      const seconds = Math.max(1, Math.ceil(this.deps.throttle.waitMs(bucket) / 1000));
      return graphError(429, 'TooManyRequests', 'Too many requests to the audit log query API. Retry after the delay in Retry-After.', headers, { 'Retry-After': String(seconds) });
    }
    if (req.op === 'auditQuery') return this.create(req, claims);
    const query = req.queryId === undefined ? undefined : this.queries.get(req.queryId);
    if (!query || query.tenantId !== claims.tid) return graphError(404, 'ResourceNotFound', `Audit log query '${req.queryId ?? ''}' was not found.`, headers);
    return req.op === 'auditQueryStatus' ? { status: 200, headers: { 'OData-Version': '4.0' }, body: this.describe(query, req.origin, req.version) } : this.page(req, query);
  }

  private create(req: AuditRequest, claims: AccessTokenClaims): GraphReply {
    const bad = (message: string) => graphError(400, 'BadRequest', message, req.headers);
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(req.body ?? '') as Record<string, unknown>;
    } catch {
      return bad('The request body is not valid JSON.');
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return bad('The request body must be an auditLogQuery object.');
    const from = typeof body.filterStartDateTime === 'string' ? Date.parse(body.filterStartDateTime) : NaN;
    const to = typeof body.filterEndDateTime === 'string' ? Date.parse(body.filterEndDateTime) : NaN;
    if (Number.isNaN(from) || Number.isNaN(to) || to <= from) return bad('filterStartDateTime and filterEndDateTime must be DateTimeOffset values with the end after the start.');
    const strings = (value: unknown): string[] | undefined => (Array.isArray(value) && value.every((v) => typeof v === 'string') ? (value as string[]) : undefined);
    if (body.recordTypeFilters !== undefined && !strings(body.recordTypeFilters)) return bad('recordTypeFilters must be a collection of auditLogRecordType values.');
    const now = this.settings.now();
    const mine = this.list(claims.tid);
    const recent = mine.filter((q) => q.createdAt > now - DAY);
    if (recent.length >= this.settings.submissionsPerDay) {
      const seconds = Math.ceil((Math.min(...recent.map((q) => q.createdAt)) + DAY - now) / 1000);
      return graphError(429, 'TooManyRequests', `The tenant has submitted ${recent.length} audit log queries in the last 24 hours.`, req.headers, { 'Retry-After': String(Math.max(1, seconds)) });
    }
    const running = mine.filter((q) => this.status(q) === 'notStarted' || this.status(q) === 'running').length;
    if (running >= this.settings.maxRunningQueries) {
      return graphError(429, 'TooManyRequests', `The tenant has ${running} audit log queries queued or running.`, req.headers, { 'Retry-After': '60' });
    }
    const fault = this.deps.faults.take('auditQuery', claims.tid, QUERY_FAULTS);
    if (fault) this.deps.stats.fault(fault.kind, false);
    const query: SimAuditQuery = {
      id: randomUUID(),
      tenantId: claims.tid,
      appId: claims.appid,
      roles: claims.roles ?? [],
      createdAt: now,
      displayName: typeof body.displayName === 'string' ? body.displayName : '',
      from,
      to,
      recordTypeFilters: strings(body.recordTypeFilters),
      serviceFilters: strings(body.serviceFilters) ?? (typeof body.serviceFilter === 'string' ? [body.serviceFilter] : undefined),
      fails: fault?.kind === 'query-failed',
    };
    this.queries.set(query.id, query);
    return { status: 201, headers: { 'OData-Version': '4.0', Location: `${req.origin}/${req.version}/security/auditLog/queries/${query.id}` }, body: this.describe(query, req.origin, req.version) };
  }

  /** A query's status as of the feed clock. */
  statusOf(q: SimAuditQuery): string {
    return this.status(q);
  }

  private status(q: SimAuditQuery): 'notStarted' | 'running' | 'succeeded' | 'failed' {
    const now = this.settings.now();
    if (now < q.createdAt + this.settings.startDelayInMs) return 'notStarted';
    if (now < q.createdAt + this.settings.startDelayInMs + this.settings.runDurationInMs) return 'running';
    return q.fails ? 'failed' : 'succeeded';
  }

  private describe(q: SimAuditQuery, origin: string, version: string): Record<string, unknown> {
    const status = this.status(q);
    const result = status === 'succeeded' ? this.result(q) : undefined;
    return {
      '@odata.context': `${origin}/${version}/$metadata#security/auditLog/queries/$entity`,
      id: q.id,
      displayName: q.displayName,
      filterStartDateTime: new Date(q.from).toISOString(),
      filterEndDateTime: new Date(q.to).toISOString(),
      recordTypeFilters: q.recordTypeFilters ?? [],
      serviceFilters: q.serviceFilters ?? [],
      keywordFilter: null,
      operationFilters: [],
      userPrincipalNameFilters: [],
      ipAddressFilters: [],
      objectIdFilters: [],
      administrativeUnitIdFilters: [],
      status,
      recordCountLimit: this.settings.recordCountLimit,
      approximateReturnedRecordCount: result?.matching ?? 0,
      isRecordCountLimitExceeded: result ? result.matching > this.settings.recordCountLimit : false,
    };
  }

  private page(req: AuditRequest, q: SimAuditQuery): GraphReply {
    const bad = (message: string) => graphError(400, 'BadRequest', message, req.headers);
    if (this.status(q) !== 'succeeded') return bad(`Audit log query '${q.id}' has not succeeded (status ${this.status(q)}); its records cannot be listed yet.`);
    for (const name of req.query.keys()) if (name.startsWith('$') && name !== '$top' && name !== '$skiptoken') return bad(`Query option '${name}' is not supported on records.`);
    const topText = req.query.get('$top');
    const top = topText === null ? this.settings.pageSize : Number(topText);
    if (topText !== null && !(/^\d+$/.test(topText) && top >= 1 && top <= MAX_TOP)) return bad(`Invalid value for $top: '${topText}'.`);
    let start = 0;
    const token = req.query.get('$skiptoken');
    if (token !== null) {
      const offset = this.readToken(token, q.id);
      if (offset === undefined) return bad(`Invalid $skiptoken value: ${token.slice(0, 80)}`);
      start = offset;
    }
    const records = this.result(q).records;
    const fault = this.deps.faults.take('auditRecords', q.tenantId, GRAPH_PAGE_FAULTS);
    if (fault) this.deps.stats.fault(fault.kind, false);
    let slice = records.slice(start, start + top);
    if (fault?.kind === 'truncated-page') slice = slice.slice(0, Math.floor(slice.length / 2));
    const path = `/${req.version}/security/auditLog/queries/${q.id}/records`;
    const end = start + slice.length;
    let nextLink = end < records.length ? `${req.origin}${path}?${topText === null ? '' : `$top=${top}&`}$skiptoken=${this.token(end, q.id)}` : undefined;
    if (fault?.kind === 'foreign-next-page') nextLink = `https://evil.example${path}?$skiptoken=${this.token(end, q.id)}`;
    this.deps.stats.servedAuditRecords(slice.map((r) => String(r.id)));
    return {
      status: 200,
      headers: { 'OData-Version': '4.0' },
      body: { '@odata.context': `${req.origin}/${req.version}/$metadata#security/auditLog/queries('${q.id}')/records`, ...(nextLink ? { '@odata.nextLink': nextLink } : {}), value: slice },
    };
  }

  /** The query's records as auditLogRecords, materialized once when it first succeeds. */
  private result(q: SimAuditQuery): { records: Record<string, unknown>[]; matching: number } {
    if (q.result) return q.result;
    const allowed = allowedWorkloads(q.roles);
    const filters = q.recordTypeFilters && q.recordTypeFilters.length > 0 ? new Set(q.recordTypeFilters.map((f) => f.toLowerCase())) : undefined;
    const services = q.serviceFilters && q.serviceFilters.length > 0 ? new Set(q.serviceFilters.map((f) => f.toLowerCase())) : undefined;
    const matching = this.search(q.tenantId, q.from, q.to, (record) => {
      const workload = String(record.Workload ?? '');
      if (allowed !== 'all' && !allowed.has(workload)) return false;
      if (filters && !filters.has(graphRecordType(record.RecordType).toLowerCase())) return false;
      return !services || services.has(workload.toLowerCase());
    });
    const records = matching.slice(0, this.settings.recordCountLimit).map(toAuditLogRecord);
    q.result = { records, matching: matching.length };
    return q.result;
  }

  /** The distinct records (by Id) of the tenant's blobs with CreationTime in [from, to), within retention, oldest first. */
  private search(tenantId: string, from: number, to: number, keep: (record: Record<string, unknown>) => boolean): Record<string, unknown>[] {
    const tenant = this.deps.tenants.get(tenantId);
    if (!tenant) return [];
    const now = this.settings.now();
    const lo = Math.max(from, now - this.settings.retentionInMs);
    const hi = Math.min(to, now);
    if (hi <= lo) return [];
    const seen = new Map<string, Record<string, unknown>>();
    for (const contentType of ['Audit.AzureActiveDirectory', 'Audit.Exchange', 'Audit.SharePoint', 'Audit.General', 'DLP.All'] as ContentType[]) {
      // A record is in a blob created at or after its CreationTime, at most MAX_RECORD_LAG later; the blob exists once created.
      for (const blob of this.deps.catalog.inRange(tenantId, contentType, lo, Math.min(hi + MAX_RECORD_LAG, now + 1))) {
        const key = `${tenantId}|${blob.contentId}`;
        let records = this.blobRecords.get(key);
        if (!records) {
          try {
            records = this.deps.catalog.records(blob);
          } catch {
            records = []; // a malformed test body holds no readable records
          }
          if (this.blobRecords.size >= 50_000) this.blobRecords.clear();
          this.blobRecords.set(key, records);
        }
        for (const value of records) {
          if (typeof value !== 'object' || value === null || Array.isArray(value)) continue;
          const record = value as Record<string, unknown>;
          const created = creationTime(record.CreationTime);
          if (created === undefined || created < lo || created >= hi || typeof record.Id !== 'string') continue;
          const id = record.Id.toLowerCase();
          if (!seen.has(id) && keep(record)) seen.set(id, record);
        }
      }
    }
    return [...seen.values()].sort((a, b) => creationTime(a.CreationTime)! - creationTime(b.CreationTime)! || String(a.Id).localeCompare(String(b.Id)));
  }

  private token(offset: number, queryId: string): string {
    const payload = Buffer.from(String(offset)).toString('base64url');
    return `${payload}.${this.mac(payload, queryId)}`;
  }

  private readToken(token: string, queryId: string): number | undefined {
    const [payload, mac] = token.split('.');
    if (!payload || !mac) return undefined;
    const expected = Buffer.from(this.mac(payload, queryId));
    const given = Buffer.from(mac);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    const offset = Number(Buffer.from(payload, 'base64url').toString('utf8'));
    return Number.isInteger(offset) && offset >= 0 ? offset : undefined;
  }

  private mac(payload: string, queryId: string): string {
    return createHmac('sha256', this.settings.pageKey).update(`audit|${queryId}|${payload}`).digest('base64url').slice(0, 22);
  }
}

/** Faults that apply when a query is created. */
const QUERY_FAULTS: ReadonlySet<Fault['kind']> = new Set(['query-failed']);

/** The workloads a token's roles open: all with AuditLogsQuery.Read.All, none without any audit role. */
function allowedWorkloads(roles: readonly string[]): 'all' | ReadonlySet<string> {
  if (roles.includes(ALL_ROLE)) return 'all';
  return new Set(roles.flatMap((r) => SERVICE_ROLES[r] ?? []));
}

function graphRecordType(value: unknown): string {
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : undefined;
  return (n !== undefined && GRAPH_RECORD_TYPES[n]) || 'unknownFutureValue';
}

/** CreationTime (zone-less UTC, as the feed writes it) in epoch ms. */
function creationTime(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const ms = Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(value) ? value : `${value}Z`);
  return Number.isNaN(ms) ? undefined : ms;
}

/** An audit record as Graph's `microsoft.graph.security.auditLogRecord`, the record itself in `auditData`. */
function toAuditLogRecord(record: Record<string, unknown>): Record<string, unknown> {
  const userType = typeof record.UserType === 'number' ? USER_TYPES[record.UserType] : undefined;
  return {
    '@odata.type': '#microsoft.graph.security.auditLogRecord',
    id: record.Id,
    createdDateTime: new Date(creationTime(record.CreationTime)!).toISOString(),
    auditLogRecordType: graphRecordType(record.RecordType),
    operation: record.Operation ?? null,
    organizationId: record.OrganizationId ?? null,
    userType: userType ?? 'unknownFutureValue',
    userId: record.UserKey ?? null,
    service: record.Workload ?? null,
    objectId: record.ObjectId ?? null,
    userPrincipalName: record.UserId ?? null,
    clientIp: record.ClientIP ?? null,
    administrativeUnits: [],
    auditData: { '@odata.type': '#microsoft.graph.security.auditData', ...record },
  };
}

/** Default behaviour of the audit search surface (see {@link AuditSettings}). */
export const AUDIT_DEFAULTS = {
  pageSize: 150,
  recordCountLimit: 1_000_000,
  startDelayInMs: 30_000,
  runDurationInMs: 2 * MINUTE,
  retentionInMs: 180 * DAY,
  submissionsPerDay: 200,
  maxRunningQueries: 50,
} as const;
