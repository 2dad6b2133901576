/** Gap records: ranges of a stream the API could no longer list, and how far healing them has got. Plain data. */

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
