/**
 * `npm run soak`: the whole pipeline under injected faults for a bounded time, then a loss check.
 *
 *   npm run soak [-- --seed 1] [--minutes 10] [--kills 6] [--print-only]
 *
 * In this process: Azurite (its own child), the simulated tenant with seeded fault rules (429, 403
 * AF429, 500 AF50000, slow answers, connection resets), the test Event Hubs broker with faults now and
 * then (detached links, dropped connections, a lost acknowledgement, server-busy), and the poller
 * (the real pollStreams every few seconds). The ingest worker (tools/soak/worker.ts) is a child process
 * that is SIGKILLed while blobs are in flight and started again. When every listed blob's ledger row is
 * final (or time is up) it checks that every record served arrived at the broker, counts duplicates,
 * prints the figures, writes them into docs/reliability.md, and exits 1 on any loss or any blob not done.
 */
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { loadConfig } from '../../shared/config.js';
import { CONTENT_TYPES, type ContentType } from '../../shared/core/model.js';
import { HOUR_MS, MINUTE_MS } from '../../shared/core/windows.js';
import { noMetrics, silentLogger, type LedgerEntry } from '../../shared/ports.js';
import { pollStreams } from '../../shared/usecases/pollStreams.js';
import { createWiring, type Wiring } from '../../shared/wiring.js';
import { REPO_ROOT, spawnTs, type Notice, type TsChild } from '../bench/ipc.js';
import { describeCode, describeMachine } from '../bench/machine.js';
import { formatCount, formatFixed, markdownTable, replaceBlock } from '../bench/stats.js';
import { startEventHubBroker, type EventHubBroker } from '../eventHubBroker/index.js';
import { startSimTenant, type FaultRule, type SimTenant } from '../simTenant/index.js';
import { Rng } from '../simTenant/rng.js';
import { startAzurite } from '../stack/azurite.js';
import { exitOnHelp } from '../stack/cliHelp.js';

const TENANT = '3e8a0c4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f';
const APP_ID = '4f9b1d5a-6b7c-4d8e-9f0a-1b2c3d4e5f6a';
const APP_SECRET = 'soak-local-secret'; // a public local value for the simulator; protects nothing
const HUB = 'm365-audit';
/** 5 content types × 3 blobs/h × ~8 h ≈ 118 blobs of ~1,200 records (±50%): comfortably over 100k records. */
const LOOKBACK_HOURS = 8;
const BLOBS_PER_HOUR = 3;
const RECORDS_PER_BLOB = 1200;
const MIN_RECORDS = 100_000;
const POLL_EVERY_MS = 3_000;
/** As functions/pollContent.ts: streams polled at once. */
const POLL_CONCURRENCY = 4;
/** The host waits 30 s before a failed message is visible again; the soak waits 2 s to fit its time bound. */
const RETRY_VISIBILITY_SECONDS = 2;
/** A killed worker's messages come back after this; long enough for any blob here to finish normally. */
const LEASE_SECONDS = 20;
const DOC = join(REPO_ROOT, 'docs', 'reliability.md');

/** Per request to the listing and to blob downloads; each rule rolls the seeded RNG on its own. */
const SIM_FAULTS: readonly { probability: number; fault: FaultRule['fault'] }[] = [
  { probability: 0.03, fault: { kind: 'status', status: 429, code: 'AF429' } },
  { probability: 0.02, fault: { kind: 'af429-403' } },
  { probability: 0.03, fault: { kind: 'status', status: 500, code: 'AF50000' } },
  { probability: 0.03, fault: { kind: 'slow', delayInMs: 1500 } },
  { probability: 0.03, fault: { kind: 'reset' } },
];
/** The simulator counts faults by kind; 'status' covers both status rules above. */
const SIM_FAULT_LABELS: Readonly<Record<string, string>> = { status: '429 AF429 or 500 AF50000', 'af429-403': '403 AF429', slow: 'slow answer', reset: 'connection reset' };
const BROKER_FAULT_EVERY_MS = { min: 10_000, max: 25_000 } as const;
const BROKER_FAULTS = ['detach links', 'drop connections', 'drop a transfer unacknowledged', 'server busy'] as const;
type BrokerFault = (typeof BROKER_FAULTS)[number];

exitOnHelp(
  process.argv.slice(2),
  `npm run soak -- [--seed 1] [--minutes 10] [--kills 6] [--print-only]

Runs the whole pipeline for a bounded time under injected faults (throttling, 5xx, slow answers and
resets from the simulated tenant; detached links, dropped connections and server-busy from the test
broker; the ingest worker killed while blobs are in flight), then checks that every record served
arrived. Writes the figures into docs/reliability.md; exits 1 on any loss or any blob not done.

  --seed N        seed of the faults and the simulated tenant (default 1)
  --minutes N     time limit (default 10)
  --kills N       how many times the ingest worker is killed (default 6)
  --print-only    print the figures, do not write docs/reliability.md
  --help          this text`,
);

const { values: args } = parseArgs({
  options: {
    seed: { type: 'string', default: '1' },
    minutes: { type: 'string', default: '10' },
    kills: { type: 'string', default: '6' },
    'print-only': { type: 'boolean', default: false },
  },
  strict: true,
});
const seed = Number(args.seed);
const limitMs = Number(args.minutes) * MINUTE_MS;
const plannedKills = Number(args.kills);
if (!Number.isInteger(seed) || !(limitMs > 0) || !Number.isInteger(plannedKills) || plannedKills < 0) {
  throw new Error('--seed and --kills take whole numbers, --minutes a positive number');
}

const say = (line = '') => process.stdout.write(`${line}\n`);

/**
 * Runs the ingest worker child, restarts it after each kill, and aims kills at blobs in flight: once a
 * kill is due, the next blob that starts is given a seeded 100–600 ms to get going, and the worker is
 * killed then if anything is still in flight.
 */
class WorkerSupervisor {
  readonly inFlight = new Set<string>();
  readonly delivered = new Set<string>();
  readonly kills: { atSeconds: number; blobsInFlight: number }[] = [];
  failedAttempts = 0;
  private child?: TsChild;
  private due = false;
  private aiming = false;
  private stopping = false;

  constructor(
    private readonly env: NodeJS.ProcessEnv,
    private readonly outputFd: number,
    private readonly rng: Rng,
    private readonly began: number,
  ) {}

  async start(): Promise<void> {
    const child = spawnTs('tools/soak/worker.ts', { env: this.env, outputFd: this.outputFd, onNotice: (n) => this.onNotice(n) });
    this.child = child;
    await child.ready;
  }

  /** Asks for one kill, carried out on the next blob in flight. */
  killSoon(): void {
    this.due = true;
  }

  get killPending(): boolean {
    return this.due;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    const child = this.child;
    if (!child || child.process.exitCode !== null || child.process.signalCode !== null) return;
    child.process.kill('SIGTERM');
    const hard = setTimeout(() => child.process.kill('SIGKILL'), 45_000);
    await child.exited;
    clearTimeout(hard);
  }

  private onNotice(notice: Notice): void {
    const contentId = String(notice.contentId);
    if (notice.notice === 'start') {
      this.inFlight.add(contentId);
      if (this.due && !this.aiming) {
        this.aiming = true;
        sleep(this.rng.int(100, 600))
          .then(() => this.kill())
          .catch((err: unknown) => say(`soak: could not kill and restart the worker: ${String(err)}`));
      }
    } else if (notice.notice === 'end') {
      this.inFlight.delete(contentId);
      if (notice.ok === true) this.delivered.add(contentId);
      else this.failedAttempts++;
    }
  }

  private async kill(): Promise<void> {
    this.aiming = false;
    const child = this.child;
    if (this.stopping || !child || this.inFlight.size === 0) return; // still due: the next start aims again
    this.due = false;
    this.kills.push({ atSeconds: (Date.now() - this.began) / 1000, blobsInFlight: this.inFlight.size });
    child.process.kill('SIGKILL');
    await child.exited;
    this.inFlight.clear();
    await sleep(this.rng.int(500, 1500));
    if (!this.stopping) await this.start();
  }
}

interface PollTally {
  runs: number;
  complete: number;
  partial: number;
  failed: number;
  skipped: number;
}

async function pollUntil(wiring: Wiring, signal: AbortSignal, tally: PollTally): Promise<void> {
  const { config } = wiring;
  while (!signal.aborted) {
    const results = await pollStreams(
      wiring.streams,
      { feed: wiring.feed, ledger: wiring.ledger, queue: wiring.queue, cursors: wiring.cursors, listings: wiring.listings, gaps: wiring.gaps, sink: wiring.sink, blobs: wiring.blobs, clock: wiring.clock, logger: silentLogger, metrics: noMetrics },
      {
        settleLagMs: config.poll.settleLagMinutes * MINUTE_MS,
        overlapMs: config.poll.overlapMinutes * MINUTE_MS,
        initialLookbackMs: config.poll.initialLookbackHours * HOUR_MS,
        concurrency: POLL_CONCURRENCY,
        deadline: Date.now() + MINUTE_MS,
      },
    );
    tally.runs++;
    for (const r of results) tally[r.outcome]++;
    await sleep(POLL_EVERY_MS, undefined, { signal }).catch(() => undefined);
  }
}

/** Broker faults in turn (from a seeded starting point), so a short run still sees every kind. */
async function brokerFaultsUntil(broker: EventHubBroker, rng: Rng, signal: AbortSignal, counts: Record<BrokerFault, number>): Promise<void> {
  for (let turn = rng.int(0, BROKER_FAULTS.length - 1); ; turn++) {
    // Now and then: the SDK only notices a dropped connection or a lost acknowledgement when its 30 s
    // operation timeout expires, so every connection fault stalls the worker's sends for about that long.
    const stopped = await sleep(rng.int(BROKER_FAULT_EVERY_MS.min, BROKER_FAULT_EVERY_MS.max), undefined, { signal }).then(() => false, () => true);
    if (stopped) return;
    const fault = BROKER_FAULTS[turn % BROKER_FAULTS.length]!;
    counts[fault]++;
    switch (fault) {
      case 'detach links':
        // Resolves once every client answered; a client that lost its connection meanwhile never will.
        await Promise.race([broker.faults.detachSenders(), sleep(10_000)]);
        break;
      case 'drop connections':
        broker.faults.dropConnections();
        break;
      case 'drop a transfer unacknowledged':
        broker.faults.dropOnTransfer(rng.int(1, 5));
        break;
      case 'server busy':
        broker.faults.serverBusy(rng.int(1, 8));
        break;
    }
  }
}

async function ledgerRows(wiring: Wiring): Promise<Map<string, LedgerEntry>> {
  const rows = new Map<string, LedgerEntry>();
  for (const stream of wiring.streams) for await (const row of wiring.ledger.query(stream, {})) rows.set(row.contentId, row);
  return rows;
}

/** What the broker holds, keyed by blob and record Id. */
function arrivals(broker: EventHubBroker) {
  const byKey = new Set<string>();
  const ids = new Set<string>();
  let dataEvents = 0;
  let pipelineEvents = 0;
  for (const event of broker.events(HUB)) {
    const body = JSON.parse(event.body.toString('utf8')) as { EventSchema?: string; SourceContentId?: string; EventOriginalUid?: string | null };
    if (body.EventSchema === 'PipelineError') {
      pipelineEvents++;
      continue;
    }
    dataEvents++;
    const id = String(body.EventOriginalUid);
    ids.add(id);
    byKey.add(`${body.SourceContentId}|${id}`);
  }
  return { byKey, ids, dataEvents, pipelineEvents };
}

/** What the tenant served for the listed blobs, keyed the same way. */
function servedRecords(sim: SimTenant, rows: Map<string, LedgerEntry>) {
  const keys = new Set<string>();
  const ids = new Set<string>();
  let records = 0;
  let withoutId = 0;
  for (const contentId of rows.keys()) {
    for (const record of sim.recordsOf(TENANT, contentId) as { Id?: unknown }[]) {
      records++;
      if (typeof record.Id !== 'string') withoutId++;
      ids.add(String(record.Id));
      keys.add(`${contentId}|${String(record.Id)}`);
    }
  }
  return { keys, ids, records, withoutId };
}

async function main(): Promise<number> {
  const began = Date.now();
  const code = describeCode();
  const rng = new Rng(`soak|${seed}`);
  const workDir = mkdtempSync(join(tmpdir(), 'm365-soak-'));
  const logFile = join(workDir, 'worker.log');
  const logFd = openSync(logFile, 'a');
  // The worker's log stays for inspection when the run fails; a passing run leaves nothing behind.
  let keepLog = true;
  const stops: (() => Promise<unknown>)[] = [
    async () => {
      closeSync(logFd);
      if (!keepLog) rmSync(workDir, { recursive: true, force: true });
    },
  ];
  try {
    const azurite = await startAzurite();
    stops.push(() => azurite.stop());
    const broker = await startEventHubBroker({ hubs: [{ name: HUB, partitionCount: 4 }] });
    stops.push(() => broker.close());
    // The feed's clock stands still, so the backlog is fixed; tokens and throttling run on the real clock.
    const feedNow = Date.now();
    const sim = await startSimTenant({
      seed,
      now: () => feedNow,
      tenants: [{ tenantId: TENANT, apps: [{ clientId: APP_ID, secret: APP_SECRET }], blobsPerHour: BLOBS_PER_HOUR, recordsPerBlob: RECORDS_PER_BLOB }],
    });
    stops.push(() => sim.close());

    const env: NodeJS.ProcessEnv = {
      ...process.env,
      O365_TENANTS: JSON.stringify([{ tenantId: TENANT, clientId: APP_ID, credential: { type: 'secret', secretName: 'SOAK_APP_SECRET' } }]),
      SOAK_APP_SECRET: APP_SECRET,
      O365_MANAGEMENT_ENDPOINT: sim.url,
      O365_AUTHORITY_HOST: sim.url,
      AzureWebJobsStorage: azurite.connectionString,
      EVENTHUB_CONNECTION: broker.connectionString(),
      EVENTHUB_NAME: HUB,
      CONTENT_QUEUE_NAME: 'soak-content',
      INITIAL_LOOKBACK_HOURS: String(LOOKBACK_HOURS),
      SOAK_RETRY_VISIBILITY_SECONDS: String(RETRY_VISIBILITY_SECONDS),
      SOAK_LEASE_SECONDS: String(LEASE_SECONDS),
    };
    const wiring = createWiring(loadConfig(env), { logger: silentLogger });
    stops.push(() => wiring.close());
    await wiring.ensureResources();
    for (const op of ['content', 'blob'] as const) for (const rule of SIM_FAULTS) sim.faults.inject({ op, ...rule });

    // Blobs every stream's first poll must list: created in [now − lookback, now − settle lag), whole seconds inside.
    const firstPollAt = Date.now();
    const expected = new Map<string, ContentType>();
    for (const contentType of CONTENT_TYPES) {
      const from = firstPollAt - LOOKBACK_HOURS * HOUR_MS + 2_000;
      const to = Math.floor((firstPollAt - wiring.config.poll.settleLagMinutes * MINUTE_MS) / 1000) * 1000;
      for (const blob of sim.blobs(TENANT, contentType, from, to)) expected.set(blob.contentId, contentType);
    }
    say(`soak: ${expected.size} blobs to list (5 content types, ${LOOKBACK_HOURS} h), ${plannedKills} worker kills planned, limit ${args.minutes} min; worker log: ${logFile}`);

    const worker = new WorkerSupervisor(env, logFd, rng, began);
    stops.push(() => worker.stop());
    await worker.start();
    const stop = new AbortController();
    const polls: PollTally = { runs: 0, complete: 0, partial: 0, failed: 0, skipped: 0 };
    const brokerCounts = Object.fromEntries(BROKER_FAULTS.map((f) => [f, 0])) as Record<BrokerFault, number>;
    const loops = Promise.all([pollUntil(wiring, stop.signal, polls), brokerFaultsUntil(broker, rng, stop.signal, brokerCounts)]);

    let rows = new Map<string, LedgerEntry>();
    let timedOut = false;
    let lastLine = '';
    for (;;) {
      await sleep(1_000);
      rows = await ledgerRows(wiring);
      const open = [...rows.values()].filter((r) => r.status === 'listed').length;
      const unlisted = [...expected.keys()].filter((id) => !rows.has(id)).length;
      // Kills are spread over the run: kill k is due once k/(kills+1) of the blobs are delivered.
      const progress = worker.delivered.size / Math.max(1, expected.size);
      if (!worker.killPending && worker.kills.length < plannedKills && progress >= (worker.kills.length + 1) / (plannedKills + 1)) worker.killSoon();
      const line = `  ${formatFixed((Date.now() - began) / 1000, 0)} s: ${rows.size} listed, ${rows.size - open} final, ${worker.inFlight.size} in flight, ${worker.kills.length} kills, ${worker.failedAttempts} failed attempts`;
      if (line.replace(/^\s*\d+ s/, '') !== lastLine.replace(/^\s*\d+ s/, '')) say(line);
      lastLine = line;
      if (unlisted === 0 && open === 0 && rows.size > 0) break;
      if (Date.now() - began > limitMs) {
        timedOut = true;
        break;
      }
    }
    stop.abort();
    await loops;
    await worker.stop();
    const wallSeconds = (Date.now() - began) / 1000;

    rows = await ledgerRows(wiring);
    const served = servedRecords(sim, rows);
    const arrived = arrivals(broker);
    const missing = [...served.keys].filter((k) => !arrived.byKey.has(k));
    const missingIds = [...served.ids].filter((id) => !arrived.ids.has(id));
    const notDone = [...rows.values()].filter((r) => r.status !== 'done');
    const unlisted = [...expected.keys()].filter((id) => !rows.has(id));
    const duplicates = arrived.dataEvents - arrived.byKey.size;
    const statuses: Record<string, number> = {};
    for (const row of rows.values()) statuses[row.status] = (statuses[row.status] ?? 0) + 1;
    const maxAttempts = Math.max(0, ...[...rows.values()].map((r) => r.attempts ?? 0));
    const simStats = sim.stats();

    const problems: string[] = [];
    if (timedOut) problems.push(`time limit of ${args.minutes} min reached before every listed blob was final`);
    if (served.withoutId > 0) problems.push(`${served.withoutId} served records have no Id, so the check cannot key them`);
    if (served.records < MIN_RECORDS) problems.push(`only ${served.records} records were served; the soak must cover at least ${MIN_RECORDS}`);
    if (missing.length > 0) problems.push(`${missing.length} served records never arrived (blob|Id): ${missing.slice(0, 10).join(', ')}${missing.length > 10 ? ', …' : ''}`);
    if (unlisted.length > 0) problems.push(`${unlisted.length} blobs were never listed: ${unlisted.slice(0, 10).join(', ')}`);
    for (const row of notDone.slice(0, 20)) problems.push(`blob ${row.contentId} is ${row.status} after ${row.attempts ?? 0} attempts: ${row.lastError ?? 'no error recorded'}`);
    if (notDone.length > 20) problems.push(`… and ${notDone.length - 20} more blobs not done`);

    const verdict = problems.length === 0 ? 'PASS' : 'FAIL';
    const faultsByKind = Object.entries(simStats.faultsApplied).map(([k, v]) => `${SIM_FAULT_LABELS[k] ?? k}: ${formatCount(v ?? 0)}`).join(', ');
    const requests = Object.entries(simStats.totals).map(([k, v]) => `${k}: ${formatCount(v ?? 0)}`).join(', ');
    const table = markdownTable(
      ['measure', 'value'],
      [
        ['verdict', verdict],
        ['blobs listed (ledger rows)', `${formatCount(rows.size)} (${formatCount(expected.size)} required by the first poll's range)`],
        ['records served (sim.recordsOf over every listed blob)', formatCount(served.records)],
        ['records arrived (distinct blob + Id)', formatCount(arrived.byKey.size)],
        ['records missing', `${formatCount(missing.length)} (by Id alone: ${formatCount(missingIds.length)})`],
        ['duplicates (events beyond the first per blob + Id)', `${formatCount(duplicates)} (${formatFixed((100 * duplicates) / Math.max(1, served.records), 2)} % of served)`],
        ['events at the broker', `${formatCount(arrived.dataEvents)} record events, ${formatCount(arrived.pipelineEvents)} pipeline events`],
        ['Ids the tenant itself served in two blobs', formatCount(served.records - served.ids.size)],
        ['ledger statuses', Object.entries(statuses).map(([k, v]) => `${k}: ${formatCount(v)}`).join(', ')],
        ['most attempts on one blob', String(maxAttempts)],
        ['simulated tenant faults injected', faultsByKind || 'none'],
        ['AF429 answers (faults and throttle)', formatCount(simStats.af429)],
        ['simulated tenant requests', requests],
        ['broker faults', BROKER_FAULTS.map((f) => `${f}: ${brokerCounts[f]}`).join(', ')],
        ['broker connections accepted / transfers rejected', `${formatCount(broker.stats().connections)} / ${formatCount(broker.stats().rejected)}`],
        ['worker kills (SIGKILL, blobs in flight)', `${worker.kills.length} (${worker.kills.map((k) => `${formatFixed(k.atSeconds, 0)} s: ${k.blobsInFlight}`).join('; ') || 'none'})`],
        ['failed delivery attempts retried by the queue', formatCount(worker.failedAttempts)],
        ['polls (stream outcomes)', `${polls.runs} runs: ${polls.complete} complete, ${polls.partial} partial, ${polls.failed} failed, ${polls.skipped} skipped`],
        ['wall time', `${formatFixed(wallSeconds, 0)} s (limit ${args.minutes} min)`],
      ],
    );
    const report = [
      `Run ${new Date().toISOString().slice(0, 16)}Z with \`npm run soak${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}\` (seed ${seed}).`,
      `Machine: ${describeMachine()}. Code: ${code}.`,
      '',
      table,
      ...(problems.length > 0 ? ['', 'Problems:', '', ...problems.map((p) => `- ${p}`)] : []),
    ].join('\n');
    say();
    say(report);
    if (!args['print-only']) {
      writeFileSync(DOC, replaceBlock(readFileSync(DOC, 'utf8'), 'soak-results', report));
      say(`\nwritten to ${DOC}`);
    }
    keepLog = problems.length > 0;
    if (keepLog) say(`worker log kept: ${logFile}`);
    return problems.length === 0 ? 0 : 1;
  } finally {
    for (const stop of stops.reverse()) await stop().catch((err: unknown) => say(`while stopping: ${String(err)}`));
  }
}

// The check above is bounded; this catches a shutdown that hangs.
setTimeout(() => {
  console.error('soak: still running 3 minutes past its time limit; giving up');
  process.exit(1);
}, limitMs + 3 * MINUTE_MS).unref();

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
    process.exitCode = 1;
  },
);
