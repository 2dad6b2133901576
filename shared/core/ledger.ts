/**
 * The ledger's records: a content blob's row from listing to its final status, the listing facts kept apart
 * from it, and a stream's cursor and retention-sweep rows. Plain data; the stores are ports (shared/ports.ts).
 */

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

/** Fields the delivery path updates on a ledger row (merge semantics). */
export type LedgerPatch = Partial<Omit<LedgerEntry, 'tenantId' | 'contentType' | 'contentId'>>;
