import type { HealthState, HourAccount, InvariantState, StreamHealth, SweepHealth } from './accounting.js';
import type { GapRecord } from './gaps.js';
import type { CursorState, LedgerEntry, LedgerStatus, SweepState } from './ledger.js';
import { describeInvariant } from './invariant.js';
import { DAY_MS, MINUTE_MS } from './windows.js';

/**
 * Pure health of a stream for reconcile (docs/architecture.md, "Reconcile and health"): its state and reasons from the cursor row, the
 * completeness invariant, the ledger rows of the recent range, the retention sweep and the gaps.
 */

export const LEDGER_STATUSES: readonly LedgerStatus[] = ['listed', 'delivering', 'done', 'expired', 'missing', 'failed', 'poisoned'];

/** A cursor further ahead of the clock than this is reported (clock skew is smaller). */
export const FUTURE_CURSOR_TOLERANCE_MS = 5 * MINUTE_MS;

export interface StreamFacts {
  readonly tenantId: string;
  readonly contentType: string;
  readonly now: number;
  /** The cursor row; for a Defender XDR stream with `cursor` replaced by its last complete scan (listing lag). */
  readonly cursor?: CursorState;
  /** The cursor value as stored, checked for sense (it must parse and must not lie in the future). */
  readonly storedCursor?: string;
  /** The ledger rows of the recent range. */
  readonly entries: readonly LedgerEntry[];
  /** The recent range's hours, accounted. */
  readonly hours: readonly HourAccount[];
  readonly invariant: InvariantState;
  readonly stuck: number;
  /** Blobs not done whose content expires within a day (whatever their status). */
  readonly expiringSoon: number;
  readonly sweep?: SweepState;
  readonly gaps?: readonly GapRecord[];
}

/** Non-delivered final rows that carry no reason. The pipeline never writes one; reconcile proves it. */
export function unexplained(entries: readonly LedgerEntry[]): number {
  return entries.filter((e) => e.status !== 'done' && e.status !== 'listed' && e.status !== 'delivering' && !e.lastError).length;
}

/** Nearest-rank percentile of non-empty `values` (0 < p ≤ 100). */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** The sweep's last run and the lateness of what sweeps found in the 24 h before `now`. */
export function sweepHealth(state: SweepState, now: number): SweepHealth {
  const recent = state.lateness.filter(([foundAt]) => now - foundAt <= DAY_MS).map(([, lateness]) => lateness);
  const minutes = (ms: number) => Math.round(ms / MINUTE_MS);
  return {
    lastSweepAt: state.lastSweepAt,
    lastOutcome: state.lastOutcome,
    lastError: state.lastError,
    found24h: recent.length,
    latenessMaxMinutes: recent.length > 0 ? minutes(Math.max(...recent)) : undefined,
    latenessP95Minutes: recent.length > 0 ? minutes(percentile(recent, 95)) : undefined,
  };
}

export function streamHealth(facts: StreamFacts): StreamHealth {
  const counts = Object.fromEntries(LEDGER_STATUSES.map((s) => [s, 0])) as Record<LedgerStatus, number>;
  for (const entry of facts.entries) if (entry.status in counts) counts[entry.status]++;
  const newestDone = facts.entries.filter((e) => e.status === 'done').reduce((max, e) => Math.max(max, Date.parse(e.contentCreated)), -Infinity);
  const cursor = facts.cursor;
  const cursorAt = cursor?.cursor ? Date.parse(cursor.cursor) : undefined;
  const listingLagMinutes = cursorAt !== undefined && !Number.isNaN(cursorAt) ? Math.round((facts.now - cursorAt) / 60_000) : undefined;
  const bad = unexplained(facts.entries);
  const sweep = facts.sweep && sweepHealth(facts.sweep, facts.now);
  const openGaps = (facts.gaps ?? []).filter((g) => g.heal?.state !== 'healed');

  const failing: string[] = [];
  const degraded: string[] = [];
  if (!facts.invariant.holds) failing.push(`completeness invariant ${describeInvariant(facts.invariant)}`);
  if (cursor?.lastErrorCode?.startsWith('InvalidCursor')) failing.push(`cursor invalid (${cursor.lastError ?? cursor.lastErrorCode})`);
  else if (facts.storedCursor !== undefined) {
    const stored = Date.parse(facts.storedCursor);
    if (Number.isNaN(stored)) failing.push(`cursor ${JSON.stringify(facts.storedCursor.slice(0, 40))} is not a time`);
    else if (stored > facts.now + FUTURE_CURSOR_TOLERANCE_MS) failing.push(`cursor ${facts.storedCursor} lies in the future`);
  }
  if ((cursor?.consecutiveFailures ?? 0) >= 3) failing.push(`${cursor!.consecutiveFailures} polls failed in a row (${cursor!.lastErrorCode})`);
  else if ((cursor?.consecutiveFailures ?? 0) > 0 && !cursor?.lastErrorCode?.startsWith('InvalidCursor')) degraded.push(`last poll failed (${cursor!.lastErrorCode})`);
  if (cursor?.subscription === 'disabled') failing.push('subscription disabled');
  if (listingLagMinutes !== undefined && listingLagMinutes > 24 * 60) failing.push(`listing is ${Math.round(listingLagMinutes / 60)} h behind`);
  if (bad > 0) failing.push(`${bad} blobs ended without a reason`);
  if (facts.expiringSoon > 0) failing.push(`${facts.expiringSoon} blobs not delivered expire within a day`);
  if (facts.stuck > 0) degraded.push(`${facts.stuck} blobs stuck and re-enqueued`);
  if (counts.poisoned + counts.failed > 0) degraded.push(`${counts.poisoned + counts.failed} blobs failed or poisoned`);
  if (counts.expired + counts.missing > 0) degraded.push(`${counts.expired + counts.missing} blobs expired or missing`);
  if (sweep?.lastOutcome === 'failed') degraded.push(`last sweep failed${sweep.lastError ? ` (${sweep.lastError})` : ''}`);
  if (openGaps.length > 0) {
    const hours = openGaps.reduce((sum, g) => sum + Math.max(0, Date.parse(g.end) - Date.parse(g.start)), 0) / 3_600_000;
    degraded.push(`${openGaps.length} gaps not healed (${Math.round(hours * 10) / 10} h the API could not list: ${[...new Set(openGaps.map((g) => g.cause))].join(', ')})`);
  }

  let state: HealthState = failing.length > 0 ? 'failing' : degraded.length > 0 ? 'degraded' : 'ok';
  if (state === 'ok' && !cursor?.lastSuccessAt) state = 'starting';
  const gaps = facts.gaps ?? [];
  return {
    tenantId: facts.tenantId,
    contentType: facts.contentType,
    state,
    reasons: [...failing, ...degraded],
    computedAt: new Date(facts.now).toISOString(),
    cursor: cursor?.cursor,
    listingLagMinutes,
    deliveryLagMinutes: Number.isFinite(newestDone) ? Math.round((facts.now - newestDone) / 60_000) : undefined,
    counts,
    stuck: facts.stuck,
    expiringSoon: facts.expiringSoon,
    unexplained: bad,
    hours: facts.hours,
    invariant: facts.invariant,
    sweep,
    gaps: gaps.slice(-10).map((g) => ({ start: g.start, end: g.end, cause: g.cause, provisional: g.provisional, heal: g.heal?.state })),
    gapRecords: gaps.length,
    lastErrorCode: cursor?.lastErrorCode,
    lastError: cursor?.lastError,
    consecutiveFailures: cursor?.consecutiveFailures ?? 0,
    gapCount: cursor?.gapCount ?? 0,
  };
}
