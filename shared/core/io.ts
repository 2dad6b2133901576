import type { RejectedListing, RepairedListing } from './listingEntry.js';
import type { ContentListing } from './model.js';

/** What the ports carry: call options, listed pages, outgoing events, upload failures. Plain data. */

export interface CallOptions {
  readonly abortSignal?: AbortSignal;
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

/** One page of a Defender XDR stream as Microsoft Graph served it. */
export interface SecurityPage {
  /** 1-based position of the page in its scan. */
  readonly pageNumber: number;
  /** The entities (incidents or alerts) exactly as parsed from the page's `value` array. */
  readonly items: readonly unknown[];
  /** The URL the page was read from (no credentials; for the ledger row and logs). */
  readonly url: string;
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

/** One message for the hub: the JSON body and the AMQP message fields that carry routing hints. */
export interface OutgoingEvent {
  readonly body: string;
  readonly messageId: string;
  readonly correlationId?: string;
  /** Application properties (all strings): routing hints only, everything else is in the body. */
  readonly properties: Readonly<Record<string, string>>;
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
