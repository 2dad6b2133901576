/**
 * The Management Activity API under `/api/v1.0/{tenant}/activity/feed/`, validating in the order of
 * the service's validation order: bearer → tenant → throttle → content type → subscription → window → nextPage.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { Entra } from './entra.js';
import type { Faults } from './faults.js';
import { LISTING_FAULTS } from './faults.js';
import { CONTENT_ID_PATTERN, type Blob, type BlobCatalog } from './generator.js';
import { DLP_SENSITIVE_TYPES } from './records.js';
import type { StatsRecorder } from './stats.js';
import type { Subscriptions } from './subscriptions.js';
import { GUID_PATTERN, type TenantState } from './tenants.js';
import type { Throttle } from './throttle.js';
import { DAY, MINUTE, isoMs, parseApiTime } from './time.js';
import { CONTENT_TYPES, type ContentListing, type ContentType, type SimOperation, type UnusableEntryKind } from './types.js';

/** A JSON answer (no body when `body` is undefined). */
export interface JsonReply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/** A content blob to stream. */
export interface BlobReply {
  status: 200;
  blob: Blob;
}

/** What the feed answers: JSON, or a blob to stream. */
export type FeedReply = JsonReply | BlobReply;

/** A routed feed request. */
export interface FeedRequest {
  op: Exclude<SimOperation, 'metadata' | 'token' | 'incidents' | 'alerts' | 'auditQuery' | 'auditQueryStatus' | 'auditRecords'>;
  method: string;
  tenantSegment: string;
  /** Decoded content id of a blob GET (undefined when it could not be decoded). */
  contentId?: string;
  /** Query parameters by lower-case name (names are matched case-insensitively). */
  params: ReadonlyMap<string, string>;
  headers: IncomingHttpHeaders;
  /** The https origin the client addressed (from the Host header), used for contentUri and NextPageUri. */
  origin: string;
}

/** Behaviour knobs of the feed, resolved from the server options. */
export interface FeedSettings {
  now: () => number;
  pageSize: number;
  headerName: 'NextPageUri' | 'NextPageUrl';
  lowerCaseNextPageParams: boolean;
  allowExactly24h: boolean;
  startCooldown: 'accept' | 'reject';
  throttleStatus: 429 | 403;
  /** Key of the HMAC that makes nextPage tokens unforgeable. */
  pageKey: Buffer;
}

/** The shared state the feed works on. */
export interface FeedDeps {
  tenants: ReadonlyMap<string, TenantState>;
  catalog: BlobCatalog;
  subscriptions: Subscriptions;
  entra: Entra;
  throttle: Throttle;
  faults: Faults;
  stats: StatsRecorder;
}

const ZERO_GUID = '00000000-0000-0000-0000-000000000000';
const START_COOLDOWN = 15 * MINUTE;
const WINDOW_MESSAGE =
  'Start time and end time must both be specified (or both omitted) and must be less than or equal to 24 hours apart, with the start time prior to end time and start time no more than 7 days in the past.';

/** Maps a feed path (after `/activity/feed/`) and method to its operation. */
export function feedRoute(method: string, rest: string): { op: FeedRequest['op']; rawContentId?: string } | undefined {
  const path = rest.toLowerCase();
  if (method === 'POST' && path === 'subscriptions/start') return { op: 'start' };
  if (method === 'POST' && path === 'subscriptions/stop') return { op: 'stop' };
  if (method === 'GET' && path === 'subscriptions/list') return { op: 'list' };
  if (method === 'GET' && path === 'subscriptions/content') return { op: 'content' };
  if (method === 'GET' && path === 'resources/dlpsensitivetypes') return { op: 'resources' };
  if (method === 'GET' && path.startsWith('audit/') && rest.length > 'audit/'.length) return { op: 'blob', rawContentId: rest.slice('audit/'.length) };
  return undefined;
}

/** `{"error":{"code","message"}}` with its status. */
export function afError(status: number, code: string, message: string): JsonReply {
  return { status, body: { error: { code, message } } };
}

/** The contentUri the API hands out for a blob. */
function contentUri(origin: string, blob: Blob): string {
  return `${origin}/api/v1.0/${blob.tenantId}/activity/feed/audit/${blob.contentId}`;
}

/** A blob's listing entry. */
export function listingEntry(origin: string, blob: Blob): ContentListing {
  return {
    contentType: blob.contentType,
    contentId: blob.contentId,
    contentUri: contentUri(origin, blob),
    contentCreated: isoMs(blob.contentCreated),
    contentExpiration: isoMs(blob.expiresAt),
  };
}

/** What a listing position is made of. */
type ListingKey = Pick<Blob, 'visibleAt' | 'contentCreated' | 'contentId'>;

/** The listing order: when blobs became available, then creation, then id (a total order for paging). */
function compareListing(a: ListingKey, b: ListingKey): number {
  return a.visibleAt - b.visibleAt || a.contentCreated - b.contentCreated || (a.contentId < b.contentId ? -1 : a.contentId > b.contentId ? 1 : 0);
}

/** Handles routed activity-feed requests; synchronous, so a request sees one consistent state. */
export class Feed {
  constructor(
    private readonly deps: FeedDeps,
    private readonly settings: FeedSettings,
  ) {}

  /** Blobs `/subscriptions/content` may list for [from, to) at feed time `now`, in listing order. */
  listable(tenantId: string, contentType: ContentType, from: number, to: number, now: number): Blob[] {
    const { catalog, subscriptions } = this.deps;
    const listable: Blob[] = [];
    for (const blob of catalog.inRange(tenantId, contentType, from, Math.min(to, now + 1))) {
      const available = this.availability(blob);
      if (available !== undefined && available.visibleAt <= now && blob.expiresAt > now && subscriptions.exposes(tenantId, contentType, blob.contentCreated)) listable.push(available);
    }
    return listable.sort(compareListing);
  }

  /**
   * The blob as this subscription sees it: after a first start at S with `firstContent`, nothing is
   * listable before S + delay, and content created before S − backfill never is (undefined). The
   * returned blob carries the visibility that applies (the listing order and page tokens use it).
   */
  private availability(blob: Blob): Blob | undefined {
    const onboarding = this.deps.tenants.get(blob.tenantId)?.firstContent;
    if (!onboarding) return blob;
    const startedAt = this.deps.subscriptions.get(blob.tenantId, blob.contentType).firstStartedAt;
    if (startedAt === undefined) return blob;
    if (blob.contentCreated < startedAt - onboarding.backfillInMs) return undefined;
    const firstVisible = startedAt + onboarding.delayInMs;
    return blob.visibleAt >= firstVisible ? blob : { ...blob, visibleAt: firstVisible };
  }

  handle(req: FeedRequest): FeedReply {
    const { entra, tenants, throttle, stats } = this.deps;
    const bearer = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    const claims = bearer ? entra.verifyAccessToken(bearer[1]!) : undefined;
    if (!claims) return { status: 401, headers: { 'WWW-Authenticate': 'Bearer' } };
    const roles = claims.roles ?? [];
    if (!roles.includes('ActivityFeed.Read')) {
      return afError(401, 'AF10001', `The permission set (${roles.join(' ')}) sent in the request did not include the expected permission ActivityFeed.Read.`);
    }

    if (!GUID_PATTERN.test(req.tenantSegment)) return afError(400, 'AF20013', `The tenant ID passed in the URL (${req.tenantSegment}) is not a valid GUID.`);
    const tenant = tenants.get(req.tenantSegment.toLowerCase());
    if (!tenant) return afError(400, 'AF20011', `Specified tenant ID (${req.tenantSegment}) does not exist in the system or has been deleted.`);
    if (claims.tid !== tenant.tenantId) {
      return afError(401, 'AF20010', `The tenant ID passed in the URL (${req.tenantSegment}) does not match the tenant ID passed in the access token (${claims.tid}).`);
    }
    if (!tenant.auditingEnabled) {
      return afError(400, 'AF20011', `Microsoft.Office.Compliance.Audit.DataServiceException: Tenant ${tenant.tenantId} does not exist.`);
    }

    const publisher = req.params.get('publisheridentifier');
    if (!throttle.take(publisher ? `tenant:${tenant.tenantId}` : 'shared')) {
      stats.af429();
      stats.throttled();
      return afError(this.settings.throttleStatus, 'AF429', `Too many requests. Method=${req.op === 'blob' ? 'GetBlob' : req.method}, PublisherId=${publisher || ZERO_GUID}`);
    }

    switch (req.op) {
      case 'start':
        return this.start(req, tenant.tenantId, publisher);
      case 'stop':
        return this.stop(req, tenant.tenantId);
      case 'list':
        return this.list(tenant.tenantId);
      case 'content':
        return this.content(req, tenant.tenantId);
      case 'blob':
        return this.blob(req, tenant.tenantId);
      case 'resources':
        return this.sensitiveTypes(req);
    }
  }

  private contentType(req: FeedRequest): ContentType | JsonReply {
    const value = req.params.get('contenttype');
    if (!value) return afError(400, 'AF20001', 'Missing parameter: contentType.');
    return (CONTENT_TYPES as readonly string[]).includes(value) ? (value as ContentType) : afError(400, 'AF20020', 'The specified content type is not valid.');
  }

  /** AF20022 / AF20023 when the stream cannot be listed or read. */
  private subscriptionError(tenantId: string, contentType: ContentType): JsonReply | undefined {
    const sub = this.deps.subscriptions.get(tenantId, contentType);
    if (sub.status === 'none') return afError(400, 'AF20022', 'No subscription found for the specified content type.');
    if (sub.status === 'disabled') return afError(400, 'AF20023', `The subscription was disabled by ${sub.disabledBy}.`);
    return undefined;
  }

  private start(req: FeedRequest, tenantId: string, publisher: string | undefined): JsonReply {
    const contentType = this.contentType(req);
    if (typeof contentType !== 'string') return contentType;
    const { subscriptions, stats } = this.deps;
    const now = this.settings.now();
    const last = subscriptions.get(tenantId, contentType).lastStartAt;
    if (last !== undefined && now - last < START_COOLDOWN) {
      stats.startWithinCooldown();
      if (this.settings.startCooldown === 'reject') {
        stats.af429();
        return afError(403, 'AF429', `Too many requests. Method=POST, PublisherId=${publisher || ZERO_GUID}`);
      }
    }
    const outcome = subscriptions.start(tenantId, contentType, now);
    if (outcome === 'already-enabled') return afError(400, 'AF20024', 'The subscription is already enabled. No property change.');
    return { status: 200, body: { contentType, status: subscriptions.get(tenantId, contentType).status, webhook: null } };
  }

  private stop(req: FeedRequest, tenantId: string): JsonReply {
    const contentType = this.contentType(req);
    if (typeof contentType !== 'string') return contentType;
    if (!this.deps.subscriptions.stop(tenantId, contentType, this.settings.now())) {
      return afError(400, 'AF20022', 'No subscription found for the specified content type.');
    }
    return { status: 200 };
  }

  private list(tenantId: string): JsonReply {
    const subs = CONTENT_TYPES.map((contentType) => ({ contentType, status: this.deps.subscriptions.get(tenantId, contentType).status }))
      .filter((s) => s.status !== 'none')
      .map((s) => ({ ...s, webhook: null }));
    return { status: 200, body: subs };
  }

  private content(req: FeedRequest, tenantId: string): JsonReply {
    const contentType = this.contentType(req);
    if (typeof contentType !== 'string') return contentType;
    const subError = this.subscriptionError(tenantId, contentType);
    if (subError) return subError;

    const now = this.settings.now();
    const startText = req.params.get('starttime');
    const endText = req.params.get('endtime');
    if ((startText === undefined) !== (endText === undefined)) return afError(400, 'AF20055', WINDOW_MESSAGE);
    let start = now - DAY;
    let end = now;
    if (startText !== undefined && endText !== undefined) {
      const s = parseApiTime(startText);
      const e = parseApiTime(endText);
      if (s === undefined) return afError(400, 'AF20002', 'Invalid parameter type: startTime. Expected type: datetime');
      if (e === undefined) return afError(400, 'AF20002', 'Invalid parameter type: endTime. Expected type: datetime');
      const span = e - s;
      if (span <= 0 || span > DAY || (span === DAY && !this.settings.allowExactly24h) || s < now - 7 * DAY) {
        return afError(400, 'AF20055', WINDOW_MESSAGE);
      }
      start = s;
      end = e;
    }

    const all = this.listable(tenantId, contentType, start, end, now);
    const tokenText = req.params.get('nextpage');
    let from = 0;
    if (tokenText !== undefined) {
      const cursor = this.readPageToken(tokenText, tenantId, contentType, start, end);
      if (cursor === undefined) return afError(400, 'AF20031', `Invalid nextPage Input: ${tokenText}.`);
      if (cursor !== null) {
        const after = all.findIndex((b) => compareListing(b, cursor) > 0);
        from = after < 0 ? all.length : after;
      }
    }

    const fault = this.deps.faults.take('content', tenantId, LISTING_FAULTS);
    if (fault) this.deps.stats.fault(fault.kind, false);
    let page = all.slice(from, from + this.settings.pageSize);
    if (fault?.kind === 'truncated-page') page = page.slice(0, Math.floor(page.length / 2));

    const headers: Record<string, string> = {};
    const last = page.at(-1) ?? (from > 0 ? all[from - 1] : undefined);
    if (from + page.length < all.length) {
      // Same startTime/endTime as the request (the computed 24 h when omitted) plus an opaque nextPage.
      const [startName, endName] = this.settings.lowerCaseNextPageParams ? ['starttime', 'endtime'] : ['startTime', 'endTime'];
      const query = new URLSearchParams({
        contentType,
        [startName]: startText ?? isoMs(start),
        [endName]: endText ?? isoMs(end),
        nextPage: this.pageToken(last, tenantId, contentType, start, end),
      });
      headers[this.settings.headerName] = `${req.origin}/api/v1/${tenantId}/activity/feed/subscriptions/content?${query}`;
    }
    if (fault?.kind === 'foreign-next-page') {
      headers[this.settings.headerName] = `https://evil.example/api/v1/${tenantId}/activity/feed/subscriptions/content?contentType=${contentType}&nextPage=${this.pageToken(last, tenantId, contentType, start, end)}`;
    }
    const body: unknown[] = page.map((blob) =>
      fault?.kind === 'wrong-host-uri'
        ? // The shape seen in the wild: http, localhost, no /api/v1.0, a tenant that is not the real one.
          { ...listingEntry(req.origin, blob), contentUri: `http://localhost/${tenantId.split('-')[0]}broken/activity/feed/audit/${blob.contentId}` }
        : listingEntry(req.origin, blob),
    );
    if (fault?.kind === 'unusable-entry') applyUnusableEntry(body, fault.entry, { origin: req.origin, tenantId, contentType, start, end });
    return { status: 200, body, headers };
  }

  private blob(req: FeedRequest, tenantId: string): FeedReply {
    const id = req.contentId;
    if (id === undefined || !CONTENT_ID_PATTERN.test(id)) return afError(400, 'AF20052', `Content ID ${id ?? ''} in the URL is invalid.`);
    const now = this.settings.now();
    const found = this.deps.catalog.find(tenantId, id);
    const blob = found && this.availability(found);
    if (!blob || blob.visibleAt > now) return afError(404, 'AF20050', `The specified content (${id}) does not exist.`);
    const subError = this.subscriptionError(tenantId, blob.contentType);
    if (subError) return subError;
    if (!this.deps.subscriptions.exposes(tenantId, blob.contentType, blob.contentCreated)) {
      return afError(404, 'AF20050', `The specified content (${id}) does not exist.`);
    }
    if (blob.expiresAt <= now) {
      return afError(400, 'AF20051', `Content requested with the key ${id} has already expired. Content older than 7 days cannot be retrieved.`);
    }
    return { status: 200, blob };
  }

  private sensitiveTypes(req: FeedRequest): JsonReply {
    const language = req.headers['accept-language'];
    if (language !== undefined) {
      if (language.includes(',')) return afError(400, 'AF20053', 'Only one language may be present in the Accept-Language header.');
      // One language range (RFC 4647: a tag or '*', as fetch sends by default), optionally weighted.
      if (!/^(\*|[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*)(\s*;\s*q=[01](\.\d{0,3})?)?$/.test(language.trim())) {
        return afError(400, 'AF20054', 'Invalid syntax in Accept-Language header.');
      }
    }
    return { status: 200, body: DLP_SENSITIVE_TYPES };
  }

  /** An opaque, MAC'd position in one listing (tenant, type, window); `null` position = the start. */
  private pageToken(last: Blob | undefined, tenantId: string, contentType: ContentType, start: number, end: number): string {
    const payload = Buffer.from(JSON.stringify(last ? [last.visibleAt, last.contentCreated, last.contentId] : null)).toString('base64url');
    return `${payload}.${this.mac(payload, tenantId, contentType, start, end)}`;
  }

  /** The position a token stands for; undefined when it was not issued for this listing. */
  private readPageToken(token: string, tenantId: string, contentType: ContentType, start: number, end: number): ListingKey | null | undefined {
    const [payload, mac] = token.split('.');
    if (!payload || !mac) return undefined;
    const expected = Buffer.from(this.mac(payload, tenantId, contentType, start, end));
    const given = Buffer.from(mac);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    const position = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as [number, number, string] | null;
    return position && { visibleAt: position[0], contentCreated: position[1], contentId: position[2] };
  }

  private mac(payload: string, tenantId: string, contentType: ContentType, start: number, end: number): string {
    return createHmac('sha256', this.settings.pageKey).update(`${tenantId}|${contentType}|${start}|${end}|${payload}`).digest('base64url').slice(0, 22);
  }
}

/**
 * Serves one unusable (or incomplete) entry on a page. Added entries carry the same id on every listing
 * of the stream, so a re-list serves the same entry; `no-uri` and `no-expiration` strip a field from the page's
 * first real entry (a client can still use it).
 */
function applyUnusableEntry(
  body: unknown[],
  kind: UnusableEntryKind,
  at: { origin: string; tenantId: string; contentType: ContentType; start: number; end: number },
): void {
  const first = body[0] as Record<string, unknown> | undefined;
  if (kind === 'no-uri' || kind === 'no-expiration') {
    if (first) delete first[kind === 'no-uri' ? 'contentUri' : 'contentExpiration'];
    return;
  }
  // The same id on every listing of the stream (a poller's windows move), so a re-list serves the same entry.
  const created = at.start + Math.floor((at.end - at.start) / 2);
  const token = at.contentType.replace('.', '_');
  const id = `${at.tenantId.replace(/-/g, '').slice(0, 12)}$${token.toLowerCase()}$${token}$unusable`;
  const entry: Record<string, unknown> = {
    contentType: at.contentType,
    contentId: id,
    contentUri: `${at.origin}/api/v1.0/${at.tenantId}/activity/feed/audit/${id}`,
    contentCreated: isoMs(created),
    contentExpiration: isoMs(created + 7 * DAY),
  };
  switch (kind) {
    case 'space-in-id':
      entry.contentId = `${id} copy`;
      break;
    case 'slash-in-id':
      entry.contentId = `${id}/../x`;
      break;
    case 'foreign-type':
      entry.contentType = CONTENT_TYPES.find((ct) => ct !== at.contentType)!;
      break;
    case 'bad-created':
      entry.contentCreated = 'not a time';
      break;
    case 'not-object':
      body.push(42);
      return;
  }
  body.push(entry);
}
