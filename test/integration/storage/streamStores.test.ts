import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { azuriteStorage, freshTable } from '../setup.js';
import { StorageQueueContentQueue } from '../../../shared/adapters/storage/storageQueueContentQueue.js';
import { TableLedger } from '../../../shared/adapters/storage/tableLedger.js';
import { TableGapStore, TableListingLog, TableSweepStore } from '../../../shared/adapters/storage/tableStreamStores.js';
import type { StreamKey } from '../../../shared/core/model.js';
import type { LedgerEntry, ListingFact } from '../../../shared/core/ledger.js';

const storage = azuriteStorage();

const stream: StreamKey = { tenantId: '44444444-4444-4444-8444-444444444444', contentType: 'Audit.Exchange' };

describe('TableListingLog on Azurite', () => {
  it('keeps one fact per contentId and hour across repeated listings, in batches over 100, and deletes an hour', async () => {
    const log = new TableListingLog(await freshTable('listings'));
    const fact = (i: number, hour: number): ListingFact => ({
      contentId: `id${i}$a$audit_exchange$Audit_Exchange$na01`,
      contentCreated: new Date(Date.UTC(2026, 10, 20, hour, i % 60)).toISOString(),
      listedAt: '2026-11-20T13:00:00.000Z',
      by: 'poll',
    });
    const facts = [...Array.from({ length: 150 }, (_, i) => fact(i, 10)), ...Array.from({ length: 5 }, (_, i) => fact(i, 11))];
    await log.record(stream, facts);
    await log.record(stream, facts.slice(0, 20).map((f) => ({ ...f, by: 'sweep' as const })));
    const hour10: ListingFact[] = [];
    for await (const f of log.hour(stream, '2026-11-20T10')) hour10.push(f);
    expect(hour10).toHaveLength(150);
    expect(hour10.filter((f) => f.by === 'sweep')).toHaveLength(20);
    await log.deleteHour(stream, '2026-11-20T10');
    const after: ListingFact[] = [];
    for await (const f of log.hour(stream, '2026-11-20T10')) after.push(f);
    expect(after).toEqual([]);
    const hour11: ListingFact[] = [];
    for await (const f of log.hour(stream, '2026-11-20T11')) hour11.push(f);
    expect(hour11).toHaveLength(5);
  });
});

describe('TableGapStore and TableSweepStore on Azurite', () => {
  it('records, lists, replaces and removes gaps with their heal state', async () => {
    const gaps = new TableGapStore(await freshTable('gaps'));
    const gap = { ...stream, start: '2026-11-10T00:00:00.000Z', end: '2026-11-12T00:00:00.000Z', cause: 'retention' as const, recordedAt: '2026-11-19T00:00:00.000Z' };
    await gaps.record(gap);
    await gaps.record({ ...gap, start: '2026-11-01T00:00:00.000Z', end: '2026-11-02T00:00:00.000Z', cause: 'subscriptionDisabled', provisional: true });
    expect((await gaps.list(stream)).map((g) => g.start)).toEqual(['2026-11-01T00:00:00.000Z', '2026-11-10T00:00:00.000Z']);
    const heal = { state: 'healed' as const, updatedAt: '2026-11-19T01:00:00.000Z', queries: [{ id: 'q1', from: gap.start, to: gap.end, state: 'succeeded', records: 7 }], recordsFound: 7, recordsDelivered: 7 };
    await gaps.record({ ...gap, heal });
    expect((await gaps.list(stream))[1]).toEqual({ ...gap, heal });
    expect((await gaps.listAll()).length).toBe(2);
    await gaps.remove(stream, '2026-11-01T00:00:00.000Z');
    await gaps.remove(stream, '2026-11-01T00:00:00.000Z');
    expect((await gaps.list(stream)).map((g) => g.start)).toEqual([gap.start]);
  });

  it('reads back the sweep state it wrote', async () => {
    const sweeps = new TableSweepStore(await freshTable('sweeps'));
    expect(await sweeps.read(stream)).toBeUndefined();
    const state = { lastSweepAt: '2026-11-20T12:30:00.000Z', lastOutcome: 'complete' as const, windows: 8, blobsListed: 2000, blobsFound: 2, apiCalls: 30, tableOps: 9, durationMs: 1200, lateness: [[Date.UTC(2026, 10, 20, 12, 30), 6 * 3_600_000]] as const };
    await sweeps.write(stream, state);
    expect(await sweeps.read(stream)).toEqual(state);
  });
});

describe('TableLedger conditional replace on Azurite', () => {
  it('replaces only with the ETag it read, and removes absent fields', async () => {
    const ledger = new TableLedger(await freshTable('ledger'));
    const row: LedgerEntry = {
      ...stream,
      contentId: 'c1',
      contentUri: 'https://manage.office.com/x',
      contentCreated: '2026-11-20T10:00:00.000Z',
      contentExpiration: '2026-11-27T10:00:00.000Z',
      listedAt: '2026-11-20T10:20:00.000Z',
      status: 'listed',
      lastError: 'old',
    };
    await ledger.insertIfAbsent([row]);
    const read = (await ledger.read(stream, 'c1'))!;
    const { lastError: _dropped, ...rest } = read.entry;
    const etag = await ledger.replaceIf({ ...rest, status: 'delivering', leaseOwner: 'w1', leaseUntil: '2026-11-20T10:25:00.000Z' }, read.etag);
    expect(etag).toBeDefined();
    expect(await ledger.replaceIf({ ...read.entry, status: 'delivering', leaseOwner: 'w2' }, read.etag)).toBeUndefined();
    const now = (await ledger.get(stream, 'c1'))!;
    expect(now).toMatchObject({ status: 'delivering', leaseOwner: 'w1', leaseUntil: '2026-11-20T10:25:00.000Z' });
    expect(now.lastError).toBeUndefined();
  });
});

describe('StorageQueueContentQueue on Azurite', () => {
  it('keeps a delayed message invisible and counts it in the depth', async () => {
    const client = storage.queue(`q${randomUUID().slice(0, 8)}`);
    await client.createIfNotExists();
    const queue = new StorageQueueContentQueue(client);
    const message = { v: 1 as const, tenantId: stream.tenantId, contentType: stream.contentType, contentId: 'c1', contentUri: 'https://manage.office.com/x', contentCreated: '2026-11-20T10:00:00.000Z', contentExpiration: '2026-11-27T10:00:00.000Z', listedAt: '2026-11-20T10:20:00.000Z' };
    await queue.enqueue([message], { visibilityDelayInMs: 60_000 });
    await queue.enqueue([{ ...message, contentId: 'c2' }]);
    expect(await queue.approximateDepth()).toBe(2);
    const { receivedMessageItems } = await client.receiveMessages({ numberOfMessages: 32 });
    expect(receivedMessageItems).toHaveLength(1);
  });
});
