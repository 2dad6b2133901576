/**
 * `npm run bench`: throughput of the ingest path against its floor, peak RSS on a 100 MiB blob, and
 * the poll path on a 7-day backlog, in one run. Prints the tables and (full runs) writes them into
 * docs/benchmarks.md between its generated-block markers.
 *
 *   npm run bench [-- --quick] [--print-only] [--profile] [--seed 1]
 *
 * Processes: this orchestrator hosts the simulated tenant (it only serves during measurements);
 * Azurite, the Event Hubs test broker (tools/bench/brokerProcess.ts) and the measured worker
 * (tools/bench/ingestWorker.ts) each run in their own process.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { startSimTenant, CONTENT_TYPES, type SimTenant } from '../standins/simTenant/index.js';
import { startAzurite } from '../local/azurite.js';
import { blobBody, buildCorpus, recordsForBytes, RECORD_BYTES } from './corpus.js';
import { REPO_ROOT, spawnCompiled, spawnTs, type Notice, type TsChild } from '../common/ipc.js';
import { describeCode, describeMachine } from '../common/machine.js';
import { summarizeProfile } from './profile.js';
import { formatCount, formatFixed, formatMiB, markdownTable, median, replaceBlock } from '../common/stats.js';
import { exitOnHelp } from '../common/cliHelp.js';

const HUB = 'm365-audit';
const INGEST_TENANT = '0b5e7a1c-2d3f-4a5b-9c6d-7e8f9a0b1c2d';
const POLL_TENANT = '1c6f8b2d-3e4a-4b5c-8d7e-8f9a0b1c2d3e';
const APP_ID = '2d7a9c3e-4f5b-4c6d-9e8f-9a0b1c2d3e4f';
const APP_SECRET = 'bench-local-secret'; // a public local value for the simulator; protects nothing
const BLOB_TYPE = 'Audit.General';
const HOUR_MS = 3_600_000;
const MINUTE_MS = 60_000;
/** Per content type, so the tenant's backlog grows by 300 blobs an hour over the five types. */
const POLL_BLOBS_PER_HOUR = 60;
/** The pollContent function's budget per run (functions/pollContent.ts). */
const POLL_BUDGET_MS = 8 * MINUTE_MS;
const RSS_BLOB_BYTES = 100 * 2 ** 20;
const RSS_TARGET_BYTES = 256 * 2 ** 20;
const DOC = join(REPO_ROOT, 'docs', 'benchmarks.md');

exitOnHelp(
  process.argv.slice(2),
  `npm run bench -- [--quick] [--print-only] [--profile] [--seed 1]

Measures the ingest path against its floor (parse and send alone), peak memory on a 100 MiB blob, and
the poll path on a 7-day backlog, against local stand-ins (Azurite, the simulated tenant, the test Event
Hubs broker). Full runs write the tables into docs/benchmarks.md.

  --quick        fewer and smaller runs (a minute or two)
  --print-only   print the tables, do not write docs/benchmarks.md
  --profile      also record a CPU profile of the ingest worker
  --seed N       seed of the simulated tenant (default 1)
  --help         this text`,
);

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    'print-only': { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
    seed: { type: 'string', default: '1' },
    /** Only the discovery figures (poll path, sweep, many tenants), written to their own block. */
    discovery: { type: 'boolean', default: false },
  },
  strict: true,
});

const plan = args.quick
  ? { sizes: [{ records: 1_000, runs: 3 }, { records: 10_000, runs: 1 }], rssBlobs: ['100 MiB', '100 MiB of ['], lookbackHours: 24, tenants: 50 }
  : { sizes: [{ records: 1_000, runs: 5 }, { records: 10_000, runs: 3 }, { records: 100_000, runs: 1 }], rssBlobs: ['100 MiB', '100k records', '100 MiB of ['], lookbackHours: 167, tenants: 500 };

const say = (line = '') => process.stdout.write(`${line}\n`);

interface SizeResult {
  records: number;
  bytes: number;
  runs: number;
  ingestMs: number;
  parseStringifyMs: number;
  sendMs: number;
  downloadMs: number;
  eventBytes: number;
}

async function main(): Promise<void> {
  const began = performance.now();
  const loadBefore = loadavg()[0]!;
  const workDir = mkdtempSync(join(tmpdir(), 'm365-bench-'));
  const stops: (() => Promise<unknown>)[] = [() => Promise.resolve(rmSync(workDir, { recursive: true, force: true }))];
  try {
    const machine = describeMachine();
    const code = describeCode();
    say(`machine: ${machine}`);
    say(`code: ${code}`);

    const azurite = await startAzurite();
    stops.push(() => azurite.stop());
    const broker = spawnTs('tools/bench/brokerProcess.ts');
    stops.push(() => stopChild(broker));
    await broker.ready;
    const eventHubConnection = await broker.call<string>('start', { hub: HUB, partitions: 4 });
    const apps = [{ clientId: APP_ID, secret: APP_SECRET }];
    const sim = await startSimTenant({
      seed: Number(args.seed),
      tenants: [
        { tenantId: INGEST_TENANT, apps, blobsPerHour: 0 },
        { tenantId: POLL_TENANT, apps, blobsPerHour: POLL_BLOBS_PER_HOUR },
      ],
    });
    stops.push(() => sim.close());
    // The ingest tenant's blobs are added by hand; downloads need an enabled subscription (the poller would start it).
    sim.setSubscription(INGEST_TENANT, BLOB_TYPE, 'enabled');

    const largest = Math.max(...plan.sizes.map((s) => s.records));
    say(`generating ${formatCount(largest)} records (${RECORD_BYTES.min}–${RECORD_BYTES.max} bytes, log-uniform) ...`);
    const corpus = buildCorpus(sim, INGEST_TENANT, largest, args.seed);
    say(`simulator generator: ${formatCount(corpus.simRecordsPerSecond)} records/s`);

    const env: NodeJS.ProcessEnv = {
      ...process.env,
      O365_TENANTS: JSON.stringify([INGEST_TENANT, POLL_TENANT].map((tenantId) => ({ tenantId, clientId: APP_ID, credential: { type: 'secret', secretName: 'BENCH_APP_SECRET' } }))),
      BENCH_APP_SECRET: APP_SECRET,
      O365_MANAGEMENT_ENDPOINT: sim.url,
      O365_AUTHORITY_HOST: sim.url,
      AzureWebJobsStorage: azurite.connectionString,
      EVENTHUB_CONNECTION: eventHubConnection,
      EVENTHUB_NAME: HUB,
      CONTENT_QUEUE_NAME: 'bench-content',
      INITIAL_LOOKBACK_HOURS: String(plan.lookbackHours),
    };
    const startWorker = async (onNotice?: (notice: Notice) => void) => {
      const child = await spawnCompiled('tools/bench/ingestWorker.ts', { env, nodeArgs: ['--expose-gc'], onNotice });
      await child.ready;
      await child.call('setup');
      return child;
    };
    const worker = await startWorker();
    stops.push(() => stopChild(worker));

    const addBlob = (body: string) => ({
      listing: sim.addBlob(INGEST_TENANT, BLOB_TYPE, { contentCreated: Date.now() - HOUR_MS, rawBody: body }),
      tenantId: INGEST_TENANT,
      contentType: BLOB_TYPE,
    });
    const expectEvents = async (count: number, what: string) => {
      const got = await broker.call<{ events: number }>('count');
      if (got.events !== count) throw new Error(`${what}: the broker accepted ${got.events} events, expected ${count}`);
      await broker.call('reset');
    };

    const measure = async (records: readonly string[], runs: number): Promise<SizeResult> => {
      const body = blobBody(records);
      const file = join(workDir, `records-${records.length}.ndjson`);
      writeFileSync(file, records.join('\n'));
      const samples = { ingest: [] as number[], parse: [] as number[], send: [] as number[], download: [] as number[] };
      let eventBytes = 0;
      for (let run = 0; run < runs; run++) {
        const blob = addBlob(body);
        await broker.call('reset');
        samples.ingest.push((await worker.call<{ ms: number }>('ingest', blob)).ms);
        // One event per record, and the blob's manifest.
        await expectEvents(records.length + 1, 'ingest');
        samples.parse.push((await worker.call<{ ms: number }>('parseStringify', { file })).ms);
        eventBytes = (await worker.call<{ bytes: number }>('capture', addBlob(body))).bytes;
        samples.send.push((await worker.call<{ ms: number }>('sendPrebuilt')).ms);
        await expectEvents(records.length + 1, 'pre-built send');
        samples.download.push((await worker.call<{ ms: number }>('download', blob)).ms);
      }
      return {
        records: records.length,
        bytes: Buffer.byteLength(body),
        runs,
        ingestMs: median(samples.ingest),
        parseStringifyMs: median(samples.parse),
        sendMs: median(samples.send),
        downloadMs: median(samples.download),
        eventBytes,
      };
    };

    const stagesOf = async (records: readonly string[]): Promise<StageResult[]> => {
      const file = join(workDir, `records-${records.length}.ndjson`);
      const results: StageResult[] = [];
      for (const profile of EVENT_PROFILES) {
        const runs: StageRun[] = [];
        for (let run = 0; run < 3; run++) runs.push(await worker.call<StageRun>('stages', { file, profile, tenantId: INGEST_TENANT, pairs: STAGE_PAIRS }));
        const pick = (key: keyof StageRun['ms']) => median(runs.map((r) => r.ms[key]));
        const pairRatios = (key: keyof StageRun['ratios']) => median(runs.flatMap((r) => r.ratios[key]));
        results.push({
          profile,
          records: records.length,
          recordBytes: runs[0]!.recordBytes,
          eventBytes: runs[0]!.eventBytes,
          ms: { split: pick('split'), parse: pick('parse'), normalize: pick('normalize'), stringify: pick('stringify'), encode: pick('encode'), floor: pick('floor') },
          ratios: { normalize: [pairRatios('normalize')], split: [pairRatios('split')], splitParsed: [pairRatios('splitParsed')] },
        });
      }
      return results;
    };

    const sizes: SizeResult[] = [];
    let stages: StageResult[] = [];
    const rss: RssResult[] = [];
    if (!args.discovery) {
    say('warming up ...');
    await measure(corpus.records.slice(0, 1_000), 1);
    for (const size of plan.sizes) {
      say(`ingest path: ${formatCount(size.records)}-record blob, ${size.runs} run(s) ...`);
      sizes.push(await measure(corpus.records.slice(0, size.records), size.runs));
    }
    const stageSize = Math.min(10_000, largest);
    say(`CPU stages on the ${formatCount(stageSize)}-record blob ...`);
    stages = await stagesOf(corpus.records.slice(0, stageSize));
    await stopChild(worker);

    for (const which of plan.rssBlobs) {
      const deep = which === '100 MiB of [';
      const records = deep ? [] : which === '100 MiB' ? recordsForBytes(corpus.records, RSS_BLOB_BYTES) : corpus.records.slice(0, largest);
      say(`peak RSS: ${which} blob in a fresh process ...`);
      // The splitter refuses it at its nesting limit: the blob ends failed, with the offset in the reason.
      const body = deep ? '['.repeat(RSS_BLOB_BYTES) : blobBody(records);
      const child = await startWorker();
      // Stopped whatever the call ends with: a worker left running keeps the bench from exiting.
      const result = await child
        .call<Omit<RssResult, 'label' | 'bytes'>>('rss', { ...addBlob(body), intervalMs: 20, expectStatus: deep ? 'failed' : 'done' })
        .finally(() => stopChild(child));
      await broker.call('reset');
      rss.push({ label: which, bytes: Buffer.byteLength(body), ...result });
    }
    } else await stopChild(worker);

    say(`poll path: ${plan.lookbackHours} h backlog, ${CONTENT_TYPES.length} content types × ${POLL_BLOBS_PER_HOUR} blobs/h ...`);
    const poll = await measurePoll(sim, startWorker);

    say(`retention sweep of the same tenant (${SWEEP_FORGET} ledger rows per stream deleted first) ...`);
    const sweep = await measureSweep(sim, await startWorker());

    say(`discovery cycle over ${plan.tenants} simulated tenants × ${CONTENT_TYPES.length} content types (${TENANT_WORKERS} worker processes) ...`);
    const tenants = await measureTenants();

    let profileText: string | undefined;
    if (args.profile) {
      const records = corpus.records.slice(0, largest);
      say(`profiling one ingest of the ${formatCount(records.length)}-record blob ...`);
      const child = await startWorker();
      profileText = await profileIngest(child, addBlob(blobBody(records)), workDir).finally(() => stopChild(child));
      await broker.call('reset');
    }

    const wallSeconds = (performance.now() - began) / 1000;
    const load = `1-minute load average ${formatFixed(loadBefore, 2)} at the start, ${formatFixed(loadavg()[0]!, 2)} at the end`;
    const header = `Run ${new Date().toISOString().slice(0, 16)}Z with \`npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}\` (${formatFixed(wallSeconds / 60, 1)} min in all). Machine: ${machine}; ${load}. Code: ${code}.`;
    const report = args.discovery ? undefined : renderReport({ machine, code, load, simRecordsPerSecond: corpus.simRecordsPerSecond, sizes, stages, rss, poll, wallSeconds, profileText });
    const discovery = [header, ...(args.discovery ? ['', '**Poll path** (the tenant the sweep below runs on):', '', renderPollTable(poll)] : []), renderDiscovery(sweep, tenants)].join('\n');
    say();
    if (report) say(report);
    say(discovery);
    if (!args.quick && !args['print-only']) {
      const doc = readFileSync(DOC, 'utf8');
      writeFileSync(DOC, replaceBlock(report ? replaceBlock(doc, 'bench-results', report) : doc, 'discovery-results', discovery));
      say(`\nwritten to ${DOC}`);
    }
  } finally {
    for (const stop of stops.reverse()) await stop().catch((err: unknown) => say(`while stopping: ${String(err)}`));
  }
}

const EVENT_PROFILES = ['full', 'compact'] as const;
/** Pairs of whole passes (yardstick, then the measured pass) per stage call, for the target ratios. */
const STAGE_PAIRS = 5;

interface StageRun {
  records: number;
  recordBytes: number;
  eventBytes: number;
  ms: { split: number; parse: number; normalize: number; stringify: number; encode: number; floor: number };
  /**
   * Per pair of whole passes (a result holds the median): (parse + normalize + serialize) ÷ floor; split ÷
   * JSON.parse (the splitter alone, `push`); and what splitting adds to parsing when the splitter hands out
   * each element parsed, as ingest uses it (`pushParsed`): (split and parse ÷ JSON.parse) − 1.
   */
  ratios: { normalize: number[]; split: number[]; splitParsed: number[] };
}

interface StageResult extends StageRun {
  profile: (typeof EVENT_PROFILES)[number];
}

interface RssResult {
  label: string;
  bytes: number;
  records: number;
  reason?: string;
  ms: number;
  baseline: number;
  peak: number;
  maxRss: number;
}

interface PollRun {
  ms: number;
  streams: { contentType: string; outcome: string; windowsListed: number; pagesListed: number; blobsListed: number; blobsEnqueued: number; reason?: string }[];
}

interface PollResult {
  /** Until every stream completed. */
  ms: number;
  runs: PollRun[];
  /** The run after that, as the timer's next firing. */
  next: PollRun;
  counts: { ledgerInsertCalls: number; ledgerRowsOffered: number; ledgerRowsInserted: number; ledgerMarkEnqueued: number; ledgerForgotten: number; enqueueCalls: number; messagesEnqueued: number; cursorWrites: number };
  queueMessages: number;
  enqueuedIds: string[];
  /** Blobs the simulator lists for the range every stream certainly covered, once the poll is over. */
  simListed: number;
  /** Of those, how many were never enqueued (must be 0). */
  notEnqueued: number;
  listCalls: Record<string, number>;
  af429: number;
  otherCalls: Record<string, number>;
}

async function measurePoll(sim: SimTenant, start: (onNotice: (notice: Notice) => void) => Promise<TsChild>): Promise<PollResult> {
  let listableAtNextRun: string[] | undefined;
  let range = { from: 0, to: 0 };
  const worker = await start((notice) => {
    if (notice.notice === 'next-run') listableAtNextRun = CONTENT_TYPES.flatMap((ct) => sim.blobs(POLL_TENANT, ct, range.from, range.to)).map((b) => b.contentId);
  });
  try {
    sim.resetStats();
    const startedAt = Date.now();
    // Every stream's plan covered at least [its start − lookback, the next run's start − settle lag).
    range = { from: startedAt - plan.lookbackHours * HOUR_MS + 1_000, to: Number.MAX_SAFE_INTEGER };
    const result = await worker.call<Omit<PollResult, 'simListed' | 'notEnqueued' | 'listCalls' | 'af429' | 'otherCalls'>>('poll', { tenantId: POLL_TENANT, budgetMs: POLL_BUDGET_MS, maxRuns: 5 });
    const stats = sim.stats();
    const byOp = stats.requests[POLL_TENANT] ?? {};
    const otherCalls: Record<string, number> = {};
    for (const [op, outcomes] of Object.entries(byOp)) {
      if (op !== 'content') otherCalls[op] = Object.values(outcomes ?? {}).reduce((a, b) => a + b, 0);
    }
    // The intended start is fixed when a stream is first planned (at most the first run's length after
    // `startedAt`), and the next run lists up to its start − settle lag: what was listable in that range when
    // the next run began must all be enqueued by its end.
    const nextRunStartedAt = Date.now() - result.next.ms;
    const to = nextRunStartedAt - 10 * MINUTE_MS - 1_000;
    const enqueued = new Set(result.enqueuedIds);
    // The last stream's first plan came no later than the end of the first run (4 streams at a time).
    const from = startedAt + result.runs[0]!.ms - plan.lookbackHours * HOUR_MS + 1_000;
    const listed = CONTENT_TYPES.flatMap((ct) => sim.blobs(POLL_TENANT, ct, from, to)).map((b) => b.contentId).filter((id) => listableAtNextRun === undefined || listableAtNextRun.includes(id));
    const simListed = listed.length;
    const notEnqueued = listed.filter((id) => !enqueued.has(id)).length;
    return { ...result, simListed, notEnqueued, listCalls: byOp.content ?? {}, af429: stats.af429, otherCalls };
  } finally {
    await stopChild(worker);
  }
}

/** Ledger rows deleted per stream before the sweep: the blobs it must find again. */
const SWEEP_FORGET = 20;
/** The sweep's share of a tenant's budget (shared/adapters/http/shareLimiter.ts). */
const SWEEP_REQUESTS_PER_MINUTE = 200;
/** Processes draining the poll-task queue side by side, as function instances would. */
const TENANT_WORKERS = 2;
/** Poll tasks each worker process runs at once (host.json batchSize + newBatchThreshold is 12). */
const TENANT_BATCH = 16;
const TENANT_LOOKBACK_HOURS = 2;
const TENANT_BLOBS_PER_HOUR = 2;

interface SweepResult {
  ms: number;
  streams: { contentType: string; outcome: string; windows: number; blobsListed: number; blobsFound: number; apiCalls: number; tableOps: number; durationMs: number; reason?: string }[];
  counts: PollResult['counts'];
  forgotten: number;
  refound: number;
  listCalls: number;
  af429: number;
}

async function measureSweep(sim: SimTenant, worker: TsChild): Promise<SweepResult> {
  try {
    sim.resetStats();
    const result = await worker.call<Omit<SweepResult, 'listCalls' | 'af429'>>('sweep', { tenantId: POLL_TENANT, forget: SWEEP_FORGET });
    const stats = sim.stats();
    const listCalls = Object.values(stats.requests[POLL_TENANT]?.content ?? {}).reduce((a, b) => a + b, 0);
    return { ...result, listCalls, af429: stats.af429 };
  } finally {
    await stopChild(worker);
  }
}

interface CycleResult {
  timerMs: number;
  ms: number;
  processed: number;
  failedTasks: number;
  complete: number;
  failing: number;
  codes: Record<string, number>;
  contentMessages: number;
  /** API calls per tenant by operation (mean), and in all. */
  callsPerTenant: Record<string, number>;
  af429: number;
}

interface TenantsResult {
  tenants: number;
  streams: number;
  cycles: CycleResult[];
}

/** Timer → tasks → every stream polled, twice (onboarding, then steady state), over many simulated tenants. */
async function measureTenants(): Promise<TenantsResult> {
  // A Storage emulator of its own: the poll path's 50,000 ledger rows and queue messages would slow every call.
  const azurite = await startAzurite();
  const storage = azurite.connectionString;
  const ids = Array.from({ length: plan.tenants }, (_, i) => `${(0x10000000 + i).toString(16)}-${'aaaa'}-4${String(i % 1000).padStart(3, '0')}-8000-${String(i).padStart(12, '0')}`);
  const apps = [{ clientId: APP_ID, secret: APP_SECRET }];
  const sim = await startSimTenant({ seed: Number(args.seed), tenants: ids.map((tenantId) => ({ tenantId, apps, blobsPerHour: TENANT_BLOBS_PER_HOUR, incidentsPerHour: 0 })) });
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    O365_TENANTS: JSON.stringify(ids.map((tenantId) => ({ tenantId, clientId: APP_ID, credential: { type: 'secret', secretName: 'BENCH_APP_SECRET' } }))),
    BENCH_APP_SECRET: APP_SECRET,
    O365_MANAGEMENT_ENDPOINT: sim.url,
    O365_AUTHORITY_HOST: sim.url,
    AzureWebJobsStorage: storage,
    EVENTHUB_CONNECTION: 'Endpoint=sb://127.0.0.1:1;SharedAccessKeyName=unused;SharedAccessKey=unused;UseDevelopmentEmulator=true',
    EVENTHUB_NAME: 'unused',
    CONTENT_QUEUE_NAME: 'bench-tenants-content',
    POLL_QUEUE_NAME: 'bench-tenants-poll',
    INITIAL_LOOKBACK_HOURS: String(TENANT_LOOKBACK_HOURS),
  };
  const workers = Array.from({ length: TENANT_WORKERS }, () => spawnTs('tools/bench/discoveryWorker.ts', { env }));
  try {
    for (const w of workers) await w.ready;
    await workers[0]!.call('setup');
    const cycles: CycleResult[] = [];
    for (let cycle = 0; cycle < 2; cycle++) {
      sim.resetStats();
      const since = Date.now();
      const started = performance.now();
      const { ms: timerMs } = await workers[0]!.call<{ ms: number }>('timer');
      const drained = await Promise.all(workers.map((w) => w.call<{ processed: number; failed: number }>('drain', { batchSize: TENANT_BATCH })));
      const ms = performance.now() - started;
      const verified = await workers[0]!.call<{ complete: number; failing: number; codes: Record<string, number>; contentMessages: number }>('verify', { since });
      const stats = sim.stats();
      const callsPerTenant: Record<string, number> = {};
      let all = 0;
      for (const tenantId of ids) {
        for (const [op, outcomes] of Object.entries(stats.requests[tenantId] ?? {})) {
          const n = Object.values(outcomes ?? {}).reduce((a, b) => a + b, 0);
          callsPerTenant[op] = (callsPerTenant[op] ?? 0) + n / ids.length;
          all += n;
        }
      }
      callsPerTenant.all = all / ids.length;
      cycles.push({
        timerMs,
        ms,
        processed: drained.reduce((a, d) => a + d.processed, 0),
        failedTasks: drained.reduce((a, d) => a + d.failed, 0),
        ...verified,
        callsPerTenant,
        af429: stats.af429,
      });
    }
    return { tenants: ids.length, streams: ids.length * CONTENT_TYPES.length, cycles };
  } finally {
    for (const w of workers) await stopChild(w);
    await sim.close();
    await azurite.stop();
  }
}

function renderPollTable(p: PollResult): string {
  const s = (ms: number) => formatFixed(ms / 1000, 2);
  const all = [...p.runs, p.next];
  const total = (runs: PollRun[], key: 'pagesListed' | 'blobsListed' | 'windowsListed' | 'blobsEnqueued') =>
    runs.reduce((acc, run) => acc + run.streams.reduce((a, st) => a + st[key], 0), 0);
  const untilComplete = total(p.runs, 'blobsEnqueued');
  const late = total([p.next], 'blobsEnqueued');
  const listCalls = Object.values(p.listCalls).reduce((a, b) => a + b, 0);
  const pollTable = markdownTable(
    ['measure', 'value'],
    [
      ['backlog', `${plan.lookbackHours} h (INITIAL_LOOKBACK_HOURS), ${CONTENT_TYPES.length} content types × ${POLL_BLOBS_PER_HOUR} blobs/h`],
      ['completeness: blobs the simulator lists for the range every stream covered', `${formatCount(p.simListed)}, of which ${p.notEnqueued === 0 ? 'every one was enqueued' : `${formatCount(p.notEnqueued)} were NOT enqueued`}`],
      ['runs until every stream completed (8-minute budget each)', `${p.runs.length}: ${p.runs.map((run) => `${s(run.ms)} s (${run.streams.map((st) => st.outcome).join(', ')})`).join('; ')}`],
      ['wall time until complete', `${s(p.ms)} s, ${formatCount(untilComplete)} blobs enqueued (${formatCount(untilComplete / (p.ms / 1000))} a second)`],
      ['the next run (as the timer would start it)', `${s(p.next.ms)} s, ${formatCount(total([p.next], 'pagesListed'))} pages; enqueued ${formatCount(late)} more (blobs that became listable during the first run)`],
      ['windows listed (all runs)', formatCount(total(all, 'windowsListed'))],
      ['list calls (/subscriptions/content), by HTTP status', `${formatCount(listCalls)} (${Object.entries(p.listCalls).map(([k, v]) => `${k}: ${formatCount(v)}`).join(', ')})`],
      ['pages listed', formatCount(total(all, 'pagesListed'))],
      ['other API calls', Object.entries(p.otherCalls).map(([k, v]) => `${k}: ${formatCount(v)}`).join(', ') || 'none'],
      ['AF429 answers (simulator throttle at 2,000 requests/min)', formatCount(p.af429)],
      ['blobs listed (incl. overlap re-lists)', formatCount(total(all, 'blobsListed'))],
      ['ledger inserts (rows offered / inserted, calls)', `${formatCount(p.counts.ledgerRowsOffered)} / ${formatCount(p.counts.ledgerRowsInserted)} (${formatCount(p.counts.ledgerInsertCalls)} calls)`],
      ['ledger enqueued marks', formatCount(p.counts.ledgerMarkEnqueued)],
      ['messages enqueued (calls)', `${formatCount(p.counts.messagesEnqueued)} (${formatCount(p.counts.enqueueCalls)})`],
      ['queue length afterwards', formatCount(p.queueMessages)],
      ['cursor writes', formatCount(p.counts.cursorWrites)],
    ],
  );
  return pollTable;
}

function renderDiscovery(sweep: SweepResult, t: TenantsResult): string {
  const s = (ms: number) => formatFixed(ms / 1000, 2);
  const sum = (key: 'blobsListed' | 'blobsFound' | 'apiCalls' | 'tableOps' | 'windows') => sweep.streams.reduce((a, st) => a + st[key], 0);
  const pages = sum('apiCalls');
  const sweepTable = markdownTable(
    ['measure', 'value'],
    [
      ['range', `each of the ${sweep.streams.length} streams of the poll path's tenant, from its coverage start (the ${plan.lookbackHours} h lookback) to now − settle lag, one stream after another`],
      ['outcome', sweep.streams.map((st) => `${st.contentType.replace('Audit.', '')} ${st.outcome}`).join(', ')],
      ['windows listed', formatCount(sum('windows'))],
      ['blobs listed', formatCount(sum('blobsListed'))],
      ['ledger rows deleted before the sweep / found again and enqueued', `${formatCount(sweep.forgotten)} / ${formatCount(sweep.refound)} (blobs found in all: ${formatCount(sum('blobsFound'))})`],
      ['API calls (pages; the simulator counted)', `${formatCount(pages)} (${formatCount(sweep.listCalls)}), AF429: ${formatCount(sweep.af429)}`],
      ['table operations (counted by the sweep)', `${formatCount(sum('tableOps'))}: ${formatFixed(sum('tableOps') / Math.max(1, sum('blobsListed')), 3)} per blob listed`],
      ['ledger inserts (rows offered / inserted)', `${formatCount(sweep.counts.ledgerRowsOffered)} / ${formatCount(sweep.counts.ledgerRowsInserted)} (${formatCount(sweep.counts.ledgerInsertCalls)} calls)`],
      ['time (all streams)', `${s(sweep.ms)} s; the sweep's budget of ${SWEEP_REQUESTS_PER_MINUTE} requests/min alone needs ${s((pages / SWEEP_REQUESTS_PER_MINUTE) * 60_000)} s for ${formatCount(pages)} pages`],
      ['time per stream', sweep.streams.map((st) => `${s(st.durationMs)} s`).join(', ')],
    ],
  );
  const cycleRow = (label: string, c: CycleResult) => [
    label,
    `${s(c.ms)} s (timer ${s(c.timerMs)} s)`,
    `${formatCount(c.processed)}${c.failedTasks ? ` (${c.failedTasks} retried)` : ''}`,
    `${formatCount(c.complete)} / ${formatCount(t.streams)}${c.failing ? `, ${c.failing} failing (${Object.entries(c.codes).map(([k, v]) => `${k}: ${v}`).join(', ')})` : ''}`,
    formatFixed(c.callsPerTenant.all ?? 0, 1),
    Object.entries(c.callsPerTenant).filter(([op]) => op !== 'all').map(([op, n]) => `${op} ${formatFixed(n, 1)}`).join(', '),
    formatCount(c.af429),
    formatCount(c.contentMessages),
  ];
  const tenantsTable = markdownTable(
    ['cycle', 'timer → every stream polled', 'poll tasks run', 'streams complete', 'API calls per tenant', 'per tenant by operation', 'AF429', 'content messages queued'],
    [cycleRow('1: onboarding (subscription start, lookback listed)', t.cycles[0]!), cycleRow('2: steady state (the next firing)', t.cycles[1]!)],
  );
  const steady = t.cycles[1]!;
  const perSecond = t.streams / (steady.ms / 1000);
  return [
    '',
    '',
    "**Retention sweep** (the real `sweepStreams` with the real adapters, after the poll path above; the sweep's own request budget in front of the tenant's):",
    '',
    sweepTable,
    '',
    `**Discovery cycle over ${formatCount(t.tenants)} tenants** (${formatCount(t.streams)} streams, ${TENANT_BLOBS_PER_HOUR} blobs/h per stream, \`INITIAL_LOOKBACK_HOURS=${TENANT_LOOKBACK_HOURS}\`; the real pollContent timer enqueues one task per stream, ${TENANT_WORKERS} worker processes run the real pollStream handler ${TENANT_BATCH} tasks at a time each, all against one simulated tenant server and Azurite on this machine):`,
    '',
    tenantsTable,
    '',
    `Steady state: ${formatFixed(perSecond, 0)} streams polled per second with ${TENANT_WORKERS} processes on this machine, so 1,000 tenants × 5 content types (5,000 streams) take about ${formatFixed(5000 / perSecond, 0)} s per cycle here.`,
  ].join('\n');
}

async function profileIngest(worker: TsChild, blob: object, workDir: string): Promise<string> {
  const file = join(workDir, 'ingest.cpuprofile');
  const { ms } = await worker.call<{ ms: number }>('profile', { ...blob, file });
  const summary = summarizeProfile(file, REPO_ROOT);
  const pct = (x: number) => `${formatFixed((100 * x) / summary.totalMs, 1)} %`;
  return [
    `CPU profile of the worker process during one ingest (${formatFixed(ms / 1000, 2)} s under the profiler):`,
    '',
    markdownTable(['area', 'self ms', 'share'], summary.areas.slice(0, 12).map((a) => [a.area, formatCount(a.ms), pct(a.ms)])),
    '',
    markdownTable(['function', 'where', 'self ms', 'share'], summary.functions.slice(0, 25).map((f) => [f.name, f.where, formatCount(f.ms), pct(f.ms)])),
  ].join('\n');
}

function renderReport(r: { machine: string; code: string; load: string; simRecordsPerSecond: number; sizes: SizeResult[]; stages: StageResult[]; rss: RssResult[]; poll: PollResult; wallSeconds: number; profileText?: string }): string {
  const s = (ms: number) => formatFixed(ms / 1000, 2);
  const mibps = (bytes: number, ms: number) => formatFixed(bytes / 2 ** 20 / (ms / 1000), 1);
  const ingest = markdownTable(
    ['blob', 'MiB', 'runs', 'ingest s', 'records/s', 'MiB/s', 'parse+stringify s', 'pre-built send s', 'floor s', 'ingest ÷ floor', 'download only s'],
    r.sizes.map((x) => {
      const floor = x.parseStringifyMs + x.sendMs;
      return [
        `${formatCount(x.records)} records`,
        formatMiB(x.bytes),
        String(x.runs),
        s(x.ingestMs),
        formatCount(x.records / (x.ingestMs / 1000)),
        mibps(x.bytes, x.ingestMs),
        s(x.parseStringifyMs),
        s(x.sendMs),
        s(floor),
        `${formatFixed(x.ingestMs / floor, 2)}×`,
        `${s(x.downloadMs)} (${mibps(x.bytes, x.downloadMs)} MiB/s)`,
      ];
    }),
  );
  const stages = markdownTable(
    ['profile', 'split the blob', 'JSON.parse', 'normalize', 'serialize the event', 'UTF-8 encode', 'total', 'floor parse+stringify', '(parse+normalize+serialize) ÷ floor', 'split ÷ JSON.parse', 'split adds to JSON.parse (pushParsed)'],
    r.stages.map((x) => {
      const st = x.ms;
      const total = st.split + st.parse + st.normalize + st.stringify + st.encode;
      return [
        x.profile,
        ...[st.split, st.parse, st.normalize, st.stringify, st.encode, total, st.floor].map((ms) => `${formatCount(ms)} ms`),
        `${formatFixed(x.ratios.normalize[0]!, 2)}×`,
        `${formatFixed(x.ratios.split[0]!, 2)}×`,
        `${formatFixed(x.ratios.splitParsed[0]!, 2)}×`,
      ];
    }),
  );
  const recordBytes = r.stages[0]!.recordBytes / r.stages[0]!.records;
  const eventBytesTable = markdownTable(
    ['profile', 'bytes per record (the record\'s own JSON)', 'bytes per event on the hub', 'event ÷ record'],
    r.stages.map((x) => [x.profile, formatCount(recordBytes), formatCount(x.eventBytes / x.records), `${formatFixed(x.eventBytes / x.recordBytes, 2)}×`]),
  );
  const eventSizes = r.sizes.map((x) => `${formatCount(x.records)} records → ${formatMiB(x.eventBytes)} MiB of events`).join('; ');
  const rss = markdownTable(
    ['blob', 'records', 'MiB', 'ingest s', 'outcome', 'RSS before MiB', 'peak RSS (sampled every 20 ms) MiB', 'maxRSS (whole process life) MiB', 'target'],
    r.rss.map((x) => [
      x.label,
      formatCount(x.records),
      formatMiB(x.bytes),
      s(x.ms),
      x.reason === undefined ? 'done' : `failed: ${x.reason.replace(/; .*$/, '')}`,
      formatMiB(x.baseline),
      formatMiB(x.peak),
      formatMiB(x.maxRss),
      x.maxRss < RSS_TARGET_BYTES ? '< 256 MiB: met' : '< 256 MiB: NOT met',
    ]),
  );
  const pollTable = renderPollTable(r.poll);
  return [
    `Run ${new Date().toISOString().slice(0, 16)}Z with \`npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}\` (${formatFixed(r.wallSeconds / 60, 1)} min in all).`,
    `Machine: ${r.machine}; ${r.load}. Code: ${r.code}.`,
    '',
    '**Ingest path vs floor** (medians; floor = parse+stringify + pre-built send of the same records/events):',
    '',
    ingest,
    '',
    `Events sent: ${eventSizes}. Simulator generator: ${formatCount(r.simRecordsPerSecond)} records/s (the blobs above are pre-generated and served verbatim).`,
    '',
    `**CPU of the ingest path by stage** (${formatCount(r.stages[0]!.records)} records, one thread, no I/O, medians of 3; the SDK's batching and AMQP encoding come on top). The stage columns time each stage around its own call, record by record; the three ratios are medians over ${3 * STAGE_PAIRS} pairs of whole passes, each beside its yardstick (see "How it is measured"):`,
    '',
    stages,
    '',
    `**Bytes on the hub per record** (the same ${formatCount(r.stages[0]!.records)} records, by EVENT_PROFILE):`,
    '',
    eventBytesTable,
    '',
    '**Peak RSS of the ingesting process:**',
    '',
    rss,
    '',
    '**Poll path:**',
    '',
    pollTable,
    ...(r.profileText ? ['', r.profileText] : []),
  ].join('\n');
}

async function stopChild(child: TsChild): Promise<void> {
  if (child.process.exitCode !== null || child.process.signalCode !== null) return;
  await child.call('close').catch(() => undefined);
  if (child.process.connected) child.process.disconnect();
  const timer = setTimeout(() => child.process.kill('SIGKILL'), 10_000);
  await child.exited;
  clearTimeout(timer);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exitCode = 1;
});
