import { checkHours, hourOf, hoursBetween, hourStart, type HourCheck, type InvariantOptions } from '../../core/invariant.js';
import { isSecurityStream, type AnyStreamKey } from '../../core/model.js';
import { DAY_MS, HOUR_MS, LISTING_RETENTION_MS, utcHourOf } from '../../core/windows.js';
import type { Ledger, ListingLog, SummaryStore } from '../../ports.js';
import type { SummaryProgress } from '../../core/accounting.js';
import type { CallOptions } from '../../core/io.js';
import type { RangeReader } from './rangeReader.js';

/**
 * Bounded state. An hour can change while the API can list it (sweeps re-list 7 days back) and while its
 * blobs can still be delivered (until their content expires, 7 days after contentCreated): past both, plus
 * a day, its accounting is final. Reconcile summarizes such an hour once more and for the last time; only
 * then, once the hour is also older than the ledger retention, are its ledger rows and listing facts
 * deleted. Its summary stays, so the invariant still covers it.
 */

/** An hour is final once it ended this long ago. */
export const FINAL_AFTER_MS = LISTING_RETENTION_MS + DAY_MS;
/** Summaries are deleted after this long (they are small: 24 rows a day per stream). */
export const SUMMARY_RETENTION_MS = 400 * DAY_MS;

interface FinalizeOptions {
  /** Hours before this one are final. */
  readonly finalLimit: string;
  readonly maxHours: number;
  readonly now: number;
  readonly check: InvariantOptions;
}

/** Counts the next final hours (at most `maxHours`) from where the last run stopped. */
export async function finalizeHours(
  stream: AnyStreamKey,
  reader: RangeReader,
  progress: SummaryProgress,
  options: FinalizeOptions,
  deps: { ledger: Ledger; listings: ListingLog },
  call: CallOptions,
): Promise<{ checks: HourCheck[]; progress: SummaryProgress }> {
  let from = progress.finalizedThrough;
  let finalizedFrom = progress.finalizedFrom;
  if (from === undefined) {
    // First run over this stream: start at its oldest row or fact (one scan, never again).
    from = (await earliestHour(stream, options.finalLimit, deps, call)) ?? options.finalLimit;
    finalizedFrom = from;
  }
  if (from >= options.finalLimit) return { checks: [], progress: { ...progress, finalizedFrom, finalizedThrough: from } };
  const to = minHour(options.finalLimit, hourOf(hourStart(from) + options.maxHours * HOUR_MS));
  const checks = checkHours(hoursBetween(from, to), await reader.facts(from, to), await reader.rows(from, to), options.now, options.check);
  return { checks, progress: { ...progress, finalizedFrom, finalizedThrough: to } };
}

/**
 * Deletes ledger rows and listing facts of the hours older than the retention that have a final summary
 * (at most `maxHours` hours per run), and summaries older than a year or so. Never touches an hour without
 * a final summary.
 */
export async function purgeExpiredState(
  stream: AnyStreamKey,
  reader: RangeReader,
  progress: SummaryProgress,
  options: { retentionDays: number; maxHours: number; now: number },
  deps: { ledger: Ledger; listings: ListingLog; summaries: SummaryStore },
  call: CallOptions,
): Promise<{ progress: SummaryProgress; rows: number; hours: number }> {
  const none = { progress, rows: 0, hours: 0 };
  if (progress.finalizedThrough === undefined || progress.finalizedFrom === undefined) return none;
  const limit = minHour(hourOf(options.now - options.retentionDays * DAY_MS), progress.finalizedThrough);
  const from = progress.purgedThrough ?? progress.finalizedFrom;
  if (from >= limit) return none;
  const to = minHour(limit, hourOf(hourStart(from) + options.maxHours * HOUR_MS));
  const rows = await reader.rows(from, to);
  await deps.ledger.forget(stream, rows.map((r) => r.contentId), call);
  const hours = hoursBetween(from, to);
  if (!isSecurityStream(stream)) for (const hour of hours) await deps.listings.deleteHour(stream, hour, call);
  await deps.summaries.deleteBefore(stream, hourOf(options.now - SUMMARY_RETENTION_MS), call);
  return { progress: { ...progress, purgedThrough: to }, rows: rows.length, hours: hours.length };
}

async function earliestHour(stream: AnyStreamKey, before: string, deps: { ledger: Ledger; listings: ListingLog }, call: CallOptions): Promise<string | undefined> {
  let earliest: string | undefined;
  for await (const row of deps.ledger.query(stream, { createdTo: new Date(hourStart(before)).toISOString() }, call)) {
    const hour = utcHourOf(row.contentCreated);
    if (HOUR.test(hour) && (earliest === undefined || hour < earliest)) earliest = hour;
  }
  if (!isSecurityStream(stream)) {
    for await (const fact of deps.listings.range(stream, '0000-01-01T00', before, call)) {
      const hour = utcHourOf(fact.contentCreated);
      if (HOUR.test(hour) && (earliest === undefined || hour < earliest)) earliest = hour;
    }
  }
  return earliest;
}

const HOUR = /^\d{4}-\d{2}-\d{2}T\d{2}$/;

function minHour(a: string, b: string): string {
  return a < b ? a : b;
}
