import type { TimeWindow } from './model.js';

export const MINUTE_MS = 60_000;
export const HOUR_MS = 60 * MINUTE_MS;
export const DAY_MS = 24 * HOUR_MS;

/** The API refuses a `startTime` more than 7 days back (AF20055). */
export const LISTING_RETENTION_MS = 7 * DAY_MS;

export interface WindowPlanInput {
  /** End of the last fully listed window (epoch ms); undefined on a stream's first run. */
  readonly cursor?: number;
  readonly now: number;
  readonly settleLagInMs: number;
  readonly overlapInMs: number;
  readonly initialLookbackInMs: number;
  /**
   * Where the stream's listing is meant to start (epoch ms). Without a cursor, listing starts here
   * instead of `now − initialLookback` (a first run that failed keeps its original start); with a cursor,
   * listing starts at the earlier of this and `cursor − overlap` (the re-listing after a subscription start).
   */
  readonly intendedStart?: number;
  /**
   * Distance kept from the 7-day limit. Windows are requested a little after planning, the local clock
   * may run ahead of the service's, and clients that aim at exactly 7 days meet AF20055.
   */
  readonly retentionMarginInMs?: number;
  /** Longest window. The limit is 24 h; some tenants refuse exactly 24 h, so the default is 23 h. */
  readonly maxWindowInMs?: number;
}

export interface WindowPlan {
  /** Consecutive windows `[start, end)` in ascending order, whole seconds, each at most `maxWindowInMs`. */
  readonly windows: readonly TimeWindow[];
  /** Time that can no longer be listed: `[cursor, earliest listable)` after an outage longer than the API keeps content. */
  readonly gap?: TimeWindow;
  /** Where listing starts: `cursor − overlap` (or the first-run lookback), clamped to what the API allows. */
  readonly from: number;
  /** Where listing ends: `now − settleLag`. */
  readonly to: number;
}

export const DEFAULT_RETENTION_MARGIN_MS = 15 * MINUTE_MS;
export const DEFAULT_MAX_WINDOW_MS = 23 * HOUR_MS;

/**
 * Plans the listing windows of one poll for one stream: `[cursor − overlap, now − settleLag)`, cut
 * into windows under 24 h, with the start clamped inside the 7-day limit. The overlap re-lists time
 * already covered, so a blob that became listable late (its `contentCreated` inside an earlier window)
 * is still found; the ledger makes the re-list free. A clamp that skips never-listed time is reported
 * as a gap, never hidden.
 */
export function planWindows(input: WindowPlanInput): WindowPlan {
  const margin = input.retentionMarginInMs ?? DEFAULT_RETENTION_MARGIN_MS;
  const maxWindow = input.maxWindowInMs ?? DEFAULT_MAX_WINDOW_MS;
  if (maxWindow < 1000 || maxWindow > DAY_MS) throw new RangeError('maxWindowInMs must be between 1 s and 24 h');

  const earliest = ceilSecond(input.now - LISTING_RETENTION_MS + margin);
  const to = floorSecond(input.now - input.settleLagInMs);
  const fromCursor = input.cursor === undefined ? (input.intendedStart ?? input.now - input.initialLookbackInMs) : input.cursor - input.overlapInMs;
  const wanted = floorSecond(input.cursor !== undefined && input.intendedStart !== undefined ? Math.min(fromCursor, input.intendedStart) : fromCursor);
  const from = Math.max(wanted, earliest);

  // Only time after the cursor was never listed; the overlap (and re-listed) part before it was, so clamping it loses nothing.
  const neverListedFrom = input.cursor === undefined ? wanted : floorSecond(input.cursor);
  const gap = neverListedFrom < earliest ? { start: neverListedFrom, end: Math.min(earliest, Math.max(to, neverListedFrom)) } : undefined;

  const windows: TimeWindow[] = [];
  for (let start = from; start < to; start += maxWindow) {
    windows.push({ start, end: Math.min(start + maxWindow, to) });
  }
  return { windows, gap: gap && gap.end > gap.start ? gap : undefined, from, to };
}

function floorSecond(ms: number): number {
  return Math.floor(ms / 1000) * 1000;
}

function ceilSecond(ms: number): number {
  return Math.ceil(ms / 1000) * 1000;
}

/**
 * The UTC hour (`2026-11-20T10`) of an ISO instant, the unit of listing facts and accounting. An instant
 * that does not parse falls back to its first 13 characters, so it still lands in a stable bucket.
 */
export function utcHourOf(iso: string): string {
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? iso.slice(0, 13) : new Date(ms).toISOString().slice(0, 13);
}
