import { describe, expect, it } from 'vitest';
import { checkHours, describeInvariant, hoursBetween, invariantState, type InvariantOptions } from '../../../shared/core/invariant.js';
import { DAY_MS, HOUR_MS, MINUTE_MS } from '../../../shared/core/windows.js';
import type { HourSummary } from '../../../shared/core/accounting.js';
import type { LedgerEntry, LedgerStatus, ListingFact } from '../../../shared/core/ledger.js';

const now = Date.parse('2026-11-24T12:30:00Z');
const iso = (ms: number) => new Date(ms).toISOString();
const audit: InvariantOptions = { insertGraceInMs: 15 * MINUTE_MS, horizonGraceInMs: HOUR_MS, listingFacts: true };

function row(contentId: string, status: LedgerStatus, patch: Partial<LedgerEntry> = {}): LedgerEntry {
  return {
    tenantId: 't',
    contentType: 'Audit.Exchange',
    contentId,
    contentUri: 'u',
    contentCreated: '2026-11-24T10:15:00.000Z',
    contentExpiration: '2026-12-01T10:15:00.000Z',
    listedAt: '2026-11-24T10:40:00.000Z',
    status,
    ...(status === 'done' && { records: 10, events: 10 }),
    ...patch,
  };
}
const fact = (contentId: string, patch: Partial<ListingFact> = {}): ListingFact => ({ contentId, contentCreated: '2026-11-24T10:15:00.000Z', listedAt: '2026-11-24T10:40:00.000Z', by: 'poll', ...patch });

describe('hoursBetween', () => {
  it('lists the UTC hours of a range, end excluded, across a day boundary', () => {
    expect(hoursBetween('2026-11-23T22', '2026-11-24T01')).toEqual(['2026-11-23T22', '2026-11-23T23', '2026-11-24T00']);
    expect(hoursBetween('2026-11-24T01', '2026-11-24T01')).toEqual([]);
  });
});

describe('checkHours', () => {
  it('holds when every listed blob has a row, every row has a status and every done row accounts for its records', () => {
    const [h10, h11] = checkHours(
      ['2026-11-24T10', '2026-11-24T11'],
      [fact('a'), fact('b'), fact('c'), fact('d')],
      [row('a', 'done'), row('b', 'done', { records: 12, events: 10, recordsQuarantined: 2 }), row('c', 'expired', { lastError: 'AF20051' }), row('d', 'listed'), row('e', 'done', { foundBy: 'message' })],
      now,
      audit,
    );
    expect(h10!.account).toEqual({
      hour: '2026-11-24T10', listed: 4, ledger: 5, done: 3, expired: 1, missing: 0, failed: 0, poisoned: 0, pending: 1, unknown: 0,
      records: 32, events: 30, quarantined: 2, awaitingInsert: 0, notInLedger: 0, pastHorizon: 0, countMismatch: 0, holds: true,
    });
    expect(h10!.examples).toEqual([]);
    expect(h11!.account).toMatchObject({ hour: '2026-11-24T11', listed: 0, ledger: 0, holds: true });
  });

  it('fails on a listed blob the ledger lacks and names it; a listing younger than the grace is only awaiting its insert', () => {
    const [h] = checkHours(['2026-11-24T10'], [fact('a'), fact('gone'), fact('fresh', { listedAt: iso(now - 2 * MINUTE_MS) })], [row('a', 'done')], now, audit);
    expect(h!.account).toMatchObject({ listed: 3, ledger: 1, notInLedger: 1, awaitingInsert: 1, holds: false });
    expect(h!.examples).toEqual([{ hour: '2026-11-24T10', contentId: 'gone', problem: 'notInLedger', detail: 'listed by poll at 2026-11-24T10:40:00.000Z, no ledger row' }]);
  });

  it('takes the newest listing of a blob listed twice (a poll, then a sweep) for the grace', () => {
    const [h] = checkHours(['2026-11-24T10'], [fact('x'), fact('x', { listedAt: iso(now - MINUTE_MS), by: 'sweep' })], [], now, audit);
    expect(h!.account).toMatchObject({ listed: 1, awaitingInsert: 1, notInLedger: 0, holds: true });
  });

  it('fails on a done row whose acknowledged events fall short of its records, and on one without counts', () => {
    const [h] = checkHours(['2026-11-24T10'], [], [row('short', 'done', { records: 40, events: 20 }), row('uncounted', 'done', { records: undefined, events: undefined })], now, audit);
    expect(h!.account).toMatchObject({ done: 2, records: 40, events: 20, countMismatch: 2, holds: false });
    expect(h!.examples.map((v) => [v.contentId, v.detail])).toEqual([
      ['short', 'records 40 ≠ events 20 + quarantined 0'],
      ['uncounted', 'done without a records count'],
    ]);
  });

  it('allows pending rows only inside their retry horizon', () => {
    const expired = iso(now - 2 * HOUR_MS);
    const [h] = checkHours(
      ['2026-11-24T10'],
      [],
      [row('retrying', 'listed', { contentExpiration: iso(now + DAY_MS) }), row('leased', 'delivering', { contentExpiration: iso(now - 30 * MINUTE_MS) }), row('late', 'listed', { contentExpiration: expired })],
      now,
      audit,
    );
    expect(h!.account).toMatchObject({ pending: 3, pastHorizon: 1, holds: false });
    expect(h!.examples).toEqual([{ hour: '2026-11-24T10', contentId: 'late', problem: 'pastHorizon', detail: `listed although its content expired at ${expired}` }]);
  });

  it('fails on a row whose status is none of the ledger statuses (ledger ≠ done + … + pending)', () => {
    const [h] = checkHours(['2026-11-24T10'], [], [row('odd', 'done', { status: 'archived' as LedgerStatus })], now, audit);
    expect(h!.account).toMatchObject({ ledger: 1, done: 0, unknown: 1, holds: false });
    const a = h!.account;
    expect(a.ledger).toBe(a.done + a.expired + a.missing + a.failed + a.poisoned + a.pending + a.unknown);
  });

  it('counts Defender XDR page rows as their own listing', () => {
    const [h] = checkHours(['2026-11-24T10'], [fact('ignored')], [row('p1', 'done', { contentExpiration: '' }), row('p2', 'done', { contentExpiration: '' })], now, { ...audit, listingFacts: false });
    expect(h!.account).toMatchObject({ listed: 2, ledger: 2, done: 2, notInLedger: 0, holds: true });
  });

  it('keeps at most the given number of named violations per hour, and counts them all', () => {
    const facts = Array.from({ length: 9 }, (_, i) => fact(`lost-${i}`));
    const [h] = checkHours(['2026-11-24T10'], facts, [], now, { ...audit, examplesPerHour: 3 });
    expect(h!.account.notInLedger).toBe(9);
    expect(h!.examples).toHaveLength(3);
  });
});

describe('invariantState', () => {
  const summary = (hour: string, patch: Partial<HourSummary> = {}): HourSummary => ({
    hour, listed: 2, ledger: 2, done: 2, expired: 0, missing: 0, failed: 0, poisoned: 0, pending: 0, unknown: 0, records: 20, events: 20, quarantined: 0,
    awaitingInsert: 0, notInLedger: 0, pastHorizon: 0, countMismatch: 0, holds: true, computedAt: iso(now - DAY_MS), final: true, examples: [], ...patch,
  });

  it('covers the hours read now and the summarized hours before them; an hour read now wins over its summary', () => {
    const checked = checkHours(['2026-11-24T10'], [fact('a')], [row('a', 'done')], now, audit);
    const state = invariantState(checked, [summary('2026-11-01T00'), summary('2026-11-24T10', { notInLedger: 1, holds: false })]);
    expect(state).toMatchObject({ holds: true, from: '2026-11-01T00', to: '2026-11-24T10', hoursRead: 1, hoursSummarized: 1, violations: 0, listed: 3, ledger: 3, records: 30, events: 30 });
    expect(describeInvariant(state)).toBe('holds over 2 h (3 listed, 3 in the ledger, 30 records = 30 events + 0 quarantined)');
  });

  it('keeps a violation found in an hour that is now known only from its summary', () => {
    const example = { hour: '2026-11-01T00', contentId: 'lost', problem: 'notInLedger' as const, detail: 'x' };
    const state = invariantState([], [summary('2026-11-01T00', { notInLedger: 1, holds: false, examples: [example] }), summary('2026-11-01T01', { countMismatch: 2, holds: false })]);
    expect(state).toMatchObject({ holds: false, violations: 3, byProblem: { notInLedger: 1, countMismatch: 2 }, violatingHours: ['2026-11-01T00', '2026-11-01T01'], examples: [example] });
    expect(describeInvariant(state)).toBe('violated: 3 blobs (1 listed but not in the ledger, 2 done with events short of records)');
  });
});
