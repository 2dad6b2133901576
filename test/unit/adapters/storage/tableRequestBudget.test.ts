import { describe, expect, it } from 'vitest';
import { TableRequestBudget } from '../../../../shared/adapters/storage/tableRequestBudget.js';
import { TransientError } from '../../../../shared/core/errors.js';
import { MemoryTableRows } from '../../../fakes/tableRows.js';

const TENANT = '33333333-3333-4333-8333-333333333333';
const T0 = Date.UTC(2026, 10, 24, 10, 0, 5); // 5 s into the window 10:00:00–10:00:30
const noWait = async () => {};

describe('TableRequestBudget (block accounting on the SDK-facing table calls)', () => {
  it('hands out blocks of a 30-second window until its capacity, then nothing until the next window', async () => {
    const rows = new MemoryTableRows();
    const budget = new TableRequestBudget(rows, { now: () => T0 });
    const grants: number[] = [];
    for (let i = 0; i < 40; i++) grants.push((await budget.claim(TENANT, 25)).granted);
    expect(grants.slice(0, 36)).toEqual(Array(36).fill(25));
    expect(grants.slice(36)).toEqual([0, 0, 0, 0]);
    expect(rows.partition(TENANT)).toEqual([expect.objectContaining({ rowKey: '2026-11-24T10:00:00.000Z', used: 900 })]);
    const windowEnd = Date.UTC(2026, 10, 24, 10, 0, 30);
    expect(await budget.claim(TENANT, 25)).toEqual({ granted: 0, windowStart: Date.UTC(2026, 10, 24, 10, 0, 0), windowEnd, retryAt: windowEnd });
  });

  it('grants what is left when a block does not fit, and never more than asked', async () => {
    const rows = new MemoryTableRows();
    const budget = new TableRequestBudget(rows, { now: () => T0, capacity: 60 });
    const grants = [];
    for (let i = 0; i < 4; i++) grants.push((await budget.claim(TENANT, 25)).granted);
    expect(grants).toEqual([25, 25, 10, 0]);
    expect(rows.partition(TENANT)[0]).toMatchObject({ used: 60 });
  });

  it('never lets racing processes together exceed the capacity: conflicts re-read and retry', async () => {
    const rows = new MemoryTableRows();
    // 50 processes, each with its own budget object over the same table, claiming as fast as they can.
    const processes = Array.from({ length: 50 }, () => new TableRequestBudget(rows, { now: () => T0, sleep: noWait }));
    const granted = await Promise.all(
      processes.map(async (budget) => {
        let total = 0;
        for (;;) {
          const claim = await budget.claim(TENANT, 25);
          if (claim.granted === 0 && claim.retryAt >= claim.windowEnd) return total; // spent (not just a lost race)
          total += claim.granted;
        }
      }),
    );
    const sum = granted.reduce((a, b) => a + b, 0);
    expect(sum).toBe(900);
    expect(rows.partition(TENANT)).toEqual([expect.objectContaining({ used: 900 })]);
    expect(rows.calls.conflicts).toBeGreaterThan(0); // the races really happened (409 on create, 412 on update)
  });

  it('keeps the current and the previous window: creating a window deletes older rows', async () => {
    const rows = new MemoryTableRows();
    let now = T0;
    const budget = new TableRequestBudget(rows, { now: () => now });
    const keys = () => rows.partition(TENANT).map((r) => r.rowKey);
    await budget.claim(TENANT, 25);
    now += 30_000;
    await budget.claim(TENANT, 25);
    expect(keys()).toEqual(['2026-11-24T10:00:00.000Z', '2026-11-24T10:00:30.000Z']);
    now += 30_000;
    await budget.claim(TENANT, 25);
    expect(keys()).toEqual(['2026-11-24T10:00:30.000Z', '2026-11-24T10:01:00.000Z']);
    // After a quiet spell, the first claim removes every row left behind.
    now += 10 * 60_000;
    await budget.claim(TENANT, 25);
    expect(keys()).toEqual(['2026-11-24T10:11:00.000Z']);
    // Other tenants' rows are not touched.
    await budget.claim('44444444-4444-4444-8444-444444444444', 5);
    expect(rows.partition('44444444-4444-4444-8444-444444444444')).toHaveLength(1);
    expect(keys()).toEqual(['2026-11-24T10:11:00.000Z']);
  });

  it('costs a read and a write per block when nobody races', async () => {
    const rows = new MemoryTableRows();
    const budget = new TableRequestBudget(rows, { now: () => T0 });
    for (let i = 0; i < 10; i++) await budget.claim(TENANT, 25);
    expect(rows.calls).toMatchObject({ get: 10, create: 1, update: 9, conflicts: 0 });
  });

  it('fails with a transient storage error when the table cannot be reached', async () => {
    const rows = new MemoryTableRows();
    rows.unreachable = true;
    const budget = new TableRequestBudget(rows, { now: () => T0 });
    await expect(budget.claim(TENANT, 25)).rejects.toBeInstanceOf(TransientError);
  });

  it('rejects settings that would let a window exceed the budget it is for', () => {
    const rows = new MemoryTableRows();
    expect(() => new TableRequestBudget(rows, { capacity: 0 })).toThrow(RangeError);
    expect(() => new TableRequestBudget(rows, { windowInMs: 0 })).toThrow(RangeError);
    expect(() => new TableRequestBudget(rows, { keepWindows: 1 })).toThrow(RangeError);
  });
});
