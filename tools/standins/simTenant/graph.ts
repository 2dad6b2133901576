/**
 * Microsoft Graph security under `/v1.0/security/`: `incidents` (with `$expand=alerts`) and `alerts_v2`
 * (docs/management-api.md, "Microsoft Graph security"), checked in the service's order: bearer token for the Graph audience → application
 * role → throttle per app per tenant (429 with Retry-After) → OData options (`$filter` on
 * lastUpdateDateTime/createdDateTime, `$orderby`, `$top`, `$skip`, `$count`, `$expand`) → the page,
 * with server-driven paging through an opaque `$skiptoken` in `@odata.nextLink`.
 */
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { AccessTokenClaims } from './entra.js';
import { GRAPH_PAGE_FAULTS, type Faults } from './faults.js';
import type { JsonReply } from './feed.js';
import type { SecurityCatalog } from './security.js';
import type { StatsRecorder } from './stats.js';
import type { TenantState } from './tenants.js';
import type { Throttle } from './throttle.js';
import { graphTimeKey } from './time.js';
import type { GraphAlert, GraphIncident } from './types.js';

/** The two Graph security operations the simulator serves. */
export type GraphOperation = 'incidents' | 'alerts';

/** A routed Graph request. */
export interface GraphRequest {
  op: GraphOperation;
  /** The query string as sent. */
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  /** The https origin the client addressed, for `@odata.context` and `@odata.nextLink`. */
  origin: string;
  /** The bearer token's claims when it is a valid Graph token; undefined otherwise. */
  claims: AccessTokenClaims | undefined;
}

/** A Graph answer, with the revisions (`id|lastUpdateDateTime`) of the entities on a 200 page. */
export interface GraphReply extends JsonReply {
  revisions?: string[];
}

/** Behaviour knobs of the Graph surface, resolved from the server options. */
export interface GraphSettings {
  now: () => number;
  /** Most entities on one page, whatever `$top` asks. */
  maxPageSize: number;
  /** Key of the HMAC that makes `$skiptoken` values unforgeable. */
  pageKey: Buffer;
}

/** The shared state the Graph surface works on. */
export interface GraphDeps {
  tenants: ReadonlyMap<string, TenantState>;
  catalog: SecurityCatalog;
  throttle: Throttle;
  faults: Faults;
  stats: StatsRecorder;
}

const PATHS: Readonly<Record<GraphOperation, string>> = { incidents: 'incidents', alerts: 'alerts_v2' };
const ROLES: Readonly<Record<GraphOperation, readonly string[]>> = {
  incidents: ['SecurityIncident.Read.All', 'SecurityIncident.ReadWrite.All'],
  alerts: ['SecurityAlert.Read.All', 'SecurityAlert.ReadWrite.All'],
};
/** Page size without `$top`. */
const DEFAULT_TOP: Readonly<Record<GraphOperation, number>> = { incidents: 50, alerts: 2000 };
const MAX_TOP = 2000;
const QUERY_OPTIONS: ReadonlySet<string> = new Set(['$filter', '$orderby', '$top', '$skip', '$expand', '$count', '$skiptoken']);
const TIME_PROPERTIES = ['lastUpdateDateTime', 'createdDateTime'] as const;
type TimeProperty = (typeof TIME_PROPERTIES)[number];

/**
 * Evolvable enum members (declared after `unknownFutureValue`): without `Prefer:
 * include-unknown-enum-members` Graph sends `unknownFutureValue` in their place.
 */
const EVOLVABLE: Readonly<Record<string, ReadonlySet<string>>> = {
  status: new Set(['awaitingAction']),
  serviceSource: new Set(['microsoftDefenderForCloud', 'microsoftSentinel', 'microsoftInsiderRiskManagement']),
  detectionSource: new Set([
    'microsoftDefenderForCloud', 'microsoftDefenderForIoT', 'microsoftDefenderForServers', 'microsoftDefenderForStorage', 'microsoftDefenderForDNS',
    'microsoftDefenderForDatabases', 'microsoftDefenderForContainers', 'microsoftDefenderForNetwork', 'microsoftDefenderForAppService',
    'microsoftDefenderForKeyVault', 'microsoftDefenderForResourceManager', 'microsoftDefenderForApiManagement', 'nrtAlerts', 'scheduledAlerts',
    'microsoftDefenderThreatIntelligenceAnalytics', 'builtInMl', 'microsoftInsiderRiskManagement', 'microsoftThreatIntelligence',
  ]),
};

const COMPARATORS = { eq: (c: number) => c === 0, ne: (c: number) => c !== 0, gt: (c: number) => c > 0, ge: (c: number) => c >= 0, lt: (c: number) => c < 0, le: (c: number) => c <= 0 };
type Comparator = keyof typeof COMPARATORS;

/** `lastUpdateDateTime ge 2026-11-20T10:00:00.1234567Z`, resolved to a comparable key. */
interface Clause {
  property: TimeProperty;
  op: Comparator;
  key: string;
}

interface QueryOptions {
  clauses: Clause[];
  orderBy: { property: TimeProperty; descending: boolean };
  top?: number;
  skip: number;
  expandAlerts: boolean;
  count: boolean;
  skiptoken?: string;
  /** What a `$skiptoken` is bound to: the same tenant, collection and options. */
  signature: string;
}

/** An entity as listed: its sort key and what is served for it. */
interface Listed {
  key: string;
  id: string;
  entity: GraphIncident | GraphAlert;
  alertIds?: readonly string[];
}

/** A Graph error body: `{"error":{"code","message","innerError":{date, request-id, client-request-id}}}`. */
export function graphError(status: number, code: string, message: string, requestHeaders: IncomingHttpHeaders, headers: Record<string, string> = {}): GraphReply {
  const requestId = randomUUID();
  const clientRequestId = typeof requestHeaders['client-request-id'] === 'string' ? requestHeaders['client-request-id'] : requestId;
  return {
    status,
    headers: { 'request-id': requestId, 'client-request-id': clientRequestId, ...headers },
    body: { error: { code, message, innerError: { date: new Date().toISOString().slice(0, 19), 'request-id': requestId, 'client-request-id': clientRequestId } } },
  };
}

/** The Graph error code Graph uses for a status (fault injection answers with it). */
export function graphCodeFor(status: number): string {
  const codes: Record<number, string> = { 401: 'InvalidAuthenticationToken', 408: 'RequestTimeout', 429: 'TooManyRequests', 500: 'InternalServerError', 502: 'BadGateway', 503: 'ServiceUnavailable', 504: 'GatewayTimeout' };
  return codes[status] ?? 'UnknownError';
}

/** Handles routed Graph security requests; synchronous, so a request sees one consistent state. */
export class GraphSecurityApi {
  constructor(
    private readonly deps: GraphDeps,
    private readonly settings: GraphSettings,
  ) {}

  handle(req: GraphRequest): GraphReply {
    const { claims, headers, op } = req;
    if (!claims || !this.deps.tenants.has(claims.tid)) {
      return graphError(401, 'InvalidAuthenticationToken', 'Access token is empty, expired or not issued for Microsoft Graph.', headers, { 'WWW-Authenticate': 'Bearer' });
    }
    const roles = claims.roles ?? [];
    if (!ROLES[op].some((role) => roles.includes(role))) {
      return graphError(403, 'Forbidden', `Missing application roles. API required roles: ${ROLES[op].join(', ')}. API application roles: ${roles.join(', ') || '(none)'}.`, headers);
    }
    // Graph counts security requests per app per tenant.
    const bucket = `${claims.tid}|${claims.appid}`;
    if (!this.deps.throttle.take(bucket)) {
      const seconds = Math.max(1, Math.ceil(this.deps.throttle.waitMs(bucket) / 1000));
      return graphError(429, 'TooManyRequests', 'Too many requests for the security API from this application in this tenant. Retry after the delay in Retry-After.', headers, { 'Retry-After': String(seconds) });
    }
    const options = this.parse(req, claims.tid);
    if ('status' in options) return options;
    return this.page(req, claims.tid, options);
  }

  private page(req: GraphRequest, tenantId: string, options: QueryOptions): GraphReply {
    const { catalog, faults, stats } = this.deps;
    const now = this.settings.now();
    const listed: Listed[] =
      req.op === 'incidents'
        ? catalog.incidents(tenantId, now).map((s) => ({ key: graphTimeKey(s.incident[options.orderBy.property])!, id: s.incident.id, entity: s.incident, alertIds: s.alertIds }))
        : catalog.alerts(tenantId, now).map((a) => ({ key: graphTimeKey(a[options.orderBy.property])!, id: a.id, entity: a }));
    const matching = listed.filter((item) => options.clauses.every((c) => COMPARATORS[c.op](compareKeys(graphTimeKey(item.entity[c.property])!, c.key))));
    const direction = options.orderBy.descending ? -1 : 1;
    matching.sort((a, b) => direction * (compareKeys(a.key, b.key) || compareKeys(a.id, b.id)));

    let start = options.skip;
    if (options.skiptoken !== undefined) {
      const position = this.readToken(options.skiptoken, options.signature);
      if (!position) return graphError(400, 'BadRequest', `Invalid $skiptoken value: ${options.skiptoken.slice(0, 80)}`, req.headers);
      // Keyset paging: continue after the last entity served, wherever the data has moved since.
      const after = matching.findIndex((item) => direction * (compareKeys(item.key, position.key) || compareKeys(item.id, position.id)) > 0);
      start = after < 0 ? matching.length : after;
    }
    const fault = faults.take(req.op, tenantId, GRAPH_PAGE_FAULTS);
    if (fault) stats.fault(fault.kind, false);
    let page = matching.slice(start, start + Math.min(options.top ?? DEFAULT_TOP[req.op], this.settings.maxPageSize));
    if (fault?.kind === 'truncated-page') page = page.slice(0, Math.floor(page.length / 2));

    const path = `/v1.0/security/${PATHS[req.op]}`;
    let nextLink: string | undefined;
    const last = page.at(-1);
    if (start + page.length < matching.length && last) nextLink = `${req.origin}${path}?${this.nextQuery(req.query, this.token(last, options.signature))}`;
    if (fault?.kind === 'foreign-next-page') nextLink = `https://evil.example${path}?$skiptoken=${this.token(last ?? { key: '', id: '' }, options.signature)}`;

    const includeUnknown = /(^|[,;\s])include-unknown-enum-members($|[,;\s])/i.test(String(req.headers.prefer ?? ''));
    const value = page.map((item) => {
      const served = serve(item.entity, includeUnknown);
      if (options.expandAlerts && item.alertIds) served.alerts = catalog.alertsById(tenantId, item.alertIds).map((a) => serve(a, includeUnknown));
      return served;
    });
    const context = `${req.origin}/v1.0/$metadata#security/${PATHS[req.op]}${options.expandAlerts ? '(alerts())' : ''}`;
    const requestId = randomUUID();
    return {
      status: 200,
      headers: {
        'request-id': requestId,
        'client-request-id': typeof req.headers['client-request-id'] === 'string' ? req.headers['client-request-id'] : requestId,
        'OData-Version': '4.0',
        ...(includeUnknown ? { 'Preference-Applied': 'include-unknown-enum-members' } : {}),
      },
      body: {
        '@odata.context': context,
        ...(options.count ? { '@odata.count': matching.length } : {}),
        ...(nextLink ? { '@odata.nextLink': nextLink } : {}),
        value,
      },
      revisions: page.map((item) => `${item.id}|${item.entity.lastUpdateDateTime}`),
    };
  }

  /** Reads the OData options; a GraphReply with status 400 when one is not understood. */
  private parse(req: GraphRequest, tenantId: string): QueryOptions | GraphReply {
    const bad = (message: string) => graphError(400, 'BadRequest', message, req.headers);
    const values = new Map<string, string>();
    for (const [name, value] of req.query) {
      if (!name.startsWith('$')) continue;
      const option = name.toLowerCase();
      if (!QUERY_OPTIONS.has(option)) return bad(`Query option '${name}' is not supported by this API.`);
      if (values.has(option)) return bad(`Query option '${name}' was specified more than once.`);
      values.set(option, value);
    }
    const clauses: Clause[] = [];
    const filter = values.get('$filter');
    if (filter !== undefined) {
      for (const text of filter.trim().split(/\s+and\s+/i)) {
        const m = /^(\w+)\s+(eq|ne|gt|ge|lt|le)\s+(\S+)$/i.exec(text.trim());
        const property = TIME_PROPERTIES.find((p) => p === m?.[1]);
        const key = m ? graphTimeKey(m[3]!) : undefined;
        if (!m || !property || !key) return bad(`Invalid filter clause: '${text.slice(0, 120)}'. Supported: lastUpdateDateTime or createdDateTime compared (eq, ne, gt, ge, lt, le) with a DateTimeOffset.`);
        clauses.push({ property, op: m[2]!.toLowerCase() as Comparator, key });
      }
    }
    const orderText = values.get('$orderby');
    let orderBy: QueryOptions['orderBy'] = { property: 'createdDateTime', descending: true };
    if (orderText !== undefined) {
      const m = /^\s*(\w+)(?:\s+(asc|desc))?\s*$/i.exec(orderText);
      const property = TIME_PROPERTIES.find((p) => p === m?.[1]);
      if (!m || !property) return bad(`Invalid $orderby: '${orderText.slice(0, 120)}'.`);
      orderBy = { property, descending: m[2]?.toLowerCase() === 'desc' };
    }
    const topText = values.get('$top');
    const top = topText === undefined ? undefined : Number(topText);
    if (top !== undefined && !(/^\d+$/.test(topText!) && top >= 1 && top <= MAX_TOP)) return bad(`Invalid value for $top: '${topText}'; expected 1 to ${MAX_TOP}.`);
    const skipText = values.get('$skip');
    if (skipText !== undefined && !/^\d+$/.test(skipText)) return bad(`Invalid value for $skip: '${skipText}'.`);
    const expand = values.get('$expand');
    if (expand !== undefined && !(req.op === 'incidents' && expand.trim() === 'alerts')) return bad(`Invalid $expand: '${expand.slice(0, 80)}'.`);
    const countText = values.get('$count')?.toLowerCase();
    if (countText !== undefined && countText !== 'true' && countText !== 'false') return bad(`Invalid value for $count: '${countText}'.`);
    return {
      clauses,
      orderBy,
      top,
      skip: skipText === undefined ? 0 : Number(skipText),
      expandAlerts: expand !== undefined,
      count: countText === 'true',
      skiptoken: values.get('$skiptoken'),
      signature: JSON.stringify([tenantId, req.op, filter ?? '', orderBy, top ?? null, expand ?? '', countText ?? '']),
    };
  }

  /** The query of the next page: the options as sent, without `$skip` and `$skiptoken`, plus the new token. */
  private nextQuery(query: URLSearchParams, skiptoken: string): string {
    const kept = [...query].filter(([name]) => name.startsWith('$') && !['$skip', '$skiptoken'].includes(name.toLowerCase()));
    return [...kept, ['$skiptoken', skiptoken]].map(([name, value]) => `${name}=${encodeURIComponent(value!)}`).join('&');
  }

  /** An opaque, MAC'd position in one listing (tenant, collection, options). */
  private token(last: { key: string; id: string }, signature: string): string {
    const payload = Buffer.from(JSON.stringify([last.key, last.id])).toString('base64url');
    return `${payload}.${this.mac(payload, signature)}`;
  }

  private readToken(token: string, signature: string): { key: string; id: string } | undefined {
    const [payload, mac] = token.split('.');
    if (!payload || !mac) return undefined;
    const expected = Buffer.from(this.mac(payload, signature));
    const given = Buffer.from(mac);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    const [key, id] = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as [string, string];
    return { key, id };
  }

  private mac(payload: string, signature: string): string {
    return createHmac('sha256', this.settings.pageKey).update(`${signature}|${payload}`).digest('base64url').slice(0, 22);
  }
}

/** A copy of an entity to serve: evolvable enum members hidden unless the client asked for them. */
function serve(entity: GraphIncident | GraphAlert, includeUnknown: boolean): Record<string, unknown> {
  const copy = structuredClone(entity) as Record<string, unknown>;
  if (!includeUnknown) {
    for (const [property, members] of Object.entries(EVOLVABLE)) {
      if (typeof copy[property] === 'string' && members.has(copy[property])) copy[property] = 'unknownFutureValue';
    }
  }
  return copy;
}

function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
