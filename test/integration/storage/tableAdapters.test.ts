import { describe, expect, it } from 'vitest';
import { freshTable } from '../setup.js';
import { TableCursorStore } from '../../../shared/adapters/storage/tableCursorStore.js';
import { TableLedger } from '../../../shared/adapters/storage/tableLedger.js';
import type { StreamKey } from '../../../shared/core/model.js';
import type { LedgerEntry } from '../../../shared/core/ledger.js';

const stream: StreamKey = { tenantId: '33333333-3333-4333-8333-333333333333', contentType: 'DLP.All' };
const entry = (contentId: string): LedgerEntry => ({
  tenantId: stream.tenantId,
  contentType: stream.contentType,
  contentId,
  contentUri: `https://manage.office.com/api/v1.0/${stream.tenantId}/activity/feed/audit/${contentId}`,
  contentCreated: '2026-11-24T10:00:00.000Z',
  contentExpiration: '2026-12-01T10:00:00.000Z',
  listedAt: '2026-11-24T10:20:00.000Z',
  status: 'listed',
  attempts: 0,
});

describe('TableLedger on Azurite', () => {
  it('inserts only absent rows, also when two pollers race on the same blobs', async () => {
    const ledger = new TableLedger(await freshTable('ledger'));
    const ids = Array.from({ length: 40 }, (_, i) => `20261124100000000000${i}$x$dlp_all$DLP_All$na01`);
    const first = await ledger.insertIfAbsent(ids.slice(0, 10).map(entry));
    expect(first).toHaveLength(10);
    const [a, b] = await Promise.all([ledger.insertIfAbsent(ids.map(entry)), ledger.insertIfAbsent(ids.map(entry))]);
    // Every new blob is claimed by exactly one of the two pollers.
    const claimed = [...a, ...b].map((e) => e.contentId).sort();
    expect(claimed).toEqual(ids.slice(10).sort());
  });

  it('round-trips every field, marks enqueued, and forgets', async () => {
    const ledger = new TableLedger(await freshTable('ledger'));
    const id = '20261124100000000000$y$dlp_all$DLP_All$na01';
    await ledger.insertIfAbsent([entry(id)]);
    await ledger.markEnqueued(stream, [id], '2026-11-24T10:20:01.000Z');
    expect(await ledger.get(stream, id)).toEqual({ ...entry(id), enqueuedAt: '2026-11-24T10:20:01.000Z' });
    await ledger.forget(stream, [id, 'never-existed']);
    expect(await ledger.get(stream, id)).toBeUndefined();
  });
});

describe('TableCursorStore on Azurite', () => {
  const state = { subscription: 'enabled' as const, consecutiveFailures: 0, gapCount: 0, gapTotalMs: 0, cursor: '2026-11-24T10:00:00.000Z', lastError: 'x' };

  it('creates once, then writes only with the current ETag', async () => {
    const cursors = new TableCursorStore(await freshTable('cursors'));
    expect(await cursors.read(stream)).toBeUndefined();
    const etag1 = await cursors.write(stream, state, undefined);
    expect(etag1).toBeTruthy();
    // A second creator loses.
    expect(await cursors.write(stream, state, undefined)).toBeUndefined();
    const etag2 = await cursors.write(stream, { ...state, cursor: '2026-11-24T11:00:00.000Z', lastError: undefined }, etag1);
    expect(etag2).toBeTruthy();
    // A writer holding the old ETag loses and changes nothing.
    expect(await cursors.write(stream, { ...state, cursor: '1999-01-01T00:00:00.000Z' }, etag1)).toBeUndefined();
    const read = await cursors.read(stream);
    expect(read?.etag).toBe(etag2);
    expect(read?.state).toMatchObject({ cursor: '2026-11-24T11:00:00.000Z', subscription: 'enabled' });
    expect(read?.state.lastError).toBeUndefined(); // replaced, not merged
  });

  it('keeps the onboarding and Defender fields: intended start, enabled and disabled times, coverage start, recent revisions', async () => {
    const cursors = new TableCursorStore(await freshTable('cursors'));
    const full = {
      ...state,
      intendedStart: '2026-11-23T10:00:00.000Z',
      enabledAt: '2026-11-24T09:00:00.000Z',
      disabledSince: '2026-11-24T08:00:00.000Z',
      coverageStart: '2026-11-23T10:00:00.000Z',
      recentRevisions: 'abc,def',
    };
    await cursors.write(stream, full, undefined);
    expect((await cursors.read(stream))?.state).toEqual({ ...full, lastStartAt: undefined, lastRunAt: undefined, lastSuccessAt: undefined, lastErrorCode: undefined, lastErrorAt: undefined, lastGapStart: undefined, lastGapEnd: undefined });
  });
});
