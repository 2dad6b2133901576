/** The five content types of the Management Activity API, spelled exactly as the service expects them. */
export type ContentType = 'Audit.AzureActiveDirectory' | 'Audit.Exchange' | 'Audit.SharePoint' | 'Audit.General' | 'DLP.All';

/** Every content type, in the order the service documents them. */
export const CONTENT_TYPES: readonly ContentType[] = [
  'Audit.AzureActiveDirectory',
  'Audit.Exchange',
  'Audit.SharePoint',
  'Audit.General',
  'DLP.All',
];

/** An application consented in a simulated tenant; it may authenticate with a secret, a certificate, or both. */
export interface SimApp {
  clientId: string;
  secret?: string;
  /** Public certificate PEM; client assertions signed by its private key are accepted. */
  certificatePem?: string;
  /** App roles put in access tokens for the management audience. Default `['ActivityFeed.Read']`. */
  roles?: string[];
  /**
   * App roles put in access tokens for the Graph audience. Default `['SecurityIncident.Read.All',
   * 'SecurityAlert.Read.All', 'AuditLogsQuery.Read.All']`; without an AuditLogsQuery role, audit log
   * queries succeed with zero records.
   */
  graphRoles?: string[];
}

/** One simulated Microsoft 365 tenant. */
export interface SimTenantSpec {
  /** Tenant GUID. */
  tenantId: string;
  /** Apps consented in this tenant; any other client id gets AADSTS700016. */
  apps: SimApp[];
  /** Streams that produce generated content (default all five). Other types can still be subscribed. */
  contentTypes?: ContentType[];
  /** Generated blobs per hour per content type (default 12; 0 = only blobs added with `addBlob`). */
  blobsPerHour?: number;
  /** Mean records per generated blob (default 20; each blob varies ±50% deterministically). */
  recordsPerBlob?: number;
  /** Epoch ms from which the generator produces blobs (default feed now − 8 days). */
  historyStart?: number;
  /** false → every feed call fails with the "Tenant <id> does not exist" DataServiceException error. */
  auditingEnabled?: boolean;
  /** Generated Defender XDR incidents per hour since `historyStart` (default 1; 0 = only those added with `addIncident`). */
  incidentsPerHour?: number;
  /**
   * Onboarding as the API documents it: after a stream's first `/start` at S, nothing is listable before
   * S + `delayInMs` (Microsoft says up to 12 h), and then content created from S − `backfillInMs` (about 22 h
   * observed) appears with it; content created earlier is never listed for this subscription.
   * Default: none (the whole history is listable at once).
   */
  firstContent?: { delayInMs: number; backfillInMs: number };
}

/** Options of {@link SimTenant}'s server; everything but `tenants` has a faithful default. */
export interface SimTenantOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (a free port). */
  port?: number;
  /** Server certificate and key; default the stand-ins' certificate generated under .local/pki (tools/local/localPki.ts). */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** Seed of every generated value (default 1). Same seed + same options → same blobs, ids and records. */
  seed?: number;
  /** The feed's clock in epoch ms (default `Date.now`). Token lifetimes and throttling use the real clock. */
  now?: () => number;
  tenants: SimTenantSpec[];
  /** `/subscriptions/content` page size (default 100). */
  pageSize?: number;
  /** Audience the API accepts and the token endpoint issues roles for (default 'https://manage.office.com'). */
  tokenAudience?: string;
  /** Audience of Microsoft Graph (default 'https://graph.microsoft.com'; 'https://graph.microsoft.us' and so on for other clouds). */
  graphAudience?: string;
  /** Most entities on one Graph page, whatever `$top` asks (server-driven paging; default 1,000). */
  graphMaxPageSize?: number;
  /** Graph security throttle per app per tenant per minute (default 150); a throttled request gets 429 with Retry-After. */
  graphRequestsPerMinute?: number;
  /**
   * Audit log queries (`/security/auditLog/queries`): records per page (default 150), records per query
   * before `isRecordCountLimitExceeded` (default 1,000,000), feed time until a query runs (30 s) and until
   * it is done (2 min more), retention (180 days), submissions per tenant per 24 h (200), queued or running
   * queries per tenant (50).
   */
  auditSearch?: {
    pageSize?: number;
    recordCountLimit?: number;
    startDelayInMs?: number;
    runDurationInMs?: number;
    retentionInMs?: number;
    submissionsPerDay?: number;
    maxRunningQueries?: number;
  };
  /** contentCreated → listable delay, default 1–20 min; ~2% of blobs get a long delay (30–120 min). */
  visibilityDelayInMs?: { min: number; max: number };
  /** contentExpiration − contentCreated (default 7 days). */
  expiryInMs?: number;
  /**
   * A fraction of generated blobs that become listable hours after their contentCreated, beyond any
   * overlap a poller re-lists (default: none besides the ~2% 30–120 min tail). Drawn from a separate
   * seeded stream, so the other blobs keep their ids and delays.
   */
  lateBlobs?: { fraction: number; delayInMs: { min: number; max: number } };
  /** Fraction of generated blobs that repeat a record (same Id) of an earlier blob (default 0.05). */
  duplicateRate?: number;
  /** `/start` within 15 min of the previous start: 'accept' (default; counted in stats) or 'reject' (403 AF429). */
  startCooldown?: 'accept' | 'reject';
  /** Header carrying the next page (default 'NextPageUri'). */
  headerName?: 'NextPageUri' | 'NextPageUrl';
  /** Next-page URIs spell `starttime`/`endtime` in lower case, as observed in the wild (default false). */
  lowerCaseNextPageParams?: boolean;
  /** A window of exactly 24 h is accepted (default true); false → AF20055. */
  allowExactly24h?: boolean;
  /** Throttle bucket size per tenant per minute (default 2,000), counting every feed request incl. blob GETs. */
  requestsPerMinute?: number;
  /** HTTP status of a throttled request's AF429 (default 429; the service has also been seen answering 403). */
  throttleStatus?: 429 | 403;
  /**
   * Signing keys of managed identity stand-ins whose identities hold ActivityFeed.Read in these tenants
   * (the app-role grant of a same-tenant deployment). Their tokens are accepted by the API.
   */
  trustedManagedIdentityKeys?: Buffer[];
  /** Key the `/_sim/*` admin surface requires in `x-sim-admin` (default random). */
  adminKey?: string;
}

/** One entry of a `/subscriptions/content` listing. */
export interface ContentListing {
  contentType: string;
  contentId: string;
  contentUri: string;
  contentCreated: string;
  contentExpiration: string;
}

/**
 * The operations the simulator counts and fault rules can target. `incidents` and `alerts` are Graph's
 * `/v1.0/security/incidents` and `/v1.0/security/alerts_v2`.
 */
export type SimOperation =
  | 'metadata' | 'token' | 'start' | 'stop' | 'list' | 'content' | 'blob' | 'resources' | 'incidents' | 'alerts'
  /** Audit search: create a query, read a query, list a query's records. */
  | 'auditQuery' | 'auditQueryStatus' | 'auditRecords';

/** What a fault rule does to the request it matches. */
export type Fault =
  /** `retryAfterSeconds` adds a Retry-After header (Graph sends one with 429 and 503; the activity API never does). */
  | { kind: 'status'; status: 401 | 429 | 500 | 502 | 503 | 504 | 408; code?: 'AF429' | 'AF50000' | 'AF50005'; retryAfterSeconds?: number }
  | { kind: 'af429-403' }
  | { kind: 'reset' }
  | { kind: 'slow'; delayInMs: number }
  | { kind: 'malformed-json' }
  | { kind: 'non-json-error'; status: number }
  | { kind: 'wrong-host-uri' }
  | { kind: 'foreign-next-page' }
  | { kind: 'stale-next-page' }
  | { kind: 'truncated-page' }
  /** On `auditQuery`: the created query ends `failed` instead of `succeeded`. */
  | { kind: 'query-failed' }
  /**
   * A listing entry a client cannot use (or must repair), on a 200 listing page. `space-in-id`, `slash-in-id`,
   * `foreign-type`, `bad-created` and `not-object` add one such entry to the page (with the same id on
   * every listing of the stream, so a re-list serves the same one); `no-uri` and `no-expiration` drop that field from the
   * page's first real entry.
   */
  | { kind: 'unusable-entry'; entry: UnusableEntryKind };

/** The kinds of unusable or incomplete listing entries the `unusable-entry` fault serves. */
export type UnusableEntryKind = 'space-in-id' | 'slash-in-id' | 'foreign-type' | 'bad-created' | 'not-object' | 'no-uri' | 'no-expiration';

/** A fault injection rule: which requests it matches, how often, and the fault. */
export interface FaultRule {
  /** Operation to match; 'graph' matches both Graph operations; 'any' or absent matches every operation the fault applies to. */
  op?: SimOperation | 'graph' | 'any';
  tenantId?: string;
  /** Matching requests to let through before the rule starts firing (default 0), e.g. 2 to fail the third page. */
  skip?: number;
  /** How many requests it affects (default 1; default unlimited when `probability` is set). */
  times?: number;
  /** Chance of affecting each matching request, drawn from the seeded RNG (for soak runs). */
  probability?: number;
  /**
   * Feed-clock window (epoch ms) in which the rule fires: from `activeFrom` (default: always) until before
   * `activeUntil` (default: never ends). An outage of 30 simulated minutes is `{ activeUntil: now + 30 min }`
   * with no `times` limit. A rule whose window has passed is dropped.
   */
  activeFrom?: number;
  activeUntil?: number;
  fault: Fault;
}

/** Injects faults into the simulator's responses. */
export interface FaultController {
  /** Adds a rule after the existing ones (the first matching rule wins). Throws on an invalid rule. */
  inject(rule: FaultRule): void;
  /** Removes every rule. */
  clear(): void;
  /** The rules still armed, with their remaining `times`. */
  pending(): FaultRule[];
}

/** Counters since start or the last `resetStats()`. */
/** One request as the simulator saw it (the Authorization header reduced to its scheme). */
export interface SimRequest {
  method: string;
  op: SimOperation;
  path: string;
  /** Query parameters with the names as sent. */
  query: Record<string, string>;
  authorization?: string;
  /** HTTP status, or 'reset'. */
  outcome: string;
}

export interface SimStats {
  /** Requests by tenant (path segment, '-' when none), operation and outcome (HTTP status or 'reset'). */
  requests: Record<string, Partial<Record<SimOperation, Record<string, number>>>>;
  /** Requests by operation over all tenants. */
  totals: Partial<Record<SimOperation, number>>;
  /** Requests answered by a fault instead of the normal handler (status, af429-403, reset, non-json-error, stale-next-page). */
  rejectedByFaults: number;
  /** Fault rules fired, by kind. */
  faultsApplied: Partial<Record<Fault['kind'], number>>;
  /** AF429 answers from any cause (throttle, start cooldown, fault). */
  af429: number;
  /** AF429 answers from the per-tenant (or shared) request throttle alone, not faults or the start cooldown. */
  throttled?: number;
  /** `/start` calls made within 15 min of the previous accepted one. */
  startsWithinCooldown: number;
  /** Content ids of blobs served completely and intact, in order, repeats included. */
  servedBlobIds: string[];
  /** `id|lastUpdateDateTime` of every incident revision served on an incidents page, in order, repeats included. */
  servedIncidentRevisions: string[];
  /** `id|lastUpdateDateTime` of every alert revision served on an alerts page, in order, repeats included. */
  servedAlertRevisions: string[];
  /** Record ids of every auditLogRecord served on a records page, in order, repeats included. */
  servedAuditRecordIds: string[];
}

/** An audit log query as the simulator keeps it (for tests). */
export interface SimAuditQueryView {
  id: string;
  appId: string;
  createdAt: number;
  from: number;
  to: number;
  recordTypeFilters?: string[];
  status: string;
}

/** A Defender XDR incident as Graph serves it (`microsoft.graph.security.incident`), without `alerts`. */
export interface GraphIncident {
  id: string;
  tenantId: string;
  status: string;
  incidentWebUrl: string;
  redirectIncidentId: string | null;
  displayName: string;
  description: string | null;
  severity: string;
  assignedTo: string | null;
  classification: string;
  determination: string;
  createdDateTime: string;
  lastUpdateDateTime: string;
  customTags: string[];
  systemTags: string[];
  summary: string | null;
  comments: { comment: string; createdByDisplayName: string; createdDateTime: string }[];
  [key: string]: unknown;
}

/** A Defender XDR alert as Graph serves it (`microsoft.graph.security.alert`, alerts_v2). */
export interface GraphAlert {
  '@odata.type': '#microsoft.graph.security.alert';
  id: string;
  incidentId: string | null;
  status: string;
  severity: string;
  serviceSource: string;
  detectionSource: string;
  title: string;
  category: string;
  mitreTechniques: string[];
  createdDateTime: string;
  lastUpdateDateTime: string;
  evidence: Record<string, unknown>[];
  [key: string]: unknown;
}

/** A change to an incident or alert; it becomes a new revision with `lastUpdateDateTime` = `at` (default: the feed clock). */
export interface SecurityChange {
  status?: string;
  severity?: string;
  classification?: string;
  determination?: string;
  assignedTo?: string | null;
  /** Epoch ms of the revision. */
  at?: number;
  /** When the revision becomes visible (default `at`): a revision stamped in the future can be visible now. */
  visibleAt?: number;
}

/**
 * A running simulated tenant server: Entra ID token endpoint, Management Activity API and Microsoft
 * Graph security (incidents, alerts_v2) on one https origin.
 */
export interface SimTenant {
  /** https://<host>:<port> — the management endpoint, the authority host and the Graph endpoint. */
  readonly url: string;
  readonly port: number;
  /** Key required in the `x-sim-admin` header of `/_sim/*` requests. */
  readonly adminKey: string;
  faults: FaultController;
  /**
   * Adds a blob explicitly (tests). Records default to generated ones (`recordCount` of them); `rawBody` is
   * served verbatim (e.g. malformed JSON). Returns the listing entry.
   */
  addBlob(
    tenantId: string,
    contentType: ContentType,
    blob: {
      contentCreated: number;
      visibleAt?: number;
      expiresAt?: number;
      records?: unknown[];
      rawBody?: string;
      recordCount?: number;
      contentId?: string;
    },
  ): ContentListing;
  /** The records of a blob exactly as served (generated deterministically on demand). Throws for an unknown blob. */
  recordsOf(tenantId: string, contentId: string): unknown[];
  /** Every listable blob of a stream with contentCreated in [from, to) as of the feed clock, in listing order. */
  blobs(tenantId: string, contentType: ContentType, from: number, to: number): ContentListing[];
  subscription(tenantId: string, contentType: ContentType): { status: 'enabled' | 'disabled' | 'none'; startCalls: number; lastStartAt?: number };
  /** Sets a subscription's state; `adminLocked` keeps it disabled through `/start` (which still answers 200). */
  setSubscription(tenantId: string, contentType: ContentType, status: 'enabled' | 'disabled' | 'none', opts?: { adminLocked?: boolean }): void;
  setAuditing(tenantId: string, enabled: boolean): void;
  /** Replaces an app's secret; the old one is rejected from now on. */
  rotateSecret(tenantId: string, clientId: string, newSecret: string): void;
  /** Defender XDR incidents visible as of the feed clock (latest revision each), as stored: every enum member included. */
  incidents(tenantId: string): GraphIncident[];
  /** Defender XDR alerts visible as of the feed clock (latest revision each), as stored. */
  alerts(tenantId: string): GraphAlert[];
  /** Adds an incident created at `createdAt` (default: the feed clock) with `alerts` new alerts (default 2). */
  addIncident(tenantId: string, spec?: { createdAt?: number; alerts?: number; severity?: string; displayName?: string }): GraphIncident;
  /** Makes a new revision of an incident; resolving it resolves its alerts too, as Defender does. */
  updateIncident(tenantId: string, incidentId: string, change: SecurityChange): GraphIncident;
  /** Makes a new revision of an alert. */
  updateAlert(tenantId: string, alertId: string, change: SecurityChange): GraphAlert;
  /**
   * Every blob of a stream created in [from, to) up to the feed clock, listable or not (expired, not yet
   * visible, created while the subscription was off): the content the audit log holds the records of.
   */
  blobsCreated(tenantId: string, contentType: ContentType, from: number, to: number): ContentListing[];
  /** Audit log queries submitted for a tenant, oldest first, with their status as of the feed clock. */
  auditQueries(tenantId: string): SimAuditQueryView[];
  /** The audit log of a tenant for record time [from, to) (every workload, one record per Id), as of the feed clock. */
  auditRecords(tenantId: string, from: number, to: number): Record<string, unknown>[];
  stats(): SimStats;
  /** Clears the stats and the request log. */
  resetStats(): void;
  /** The most recent requests (up to 10,000), oldest first. */
  requestLog(): SimRequest[];
  close(): Promise<void>;
}
