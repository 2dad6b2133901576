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
}

/** Options of {@link SimTenant}'s server; everything but `tenants` has a faithful default. */
export interface SimTenantOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (a free port). */
  port?: number;
  /** Server certificate and key; default test/certs/server.pem + server.key. */
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
  /** contentCreated → listable delay, default 1–20 min; ~2% of blobs get a long delay (30–120 min). */
  visibilityDelayInMs?: { min: number; max: number };
  /** contentExpiration − contentCreated (default 7 days). */
  expiryInMs?: number;
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

/** The operations the simulator counts and fault rules can target. */
export type SimOperation = 'metadata' | 'token' | 'start' | 'stop' | 'list' | 'content' | 'blob' | 'resources';

/** What a fault rule does to the request it matches. */
export type Fault =
  | { kind: 'status'; status: 401 | 429 | 500 | 503 | 408; code?: 'AF429' | 'AF50000' | 'AF50005' }
  | { kind: 'af429-403' }
  | { kind: 'reset' }
  | { kind: 'slow'; delayInMs: number }
  | { kind: 'malformed-json' }
  | { kind: 'non-json-error'; status: number }
  | { kind: 'wrong-host-uri' }
  | { kind: 'foreign-next-page' }
  | { kind: 'stale-next-page' }
  | { kind: 'truncated-page' };

/** A fault injection rule: which requests it matches, how often, and the fault. */
export interface FaultRule {
  /** Operation to match; 'any' or absent matches every operation the fault applies to. */
  op?: SimOperation | 'any';
  tenantId?: string;
  /** How many requests it affects (default 1; default unlimited when `probability` is set). */
  times?: number;
  /** Chance of affecting each matching request, drawn from the seeded RNG (for soak runs). */
  probability?: number;
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
  /** `/start` calls made within 15 min of the previous accepted one. */
  startsWithinCooldown: number;
  /** Content ids of blobs served completely and intact, in order, repeats included. */
  servedBlobIds: string[];
}

/** A running simulated tenant server: Entra ID token endpoint and Management Activity API on one https origin. */
export interface SimTenant {
  /** https://<host>:<port> — both the management endpoint and the authority host. */
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
  stats(): SimStats;
  /** Clears the stats and the request log. */
  resetStats(): void;
  /** The most recent requests (up to 10,000), oldest first. */
  requestLog(): SimRequest[];
  close(): Promise<void>;
}
