/**
 * `npm run bench:reconcile`: reconcile's time over a ledger of 1,000,000 rows on Azurite, against a floor
 * measured in the same run, and what one run reads. Prints the tables and (full runs) writes them into
 * docs/benchmarks.md between the `reconcile-results` markers.
 *
 *   npm run bench:reconcile [-- --quick] [--print-only] [--streams 100] [--rows-per-stream 10000]
 *
 * The ledger: `--streams` streams (tenants × 5 content types) with `--rows-per-stream` rows each over the
 * last 30 days, plus one more day beyond the retention for the first run to summarize and delete; listing
 * facts for the last 9 days (the range reconcile reads facts of). Rows are seeded with batch transactions of
 * 100 (4 partitions at a time). Azurite runs in its own process.
 */
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { TransactionAction } from '@azure/data-tables';
import { StorageClients, TABLES } from '../../shared/adapters/storage/clients.js';
import { toEntity } from '../../shared/adapters/storage/tableLedger.js';
import { loadConfig } from '../../shared/config.js';
import { mapLimit } from '../../shared/core/concurrency.js';
import { CONTENT_TYPES, streamId, type StreamKey } from '../../shared/core/model.js';
import { DAY_MS, HOUR_MS, MINUTE_MS, utcHourOf } from '../../shared/core/windows.js';
import { silentLogger } from '../../shared/ports.js';
import type { LedgerEntry } from '../../shared/core/ledger.js';
import { reconcile } from '../../shared/usecases/reconcile.js';
import { createWiring } from '../../shared/wiring.js';
import { startAzurite } from '../local/azurite.js';
import { REPO_ROOT } from '../common/ipc.js';
import { describeCode, describeMachine } from '../common/machine.js';
import { formatCount, formatFixed, markdownTable, median, replaceBlock } from '../common/stats.js';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    'print-only': { type: 'boolean', default: false },
    streams: { type: 'string' },
    'rows-per-stream': { type: 'string' },
  },
  strict: true,
});

const STREAMS = Number(args.streams ?? (args.quick ? 20 : 100));
const ROWS_PER_STREAM = Number(args['rows-per-stream'] ?? (args.quick ? 5_000 : 10_000));
const STEADY_RUNS = args.quick ? 2 : 3;
const DOC = join(REPO_ROOT, 'docs', 'benchmarks.md');
const say = (line = '') => process.stdout.write(`${line}\n`);
const seconds = (ms: number) => formatFixed(ms / 1000, 2);

/** Counts and times what reconcile asks each store for (async iterables: until the last row is read). */
class Tally {
  readonly calls = new Map<string, { calls: number; rows: number; ms: number }>();
  reset(): void {
    this.calls.clear();
  }
  of(name: string): { calls: number; rows: number; ms: number } {
    let entry = this.calls.get(name);
    if (!entry) this.calls.set(name, (entry = { calls: 0, rows: 0, ms: 0 }));
    return entry;
  }
  wrap<T extends object>(store: string, inner: T): T {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the proxy records into this tally
    const tally = this;
    return new Proxy(inner, {
      get(target, key, receiver) {
        const value = Reflect.get(target, key, receiver) as unknown;
        if (typeof value !== 'function') return value;
        const fn = value as (...a: unknown[]) => unknown;
        const entry = () => tally.of(`${store}.${String(key)}`);
        return (...a: unknown[]) => {
          const t0 = performance.now();
          const result = fn.apply(target, a);
          if (result && typeof result === 'object' && Symbol.asyncIterator in result) {
            return (async function* () {
              const e = entry();
              e.calls++;
              for await (const row of result as AsyncIterable<unknown>) {
                e.rows++;
                yield row;
              }
              e.ms += performance.now() - t0;
            })();
          }
          return Promise.resolve(result).finally(() => {
            const e = entry();
            e.calls++;
            e.ms += performance.now() - t0;
          });
        };
      },
    });
  }
}

async function main(): Promise<void> {
  const began = performance.now();
  const loadBefore = loadavg()[0]!;
  say(`machine: ${describeMachine()}`);
  say(`code: ${describeCode()}`);
  const azurite = await startAzurite({ startTimeoutInMs: 60_000 });
  try {
    const now = Date.UTC(2026, 10, 24, 12, 7);
    const clock = { current: now, now() { return this.current; } };
    const tenants = Array.from({ length: Math.ceil(STREAMS / CONTENT_TYPES.length) }, (_, i) => `0000${String(i).padStart(4, '0')}-0000-4000-8000-000000000000`);
    const config = loadConfig({
      O365_TENANTS: JSON.stringify(tenants.map((tenantId) => ({ tenantId, clientId: '11111111-1111-4111-8111-111111111111', credential: { type: 'secret', secretName: 'BENCH_SECRET' } }))),
      BENCH_SECRET: 'unused',
      AzureWebJobsStorage: azurite.connectionString,
      EVENTHUB_CONNECTION: 'Endpoint=sb://127.0.0.1:1;SharedAccessKeyName=unused;SharedAccessKey=unused;UseDevelopmentEmulator=true',
      EVENTHUB_NAME: 'unused',
    });
    const wiring = createWiring(config, { clock, logger: silentLogger });
    await wiring.ensureResources();
    const streams = wiring.streams.slice(0, STREAMS);
    const storage = new StorageClients(config.storage);
    const ledgerTable = storage.table(TABLES.ledger);
    const listingsTable = storage.table(TABLES.listings);

    // Seed: rows over the last 31 days (one beyond the 30-day retention), facts for the last 9 days.
    const span = 31 * DAY_MS;
    const perStream = Math.round((ROWS_PER_STREAM * 31) / 30);
    const step = span / perStream;
    const seedStart = performance.now();
    let seeded = 0;
    let facts = 0;
    // Four partitions at a time: Azurite is one process; with several transactions in flight it always has work.
    let streamsDone = 0;
    await mapLimit(streams, 4, async (stream, s) => {
      const rows: LedgerEntry[] = [];
      for (let i = 0; i < perStream; i++) rows.push(seedRow(stream, i, now - span + i * step + (s % 60) * 1000, now));
      for (let i = 0; i < rows.length; i += 100) {
        const actions: TransactionAction[] = rows.slice(i, i + 100).map((r) => ['create', toEntity(r)]);
        await ledgerTable.submitTransaction(actions);
      }
      seeded += rows.length;
      const recent = rows.filter((r) => Date.parse(r.contentCreated) >= now - 9 * DAY_MS);
      const byHour = new Map<string, LedgerEntry[]>();
      for (const r of recent) byHour.set(utcHourOf(r.contentCreated), [...(byHour.get(utcHourOf(r.contentCreated)) ?? []), r]);
      for (const [hour, hourRows] of byHour) {
        for (let i = 0; i < hourRows.length; i += 100) {
          const actions: TransactionAction[] = hourRows.slice(i, i + 100).map((r) => ['create', { partitionKey: `${streamId(stream)}|${hour}`, rowKey: r.contentId, contentCreated: r.contentCreated, listedAt: r.listedAt, by: 'poll' }]);
          await listingsTable.submitTransaction(actions);
        }
      }
      facts += recent.length;
      streamsDone++;
      if (streamsDone % Math.max(1, Math.floor(streams.length / 10)) === 0) say(`seeded ${formatCount(seeded)} rows and ${formatCount(facts)} facts (${streamsDone}/${streams.length} streams, ${seconds(performance.now() - seedStart)} s)`);
    });
    const seedMs = performance.now() - seedStart;

    const tally = new Tally();
    const deps = {
      ...wiring,
      ledger: tally.wrap('ledger', wiring.ledger),
      listings: tally.wrap('listings', wiring.listings),
      summaries: tally.wrap('summaries', wiring.summaries),
      cursors: tally.wrap('cursors', wiring.cursors),
      health: tally.wrap('health', wiring.health),
      sweeps: tally.wrap('sweeps', wiring.sweeps),
      gaps: tally.wrap('gaps', wiring.gaps),
      logger: silentLogger,
      metrics: { count() {} },
    };
    const ledgerReads = () => tally.of('ledger.query');
    const timed = async <T>(fn: () => Promise<T>) => {
      const t0 = performance.now();
      const value = await fn();
      return { ms: performance.now() - t0, value };
    };

    // First run: one-time catch-up over a ledger that predates summaries (final summaries for 23 days, then retention).
    tally.reset();
    const first = await timed(() => reconcile(streams, deps, { finalizeHoursPerRun: 24 * 31 }));
    const firstReads = { queries: ledgerReads().calls, rows: ledgerReads().rows };
    const left = await countRows(ledgerTable);

    // Steady state: the timer's next runs, 15 minutes apart.
    const steady: { ms: number; queries: number; rows: number; floorMs: number; floorRows: number }[] = [];
    let lastHealth = first.value;
    let breakdown: [string, { calls: number; rows: number; ms: number }][] = [];
    for (let i = 0; i < STEADY_RUNS; i++) {
      clock.current += 15 * MINUTE_MS;
      tally.reset();
      const run = await timed(() => reconcile(streams, deps));
      const reads = { queries: ledgerReads().calls, rows: ledgerReads().rows };
      breakdown = [...tally.calls].sort((a, b) => b[1].ms - a[1].ms);
      // Floor, right after, on the same table: one plain query per stream for the rows of the recent range (what any
      // accounting of the last 48 hours must read), the same 4 streams at a time.
      const floor = await timed(async () => {
        const from = new Date(clock.current - 48 * HOUR_MS).toISOString();
        const counts = await mapLimit(streams, 4, async (stream) => {
          let n = 0;
          for await (const _ of wiring.ledger.query(stream, { createdFrom: from })) n++;
          return n;
        });
        return counts.reduce((a, b) => a + b, 0);
      });
      steady.push({ ms: run.ms, ...reads, floorMs: floor.ms, floorRows: floor.value });
      say(`steady run ${i + 1}: ${seconds(run.ms)} s, ${reads.queries} ledger queries, ${formatCount(reads.rows)} rows read; floor ${seconds(floor.ms)} s (${formatCount(floor.value)} rows)`);
      if (run.value.some((h) => !h.invariant.holds)) throw new Error('the invariant does not hold over the seeded ledger');
      lastHealth = run.value;
    }
    // For scale: a full scan of one stream's partition, and of the whole ledger.
    const oneScan = await timed(async () => {
      let n = 0;
      for await (const _ of wiring.ledger.query(streams[0]!, {})) n++;
      return n;
    });
    const fullScan = await timed(() => countRows(ledgerTable));

    const steadyMs = median(steady.map((s) => s.ms));
    const floorMs = median(steady.map((s) => s.floorMs));
    const health = lastHealth[0]!;
    const lines = [
      `Run ${new Date().toISOString().slice(0, 16)}Z with \`npm run bench:reconcile${args.quick ? ' -- --quick' : ''}\` (${formatFixed((performance.now() - began) / 60_000, 1)} min in all).`,
      `Machine: ${describeMachine()}; 1-minute load average ${formatFixed(loadBefore, 2)} at the start, ${formatFixed(loadavg()[0]!, 2)} at the end. Code: ${describeCode()}.`,
      '',
      markdownTable(['measure', 'value'], [
        ['ledger', `${formatCount(seeded)} rows seeded over 31 days in ${streams.length} streams (${formatCount(perStream)} each, ${formatFixed(perStream / (31 * 24), 1)} an hour); ${formatCount(facts)} listing facts (last 9 days); seeding ${seconds(seedMs)} s`],
        ['first run (one-time: final summaries of every hour older than 8 days, then retention)', `${seconds(first.ms)} s; ${firstReads.queries} ledger queries, ${formatCount(firstReads.rows)} rows read; ${formatCount(seeded - left)} rows past the 30-day retention deleted, ${formatCount(left)} left`],
        ['steady run (the next runs, 15 min apart; median)', `**${seconds(steadyMs)} s** (${steady.map((s) => seconds(s.ms)).join(', ')}); ${median(steady.map((s) => s.queries))} ledger queries, ${formatCount(median(steady.map((s) => s.rows)))} rows read of ${formatCount(left)}`],
        ['floor: one plain query per stream for the last 48 h (median, right after each run)', `${seconds(floorMs)} s (${formatCount(median(steady.map((s) => s.floorRows)))} rows)`],
        ['steady run ÷ floor', `**${formatFixed(steadyMs / floorMs, 2)}×**`],
        ['for scale: a full scan of one stream / of the whole ledger', `${seconds(oneScan.ms)} s (${formatCount(oneScan.value)} rows) / ${seconds(fullScan.ms)} s (${formatCount(fullScan.value)} rows)`],
        ['invariant after the last steady run', `holds on every stream; the first stream's covers ${health.invariant.hoursRead} hours read in that run and ${health.invariant.hoursSummarized} known from summaries`],
      ]),
      '',
      'Where a steady run spends its time (the last run; store calls summed over the streams, 4 streams at a time, so the sum exceeds the wall time):',
      '',
      markdownTable(['call', 'calls', 'rows', 'ms (sum)'], breakdown.map(([name, e]) => [`\`${name}\``, formatCount(e.calls), formatCount(e.rows), formatCount(Math.round(e.ms))])),
    ];
    const block = lines.join('\n');
    say();
    say(block);
    if (!args.quick && !args['print-only']) {
      writeFileSync(DOC, replaceBlock(readFileSync(DOC, 'utf8'), 'reconcile-results', block));
      say(`\nwritten to ${DOC}`);
    }
    await wiring.close();
  } finally {
    await azurite.stop();
  }
}

function seedRow(stream: StreamKey, i: number, created: number, now: number): LedgerEntry {
  const contentCreated = new Date(created).toISOString();
  const id = `${contentCreated.replace(/\D/g, '').slice(0, 17)}${String(i).padStart(6, '0')}$${stream.contentType.toLowerCase().replace('.', '_')}$na0001`;
  const base: LedgerEntry = {
    ...stream,
    contentId: id,
    contentUri: `https://manage.office.com/api/v1.0/${stream.tenantId}/activity/feed/audit/${id}`,
    contentCreated,
    contentExpiration: new Date(created + 7 * DAY_MS).toISOString(),
    listedAt: new Date(created + 40 * MINUTE_MS).toISOString(),
    enqueuedAt: new Date(created + 40 * MINUTE_MS).toISOString(),
    status: 'done',
    attempts: 1,
    records: 20,
    events: 20,
    recordsQuarantined: 0,
    bytes: 48_000,
    completedAt: new Date(created + 41 * MINUTE_MS).toISOString(),
    durationMs: 350,
    resumeOffset: 20,
    foundBy: 'poll',
  };
  // The last hour is still being delivered; a few blobs failed for good, with their reason.
  if (created > now - HOUR_MS) return { ...base, status: 'listed', records: undefined, events: undefined, completedAt: undefined, durationMs: undefined, resumeOffset: undefined };
  if (i % 997 === 0) return { ...base, status: 'failed', records: undefined, events: undefined, lastError: 'content is not a JSON array' };
  return base;
}

async function countRows(table: ReturnType<StorageClients['table']>): Promise<number> {
  let n = 0;
  for await (const _ of table.listEntities({ queryOptions: { select: ['RowKey'] } })) n++;
  return n;
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});

