import { describe, expect, it } from 'vitest';
import { DEFAULT_RATE } from '../../../../shared/adapters/http/rateLimiter.js';
import { SharedBudgetLimiter } from '../../../../shared/adapters/http/sharedBudgetLimiter.js';
import { TableRequestBudget } from '../../../../shared/adapters/storage/tableRequestBudget.js';
import type { Logger } from '../../../../shared/ports.js';
import { MemoryTableRows } from '../../../fakes/tableRows.js';

const TENANT = '33333333-3333-4333-8333-333333333333';
const WINDOW = 30_000;
const T0 = Date.UTC(2026, 10, 24, 10, 0, 0);

/**
 * Virtual time for several limiters at once: sleeps queue up, and when every caller is blocked the
 * clock jumps to the earliest wake-up. Table calls of the fake are microtasks, so one macrotask turn
 * lets everything that can run, run.
 */
class VirtualTime {
  current = T0;
  private wakeups: Array<{ at: number; wake: () => void }> = [];
  readonly now = () => this.current;
  readonly sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
    new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const entry = { at: this.current + ms, wake: resolve };
      this.wakeups.push(entry);
      signal?.addEventListener('abort', () => {
        this.wakeups = this.wakeups.filter((w) => w !== entry);
        reject(signal.reason);
      });
    });
  async run<T>(work: Promise<T>): Promise<T> {
    let done = false;
    work.then(
      () => (done = true),
      () => (done = true),
    );
    for (let idle = 0; ; ) {
      await new Promise((r) => setImmediate(r));
      if (done) return work;
      if (this.wakeups.length === 0) {
        // Only real time can help (a table call waiting for its timeout).
        if (++idle > 2000) throw new Error('nothing left to wake');
        await new Promise((r) => setTimeout(r, 1));
        continue;
      }
      const at = Math.min(...this.wakeups.map((w) => w.at));
      this.current = Math.max(this.current, at);
      const due = this.wakeups.filter((w) => w.at <= this.current);
      this.wakeups = this.wakeups.filter((w) => w.at > this.current);
      for (const w of due) w.wake();
    }
  }
}

function recordingLogger() {
  const lines: Array<{ level: string; message: string; fields?: Record<string, unknown> }> = [];
  const at = (level: string) => (message: string, fields?: Record<string, unknown>) => void lines.push({ level, message, fields });
  const logger: Logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
  return { logger, lines };
}

/** One simulated process: its own budget object (its own table client) and its own limiter. */
function processOn(rows: MemoryTableRows, time: VirtualTime, options: { logger?: Logger; capacity?: number; keepWindows?: number; rate?: { requestsPerMinute: number; burst: number } } = {}) {
  const budget = new TableRequestBudget(rows, { now: time.now, sleep: time.sleep, capacity: options.capacity, keepWindows: options.keepWindows });
  return new SharedBudgetLimiter({ ...(options.rate ?? DEFAULT_RATE), tenantId: TENANT, budget, now: time.now, sleep: time.sleep, random: () => 0.5, logger: options.logger });
}

const windowOf = (t: number) => Math.floor(t / WINDOW) * WINDOW;

describe('SharedBudgetLimiter', () => {
  it('keeps four processes together within a window\'s capacity, however fast each may go on its own', async () => {
    const rows = new MemoryTableRows();
    const time = new VirtualTime();
    // Rows are kept (not cleaned up) so the test can count from them.
    const limiters = Array.from({ length: 4 }, () => processOn(rows, time, { keepWindows: 10 }));
    const perWindow = new Map<number, number>();
    const end = T0 + 3 * WINDOW;
    // Ten concurrent callers per process, like a worker's batch of messages downloading at once.
    const workers = limiters.flatMap((limiter) =>
      Array.from({ length: 10 }, async () => {
        for (;;) {
          await limiter.acquire();
          if (time.now() >= end) return;
          perWindow.set(windowOf(time.now()), (perWindow.get(windowOf(time.now())) ?? 0) + 1);
        }
      }),
    );
    await time.run(Promise.all(workers));

    const windows = [T0, T0 + WINDOW, T0 + 2 * WINDOW];
    expect([...perWindow.keys()].sort()).toEqual(windows);
    const used = new Map(rows.partition(TENANT).map((r) => [Date.parse(r.rowKey), r.used as number]));
    for (const w of windows) {
      // Each process alone could start 900 + burst in 30 s; four together stay within the shared 900.
      expect(perWindow.get(w)).toBeLessThanOrEqual(900);
      expect(used.get(w) ?? 0).toBeLessThanOrEqual(900);
      expect(perWindow.get(w)).toBeLessThanOrEqual(used.get(w) ?? 0);
      // ... and do not fall far below it: at most a block's remainder per process is lost.
      expect(perWindow.get(w)).toBeGreaterThanOrEqual(900 - 4 * 24);
    }
    // Table calls: one read and one write per block of 25 (plus the races), about 80 per 1,000 requests.
    const total = [...perWindow.values()].reduce((a, b) => a + b, 0);
    const blocks = rows.calls.create + rows.calls.update - rows.calls.conflicts;
    expect(blocks).toBeGreaterThanOrEqual(total / 25);
    expect(blocks).toBeLessThanOrEqual(total / 25 + 3 * 4 + 3);
  });

  it('waits for the next window when the current one is spent', async () => {
    const rows = new MemoryTableRows();
    const time = new VirtualTime();
    time.current = T0 + 10_000;
    const limiter = processOn(rows, time, { capacity: 50, rate: { requestsPerMinute: 60_000, burst: 1000 } });
    const starts: number[] = [];
    await time.run(
      (async () => {
        for (let i = 0; i < 60; i++) {
          await limiter.acquire();
          starts.push(time.now());
        }
      })(),
    );
    expect(starts.slice(0, 50).every((t) => t === T0 + 10_000)).toBe(true);
    // The 51st waits until the window 10:00:30 has begun (plus a little jitter), not a moment less.
    expect(starts[50]).toBeGreaterThanOrEqual(T0 + WINDOW);
    expect(starts[50]).toBeLessThan(T0 + WINDOW + 1000);
    expect(rows.partition(TENANT).map((r) => r.used)).toEqual([50, 25]);
  });

  it('takes the local token first: the per-process rate still paces a process', async () => {
    const rows = new MemoryTableRows();
    const time = new VirtualTime();
    const limiter = processOn(rows, time, { rate: { requestsPerMinute: 60, burst: 1 } });
    const starts: number[] = [];
    await time.run(
      (async () => {
        for (let i = 0; i < 3; i++) {
          await limiter.acquire();
          starts.push(time.now() - T0);
        }
      })(),
    );
    expect(starts).toEqual([0, 1000, 2000]);
    expect(rows.calls.get).toBe(1); // one block of 25 covers them
  });

  it('loses the rest of a block when its window ends', async () => {
    const rows = new MemoryTableRows();
    const time = new VirtualTime();
    const limiter = processOn(rows, time);
    await time.run(limiter.acquire());
    await time.run(limiter.acquire());
    time.current += WINDOW;
    await time.run(limiter.acquire());
    expect(rows.partition(TENANT).map((r) => [r.rowKey, r.used])).toEqual([
      ['2026-11-24T10:00:00.000Z', 25],
      ['2026-11-24T10:00:30.000Z', 25],
    ]);
  });

  it('falls back to the local limiter alone when the table is unreachable, warns once, and comes back', async () => {
    const rows = new MemoryTableRows();
    rows.unreachable = true;
    const time = new VirtualTime();
    const { logger, lines } = recordingLogger();
    const limiter = processOn(rows, time, { logger });
    const starts: number[] = [];
    await time.run(
      (async () => {
        for (let i = 0; i < 300; i++) {
          await limiter.acquire();
          starts.push(time.now() - T0);
        }
      })(),
    );
    // Paced by the local bucket only (burst 100, then 30 a second): ingest does not stall.
    expect(starts[99]).toBe(0);
    expect(starts[299]).toBeLessThanOrEqual(Math.ceil((200 / DEFAULT_RATE.requestsPerMinute) * 60_000));
    const warnings = lines.filter((l) => l.level === 'warn');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.message).toMatch(/shared request budget/i);
    expect(warnings[0]!.fields).toMatchObject({ tenantId: TENANT });

    rows.unreachable = false;
    time.current += 60_000;
    await time.run(
      (async () => {
        for (let i = 0; i < 30; i++) await limiter.acquire();
      })(),
    );
    expect(rows.partition(TENANT).length).toBe(1);
    expect(rows.partition(TENANT)[0]!.used).toBeGreaterThan(0);
    expect(lines.filter((l) => l.level === 'warn')).toHaveLength(1);
    expect(lines.some((l) => l.level === 'info' && /shared request budget/i.test(l.message))).toBe(true);
  });

  it('does not wait longer than its claim timeout for a table that does not answer', async () => {
    const hanging = new MemoryTableRows();
    const time = new VirtualTime();
    const { logger, lines } = recordingLogger();
    // A table whose calls never answer until aborted.
    const stalled = {
      getEntity: (pk: string, rk: string, o?: { abortSignal?: AbortSignal }) => untilAborted(o?.abortSignal).then(() => hanging.getEntity(pk, rk)),
      createEntity: hanging.createEntity.bind(hanging),
      updateEntity: hanging.updateEntity.bind(hanging),
      deleteEntity: hanging.deleteEntity.bind(hanging),
      listEntities: hanging.listEntities.bind(hanging),
    };
    const budget = new TableRequestBudget(stalled, { now: time.now, sleep: time.sleep });
    const limiter = new SharedBudgetLimiter({ ...DEFAULT_RATE, tenantId: TENANT, budget, now: time.now, sleep: time.sleep, logger, claimTimeoutInMs: 20 });
    const started = performance.now();
    await time.run(Promise.all(Array.from({ length: 5 }, () => limiter.acquire())));
    expect(performance.now() - started).toBeLessThan(2000);
    expect(lines.filter((l) => l.level === 'warn')).toHaveLength(1);
  });

  it('gives up waiting when the caller aborts, without disturbing the others', async () => {
    const rows = new MemoryTableRows();
    const time = new VirtualTime();
    const limiter = processOn(rows, time, { capacity: 25, rate: { requestsPerMinute: 60_000, burst: 1000 } });
    await time.run(Promise.all(Array.from({ length: 25 }, () => limiter.acquire())));
    const controller = new AbortController();
    const aborted = limiter.acquire(controller.signal);
    const other = limiter.acquire();
    await new Promise((r) => setImmediate(r));
    controller.abort(new Error('invocation over'));
    await expect(aborted).rejects.toThrow('invocation over');
    await time.run(other);
    expect(time.now()).toBeGreaterThanOrEqual(T0 + WINDOW);
  });

  it('rejects a block size that cannot be claimed', () => {
    const budget = new TableRequestBudget(new MemoryTableRows());
    expect(() => new SharedBudgetLimiter({ ...DEFAULT_RATE, tenantId: TENANT, budget, blockSize: 0 })).toThrow(RangeError);
  });
});

function untilAborted(signal: AbortSignal | undefined): Promise<void> {
  return new Promise((_, reject) => signal?.addEventListener('abort', () => reject(signal.reason)));
}
