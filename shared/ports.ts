import type { HourSummary, StreamHealth, SummaryProgress } from './core/accounting.js';
import type { ContentMessage } from './core/contentMessage.js';
import type { GapHeal, GapRecord } from './core/gaps.js';
import type { AuditLogQueryInfo, AuditLogQuerySpec, AuditRecordPage, CallOptions, ListingPage, LogsUploadFailure, OutgoingEvent, SecurityPage } from './core/io.js';
import type { CursorState, LedgerEntry, LedgerFilter, LedgerPatch, ListingFact, SweepState } from './core/ledger.js';
import type { AnyStreamKey, SecurityStreamKey, StreamKey, TimeWindow } from './core/model.js';
import type { PollTask } from './core/pollTask.js';

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

/** The poll-task queue: discovery work, one task per stream, run by a queue-triggered poller. */
export interface PollTaskQueue {
  /** `visibilityDelayInMs` holds the task back that long (sweeps are spread over the schedule's interval). */
  enqueue(task: PollTask, options?: CallOptions & { readonly visibilityDelayInMs?: number }): Promise<void>;
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
  /** `visibilityDelayInMs` keeps the messages invisible that long (retry backoff, a lease's remaining time). */
  enqueue(messages: readonly ContentMessage[], options?: CallOptions & { readonly visibilityDelayInMs?: number }): Promise<void>;
  /** Approximate number of messages in the queue, visible or not (delayed retries included). */
  approximateDepth(options?: CallOptions): Promise<number>;
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

/** Microsoft Purview audit search through Microsoft Graph (`/security/auditLog/queries`), per tenant. */
export interface AuditSearch {
  createQuery(tenantId: string, spec: AuditLogQuerySpec, options?: CallOptions): Promise<AuditLogQueryInfo>;
  getQuery(tenantId: string, queryId: string, options?: CallOptions): Promise<AuditLogQueryInfo>;
  /** The query's record pages from the first (or from `next`, a link an earlier page returned), until the last. */
  listRecords(tenantId: string, queryId: string, options?: CallOptions & { readonly next?: string }): AsyncIterable<AuditRecordPage>;
}

export interface SweepStore {
  read(stream: StreamKey, options?: CallOptions): Promise<SweepState | undefined>;
  write(stream: StreamKey, state: SweepState, options?: CallOptions): Promise<void>;
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

/** A stream's health row, written by reconcile and served by the status function. */
export interface HealthStore {
  write(stream: AnyStreamKey, health: StreamHealth, options?: CallOptions): Promise<void>;
  readAll(options?: CallOptions): Promise<StreamHealth[]>;
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

/** Azure Monitor's Logs Ingestion API: one stream of one data collection rule. */
export interface LogsIngestion {
  /** The largest request body the API accepts, in bytes; every call stays within it. */
  readonly maxCallBytes: number;
  /** Uploads JSON-object rows in calls within the limit; resolves with the rows no call delivered (none: all accepted). */
  upload(rows: readonly Readonly<Record<string, unknown>>[], options?: CallOptions): Promise<readonly LogsUploadFailure[]>;
}
