import { randomUUID } from 'node:crypto';
import { describe, expect, inject, it } from 'vitest';
import { SharedBudgetLimiter } from '../../../shared/adapters/http/sharedBudgetLimiter.js';
import { StorageClients, TABLES } from '../../../shared/adapters/storage/clients.js';
import { TableRequestBudget } from '../../../shared/adapters/storage/tableRequestBudget.js';
import type { Logger } from '../../../shared/ports.js';
import { newTenantId, startHarness } from '../harness.js';

const connectionString = inject('azuriteConnectionString');
const TENANT = '55555555-5555-4555-8555-555555555555';
/** So fast locally that only the shared budget holds the processes back. */
const UNBOUNDED = { requestsPerMinute: 600_000, burst: 1000 } as const;

const tableName = () => `budgets${randomUUID().replaceAll('-', '').slice(0, 12)}`;
/** Each simulated process gets its own StorageClients, so its own TableClient and connection pool. */
const tableFor = (name: string) => new StorageClients({ connectionString }).table(name);
const sleepUntil = (t: number) => new Promise((r) => setTimeout(r, Math.max(0, t - Date.now())));

describe('Shared request budget on Azurite', () => {
  it('four processes acquiring at once for one tenant never exceed a window\'s capacity, counted from the rows and from the acquisitions', async () => {
    const name = tableName();
    await tableFor(name).createTable();
    const windowMs = 1000;
    const capacity = 40;
    const limiters = Array.from(
      { length: 4 },
      () =>
        new SharedBudgetLimiter({
          ...UNBOUNDED,
          tenantId: TENANT,
          budget: new TableRequestBudget(tableFor(name), { windowInMs: windowMs, capacity, keepWindows: 100 }),
          blockSize: 5,
          endMarginInMs: 100,
          jitterInMs: 50,
        }),
    );
    const windowOf = (t: number) => Math.floor(t / windowMs) * windowMs;
    const first = windowOf(Date.now()) + windowMs;
    const end = first + 3 * windowMs;
    await sleepUntil(first);
    const perWindow = new Map<number, number>();
    await Promise.all(
      limiters.flatMap((limiter) =>
        Array.from({ length: 6 }, async () => {
          for (;;) {
            await limiter.acquire();
            const now = Date.now();
            if (now >= end) return;
            perWindow.set(windowOf(now), (perWindow.get(windowOf(now)) ?? 0) + 1);
          }
        }),
      ),
    );

    const rows = new Map<number, number>();
    for await (const row of tableFor(name).listEntities<{ used: number }>({ queryOptions: { filter: `PartitionKey eq '${TENANT}'` } })) {
      rows.set(Date.parse(row.rowKey!), row.used);
    }
    const windows = [first, first + windowMs, first + 2 * windowMs];
    for (const w of windows) {
      const acquired = perWindow.get(w) ?? 0;
      expect(rows.get(w), new Date(w).toISOString()).toBeLessThanOrEqual(capacity);
      expect(acquired).toBeLessThanOrEqual(rows.get(w)!);
      expect(acquired).toBeLessThanOrEqual(capacity);
    }
    // Every row, including the next window's the workers reached on the way out, stays within capacity.
    expect([...rows.values()].every((used) => used <= capacity)).toBe(true);
    // The budget was the limit, not the workers: each window was spent, less at most a block's remainder per process.
    for (const w of windows) expect(perWindow.get(w)).toBeGreaterThanOrEqual(capacity - 4 * 4);
  });

  it('keeps the table small: each new window deletes rows older than the previous one', async () => {
    const name = tableName();
    await tableFor(name).createTable();
    const windowMs = 300;
    const budget = new TableRequestBudget(tableFor(name), { windowInMs: windowMs, capacity: 10 });
    for (let i = 0; i < 4; i++) {
      await budget.claim(TENANT, 5);
      await sleepUntil(Math.floor(Date.now() / windowMs) * windowMs + windowMs);
    }
    await budget.claim(TENANT, 5);
    const keys: string[] = [];
    for await (const row of tableFor(name).listEntities({ queryOptions: { filter: `PartitionKey eq '${TENANT}'` } })) keys.push(row.rowKey!);
    expect(keys.length).toBeLessThanOrEqual(2);
    expect(keys.length).toBeGreaterThanOrEqual(1);
  });

  it('falls back to the local limit with one warning when the table does not exist', async () => {
    const warnings: string[] = [];
    const logger: Logger = { debug() {}, info() {}, warn: (m, fields) => void warnings.push(`${m} ${String(fields?.error)}`), error() {} };
    const limiter = new SharedBudgetLimiter({
      ...UNBOUNDED,
      tenantId: TENANT,
      budget: new TableRequestBudget(tableFor(tableName())), // never created
      logger,
    });
    const started = Date.now();
    for (let i = 0; i < 50; i++) await limiter.acquire();
    expect(Date.now() - started).toBeLessThan(5000);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/does not exist/);
  });
});

describe('The wiring on Azurite and the simulated tenant', () => {
  const MANAGEMENT_OPS = new Set(['start', 'stop', 'list', 'content', 'blob', 'resources']);
  async function usedBy(tenantId: string): Promise<number> {
    let used = 0;
    for await (const row of tableFor(TABLES.budgets).listEntities<{ used: number }>({ queryOptions: { filter: `PartitionKey eq '${tenantId}'` } })) used += row.used;
    return used;
  }

  it('draws the live poll\'s and the sweep\'s Management API calls from the tenant\'s shared budget', async () => {
    const tenantId = newTenantId();
    const h = await startHarness({ tenants: [{ tenantId, blobsPerHour: 2 }], env: { O365_CONTENT_TYPES: 'Audit.Exchange', INITIAL_LOOKBACK_HOURS: '2' } });
    try {
      await h.poll();
      await h.sweep();
      const calls = h.sim.requestLog().filter((r) => MANAGEMENT_OPS.has(r.op)).length;
      expect(calls).toBeGreaterThan(0);
      // Every call took a token of a claimed block (blocks of 25; the rest of a block is lost at its window's end).
      expect(await usedBy(tenantId)).toBeGreaterThanOrEqual(calls);
    } finally {
      await h.close();
    }
  });

  it('leaves the table alone with SHARED_REQUEST_BUDGET=false', async () => {
    const tenantId = newTenantId();
    const h = await startHarness({ tenants: [{ tenantId, blobsPerHour: 2 }], env: { O365_CONTENT_TYPES: 'Audit.Exchange', INITIAL_LOOKBACK_HOURS: '2', SHARED_REQUEST_BUDGET: 'false' } });
    try {
      await h.poll();
      expect(h.sim.requestLog().filter((r) => MANAGEMENT_OPS.has(r.op)).length).toBeGreaterThan(0);
      expect(await usedBy(tenantId)).toBe(0);
    } finally {
      await h.close();
    }
  });
});
