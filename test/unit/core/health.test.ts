import { describe, expect, it } from 'vitest';
import { accountHours, streamHealth, unexplained } from '../../../shared/core/health.js';
import type { CursorState, LedgerEntry, LedgerStatus } from '../../../shared/ports.js';

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
});
const healthy: CursorState = { subscription: 'enabled', consecutiveFailures: 0, gapCount: 0, gapTotalMs: 0, cursor: '2026-11-24T11:50:00.000Z', lastSuccessAt: '2026-11-24T11:55:00.000Z' };

describe('accountHours', () => {
  it('accounts every listed blob per hour: done, each reason, or pending', () => {
    const hours = accountHours([
      entry('done', '2026-11-24T10:05:00.000Z'),
      entry('done', '2026-11-24T10:59:59.999Z'),
      entry('expired', '2026-11-24T10:30:00.000Z', 'AF20051'),
      entry('listed', '2026-11-24T11:00:00.000Z'),
      entry('poisoned', '2026-11-24T11:10:00.000Z', 'retries exhausted'),
    ]);
    expect(hours).toEqual([
      { hour: '2026-11-24T10', listed: 3, done: 2, expired: 1, missing: 0, failed: 0, poisoned: 0, pending: 0 },
      { hour: '2026-11-24T11', listed: 2, done: 0, expired: 0, missing: 0, failed: 0, poisoned: 1, pending: 1 },
    ]);
    for (const h of hours) expect(h.listed).toBe(h.done + h.expired + h.missing + h.failed + h.poisoned + h.pending);
  });

  it('counts final rows that lack a reason', () => {
    expect(unexplained([entry('failed', '2026-11-24T10:00:00.000Z'), entry('failed', '2026-11-24T10:00:00.000Z', 'x'), entry('done', '2026-11-24T10:00:00.000Z')])).toBe(1);
  });
});

describe('streamHealth', () => {
  const base = { tenantId: 't', contentType: 'Audit.Exchange', now, stuck: 0, expiringSoon: 0 };

  it('is ok when listing is current and everything was delivered, with lags', () => {
    const h = streamHealth({ ...base, cursor: healthy, entries: [entry('done', '2026-11-24T11:00:00.000Z')] });
    expect(h).toMatchObject({ state: 'ok', reasons: [], listingLagMinutes: 10, deliveryLagMinutes: 60, counts: { done: 1, listed: 0 } });
  });

  it('is starting before the first successful poll', () => {
    expect(streamHealth({ ...base, entries: [] }).state).toBe('starting');
  });

  it('is degraded by a failed poll, stuck or expiring blobs, and failures', () => {
    expect(streamHealth({ ...base, cursor: { ...healthy, consecutiveFailures: 1, lastErrorCode: 'Throttled/AF429' }, entries: [] })).toMatchObject({ state: 'degraded', reasons: ['last poll failed (Throttled/AF429)'] });
    expect(streamHealth({ ...base, cursor: healthy, entries: [], stuck: 2 }).reasons).toEqual(['2 blobs stuck and re-enqueued']);
    expect(streamHealth({ ...base, cursor: healthy, entries: [], expiringSoon: 1 }).state).toBe('degraded');
    expect(streamHealth({ ...base, cursor: healthy, entries: [entry('poisoned', '2026-11-24T10:00:00.000Z', 'x')] }).state).toBe('degraded');
  });

  it('is failing after repeated failures, a disabled subscription, a day of listing lag, or an unexplained row', () => {
    expect(streamHealth({ ...base, cursor: { ...healthy, consecutiveFailures: 3, lastErrorCode: 'AuditingDisabled/AF20011' }, entries: [] }).reasons).toEqual(['3 polls failed in a row (AuditingDisabled/AF20011)']);
    expect(streamHealth({ ...base, cursor: { ...healthy, subscription: 'disabled' }, entries: [] }).state).toBe('failing');
    expect(streamHealth({ ...base, cursor: { ...healthy, cursor: '2026-11-23T10:00:00.000Z' }, entries: [] }).reasons).toEqual(['listing is 26 h behind']);
    expect(streamHealth({ ...base, cursor: healthy, entries: [entry('failed', '2026-11-24T10:00:00.000Z')] }).state).toBe('failing');
  });
});
