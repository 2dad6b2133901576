import type { ContentMessage } from './core/contentMessage.js';
import type { RejectedListing, RepairedListing } from './core/listingEntry.js';
import type { PollTask } from './core/pollTask.js';
import type { AnyStreamKey, ContentListing, SecurityStreamKey, StreamKey, TimeWindow } from './core/model.js';

/**
 * The ports: what use cases need from the outside world, as plain data and promises. Adapters in
 * shared/adapters implement them over the Azure SDKs and HTTP; tests implement them in memory.
 */

/** Structured logging: a constant event name plus fields. Never pass secrets, tokens or record bodies. */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** The only source of "now" for core and use cases. */
export interface Clock {
  now(): number;
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

export interface CallOptions {
  readonly abortSignal?: AbortSignal;
}

/** Counters and gauges for dashboards and alerts. */
export interface Metrics {
  count(name: string, value: number, dimensions?: Readonly<Record<string, string>>): void;
}

export const noMetrics: Metrics = { count() {} };

/** The Management Activity API as discovery needs it, per stream. */
export interface ActivityFeed {
  /** Starts the stream's subscription; "already enabled" (AF20024) is success. */
  startSubscription(stream: StreamKey, options?: CallOptions): Promise<{ readonly alreadyEnabled: boolean }>;
  /** Every page of the window, in order; throws an IngestError when a page cannot be listed. */
  listContent(stream: StreamKey, window: TimeWindow, options?: CallOptions): AsyncIterable<ListingPage>;
}

/** One page of a listing: the usable entries, and those that could not be used (never dropped silently). */
export interface ListingPage {
  readonly pageNumber: number;
  readonly items: readonly ContentListing[];
  /** Entries that cannot be used (recorded `failed` with the reason, quarantined); the rest of the page goes on. */
  readonly rejected?: readonly RejectedListing[];
  /** Usable entries that had a field filled in (a missing contentUri or contentExpiration), by contentId. */
  readonly repaired?: readonly RepairedListing[];
}

/** The poll-task queue: discovery work, one task per stream, run by a queue-triggered poller. */
export interface PollTaskQueue {
  /** `visibilityDelayMs` holds the task back that long (sweeps are spread over the schedule's interval). */
  enqueue(task: PollTask, options?: CallOptions & { readonly visibilityDelayMs?: number }): Promise<void>;
}

/** One page of a Defender XDR stream as Microsoft Graph served it. */
export interface SecurityPage {
  /** 1-based position of the page in its scan. */
  readonly pageNumber: number;
  /** The entities (incidents or alerts) exactly as parsed from the page's `value` array. */
  readonly items: readonly unknown[];
  /** The URL the page was read from (no credentials; for the ledger row and logs). */
  readonly url: string;
}

/** Microsoft Graph security as the Defender XDR streams need it, per tenant. */
export interface SecurityFeed {
  /**
   * Every page of the stream's entities with `lastUpdateDateTime` at or after `since` (a Graph
   * timestamp, compared with full precision), oldest first, until the service has no next page.
   * Throws an IngestError when a page cannot be read.
   */
  listUpdated(stream: SecurityStreamKey, since: string, options?: CallOptions): AsyncIterable<SecurityPage>;
}

/** The content queue. `enqueue` resolves only when every message is durably stored. */
export interface ContentQueue {
  /** `visibilityDelayMs` keeps the messages invisible that long (retry backoff, a lease's remaining time). */
  enqueue(messages: readonly ContentMessage[], options?: CallOptions & { readonly visibilityDelayMs?: number }): Promise<void>;
  /** Approximate number of messages in the queue, visible or not (delayed retries included). */
  approximateDepth(options?: CallOptions): Promise<number>;
}

/**
 * A content blob's delivery state. `listed`: waiting for (another) delivery attempt; `delivering`: a worker
 * holds the lease (`leaseOwner` until `leaseUntil`); the others are final (a replay may start them again).
 */
export type LedgerStatus = 'listed' | 'delivering' | 'done' | 'expired' | 'missing' | 'failed' | 'poisoned';

/** How a blob first came to the ledger. */
export type FoundBy = 'poll' | 'sweep' | 'backfill' | 'message';

/** One content blob's row: from listing to its final status, with the reason for every non-done end. */
export interface LedgerEntry {
  readonly tenantId: string;
  readonly contentType: string;
  readonly contentId: string;
  readonly contentUri: string;
  readonly contentCreated: string;
  readonly contentExpiration: string;
  readonly listedAt: string;
  readonly status: LedgerStatus;
  readonly enqueuedAt?: string;
  readonly attempts?: number;
  readonly lastError?: string;
  readonly records?: number;
  readonly events?: number;
  readonly bytes?: number;
  readonly completedAt?: string;
  readonly durationMs?: number;
  /** Records of this blob already acknowledged by the hub, for resuming after a failed attempt. */
  readonly resumeOffset?: number;
  /** Who put the row in the ledger first (a live poll, the retention sweep, an operator backfill, a message without a row). */
  readonly foundBy?: FoundBy;
  /** The worker holding the delivery lease, and until when (ISO); set while `delivering`. */
  readonly leaseOwner?: string;
  readonly leaseUntil?: string;
  /** Earliest time (ISO) of the next delivery attempt: the backoff of the last re-enqueue. */
  readonly nextAttemptAt?: string;
  /**
   * Counters of the completeness invariant, kept apart: `records` = records read from the blob,
   * `events` = events the hub acknowledged, `recordsQuarantined` = records kept in quarantine instead of published.
   */
  readonly recordsQuarantined?: number;
  /** Where the body broke off or turned malformed: the record index and byte offset. */
  readonly brokeAtRecord?: number;
  readonly brokeAtByte?: number;
}

/** The content ledger (one row per contentId). */
export interface Ledger {
  /** Inserts each entry whose contentId has no row yet; returns exactly the entries it inserted. */
  insertIfAbsent(entries: readonly LedgerEntry[], options?: CallOptions): Promise<LedgerEntry[]>;
  /**
   * Deletes rows; absent rows are ignored. A poller gives back rows it inserted but could not enqueue, so
   * the next listing inserts and enqueues them again (a crash between insert and enqueue leaves a row
   * without `enqueuedAt`; reconcile re-enqueues those); retention deletes summarized rows.
   */
  forget(stream: AnyStreamKey, contentIds: readonly string[], options?: CallOptions): Promise<void>;
  /** Records that these blobs' queue messages are stored. */
  markEnqueued(stream: StreamKey, contentIds: readonly string[], at: string, options?: CallOptions): Promise<void>;
  get(stream: AnyStreamKey, contentId: string, options?: CallOptions): Promise<LedgerEntry | undefined>;
  /** The row with its ETag, for a conditional replace (leases). */
  read(stream: AnyStreamKey, contentId: string, options?: CallOptions): Promise<{ readonly entry: LedgerEntry; readonly etag: string } | undefined>;
  /**
   * Replaces the whole row (fields absent from `entry` are removed) only if it is unchanged since `etag`
   * was read. Returns the new ETag, or `undefined` when another writer changed or deleted it first.
   */
  replaceIf(entry: LedgerEntry, etag: string, options?: CallOptions): Promise<string | undefined>;
  /** Merges fields into an existing row (undefined fields are left as they are). */
  update(stream: AnyStreamKey, contentId: string, patch: LedgerPatch, options?: CallOptions): Promise<void>;
  /** A stream's rows, filtered on the server: by status, and by contentCreated in [createdFrom, createdTo). */
  query(stream: AnyStreamKey, filter: LedgerFilter, options?: CallOptions): AsyncIterable<LedgerEntry>;
}

export interface LedgerFilter {
  readonly statuses?: readonly LedgerStatus[];
  /** ISO instants compared with contentCreated. */
  readonly createdFrom?: string;
  readonly createdTo?: string;
}

export type SubscriptionState = 'unknown' | 'enabled' | 'disabled' | 'missing';

/** One contentId the API listed (a poll, a sweep or a backfill), kept apart from the ledger's delivery state. */
export interface ListingFact {
  readonly contentId: string;
  /** As listed (ISO); its UTC hour is the fact's hour. */
  readonly contentCreated: string;
  /** When this listing saw it (ISO). */
  readonly listedAt: string;
  readonly by: Exclude<FoundBy, 'message'>;
}

/**
 * Listing facts per stream and hour of contentCreated: which distinct contentIds the API listed. Written by
 * discovery before the ledger insert, read by reconcile to prove every listed blob is in the ledger.
 */
export interface ListingLog {
  /** Records that these blobs were listed (idempotent per contentId and hour). */
  record(stream: StreamKey, facts: readonly ListingFact[], options?: CallOptions): Promise<void>;
  /** The facts of one UTC hour of contentCreated (`2026-11-20T10`). */
  hour(stream: StreamKey, hour: string, options?: CallOptions): AsyncIterable<ListingFact>;
  /** The facts of the hours in [fromHour, toHour) (one range query over the hours' partitions). */
  range(stream: StreamKey, fromHour: string, toHour: string, options?: CallOptions): AsyncIterable<ListingFact>;
  /** Deletes the facts of one hour (after it is summarized and past retention). */
  deleteHour(stream: StreamKey, hour: string, options?: CallOptions): Promise<void>;
}

/**
 * Why a range of a stream could not be listed. `operator`: a range of record time an operator asked to
 * heal (`ops heal`), whether or not the Management API missed anything in it.
 */
export type GapCause = 'retention' | 'subscriptionDisabled' | 'operator';

/** How far healing a gap from Purview audit search got. */
export type HealState = 'pending' | 'running' | 'healed' | 'partial' | 'suspicious' | 'unavailable' | 'failed' | 'off';

/** One audit log query submitted to heal (part of) a gap. */
export interface HealQuery {
  /** The audit log query's id; empty while the range waits to be submitted. */
  readonly id: string;
  /** The range of record time (`createdDateTime`) the query covers, `[from, to)`. */
  readonly from: string;
  readonly to: string;
  /**
   * The query's status as Graph reports it (`notStarted`, `running`, `succeeded`, `failed`, `cancelled`) or
   * ours: `planned` (waiting for the submission budget), `split` (it hit the record-count limit; two queries
   * over its halves replace it), `delivered` (every page published), `abandoned` (failed too often).
   */
  readonly state: string;
  /** Records of the stream's content type the query returned (so far). */
  readonly records?: number;
  /** When it was submitted (ISO): the rolling 24 h submission budget counts these. */
  readonly submittedAt?: string;
  /** Submissions of this range so far (a failed query is submitted again, up to a limit). */
  readonly attempt?: number;
  /** Events the hub acknowledged for it. */
  readonly delivered?: number;
  /** The `@odata.nextLink` after the last published page: paging resumes there. */
  readonly next?: string;
  /** Records the query returned that belong to another content type (not published for this stream). */
  readonly outOfScope?: number;
  /** The query hit its record-count limit and its range is too short to split: its records are incomplete. */
  readonly limitExceeded?: boolean;
}

export interface GapHeal {
  readonly state: HealState;
  readonly updatedAt: string;
  readonly queries: readonly HealQuery[];
  readonly recordsFound: number;
  readonly recordsDelivered: number;
  readonly reason?: string;
  /** The range of record time the heal covers, `[from, to)` (a gap's start minus the lookbehind, to its end). */
  readonly from?: string;
  readonly to?: string;
  /** Queries split because they hit the record-count limit. */
  readonly splits?: number;
}

/** A range `[start, end)` of contentCreated the Management API can no longer list for a stream. */
export interface GapRecord {
  readonly tenantId: string;
  readonly contentType: string;
  readonly start: string;
  readonly end: string;
  readonly cause: GapCause;
  readonly recordedAt: string;
  /** A disabled-subscription gap is provisional until the re-listing after the restart is over (it may shrink or vanish). */
  readonly provisional?: boolean;
  readonly heal?: GapHeal;
}

/** Gap records per stream (table `gaps`): the input of healing, the proof that nothing was skipped silently. */
export interface GapStore {
  /** Inserts or replaces the gap with this stream and start. */
  record(gap: GapRecord, options?: CallOptions): Promise<void>;
  list(stream: AnyStreamKey, options?: CallOptions): Promise<GapRecord[]>;
  /** Every stream's gaps (status, healing). */
  listAll(options?: CallOptions): Promise<GapRecord[]>;
  /**
   * Replaces only the heal state of an existing gap (the rest of the row, which discovery owns, is left as
   * it is). Resolves false when the gap no longer exists.
   */
  updateHeal(stream: AnyStreamKey, start: string, heal: GapHeal, options?: CallOptions): Promise<boolean>;
  remove(stream: AnyStreamKey, start: string, options?: CallOptions): Promise<void>;
}

/** An audit log query as Microsoft Graph reports it (`microsoft.graph.security.auditLogQuery`). */
export interface AuditLogQueryInfo {
  readonly id: string;
  /** `notStarted`, `running`, `succeeded`, `failed`, `cancelled` (or a value added later). */
  readonly status: string;
  /** True when the query stopped at its record-count limit: its records are incomplete. */
  readonly isRecordCountLimitExceeded?: boolean;
  readonly approximateReturnedRecordCount?: number;
  readonly recordCountLimit?: number;
}

/** What an audit log query searches: record time `[from, to)` (ISO) and the record types (none = all). */
export interface AuditLogQuerySpec {
  readonly displayName: string;
  readonly from: string;
  readonly to: string;
  readonly recordTypeFilters?: readonly string[];
}

/** One page of a query's records (`microsoft.graph.security.auditLogRecord`), parsed but untouched. */
export interface AuditRecordPage {
  readonly records: readonly unknown[];
  /** The service's `@odata.nextLink`, already checked to stay on the Graph host; absent on the last page. */
  readonly next?: string;
}

/** Microsoft Purview audit search through Microsoft Graph (`/security/auditLog/queries`), per tenant. */
export interface AuditSearch {
  createQuery(tenantId: string, spec: AuditLogQuerySpec, options?: CallOptions): Promise<AuditLogQueryInfo>;
  getQuery(tenantId: string, queryId: string, options?: CallOptions): Promise<AuditLogQueryInfo>;
  /** The query's record pages from the first (or from `next`, a link an earlier page returned), until the last. */
  listRecords(tenantId: string, queryId: string, options?: CallOptions & { readonly next?: string }): AsyncIterable<AuditRecordPage>;
}

/** The last retention sweep of a stream, and the lateness of what sweeps found (table `sweeps`). */
export interface SweepState {
  readonly lastSweepAt?: string;
  readonly lastOutcome?: 'complete' | 'partial' | 'failed';
  readonly lastError?: string;
  readonly windows: number;
  readonly blobsListed: number;
  /** Blobs the ledger lacked, inserted and enqueued by the sweep. */
  readonly blobsFound: number;
  readonly apiCalls: number;
  readonly tableOps: number;
  readonly durationMs: number;
  /** `[foundAt, lateness]` in epoch ms / ms (found − contentCreated) of blobs sweeps found in the last 24 h, at most 500. */
  readonly lateness: readonly (readonly [number, number])[];
}

export interface SweepStore {
  read(stream: StreamKey, options?: CallOptions): Promise<SweepState | undefined>;
  write(stream: StreamKey, state: SweepState, options?: CallOptions): Promise<void>;
}

/** A stream's cursor row: where listing has reached, the subscription, and the stream's health facts. */
export interface CursorState {
  /** End (ISO) of the last window whose every page was listed and enqueued. */
  readonly cursor?: string;
  readonly subscription: SubscriptionState;
  readonly lastStartAt?: string;
  readonly lastRunAt?: string;
  /** The last run that listed every planned window. */
  readonly lastSuccessAt?: string;
  readonly lastErrorCode?: string;
  readonly lastError?: string;
  readonly lastErrorAt?: string;
  readonly consecutiveFailures: number;
  /**
   * Where the stream's listing is meant to start (ISO): the initial lookback on its first plan, or the
   * cursor when a disabled subscription is restarted. Persisted when first planned, also if that run fails.
   */
  readonly intendedStart?: string;
  /** When the subscription was last (re)started successfully; until 24 h later listing re-covers `intendedStart`. */
  readonly enabledAt?: string;
  /**
   * The earliest contentCreated this stream was ever meant to cover (ISO): its first intended start. The
   * retention sweep lists nothing before it, so `INITIAL_LOOKBACK_HOURS` keeps its meaning.
   */
  readonly coverageStart?: string;
  /** When listing first failed because the subscription was disabled or missing (cleared on restart). */
  readonly disabledSince?: string;
  /**
   * Defender XDR: revisions (hashes of `id|lastUpdateDateTime`) already published in the overlap before the
   * cursor, so a rescan of a quiet stream does not send them again.
   */
  readonly recentRevisions?: string;
  /** Time the API could no longer serve when listing resumed (outage beyond 7 days). */
  readonly gapCount: number;
  readonly gapTotalMs: number;
  readonly lastGapStart?: string;
  readonly lastGapEnd?: string;
}

export interface CursorStore {
  read(stream: AnyStreamKey, options?: CallOptions): Promise<{ readonly state: CursorState; readonly etag: string } | undefined>;
  /**
   * Writes the row only if it is unchanged since `etag` was read (or still absent when `etag` is
   * undefined). Returns the new etag, or `undefined` when another writer got there first.
   */
  write(stream: AnyStreamKey, state: CursorState, etag: string | undefined, options?: CallOptions): Promise<string | undefined>;
}

/** Tenant credentials (client secrets, certificate PEMs). Values are secrets: never log them. */
export interface SecretProvider {
  /** The secret's current value; `refresh` bypasses any cache (after the credential was rejected). */
  get(name: string, options?: { refresh?: boolean } & CallOptions): Promise<string>;
}

/** Downloads content blobs (the Management API behind the feed guard). */
export interface ContentSource {
  download(tenantId: string, contentUri: string, options?: CallOptions): Promise<{ readonly body: AsyncIterable<Uint8Array>; readonly contentLength?: number }>;
}

/** One message for the hub: the JSON body and the AMQP message fields that carry routing hints. */
export interface OutgoingEvent {
  readonly body: string;
  readonly messageId: string;
  readonly correlationId?: string;
  /** Application properties (all strings): routing hints only, everything else is in the body. */
  readonly properties: Readonly<Record<string, string>>;
}

/** The event hub. A publication sends one blob's events in order, in batches filled to the hub's limit. */
export interface EventSink {
  open(options: { readonly partitionKey?: string; readonly abortSignal?: AbortSignal }): EventPublication;
}

export interface EventPublication {
  /** Adds an event; may send a full batch first. Rejects with an IngestError if a send fails. */
  add(event: OutgoingEvent): Promise<void>;
  /** Sends what is left; resolves when the hub has acknowledged every added event. */
  flush(): Promise<void>;
  /** Events the hub has acknowledged, counted from the first `add`, in order. */
  readonly acknowledged: number;
}

/** Blob containers for quarantine and claim-check. Returns the blob's URL. */
export interface BlobStore {
  put(container: string, name: string, content: string | AsyncIterable<Uint8Array>, options?: { readonly contentType?: string } & CallOptions): Promise<string>;
}

/** Fields the delivery path updates on a ledger row (merge semantics). */
export type LedgerPatch = Partial<Omit<LedgerEntry, 'tenantId' | 'contentType' | 'contentId'>>;

/** A stream's health row, written by reconcile and served by the status function. */
export interface HealthStore {
  write(stream: AnyStreamKey, health: StreamHealth, options?: CallOptions): Promise<void>;
  readAll(options?: CallOptions): Promise<StreamHealth[]>;
}

export type HealthState = 'ok' | 'starting' | 'degraded' | 'failing';

export interface StreamHealth {
  readonly tenantId: string;
  readonly contentType: string;
  readonly state: HealthState;
  /** Why the state is not ok, one short phrase each. */
  readonly reasons: readonly string[];
  readonly computedAt: string;
  readonly cursor?: string;
  /** now − cursor: how far behind discovery is. */
  readonly listingLagMinutes?: number;
  /** now − contentCreated of the newest delivered blob. */
  readonly deliveryLagMinutes?: number;
  readonly counts: Readonly<Record<LedgerStatus, number>>;
  /** Blobs still `listed` past the stuck threshold (re-enqueued by this reconcile). */
  readonly stuck: number;
  /** Blobs not done (pending, failed or poisoned) whose content expires within a day: the alarm. */
  readonly expiringSoon: number;
  /** Non-delivered final rows without a reason: must be zero. */
  readonly unexplained: number;
  /**
   * Per hour of contentCreated over the recent range: listed ⊆ ledger, ledger = done + expired + missing +
   * failed + poisoned + pending, records = events + quarantined.
   */
  readonly hours: readonly HourAccount[];
  /** The completeness invariant over the recent range and the summarized hours before it. */
  readonly invariant: InvariantState;
  /** The retention sweep's last run and the lateness of what sweeps found (audit streams). */
  readonly sweep?: SweepHealth;
  /** Ranges the API could no longer list (up to 10, newest last), with their healing state. */
  readonly gaps?: readonly (Pick<GapRecord, 'start' | 'end' | 'cause' | 'provisional'> & { readonly heal?: HealState })[];
  /** Gap records of the stream in all (the list above keeps the newest 10). */
  readonly gapRecords?: number;
  readonly lastErrorCode?: string;
  readonly lastError?: string;
  readonly consecutiveFailures: number;
  readonly gapCount: number;
}

export interface HourAccount {
  /** `2026-11-24T10` (UTC hour of contentCreated). */
  readonly hour: string;
  /**
   * Distinct contentIds the API listed in this hour (listing facts of polls, sweeps and backfills). A
   * Defender XDR page is its own listing: for those streams, the page rows.
   */
  readonly listed: number;
  /** Ledger rows of the hour: done + expired + missing + failed + poisoned + pending + unknown. */
  readonly ledger: number;
  readonly done: number;
  readonly expired: number;
  readonly missing: number;
  readonly failed: number;
  readonly poisoned: number;
  /** `listed` or `delivering` rows. */
  readonly pending: number;
  /** Rows whose status is none of the ledger's statuses (a violation). */
  readonly unknown: number;
  /** Over the done rows: records read from the blobs, events the hub acknowledged, records kept in quarantine. */
  readonly records: number;
  readonly events: number;
  readonly quarantined: number;
  /** Listed contentIds without a ledger row whose listing is too recent to count (a poll between its fact write and its insert). */
  readonly awaitingInsert: number;
  /** Violations: listed contentIds the ledger lacks … */
  readonly notInLedger: number;
  /** … pending rows past their retry horizon (their content has expired) … */
  readonly pastHorizon: number;
  /** … and done rows whose records ≠ events + quarantined. */
  readonly countMismatch: number;
  /** No violation in this hour. */
  readonly holds: boolean;
}

/** What the completeness invariant found wrong with one blob. */
export type InvariantProblem = 'notInLedger' | 'pastHorizon' | 'countMismatch' | 'unknownStatus';

export interface InvariantViolation {
  readonly hour: string;
  readonly contentId: string;
  readonly problem: InvariantProblem;
  /** One short phrase, e.g. `records 40 ≠ events 20 + quarantined 0`. */
  readonly detail: string;
}

/** The completeness invariant of one stream, over the hours reconcile read and the hours it summarized before. */
export interface InvariantState {
  readonly holds: boolean;
  /** Oldest hour covered (summaries included) and the newest. */
  readonly from?: string;
  readonly to?: string;
  /** Hours whose rows this reconcile read, and hours known from their summaries only. */
  readonly hoursRead: number;
  readonly hoursSummarized: number;
  /** Violating blobs, in all covered hours. */
  readonly violations: number;
  readonly byProblem: Readonly<Record<InvariantProblem, number>>;
  /** Up to 24 hours with violations, oldest first. */
  readonly violatingHours: readonly string[];
  /** Up to 20 of the violating blobs, named. */
  readonly examples: readonly InvariantViolation[];
  /** Totals over every covered hour. */
  readonly listed: number;
  readonly ledger: number;
  readonly records: number;
  readonly events: number;
  readonly quarantined: number;
}

/** What the retention sweep saw of a stream, on its health row. */
export interface SweepHealth {
  readonly lastSweepAt?: string;
  readonly lastOutcome?: SweepState['lastOutcome'];
  readonly lastError?: string;
  /** Blobs the sweeps of the last 24 h found that the ledger lacked. */
  readonly found24h: number;
  /** Lateness (found − contentCreated) of those blobs: the largest and the 95th percentile. */
  readonly latenessMaxMinutes?: number;
  readonly latenessP95Minutes?: number;
}

/** One stream-hour's accounting as it stood when last computed (table `summaries`); older hours are known only from these. */
export interface HourSummary extends HourAccount {
  readonly computedAt: string;
  /**
   * Nothing can change the hour any more: it is older than the API's listing retention and every blob of it
   * has expired. A final summary is computed once; retention deletes the hour's rows only after it.
   */
  readonly final: boolean;
  /** Up to 5 of the hour's violating blobs. */
  readonly examples: readonly InvariantViolation[];
}

/** Per stream: how far summarizing and retention have got (hours, exclusive ends). */
export interface SummaryProgress {
  /** Every hour from `finalizedFrom` up to this one has a final summary. */
  readonly finalizedThrough?: string;
  readonly finalizedFrom?: string;
  /** Ledger rows and listing facts of every hour before this one are deleted. */
  readonly purgedThrough?: string;
  /** Where the next re-count of already summarized, not yet final hours starts. */
  readonly recountNext?: string;
}

/** Hour summaries per stream (table `summaries`: partition = stream, row = hour; one `progress` row). */
export interface SummaryStore {
  /** Inserts or replaces the summaries. */
  write(stream: AnyStreamKey, summaries: readonly HourSummary[], options?: CallOptions): Promise<void>;
  /** Summaries of the hours in [fromHour, toHour), oldest first. */
  range(stream: AnyStreamKey, fromHour: string, toHour: string, options?: CallOptions): Promise<HourSummary[]>;
  /** Deletes the summaries of hours before `hour` (summaries are kept longer than ledger rows, not forever). */
  deleteBefore(stream: AnyStreamKey, hour: string, options?: CallOptions): Promise<void>;
  progress(stream: AnyStreamKey, options?: CallOptions): Promise<SummaryProgress>;
  writeProgress(stream: AnyStreamKey, progress: SummaryProgress, options?: CallOptions): Promise<void>;
}

/** Rows the Logs Ingestion API did not take in one upload, and why. */
export interface LogsUploadFailure {
  /** Indexes into the uploaded rows. */
  readonly rows: readonly number[];
  /** HTTP status of the refusal, when the service answered. */
  readonly status?: number;
  readonly code?: string;
  /** What went wrong, without row contents. */
  readonly message: string;
  /** The service refused the data itself (400 or 413): sending the same rows again cannot succeed. */
  readonly permanent: boolean;
}

/** Azure Monitor's Logs Ingestion API: one stream of one data collection rule. */
export interface LogsIngestion {
  /** The largest request body the API accepts, in bytes; every call stays within it. */
  readonly maxCallBytes: number;
  /** Uploads JSON-object rows in calls within the limit; resolves with the rows no call delivered (none: all accepted). */
  upload(rows: readonly Readonly<Record<string, unknown>>[], options?: CallOptions): Promise<readonly LogsUploadFailure[]>;
}
