import { describe, expect, it } from 'vitest';
import { freshTable } from '../setup.js';
import { TableLedger } from '../../../shared/adapters/storage/tableLedger.js';
import { TableListingLog } from '../../../shared/adapters/storage/tableStreamStores.js';
import { TableSummaryStore } from '../../../shared/adapters/storage/tableSummaryStore.js';
import type { SecurityStreamKey, StreamKey } from '../../../shared/core/model.js';
import type { HourSummary } from '../../../shared/core/accounting.js';
import type { LedgerEntry, ListingFact } from '../../../shared/core/ledger.js';

const stream: StreamKey = { tenantId: '45454545-4545-4545-8545-454545454545', contentType: 'Audit.General' };
const security: SecurityStreamKey = { tenantId: stream.tenantId, contentType: 'DefenderXDR.Alerts' };

function summary(hour: string, patch: Partial<HourSummary> = {}): HourSummary {
  return {
    hour, listed: 3, ledger: 3, done: 2, expired: 0, missing: 0, failed: 0, poisoned: 0, pending: 1, unknown: 0, records: 20, events: 18, quarantined: 2,
    awaitingInsert: 0, notInLedger: 0, pastHorizon: 0, countMismatch: 0, holds: true, computedAt: '2026-11-24T12:00:00.000Z', final: false, examples: [], ...patch,
  };
}

describe('TableSummaryStore on Azurite', () => {
  it('writes summaries in batches over 100, reads an hour range, keeps progress apart, and deletes old hours', async () => {
    const store = new TableSummaryStore(await freshTable('summaries'));
    const hours = Array.from({ length: 130 }, (_, i) => new Date(Date.UTC(2026, 10, 1) + i * 3_600_000).toISOString().slice(0, 13));
    const violated = summary(hours[5]!, { notInLedger: 1, holds: false, final: true, examples: [{ hour: hours[5]!, contentId: 'lost$x', problem: 'notInLedger', detail: 'listed by poll, no ledger row' }] });
    await store.write(stream, hours.map((h, i) => (i === 5 ? violated : summary(h))));
    await store.write(security, [summary(hours[0]!, { listed: 9 })]);
    await store.writeProgress(stream, { finalizedFrom: hours[0], finalizedThrough: hours[10], recountNext: hours[20] });

    const all = await store.range(stream, '0000', '9999');
    expect(all).toHaveLength(130);
    expect(all[5]).toEqual(violated);
    expect(all[6]).toEqual(summary(hours[6]!));
    expect((await store.range(stream, hours[3]!, hours[7]!)).map((s) => s.hour)).toEqual(hours.slice(3, 7));
    expect(await store.range(security, '0000', '9999')).toMatchObject([{ hour: hours[0], listed: 9 }]);
    expect(await store.progress(stream)).toEqual({ finalizedFrom: hours[0], finalizedThrough: hours[10], purgedThrough: undefined, recountNext: hours[20] });
    expect(await store.progress(security)).toEqual({});

    await store.deleteBefore(stream, hours[120]!);
    expect((await store.range(stream, '0000', '9999')).map((s) => s.hour)).toEqual(hours.slice(120));
    expect(await store.progress(stream)).toMatchObject({ finalizedThrough: hours[10] });
  });
});

describe('TableListingLog.range and TableLedger.forget in bulk on Azurite', () => {
  it('reads the facts of an hour range in one query, other streams and hours left out', async () => {
    const log = new TableListingLog(await freshTable('listings'));
    const fact = (id: string, created: string): ListingFact => ({ contentId: id, contentCreated: created, listedAt: '2026-11-20T13:00:00.000Z', by: 'poll' });
    await log.record(stream, [fact('a', '2026-11-20T09:59:59.000Z'), fact('b', '2026-11-20T10:00:00.000Z'), fact('c', '2026-11-20T11:30:00.000Z'), fact('d', '2026-11-20T12:00:00.000Z')]);
    await log.record({ ...stream, contentType: 'Audit.Exchange' }, [fact('other', '2026-11-20T10:30:00.000Z')]);
    const got: string[] = [];
    for await (const f of log.range(stream, '2026-11-20T10', '2026-11-20T12')) got.push(f.contentId);
    expect(got.sort()).toEqual(['b', 'c']);
  });

  it('deletes hundreds of rows of a stream in transactions, rows already gone included', async () => {
    const ledger = new TableLedger(await freshTable('ledger'));
    const entry = (i: number): LedgerEntry => ({
      ...stream, contentId: `row-${i}`, contentUri: 'u', contentCreated: '2026-10-01T10:00:00.000Z', contentExpiration: '2026-10-08T10:00:00.000Z', listedAt: '2026-10-01T10:20:00.000Z', status: 'done', records: 1, events: 1,
    });
    await ledger.insertIfAbsent(Array.from({ length: 250 }, (_, i) => entry(i)));
    await ledger.forget(stream, ['row-7']);
    await ledger.forget(stream, [...Array.from({ length: 240 }, (_, i) => `row-${i}`), 'row-3', 'never-existed']);
    const left: string[] = [];
    for await (const r of ledger.query(stream, {})) left.push(r.contentId);
    expect(left.sort()).toEqual(Array.from({ length: 10 }, (_, i) => `row-${240 + i}`).sort());
  });
});
