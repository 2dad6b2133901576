import type { HourAccount, HourSummary, InvariantProblem, InvariantState, InvariantViolation } from './accounting.js';
import type { LedgerEntry, LedgerStatus, ListingFact } from './ledger.js';
import { HOUR_MS, MINUTE_MS, utcHourOf } from './windows.js';

/**
 * The completeness invariant, per stream and hour of contentCreated, over things counted independently:
 *
 * - every contentId the API listed (listing facts, written by discovery before its ledger insert) has a
 *   ledger row;
 * - ledger rows = done + expired + missing + failed + poisoned + pending, where a pending row (`listed`,
 *   `delivering`) is only allowed while its content can still be fetched (its retry horizon);
 * - on every done row, records read from the blob = events the hub acknowledged + records quarantined.
 *
 * Pure: the caller reads the facts and rows and passes the clock's now.
 */

export const PROBLEMS: readonly InvariantProblem[] = ['notInLedger', 'pastHorizon', 'countMismatch', 'unknownStatus'];

const KNOWN: ReadonlySet<string> = new Set<LedgerStatus>(['listed', 'delivering', 'done', 'expired', 'missing', 'failed', 'poisoned']);

export interface InvariantOptions {
  /**
   * A listed contentId without a ledger row is not counted as missing while its listing is younger than
   * this: a poll may be between its fact write and its insert.
   */
  readonly insertGraceInMs: number;
  /** A pending row violates once its content expired this long ago (delivery ends it as expired or failed before). */
  readonly horizonGraceInMs: number;
  /** Audit streams are checked against their listing facts; a Defender XDR page is its own listing. */
  readonly listingFacts: boolean;
  /** Named violations kept per hour. */
  readonly examplesPerHour?: number;
}

export const DEFAULT_INSERT_GRACE_MS = 15 * MINUTE_MS;
export const DEFAULT_HORIZON_GRACE_MS = HOUR_MS;

/** The UTC hours `[from, to)` (`2026-11-24T10`), oldest first. */
export function hoursBetween(fromHour: string, toHour: string): string[] {
  const hours: string[] = [];
  for (let t = hourStart(fromHour); t < hourStart(toHour); t += HOUR_MS) hours.push(hourOf(t));
  return hours;
}

/** Epoch ms of an hour's start. */
export function hourStart(hour: string): number {
  return Date.parse(`${hour}:00:00.000Z`);
}

export function hourOf(ms: number): string {
  return new Date(ms).toISOString().slice(0, 13);
}

/** The hour after `hour`. */
export function nextHour(hour: string): string {
  return hourOf(hourStart(hour) + HOUR_MS);
}

export interface HourCheck {
  readonly account: HourAccount;
  readonly examples: readonly InvariantViolation[];
}

/**
 * Accounts each of `hours` from the facts and rows given (rows and facts of other hours are ignored,
 * except that a fact is satisfied by its contentId's row in any hour given).
 */
export function checkHours(hours: readonly string[], facts: readonly ListingFact[], rows: readonly LedgerEntry[], now: number, options: InvariantOptions): HourCheck[] {
  const perHour = options.examplesPerHour ?? 5;
  const rowIds = new Set(rows.map((r) => r.contentId));
  const byHour = new Map<string, { rows: LedgerEntry[]; facts: Map<string, ListingFact> }>();
  for (const hour of hours) byHour.set(hour, { rows: [], facts: new Map() });
  for (const row of rows) byHour.get(utcHourOf(row.contentCreated))?.rows.push(row);
  if (options.listingFacts) {
    for (const fact of facts) {
      const bucket = byHour.get(utcHourOf(fact.contentCreated))?.facts;
      const seen = bucket?.get(fact.contentId);
      // The same contentId listed twice (a poll and a sweep): the newest listing decides the grace.
      if (bucket && (!seen || seen.listedAt < fact.listedAt)) bucket.set(fact.contentId, fact);
    }
  }

  return hours.map((hour) => {
    const { rows: hourRows, facts: hourFacts } = byHour.get(hour)!;
    const a = { hour, listed: 0, ledger: hourRows.length, done: 0, expired: 0, missing: 0, failed: 0, poisoned: 0, pending: 0, unknown: 0, records: 0, events: 0, quarantined: 0, awaitingInsert: 0, notInLedger: 0, pastHorizon: 0, countMismatch: 0 };
    const examples: InvariantViolation[] = [];
    const violate = (contentId: string, problem: InvariantProblem, detail: string) => {
      if (examples.length < perHour) examples.push({ hour, contentId, problem, detail });
    };

    if (options.listingFacts) {
      a.listed = hourFacts.size;
      for (const fact of hourFacts.values()) {
        if (rowIds.has(fact.contentId)) continue;
        const age = now - Date.parse(fact.listedAt);
        if (age < options.insertGraceInMs) a.awaitingInsert++;
        else {
          a.notInLedger++;
          violate(fact.contentId, 'notInLedger', `listed by ${fact.by} at ${fact.listedAt}, no ledger row`);
        }
      }
    } else a.listed = hourRows.length;

    for (const row of hourRows) {
      const status = row.status as string;
      if (!KNOWN.has(status)) {
        a.unknown++;
        violate(row.contentId, 'unknownStatus', `status ${JSON.stringify(status ?? null)}`);
        continue;
      }
      if (status === 'listed' || status === 'delivering') {
        a.pending++;
        const expiration = Date.parse(row.contentExpiration);
        if (!Number.isNaN(expiration) && now > expiration + options.horizonGraceInMs) {
          a.pastHorizon++;
          violate(row.contentId, 'pastHorizon', `${status} although its content expired at ${row.contentExpiration}`);
        }
        continue;
      }
      a[status as 'done' | 'expired' | 'missing' | 'failed' | 'poisoned']++;
      if (status !== 'done') continue;
      const records = row.records;
      const events = row.events ?? 0;
      const quarantined = row.recordsQuarantined ?? 0;
      a.records += records ?? 0;
      a.events += events;
      a.quarantined += quarantined;
      if (records === undefined || records !== events + quarantined) {
        a.countMismatch++;
        violate(row.contentId, 'countMismatch', records === undefined ? 'done without a records count' : `records ${records} ≠ events ${events} + quarantined ${quarantined}`);
      }
    }
    const holds = a.notInLedger + a.pastHorizon + a.countMismatch + a.unknown === 0;
    return { account: { ...a, holds }, examples };
  });
}

/** The violations an hour account counts. */
export function violationsOf(account: HourAccount): number {
  return account.notInLedger + account.pastHorizon + account.countMismatch + account.unknown;
}

/**
 * The stream's invariant over hours read now (`checked`) and hours known only from their summaries
 * (`summarized`; an hour in both counts once, as read now).
 */
export function invariantState(checked: readonly HourCheck[], summarized: readonly HourSummary[]): InvariantState {
  const fresh = new Set(checked.map((c) => c.account.hour));
  const all: HourCheck[] = [...checked, ...summarized.filter((s) => !fresh.has(s.hour)).map((s) => ({ account: s, examples: s.examples }))];
  all.sort((x, y) => x.account.hour.localeCompare(y.account.hour));
  const byProblem: Record<InvariantProblem, number> = { notInLedger: 0, pastHorizon: 0, countMismatch: 0, unknownStatus: 0 };
  const totals = { listed: 0, ledger: 0, records: 0, events: 0, quarantined: 0 };
  const violatingHours: string[] = [];
  const examples: InvariantViolation[] = [];
  for (const { account, examples: named } of all) {
    byProblem.notInLedger += account.notInLedger;
    byProblem.pastHorizon += account.pastHorizon;
    byProblem.countMismatch += account.countMismatch;
    byProblem.unknownStatus += account.unknown;
    totals.listed += account.listed;
    totals.ledger += account.ledger;
    totals.records += account.records;
    totals.events += account.events;
    totals.quarantined += account.quarantined;
    if (violationsOf(account) > 0 && violatingHours.length < 24) violatingHours.push(account.hour);
    for (const v of named) if (examples.length < 20) examples.push(v);
  }
  const violations = PROBLEMS.reduce((sum, p) => sum + byProblem[p], 0);
  return {
    holds: violations === 0,
    from: all[0]?.account.hour,
    to: all.at(-1)?.account.hour,
    hoursRead: checked.length,
    hoursSummarized: all.length - checked.length,
    violations,
    byProblem,
    violatingHours,
    examples,
    ...totals,
  };
}

/** A short line for logs and the CLI: `holds over 52 h` or `violated: 2 blobs (1 not in the ledger, …)`. */
export function describeInvariant(state: InvariantState): string {
  const hours = state.hoursRead + state.hoursSummarized;
  if (state.holds) return `holds over ${hours} h (${state.listed} listed, ${state.ledger} in the ledger, ${state.records} records = ${state.events} events + ${state.quarantined} quarantined)`;
  const names: Record<InvariantProblem, string> = { notInLedger: 'listed but not in the ledger', pastHorizon: 'pending past expiry', countMismatch: 'done with events short of records', unknownStatus: 'with an unknown status' };
  const parts = PROBLEMS.filter((p) => state.byProblem[p] > 0).map((p) => `${state.byProblem[p]} ${names[p]}`);
  return `violated: ${state.violations} blobs (${parts.join(', ')})`;
}
