import { describe, expect, it } from 'vitest';
import { percentile, streamHealth, sweepHealth, unexplained, type StreamFacts } from '../../../shared/core/health.js';
import { checkHours, invariantState } from '../../../shared/core/invariant.js';
import { HOUR_MS, MINUTE_MS } from '../../../shared/core/windows.js';
import type { GapRecord } from '../../../shared/core/gaps.js';
import type { CursorState, LedgerEntry, LedgerStatus, SweepState } from '../../../shared/core/ledger.js';

const now = Date.parse('2026-11-24T12:00:00Z');
let n = 0;
const entry = (status: LedgerStatus, contentCreated: string, lastError?: string): LedgerEntry => ({
  tenantId: 't',
  contentType: 'Audit.Exchange',
  contentId: `c${n++}`,
  contentUri: 'u',
  contentCreated,
  contentExpiration: '2026-12-01T00:00:00.000Z',
  listedAt: contentCreated,
  status,
  lastError,
  ...(status === 'done' && { records: 3, events: 3 }),
});
const healthy: CursorState = { subscription: 'enabled', consecutiveFailures: 0, gapCount: 0, gapTotalMs: 0, cursor: '2026-11-24T11:50:00.000Z', lastSuccessAt: '2026-11-24T11:55:00.000Z' };
const options = { insertGraceInMs: 15 * MINUTE_MS, horizonGraceInMs: HOUR_MS, listingFacts: true };

function facts(entries: LedgerEntry[], patch: Partial<StreamFacts> = {}): StreamFacts {
  const checks = checkHours(['2026-11-24T10', '2026-11-24T11'], [], entries, now, options);
  return { tenantId: 't', contentType: 'Audit.Exchange', now, stuck: 0, expiringSoon: 0, entries, hours: checks.map((c) => c.account), invariant: invariantState(checks, []), cursor: healthy, storedCursor: healthy.cursor, ...patch };
}

describe('unexplained', () => {
  it('counts final rows that lack a reason', () => {
    expect(unexplained([entry('failed', '2026-11-24T10:00:00.000Z'), entry('failed', '2026-11-24T10:00:00.000Z', 'x'), entry('done', '2026-11-24T10:00:00.000Z')])).toBe(1);
  });
});

describe('streamHealth', () => {
  it('is ok when listing is current, everything was delivered and the invariant holds, with lags and hours', () => {
    const h = streamHealth(facts([entry('done', '2026-11-24T11:00:00.000Z')]));
    expect(h).toMatchObject({ state: 'ok', reasons: [], listingLagMinutes: 10, deliveryLagMinutes: 60, counts: { done: 1, listed: 0 }, invariant: { holds: true, hoursRead: 2 } });
    expect(h.hours.map((a) => [a.hour, a.ledger, a.done])).toEqual([['2026-11-24T10', 0, 0], ['2026-11-24T11', 1, 1]]);
  });

  it('is starting before the first successful poll', () => {
    expect(streamHealth(facts([], { cursor: undefined, storedCursor: undefined })).state).toBe('starting');
  });

  it('is degraded by a failed poll, stuck blobs, failures, a failed sweep and gaps not healed', () => {
    expect(streamHealth(facts([], { cursor: { ...healthy, consecutiveFailures: 1, lastErrorCode: 'Throttled/AF429' } }))).toMatchObject({ state: 'degraded', reasons: ['last poll failed (Throttled/AF429)'] });
    expect(streamHealth(facts([], { stuck: 2 })).reasons).toEqual(['2 blobs stuck and re-enqueued']);
    expect(streamHealth(facts([entry('poisoned', '2026-11-24T10:00:00.000Z', 'x')])).state).toBe('degraded');
    const sweep: SweepState = { lastSweepAt: '2026-11-24T11:30:00.000Z', lastOutcome: 'failed', lastError: 'ServiceUnavailable', windows: 0, blobsListed: 0, blobsFound: 0, apiCalls: 3, tableOps: 0, durationMs: 10, lateness: [] };
    expect(streamHealth(facts([], { sweep })).reasons).toEqual(['last sweep failed (ServiceUnavailable)']);
    const gap: GapRecord = { tenantId: 't', contentType: 'Audit.Exchange', start: '2026-11-10T00:00:00.000Z', end: '2026-11-10T06:00:00.000Z', cause: 'retention', recordedAt: '2026-11-17T00:00:00.000Z' };
    const withGap = streamHealth(facts([], { gaps: [gap, { ...gap, start: '2026-11-09T00:00:00.000Z', heal: { state: 'healed', updatedAt: 'x', queries: [], recordsFound: 1, recordsDelivered: 1 } }] }));
    expect(withGap).toMatchObject({ state: 'degraded', reasons: ['1 gaps not healed (6 h the API could not list: retention)'], gapRecords: 2 });
    expect(withGap.gaps).toEqual([
      { start: gap.start, end: gap.end, cause: 'retention', provisional: undefined, heal: undefined },
      { start: '2026-11-09T00:00:00.000Z', end: gap.end, cause: 'retention', provisional: undefined, heal: 'healed' },
    ]);
  });

  it('is failing after repeated failures, a disabled subscription, a day of listing lag, or an unexplained row', () => {
    expect(streamHealth(facts([], { cursor: { ...healthy, consecutiveFailures: 3, lastErrorCode: 'AuditingDisabled/AF20011' } })).reasons).toEqual(['3 polls failed in a row (AuditingDisabled/AF20011)']);
    expect(streamHealth(facts([], { cursor: { ...healthy, subscription: 'disabled' } })).state).toBe('failing');
    expect(streamHealth(facts([], { cursor: { ...healthy, cursor: '2026-11-23T10:00:00.000Z' }, storedCursor: '2026-11-23T10:00:00.000Z' })).reasons).toEqual(['listing is 26 h behind']);
    expect(streamHealth(facts([entry('failed', '2026-11-24T10:00:00.000Z')])).state).toBe('failing');
  });

  it('is failing when blobs not done expire within a day (the alarm), whatever their status', () => {
    expect(streamHealth(facts([], { expiringSoon: 2 }))).toMatchObject({ state: 'failing', reasons: ['2 blobs not delivered expire within a day'] });
  });

  it('is failing while the completeness invariant is violated, and says how', () => {
    const lost = entry('done', '2026-11-24T10:00:00.000Z');
    const checks = checkHours(['2026-11-24T10'], [{ contentId: 'lost', contentCreated: '2026-11-24T10:00:00.000Z', listedAt: '2026-11-24T10:20:00.000Z', by: 'poll' }], [lost], now, options);
    const h = streamHealth(facts([lost], { hours: checks.map((c) => c.account), invariant: invariantState(checks, []) }));
    expect(h.state).toBe('failing');
    expect(h.reasons).toEqual(['completeness invariant violated: 1 blobs (1 listed but not in the ledger)']);
    expect(h.invariant.examples).toMatchObject([{ contentId: 'lost', problem: 'notInLedger' }]);
  });

  it('is failing on a cursor that is reported invalid, does not parse, or lies in the future — never ok', () => {
    const invalid = streamHealth(facts([], { cursor: { ...healthy, consecutiveFailures: 1, lastErrorCode: 'InvalidCursor', lastError: 'cursor "garbage" is not a time' } }));
    expect(invalid).toMatchObject({ state: 'failing', reasons: ['cursor invalid (cursor "garbage" is not a time)'] });
    const garbage = streamHealth(facts([], { cursor: { ...healthy, cursor: 'garbage' }, storedCursor: 'garbage' }));
    expect(garbage).toMatchObject({ state: 'failing', reasons: ['cursor "garbage" is not a time'], listingLagMinutes: undefined });
    const future = '2026-11-25T12:00:00.000Z';
    expect(streamHealth(facts([], { storedCursor: future })).reasons).toEqual([`cursor ${future} lies in the future`]);
    // A Defender XDR cursor in Graph's 7-digit form, a minute ahead of our clock: skew, not a lie.
    expect(streamHealth(facts([], { storedCursor: '2026-11-24T12:01:00.1234567Z' })).state).toBe('ok');
  });
});

describe('sweepHealth', () => {
  it('shows what sweeps found in the last 24 h and how late: the maximum and the 95th percentile', () => {
    const minute = MINUTE_MS;
    const lateness: Array<[number, number]> = Array.from({ length: 20 }, (_, i) => [now - HOUR_MS, (i + 1) * 10 * minute]);
    lateness.push([now - 25 * HOUR_MS, 999 * minute]); // older than a day: not counted
    const h = sweepHealth({ lastSweepAt: '2026-11-24T11:30:00.000Z', lastOutcome: 'complete', windows: 8, blobsListed: 100, blobsFound: 21, apiCalls: 9, tableOps: 9, durationMs: 100, lateness }, now);
    expect(h).toEqual({ lastSweepAt: '2026-11-24T11:30:00.000Z', lastOutcome: 'complete', lastError: undefined, found24h: 20, latenessMaxMinutes: 200, latenessP95Minutes: 190 });
    expect(sweepHealth({ windows: 0, blobsListed: 0, blobsFound: 0, apiCalls: 0, tableOps: 0, durationMs: 0, lateness: [] }, now)).toMatchObject({ found24h: 0, latenessMaxMinutes: undefined });
    expect(percentile([5], 95)).toBe(5);
  });
});
