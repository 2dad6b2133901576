import { randomUUID } from 'node:crypto';
import { describe, expect, inject, it } from 'vitest';
import { StorageClients } from '../../../shared/adapters/storage/clients.js';
import { TableGapStore } from '../../../shared/adapters/storage/tableStreamStores.js';
import type { StreamKey } from '../../../shared/core/model.js';
import type { GapHeal, GapRecord } from '../../../shared/core/gaps.js';

const storage = new StorageClients({ connectionString: inject('azuriteConnectionString') });
const stream: StreamKey = { tenantId: '55555555-5555-4555-8555-555555555555', contentType: 'Audit.Exchange' };

describe('TableGapStore.updateHeal on Azurite', () => {
  it('replaces only the heal column of an existing gap, and reports a gap that is gone', async () => {
    const table = storage.table(`gaps${randomUUID().replaceAll('-', '').slice(0, 12)}`);
    await table.createTable();
    const gaps = new TableGapStore(table);
    const gap: GapRecord = { ...stream, start: '2026-11-10T00:00:00.000Z', end: '2026-11-12T00:00:00.000Z', cause: 'retention', recordedAt: '2026-11-20T12:00:00.000Z', provisional: true };
    await gaps.record(gap);
    const heal: GapHeal = {
      state: 'running', updatedAt: '2026-11-20T12:05:00.000Z', recordsFound: 3, recordsDelivered: 3, splits: 1,
      queries: [{ id: 'q1', from: '2026-11-09T00:00:00.000Z', to: '2026-11-12T00:00:00.000Z', state: 'succeeded', next: 'https://graph.microsoft.com/v1.0/security/auditLog/queries/q1/records?$skiptoken=x', delivered: 3 }],
    };
    expect(await gaps.updateHeal(stream, gap.start, heal)).toBe(true);
    const [read] = await gaps.list(stream);
    expect(read).toEqual({ ...gap, heal });
    expect(await gaps.updateHeal(stream, '2026-01-01T00:00:00.000Z', heal)).toBe(false);
    expect(await gaps.list(stream)).toHaveLength(1);
  });

  it('keeps a heal state larger than one table property (hundreds of queries with their next links)', async () => {
    const table = storage.table(`gaps${randomUUID().replaceAll('-', '').slice(0, 12)}`);
    await table.createTable();
    const gaps = new TableGapStore(table);
    const gap: GapRecord = { ...stream, start: '2026-11-01T00:00:00.000Z', end: '2026-11-10T00:00:00.000Z', cause: 'retention', recordedAt: '2026-11-20T12:00:00.000Z' };
    await gaps.record(gap);
    const query = (i: number) => ({
      id: randomUUID(), from: new Date(Date.parse(gap.start) + i * 1_800_000).toISOString(), to: new Date(Date.parse(gap.start) + (i + 1) * 1_800_000).toISOString(),
      state: 'running' as const, next: `https://graph.microsoft.com/v1.0/security/auditLog/queries/${i}/records?$skiptoken=${'x'.repeat(200)}`, delivered: i,
    });
    const big: GapHeal = { state: 'running', updatedAt: '2026-11-20T12:05:00.000Z', recordsFound: 0, recordsDelivered: 0, splits: 0, queries: Array.from({ length: 400 }, (_, i) => query(i)) };
    expect(JSON.stringify(big).length).toBeGreaterThan(100_000);
    expect(await gaps.updateHeal(stream, gap.start, big)).toBe(true);
    expect((await gaps.list(stream))[0]!.heal).toEqual(big);
    // A smaller state written after a larger one reads back as itself, not with the old tail.
    const small: GapHeal = { ...big, state: 'healed', queries: big.queries.slice(0, 3) };
    expect(await gaps.updateHeal(stream, gap.start, small)).toBe(true);
    expect((await gaps.list(stream))[0]!.heal).toEqual(small);
  });
});
