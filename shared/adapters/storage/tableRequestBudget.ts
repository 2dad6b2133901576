import { odata } from '@azure/data-tables';
import { pacingOf, type Pacing, type PacingOptions } from '../http/rateLimiter.js';
import type { BudgetClaim, RequestBudget } from '../http/sharedBudgetLimiter.js';
import { statusOf, storageError } from './clients.js';

/** The TableClient calls the budget makes; a TableClient is one, and unit tests pass an in-memory stand-in. */
export interface BudgetTable {
  getEntity(partitionKey: string, rowKey: string, options?: { abortSignal?: AbortSignal }): Promise<{ etag: string; used?: unknown }>;
  createEntity(entity: BudgetRow, options?: { abortSignal?: AbortSignal }): Promise<{ etag?: string }>;
  updateEntity(entity: BudgetRow, mode: 'Merge', options: { etag: string; abortSignal?: AbortSignal }): Promise<{ etag?: string }>;
  deleteEntity(partitionKey: string, rowKey: string, options?: { abortSignal?: AbortSignal }): Promise<unknown>;
  listEntities(options: { queryOptions: { filter: string }; abortSignal?: AbortSignal }): AsyncIterable<{ rowKey?: string }>;
}

/** A window's row (a type, not an interface, so it is a plain record for the Tables SDK and stand-ins). */
type BudgetRow = {
  readonly partitionKey: string;
  readonly rowKey: string;
  readonly used: number;
  readonly capacity: number;
};

export interface TableRequestBudgetOptions extends PacingOptions {
  /** Length of a window; windows start at multiples of it (epoch time). */
  readonly windowInMs?: number;
  /** Requests all processes together may start in one window, per tenant. */
  readonly capacity?: number;
  /** Rows kept per tenant: the current window's and the ones before it (at least 2). */
  readonly keepWindows?: number;
  /** Attempts of one claim that lose a race (409, 412) before the caller is told to come back shortly. */
  readonly maxAttempts?: number;
}

/**
 * 900 requests per tenant per 30 s: 1,800 per minute, under the service's 2,000 per minute per tenant
 * across all callers, with 200 to spare for a clock that is a little off and for retries' jitter.
 */
export const BUDGET_WINDOW = { windowInMs: 30_000, capacity: 900, keepWindows: 2 } as const;

/**
 * A tenant's request budget shared by every process, in Table storage (table `budgets`): partition =
 * tenant, row = the window's start (ISO 8601), `used` = tokens handed out in that window. A claim reads
 * the window's row and raises `used` by what still fits, conditional on the row's ETag (or creates the
 * row), so concurrent claims of different processes can never together exceed `capacity`; a claim that
 * loses a race (409, 412) reads again. Tokens are handed out, not returned: what a process does not spend
 * before its window ends is lost. The process that creates a window's row deletes the tenant's rows older
 * than the previous window, so a tenant has about two rows.
 */
export class TableRequestBudget implements RequestBudget {
  private readonly windowInMs: number;
  private readonly capacity: number;
  private readonly keepWindows: number;
  private readonly maxAttempts: number;
  private readonly pacing: Pacing;

  constructor(
    private readonly table: BudgetTable,
    options: TableRequestBudgetOptions = {},
  ) {
    this.windowInMs = options.windowInMs ?? BUDGET_WINDOW.windowInMs;
    this.capacity = options.capacity ?? BUDGET_WINDOW.capacity;
    this.keepWindows = options.keepWindows ?? BUDGET_WINDOW.keepWindows;
    this.maxAttempts = options.maxAttempts ?? 8;
    if (!(Number.isInteger(this.windowInMs) && this.windowInMs >= 1)) throw new RangeError('windowInMs must be a positive integer');
    if (!(Number.isInteger(this.capacity) && this.capacity >= 1)) throw new RangeError('capacity must be a positive integer');
    if (!(Number.isInteger(this.keepWindows) && this.keepWindows >= 2)) throw new RangeError('keepWindows must be an integer >= 2 (the current and the previous window)');
    if (!(Number.isInteger(this.maxAttempts) && this.maxAttempts >= 1)) throw new RangeError('maxAttempts must be a positive integer');
    this.pacing = pacingOf(options);
  }

  async claim(tenantId: string, tokens: number, signal?: AbortSignal): Promise<BudgetClaim> {
    if (!(Number.isInteger(tokens) && tokens >= 1)) throw new RangeError('tokens must be a positive integer');
    for (let attempt = 1; ; attempt++) {
      const now = this.pacing.now();
      const windowStart = Math.floor(now / this.windowInMs) * this.windowInMs;
      const windowEnd = windowStart + this.windowInMs;
      const rowKey = new Date(windowStart).toISOString();
      if (attempt > this.maxAttempts) {
        // Lost every race: others are claiming this window right now. Come back in a moment.
        return { granted: 0, windowStart, windowEnd, retryAt: Math.min(windowEnd, now + 50 + Math.floor(this.pacing.random() * 200)) };
      }
      if (attempt > 1) await this.pacing.sleep(Math.floor(this.pacing.random() * 20 * attempt), signal);

      const row = await this.read(tenantId, rowKey, signal);
      const used = row ? row.used : 0;
      const granted = Math.min(tokens, this.capacity - used);
      if (granted <= 0) return { granted: 0, windowStart, windowEnd, retryAt: windowEnd };
      const entity: BudgetRow = { partitionKey: tenantId, rowKey, used: used + granted, capacity: this.capacity };
      try {
        if (row) await this.table.updateEntity(entity, 'Merge', { etag: row.etag, abortSignal: signal });
        else await this.table.createEntity(entity, { abortSignal: signal });
      } catch (err) {
        const status = statusOf(err);
        // 412: another process raised `used` since our read; 409: it created the row first; 404: the row was
        // deleted meanwhile (by a process whose clock runs ahead). Read again.
        if (status === 412 || (row === undefined && status === 409) || (row !== undefined && status === 404)) continue;
        throw storageError(`request budget claim ${tenantId}|${rowKey}`, err);
      }
      if (!row) await this.dropOldRows(tenantId, windowStart, signal);
      return { granted, windowStart, windowEnd, retryAt: windowEnd };
    }
  }

  private async read(tenantId: string, rowKey: string, signal: AbortSignal | undefined): Promise<{ used: number; etag: string } | undefined> {
    try {
      const entity = await this.table.getEntity(tenantId, rowKey, { abortSignal: signal });
      return { used: typeof entity.used === 'number' ? entity.used : 0, etag: entity.etag };
    } catch (err) {
      // A missing row, or a missing table (then creating the row fails and says so).
      if (statusOf(err) === 404) return undefined;
      throw storageError(`request budget read ${tenantId}|${rowKey}`, err);
    }
  }

  /** Best effort: a failure leaves rows for the next window's creator, and never fails the claim. */
  private async dropOldRows(tenantId: string, windowStart: number, signal: AbortSignal | undefined): Promise<void> {
    const oldest = new Date(windowStart - (this.keepWindows - 1) * this.windowInMs).toISOString();
    try {
      const stale: string[] = [];
      for await (const row of this.table.listEntities({ queryOptions: { filter: odata`PartitionKey eq ${tenantId} and RowKey lt ${oldest}` }, abortSignal: signal })) {
        if (row.rowKey) stale.push(row.rowKey);
      }
      await Promise.all(stale.map((rowKey) => this.table.deleteEntity(tenantId, rowKey, { abortSignal: signal }).catch(() => undefined)));
    } catch {
      /* kept for the next window's creator */
    }
  }
}
