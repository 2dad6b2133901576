import type { CursorState, HealthState, HourAccount, LedgerEntry, LedgerStatus, StreamHealth } from '../ports.js';

/**
 * Pure accounting for reconcile (DESIGN.md §5): per hour of contentCreated, every listed blob is
 * done, or ended with a reason (expired, missing, failed, poisoned), or still pending; and the stream's
 * health state from its cursor row and ledger.
 */

export const LEDGER_STATUSES: readonly LedgerStatus[] = ['listed', 'delivering', 'done', 'expired', 'missing', 'failed', 'poisoned'];

export interface StreamFacts {
  readonly tenantId: string;
  readonly contentType: string;
  readonly now: number;
  readonly cursor?: CursorState;
  /** The ledger rows of the accounting window. */
  readonly entries: readonly LedgerEntry[];
  readonly stuck: number;
  readonly expiringSoon: number;
}

export function accountHours(entries: readonly LedgerEntry[]): HourAccount[] {
  const byHour = new Map<string, { -readonly [K in keyof HourAccount]: HourAccount[K] }>();
  for (const entry of entries) {
    const hour = entry.contentCreated.slice(0, 13);
    let account = byHour.get(hour);
    if (!account) byHour.set(hour, (account = { hour, listed: 0, done: 0, expired: 0, missing: 0, failed: 0, poisoned: 0, pending: 0 }));
    account.listed++;
    if (entry.status === 'listed' || entry.status === 'delivering') account.pending++;
    else account[entry.status]++;
  }
  return [...byHour.values()].sort((a, b) => a.hour.localeCompare(b.hour));
}

/** Non-delivered final rows that carry no reason. The pipeline never writes one; reconcile proves it. */
export function unexplained(entries: readonly LedgerEntry[]): number {
  return entries.filter((e) => e.status !== 'done' && e.status !== 'listed' && e.status !== 'delivering' && !e.lastError).length;
}

export function streamHealth(facts: StreamFacts): StreamHealth {
  const counts = Object.fromEntries(LEDGER_STATUSES.map((s) => [s, 0])) as Record<LedgerStatus, number>;
  for (const entry of facts.entries) counts[entry.status]++;
  const newestDone = facts.entries.filter((e) => e.status === 'done').reduce((max, e) => Math.max(max, Date.parse(e.contentCreated)), -Infinity);
  const cursor = facts.cursor;
  const listingLagMinutes = cursor?.cursor ? Math.round((facts.now - Date.parse(cursor.cursor)) / 60_000) : undefined;
  const bad = unexplained(facts.entries);

  const failing: string[] = [];
  const degraded: string[] = [];
  if ((cursor?.consecutiveFailures ?? 0) >= 3) failing.push(`${cursor!.consecutiveFailures} polls failed in a row (${cursor!.lastErrorCode})`);
  else if ((cursor?.consecutiveFailures ?? 0) > 0) degraded.push(`last poll failed (${cursor!.lastErrorCode})`);
  if (cursor?.subscription === 'disabled') failing.push('subscription disabled');
  if (listingLagMinutes !== undefined && listingLagMinutes > 24 * 60) failing.push(`listing is ${Math.round(listingLagMinutes / 60)} h behind`);
  if (bad > 0) failing.push(`${bad} blobs ended without a reason`);
  if (facts.expiringSoon > 0) degraded.push(`${facts.expiringSoon} undelivered blobs expire within a day`);
  if (facts.stuck > 0) degraded.push(`${facts.stuck} blobs stuck and re-enqueued`);
  if (counts.poisoned + counts.failed > 0) degraded.push(`${counts.poisoned + counts.failed} blobs failed or poisoned`);
  if (counts.expired + counts.missing > 0) degraded.push(`${counts.expired + counts.missing} blobs expired or missing`);

  let state: HealthState = failing.length > 0 ? 'failing' : degraded.length > 0 ? 'degraded' : 'ok';
  if (state === 'ok' && !cursor?.lastSuccessAt) state = 'starting';
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
    hours: accountHours(facts.entries),
    lastErrorCode: cursor?.lastErrorCode,
    lastError: cursor?.lastError,
    consecutiveFailures: cursor?.consecutiveFailures ?? 0,
    gapCount: cursor?.gapCount ?? 0,
  };
}
