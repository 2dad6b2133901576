import type { GapRecord, HealState } from './gaps.js';
import type { LedgerStatus, SweepState } from './ledger.js';

/**
 * A stream's accounting: its health row, the per-hour accounts and summaries of the completeness invariant,
 * and how far summarizing has got. Plain data, computed by core/health.ts and core/invariant.ts.
 */

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
