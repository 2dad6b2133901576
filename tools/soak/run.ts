/**
 * `npm run soak`: the whole pipeline under injected faults for a bounded time, then a loss check.
 *
 *   npm run soak [-- --seed 1] [--minutes 10] [--kills 6] [--workers 4] [--full] [--print-only]
 *
 * In this process: Azurite (its own child), the simulated tenant with seeded fault rules (429, 403
 * AF429, 500 AF50000, slow answers, connection resets), the test Event Hubs broker with faults now and
 * then (detached links, dropped connections, a lost acknowledgement, server-busy), and the poller
 * (the real pollStreams every few seconds) and reconcile (the functions/ handler, periodically). The
 * ingest workers (tools/soak/worker.ts, four by default) are child processes, SIGKILLed in turn while
 * blobs are in flight and started again. `--full` runs over a million records with more faults
 * (token endpoint included) and restarts Azurite mid-run on the same data folder and ports. When every listed blob's ledger row is
 * final (or time is up) it checks that every record served arrived at the broker, counts duplicates,
 * prints the figures, writes them into docs/reliability.md, and exits 1 on any loss or any blob not done.
 */
import { createHash } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import functions, { type Timer } from '@azure/functions';
import { handleReconcileTimer } from '../../functions/reconcile.js';
import { loadConfig } from '../../shared/config.js';
import { CONTENT_TYPES, type ContentType } from '../../shared/core/model.js';
import { HOUR_MS, MINUTE_MS } from '../../shared/core/windows.js';
import { noMetrics, silentLogger } from '../../shared/ports.js';
import type { LedgerEntry } from '../../shared/core/ledger.js';
import { pollStreams } from '../../shared/usecases/pollStreams.js';
import { createWiring, type Wiring } from '../../shared/wiring.js';
import { REPO_ROOT, spawnTs, type Notice, type TsChild } from '../common/ipc.js';
import { describeCode, describeMachine } from '../common/machine.js';
import { formatCount, formatFixed, markdownTable, replaceBlock } from '../common/stats.js';
import { startEventHubBroker, type EventHubBroker } from '../standins/eventHubBroker/index.js';
import { startSimTenant, type FaultRule, type SimTenant } from '../standins/simTenant/index.js';
import { Rng } from '../standins/simTenant/rng.js';
import { startAzurite, type AzuriteHandle } from '../local/azurite.js';
import { exitOnHelp } from '../common/cliHelp.js';

const TENANT = '3e8a0c4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f';
const APP_ID = '4f9b1d5a-6b7c-4d8e-9f0a-1b2c3d4e5f6a';
const APP_SECRET = 'soak-local-secret'; // a public local value for the simulator; protects nothing
const HUB = 'm365-audit';
/** One profile per mode: the default is short, `--full` covers a million records. */
interface Profile {
  readonly name: 'default' | 'full';
  /** 5 content types × blobsPerHour × lookbackHours blobs of recordsPerBlob (±50 %) records. */
  readonly lookbackHours: number;
  readonly blobsPerHour: number;
  readonly recordsPerBlob: number;
  readonly minRecords: number;
  readonly minutes: number;
  /** Per request to the listing and to blob downloads; each rule rolls the seeded RNG on its own. */
  readonly simFaults: readonly { probability: number; fault: FaultRule['fault'] }[];
  /** Per request to the Entra token endpoint. */
  readonly tokenFaults: readonly { probability: number; fault: FaultRule['fault'] }[];
  /** Restart Azurite (same folder and ports) once this share of the blobs is delivered; undefined: never. */
  readonly azuriteRestartAt?: number;
  /** Share of simulator requests that must be faulted for the run to count. */
  readonly minFaultedShare: number;
  readonly brokerFaultEveryMs: { min: number; max: number };
}

/** The listing and download faults, each with its probability per request. */
function apiFaults(p: { af429: number; af429As403: number; af50000: number; slow: number; reset: number }): Profile['simFaults'] {
  return [
    { probability: p.af429, fault: { kind: 'status', status: 429, code: 'AF429' } },
    { probability: p.af429As403, fault: { kind: 'af429-403' } },
    { probability: p.af50000, fault: { kind: 'status', status: 500, code: 'AF50000' } },
    { probability: p.slow, fault: { kind: 'slow', delayInMs: 1500 } },
    { probability: p.reset, fault: { kind: 'reset' } },
  ];
}

const DEFAULT_PROFILE: Profile = {
  name: 'default',
  // 5 content types × 3 blobs/h × ~8 h ≈ 118 blobs of ~1,200 records (±50%): comfortably over 100k records.
  lookbackHours: 8,
  blobsPerHour: 3,
  recordsPerBlob: 1200,
  minRecords: 100_000,
  minutes: 10,
  simFaults: apiFaults({ af429: 0.03, af429As403: 0.02, af50000: 0.03, slow: 0.03, reset: 0.03 }),
  tokenFaults: [],
  minFaultedShare: 0,
  brokerFaultEveryMs: { min: 10_000, max: 25_000 },
};

const FULL_PROFILE: Profile = {
  name: 'full',
  // 5 × 5 blobs/h × 10 h ≈ 250 blobs of ~4,400 records (±50 %): about 1.1 million records.
  lookbackHours: 10,
  blobsPerHour: 5,
  recordsPerBlob: 4400,
  minRecords: 1_000_000,
  minutes: 30,
  simFaults: apiFaults({ af429: 0.035, af429As403: 0.025, af50000: 0.035, slow: 0.025, reset: 0.03 }),
  tokenFaults: [
    { probability: 0.1, fault: { kind: 'status', status: 503 } },
    { probability: 0.05, fault: { kind: 'reset' } },
  ],
  azuriteRestartAt: 0.4,
  minFaultedShare: 0.1,
  brokerFaultEveryMs: { min: 15_000, max: 30_000 },
};

const POLL_EVERY_MS = 3_000;
/** As functions/pollContent.ts: streams polled at once. */
const POLL_CONCURRENCY = 4;
/** Reconcile runs this often (production: every 15 minutes); it re-enqueues what it finds stuck. */
const RECONCILE_EVERY_MS = 20_000;
/** The host waits 30 s before a failed message is visible again; the soak waits 2 s to fit its time bound. */
const RETRY_VISIBILITY_SECONDS = 2;
/** A killed worker's messages come back after this; long enough for any blob here to finish normally. */
const LEASE_SECONDS = 20;
const DOC = join(REPO_ROOT, 'docs', 'reliability.md');
/** Operations of the Management Activity API itself (token and metadata are Entra's). */
const MANAGEMENT_OPS = ['start', 'stop', 'list', 'content', 'blob', 'resources'] as const;

/** The simulator counts faults by kind; 'status' covers every status rule. */
const SIM_FAULT_LABELS: Readonly<Record<string, string>> = { status: 'HTTP status (429 AF429, 500 AF50000, token 503)', 'af429-403': '403 AF429', slow: 'slow answer', reset: 'connection reset' };
const BROKER_FAULTS = ['detach links', 'drop connections', 'drop a transfer unacknowledged', 'server busy'] as const;
type BrokerFault = (typeof BROKER_FAULTS)[number];

exitOnHelp(
  process.argv.slice(2),
  `npm run soak -- [--full] [--seed 1] [--minutes N] [--kills 6] [--workers 4] [--requests-per-minute 2000] [--print-only]

Runs the whole pipeline for a bounded time under injected faults (throttling, 5xx, slow answers and
resets from the simulated tenant; detached links, dropped connections and server-busy from the test
broker; ingest worker processes killed while blobs are in flight; reconcile running periodically), then
checks that every record served arrived, counts duplicates and AF429 answers. Writes the figures into
docs/reliability.md (one block per mode); exits 1 on any loss or any blob not done.

  --full          a million records or more, over 10 % of simulator requests faulted (token endpoint
                  included), Azurite stopped and restarted mid-run on the same data and ports
                  (default: ~140,000 records, a few minutes)
  --seed N        seed of the faults and the simulated tenant (default 1)
  --minutes N     time limit (default 10; 30 with --full)
  --kills N       how many times an ingest worker is killed, spread over the workers (default 6)
  --workers N     ingest worker processes (default 4)
  --requests-per-minute N
                  the simulator's per-tenant throttle across all connections (default 2000, the
                  service's limit); lower it to see the pipeline under AF429 pressure
  --print-only    print the figures, do not write docs/reliability.md
  --help          this text`,
);

const { values: args } = parseArgs({
  options: {
    seed: { type: 'string', default: '1' },
    minutes: { type: 'string' },
    kills: { type: 'string', default: '6' },
    workers: { type: 'string', default: '4' },
    'requests-per-minute': { type: 'string', default: '2000' },
    full: { type: 'boolean', default: false },
    'print-only': { type: 'boolean', default: false },
  },
  strict: true,
});
const profile = args.full ? FULL_PROFILE : DEFAULT_PROFILE;
const seed = Number(args.seed);
const minutes = args.minutes === undefined ? profile.minutes : Number(args.minutes);
const limitMs = minutes * MINUTE_MS;
const plannedKills = Number(args.kills);
const workerCount = Number(args.workers);
const requestsPerMinute = Number(args['requests-per-minute']);
if (!Number.isInteger(seed) || !(limitMs > 0) || !Number.isInteger(plannedKills) || plannedKills < 0 || !Number.isInteger(workerCount) || workerCount < 1 || !(requestsPerMinute > 0)) {
  throw new Error('--seed, --kills and --workers (≥ 1) take whole numbers, --minutes and --requests-per-minute positive numbers');
}

const say = (line = '') => process.stdout.write(`${line}\n`);

/**
 * Runs the ingest worker children, restarts each after its kill, and aims kills at blobs in flight: once a
 * kill is due, the next blob that starts on the worker whose turn it is (kill k: worker k mod N) is given
 * a seeded 100–600 ms to get going, and that worker is killed then if anything is still in flight there.
 * A kill due for more than 2 s takes the next start on any worker, and one due for 5 s the busiest worker
 * (a worker whose slots hold long blobs starts nothing new for a while), so every planned kill happens.
 */
class WorkerSupervisor {
  readonly delivered = new Set<string>();
  readonly kills: { atSeconds: number; worker: number; blobsInFlight: number }[] = [];
  failedAttempts = 0;
  private readonly children: (TsChild | undefined)[];
  private readonly inFlightBy: Set<string>[];
  private due = false;
  private dueSince = 0;
  private aiming = false;
  private stopping = false;

  constructor(
    private readonly count: number,
    private readonly env: NodeJS.ProcessEnv,
    private readonly outputFd: number,
    private readonly rng: Rng,
    private readonly began: number,
  ) {
    this.children = Array.from({ length: count }, () => undefined);
    this.inFlightBy = Array.from({ length: count }, () => new Set<string>());
  }

  get inFlight(): number {
    return this.inFlightBy.reduce((n, set) => n + set.size, 0);
  }

  async start(): Promise<void> {
    await Promise.all(this.children.map((_, i) => this.startOne(i)));
  }

  private async startOne(i: number): Promise<void> {
    const child = spawnTs('tools/soak/worker.ts', { env: { ...this.env, SOAK_WORKER_INDEX: String(i) }, outputFd: this.outputFd, onNotice: (n) => this.onNotice(i, n) });
    this.children[i] = child;
    await child.ready;
  }

  /** Asks for one kill, carried out on the next blob in flight. */
  killSoon(): void {
    if (!this.due) this.dueSince = Date.now();
    this.due = true;
  }

  /** Called every second or so: a kill due for 5 s goes to the worker with the most blobs in flight. */
  tick(): void {
    if (!this.due || this.aiming || this.stopping || Date.now() - this.dueSince < 5000) return;
    let busiest = -1;
    for (let i = 0; i < this.count; i++) if (this.inFlightBy[i]!.size > 0 && (busiest < 0 || this.inFlightBy[i]!.size > this.inFlightBy[busiest]!.size)) busiest = i;
    if (busiest < 0) return;
    this.aiming = true;
    void this.kill(busiest).catch((err: unknown) => say(`soak: could not kill and restart worker ${busiest}: ${String(err)}`));
  }

  get killPending(): boolean {
    return this.due;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(
      this.children.map(async (child) => {
        if (!child || child.process.exitCode !== null || child.process.signalCode !== null) return;
        child.process.kill('SIGTERM');
        const hard = setTimeout(() => child.process.kill('SIGKILL'), 45_000);
        await child.exited;
        clearTimeout(hard);
      }),
    );
  }

  private onNotice(i: number, notice: Notice): void {
    const contentId = String(notice.contentId);
    if (notice.notice === 'start') {
      this.inFlightBy[i]!.add(contentId);
      // Kill k goes to worker k mod N, so kills are spread over every worker.
      if (this.due && !this.aiming && (i === this.kills.length % this.count || Date.now() - this.dueSince > 2000)) {
        this.aiming = true;
        sleep(this.rng.int(100, 600))
          .then(() => this.kill(i))
          .catch((err: unknown) => say(`soak: could not kill and restart worker ${i}: ${String(err)}`));
      }
    } else if (notice.notice === 'end') {
      this.inFlightBy[i]!.delete(contentId);
      if (notice.ok === true) this.delivered.add(contentId);
      else this.failedAttempts++;
    }
  }

  private async kill(i: number): Promise<void> {
    this.aiming = false;
    const child = this.children[i];
    const inFlight = this.inFlightBy[i]!;
    if (this.stopping || !child || inFlight.size === 0) return; // still due: the next start aims again
    this.due = false;
    this.kills.push({ atSeconds: (Date.now() - this.began) / 1000, worker: i, blobsInFlight: inFlight.size });
    child.process.kill('SIGKILL');
    await child.exited;
    inFlight.clear();
    await sleep(this.rng.int(500, 1500));
    if (!this.stopping) await this.startOne(i);
  }
}

interface PollTally {
  runs: number;
  complete: number;
  partial: number;
  failed: number;
  skipped: number;
  /** Poll runs that threw (Storage down while Azurite restarts). */
  errors: number;
}

async function pollUntil(wiring: Wiring, signal: AbortSignal, tally: PollTally): Promise<void> {
  const { config } = wiring;
  while (!signal.aborted) {
    const results = await pollStreams(
      wiring.streams,
      { feed: wiring.feed, ledger: wiring.ledger, queue: wiring.queue, cursors: wiring.cursors, listings: wiring.listings, gaps: wiring.gaps, sink: wiring.sink, blobs: wiring.blobs, clock: wiring.clock, logger: silentLogger, metrics: noMetrics },
      {
        settleLagInMs: config.poll.settleLagMinutes * MINUTE_MS,
        overlapInMs: config.poll.overlapMinutes * MINUTE_MS,
        initialLookbackInMs: config.poll.initialLookbackHours * HOUR_MS,
        concurrency: POLL_CONCURRENCY,
        deadlineAtMs: Date.now() + MINUTE_MS,
      },
    ).catch(() => undefined);
    tally.runs++;
    if (results === undefined) tally.errors++;
    else for (const r of results) tally[r.outcome]++;
    await sleep(POLL_EVERY_MS, undefined, { signal }).catch(() => undefined);
  }
}

/** Broker faults in turn (from a seeded starting point), so a short run still sees every kind. */
async function brokerFaultsUntil(broker: EventHubBroker, rng: Rng, signal: AbortSignal, counts: Record<BrokerFault, number>): Promise<void> {
  for (let turn = rng.int(0, BROKER_FAULTS.length - 1); ; turn++) {
    // Now and then: the SDK only notices a dropped connection or a lost acknowledgement when its 30 s
    // operation timeout expires, so every connection fault stalls the worker's sends for about that long.
    const stopped = await sleep(rng.int(profile.brokerFaultEveryMs.min, profile.brokerFaultEveryMs.max), undefined, { signal }).then(() => false, () => true);
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

/** A 64-bit digest of blob + record Id: the loss check keeps these, never record bodies or id strings. */
function keyOf(contentId: string, id: string): bigint {
  return createHash('sha1').update(contentId).update('|').update(id).digest().readBigUInt64BE(0);
}

/** A growable array of 64-bit keys. */
class Keys {
  private data = new BigUint64Array(1 << 16);
  length = 0;
  push(key: bigint): void {
    if (this.length === this.data.length) {
      const bigger = new BigUint64Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.length++] = key;
  }
  sorted(): BigUint64Array {
    return this.data.slice(0, this.length).sort();
  }
}

/** Counts what the broker accepts as it arrives (blob + Id digests), so the check never re-reads bodies. */
class ArrivalCounter {
  readonly keys = new Keys();
  dataEvents = 0;
  pipelineEvents = 0;
  unreadable = 0;
  onEvent(body: Buffer): void {
    let parsed: { EnvelopeSchema?: string; SourceContentId?: string; EventOriginalUid?: string | null };
    try {
      parsed = JSON.parse(body.toString('utf8')) as typeof parsed;
    } catch {
      this.unreadable++;
      return;
    }
    // Pipeline events (errors, manifests, heal reports) are not records of the tenant.
    if (parsed.EnvelopeSchema === 'm365.audit.pipeline') {
      this.pipelineEvents++;
      return;
    }
    this.dataEvents++;
    this.keys.push(keyOf(String(parsed.SourceContentId), String(parsed.EventOriginalUid)));
  }
}

/** What the tenant served for the listed blobs, as sorted digests, generated blob by blob. */
function servedRecords(sim: SimTenant, contentIds: Iterable<string>) {
  const keys = new Keys();
  let withoutId = 0;
  for (const contentId of contentIds) {
    for (const record of sim.recordsOf(TENANT, contentId) as { Id?: unknown }[]) {
      if (typeof record.Id !== 'string') withoutId++;
      keys.push(keyOf(contentId, String(record.Id)));
    }
  }
  return { keys: keys.sorted(), records: keys.length, withoutId };
}

/** Compares sorted digests: served keys absent from the arrivals, distinct arrivals, and repeats. */
function compareKeys(served: BigUint64Array, arrived: BigUint64Array) {
  let missing = 0;
  let servedRepeats = 0;
  let j = 0;
  for (let i = 0; i < served.length; i++) {
    const key = served[i]!;
    if (i > 0 && served[i - 1] === key) {
      servedRepeats++;
      continue;
    }
    while (j < arrived.length && arrived[j]! < key) j++;
    if (j >= arrived.length || arrived[j] !== key) missing++;
  }
  let distinct = 0;
  for (let i = 0; i < arrived.length; i++) if (i === 0 || arrived[i - 1] !== arrived[i]) distinct++;
  return { missing, distinctArrived: distinct, duplicates: arrived.length - distinct, servedRepeats };
}

/** Served records whose digest is not among the arrivals, as blob|Id (for the problem list). */
function findMissing(sim: SimTenant, contentIds: Iterable<string>, arrived: BigUint64Array, limit: number): string[] {
  const found: string[] = [];
  for (const contentId of contentIds) {
    for (const record of sim.recordsOf(TENANT, contentId) as { Id?: unknown }[]) {
      const key = keyOf(contentId, String(record.Id));
      let lo = 0;
      let hi = arrived.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (arrived[mid]! < key) lo = mid + 1;
        else hi = mid;
      }
      if (arrived[lo] !== key) found.push(`${contentId}|${String(record.Id)}`);
      if (found.length >= limit) return found;
    }
  }
  return found;
}

/** The reconcile timer function of functions/, called as the host calls it. */
async function reconcileUntil(wiring: Wiring, signal: AbortSignal, tally: { runs: number; errors: number }): Promise<void> {
  const timer = { isPastDue: false, schedule: { adjustForDST: false }, scheduleStatus: { last: '', next: '', lastUpdated: '' } } as unknown as Timer;
  for (;;) {
    const stopped = await sleep(RECONCILE_EVERY_MS, undefined, { signal }).then(() => false, () => true);
    if (stopped) return;
    const context = new functions.InvocationContext({ invocationId: `soak-reconcile-${tally.runs}`, functionName: 'reconcile', logHandler: () => undefined });
    try {
      await handleReconcileTimer(timer, context, wiring);
    } catch {
      tally.errors++;
    }
    tally.runs++;
  }
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
    // --full keeps Azurite's data in a folder so it can be stopped and started again on the same ports.
    const azuriteDir = profile.azuriteRestartAt === undefined ? undefined : join(workDir, 'azurite');
    let azurite: AzuriteHandle = await startAzurite(azuriteDir ? { location: azuriteDir } : {});
    stops.push(() => azurite.stop());
    const arrivedCounter = new ArrivalCounter();
    const broker = await startEventHubBroker({ hubs: [{ name: HUB, partitionCount: 4 }], onEvent: (e) => arrivedCounter.onEvent(e.body) });
    stops.push(() => broker.close());
    // The feed's clock stands still, so the backlog is fixed; tokens and throttling run on the real clock.
    const feedNow = Date.now();
    const sim = await startSimTenant({
      seed,
      now: () => feedNow,
      requestsPerMinute,
      tenants: [{ tenantId: TENANT, apps: [{ clientId: APP_ID, secret: APP_SECRET }], blobsPerHour: profile.blobsPerHour, recordsPerBlob: profile.recordsPerBlob }],
    });
    stops.push(() => sim.close());

    const env: NodeJS.ProcessEnv = {
      ...process.env,
      O365_TENANTS: JSON.stringify([{ tenantId: TENANT, clientId: APP_ID, credential: { type: 'secret', secretName: 'SOAK_APP_SECRET' } }]),
      SOAK_APP_SECRET: APP_SECRET,
      // The app allows itself 90 % of the simulator's throttle, as it allows itself 1,800 of the service's 2,000.
      TENANT_REQUESTS_PER_MINUTE: String(Math.max(2, Math.min(2000, Math.floor(requestsPerMinute * 0.9)))),
      O365_MANAGEMENT_ENDPOINT: sim.url,
      O365_AUTHORITY_HOST: sim.url,
      AzureWebJobsStorage: azurite.connectionString,
      EVENTHUB_CONNECTION: broker.connectionString(),
      EVENTHUB_NAME: HUB,
      CONTENT_QUEUE_NAME: 'soak-content',
      INITIAL_LOOKBACK_HOURS: String(profile.lookbackHours),
      // Short backoff so retries fit the run (production: 30 s doubling to an hour).
      RETRY_INITIAL_SECONDS: '2',
      RETRY_MAX_SECONDS: '20',
      SOAK_RETRY_VISIBILITY_SECONDS: String(RETRY_VISIBILITY_SECONDS),
      SOAK_LEASE_SECONDS: String(LEASE_SECONDS),
    };
    const wiring = createWiring(loadConfig(env), { logger: silentLogger });
    stops.push(() => wiring.close());
    await wiring.ensureResources();
    for (const op of ['content', 'blob'] as const) for (const rule of profile.simFaults) sim.faults.inject({ op, ...rule });
    for (const rule of profile.tokenFaults) sim.faults.inject({ op: 'token', ...rule });

    // Blobs every stream's first poll must list: created in [now − lookback, now − settle lag), a minute inside at
    // the start (the first poll runs a few seconds after this, and its lookback starts that much later).
    const firstPollAt = Date.now();
    const expected = new Map<string, ContentType>();
    for (const contentType of CONTENT_TYPES) {
      const from = firstPollAt - profile.lookbackHours * HOUR_MS + MINUTE_MS;
      const to = Math.floor((firstPollAt - wiring.config.poll.settleLagMinutes * MINUTE_MS) / 1000) * 1000;
      for (const blob of sim.blobs(TENANT, contentType, from, to)) expected.set(blob.contentId, contentType);
    }
    say(`soak (${profile.name}): ${expected.size} blobs to list (5 content types, ${profile.lookbackHours} h), ${workerCount} ingest workers, ${plannedKills} kills planned, limit ${minutes} min; worker log: ${logFile}`);

    const workers = new WorkerSupervisor(workerCount, env, logFd, rng, began);
    stops.push(() => workers.stop());
    await workers.start();
    const stop = new AbortController();
    const polls: PollTally = { runs: 0, complete: 0, partial: 0, failed: 0, skipped: 0, errors: 0 };
    const reconciles = { runs: 0, errors: 0 };
    const brokerCounts = Object.fromEntries(BROKER_FAULTS.map((f) => [f, 0])) as Record<BrokerFault, number>;
    const loops = Promise.all([pollUntil(wiring, stop.signal, polls), brokerFaultsUntil(broker, rng, stop.signal, brokerCounts), reconcileUntil(wiring, stop.signal, reconciles)]);

    // Management API requests sampled every second: the peak over any 60 s shows how close the run came to the throttle.
    const managementCalls = () => {
      const byOp = sim.stats().requests[TENANT] ?? {};
      return MANAGEMENT_OPS.reduce((n, op) => n + Object.values(byOp[op] ?? {}).reduce((a, b) => a + b, 0), 0);
    };
    const samples: { at: number; calls: number }[] = [];
    let peakPerMinute = 0;
    let azuriteRestart: { atSeconds: number; downSeconds: number } | undefined;

    let rows = new Map<string, LedgerEntry>();
    let ledgerReadErrors = 0;
    let timedOut = false;
    let lastLine = '';
    for (;;) {
      await sleep(1_000);
      const calls = managementCalls();
      samples.push({ at: Date.now(), calls });
      while (samples.length > 0 && samples[0]!.at < Date.now() - 60_000) samples.shift();
      peakPerMinute = Math.max(peakPerMinute, calls - samples[0]!.calls);
      const progress = workers.delivered.size / Math.max(1, expected.size);
      if (profile.azuriteRestartAt !== undefined && azuriteRestart === undefined && progress >= profile.azuriteRestartAt) {
        const at = Date.now();
        say(`  ${formatFixed((at - began) / 1000, 0)} s: stopping Azurite`);
        await azurite.stop();
        await sleep(rng.int(3_000, 8_000));
        azurite = await startAzurite({ location: azuriteDir!, ports: azurite.ports });
        azuriteRestart = { atSeconds: (at - began) / 1000, downSeconds: (Date.now() - at) / 1000 };
        say(`  ${formatFixed((Date.now() - began) / 1000, 0)} s: Azurite started again (${formatFixed(azuriteRestart.downSeconds, 1)} s down)`);
      }
      try {
        rows = await ledgerRows(wiring);
      } catch {
        ledgerReadErrors++;
        continue;
      }
      // Open: still to be delivered, or (after a crash) waiting for reconcile to try again.
      const open = [...rows.values()].filter((r) => r.status === 'listed' || r.status === 'delivering' || r.status === 'poisoned').length;
      const unlisted = [...expected.keys()].filter((id) => !rows.has(id)).length;
      // Kills are spread over the run: kill k is due once k/(kills+1) of the blobs are delivered.
      if (!workers.killPending && workers.kills.length < plannedKills && progress >= (workers.kills.length + 1) / (plannedKills + 1)) workers.killSoon();
      workers.tick();
      const line = `  ${formatFixed((Date.now() - began) / 1000, 0)} s: ${rows.size} listed, ${rows.size - open} final, ${workers.inFlight} in flight, ${workers.kills.length} kills, ${workers.failedAttempts} failed attempts${ledgerReadErrors > 0 ? `, ${ledgerReadErrors} ledger reads failed` : ''}, ${formatCount(arrivedCounter.dataEvents)} events`;
      if (line.replace(/^\s*\d+ s/, '').replace(/, [\d,]+ events$/, '') !== lastLine.replace(/^\s*\d+ s/, '').replace(/, [\d,]+ events$/, '')) say(line);
      lastLine = line;
      if (unlisted === 0 && open === 0 && rows.size > 0) break;
      if (Date.now() - began > limitMs) {
        timedOut = true;
        break;
      }
    }
    stop.abort();
    await loops;
    await workers.stop();
    const wallSeconds = (Date.now() - began) / 1000;

    rows = await ledgerRows(wiring);
    const served = servedRecords(sim, rows.keys());
    const arrivedKeys = arrivedCounter.keys.sorted();
    const compared = compareKeys(served.keys, arrivedKeys);
    const missingExamples = compared.missing > 0 ? findMissing(sim, rows.keys(), arrivedKeys, 10) : [];
    const notDone = [...rows.values()].filter((r) => r.status !== 'done');
    const unlisted = [...expected.keys()].filter((id) => !rows.has(id));
    const statuses: Record<string, number> = {};
    for (const row of rows.values()) statuses[row.status] = (statuses[row.status] ?? 0) + 1;
    const maxAttempts = Math.max(0, ...[...rows.values()].map((r) => r.attempts ?? 0));
    const simStats = sim.stats();
    const byOp = simStats.requests[TENANT] ?? {};
    const callsOf = (ops: readonly string[]) => ops.reduce((n, op) => n + Object.values(byOp[op as keyof typeof byOp] ?? {}).reduce((x, y) => x + y, 0), 0);
    const mgmtCalls = callsOf(MANAGEMENT_OPS);
    const allCalls = Object.values(simStats.totals).reduce((x, y) => x + (y ?? 0), 0);
    const faulted = Object.values(simStats.faultsApplied).reduce((x, y) => x + (y ?? 0), 0);
    const throttled = simStats.throttled ?? 0;
    const faultedShare = faulted / Math.max(1, allCalls);
    const duplicateShare = compared.duplicates / Math.max(1, served.records);
    const pct = (x: number) => `${formatFixed(100 * x, 2)} %`;

    const problems: string[] = [];
    if (timedOut) problems.push(`time limit of ${minutes} min reached before every listed blob was final`);
    if (served.withoutId > 0) problems.push(`${served.withoutId} served records have no Id, so the check cannot key them`);
    if (served.records < profile.minRecords) problems.push(`only ${served.records} records were served; this mode must cover at least ${profile.minRecords}`);
    if (compared.missing > 0) problems.push(`${compared.missing} served records never arrived (blob|Id, first ones): ${missingExamples.join(', ')}`);
    if (arrivedCounter.unreadable > 0) problems.push(`${arrivedCounter.unreadable} events at the broker were not JSON`);
    if (unlisted.length > 0) problems.push(`${unlisted.length} blobs were never listed: ${unlisted.slice(0, 10).join(', ')}`);
    for (const row of notDone.slice(0, 20)) problems.push(`blob ${row.contentId} is ${row.status} after ${row.attempts ?? 0} attempts: ${row.lastError ?? 'no error recorded'}`);
    if (notDone.length > 20) problems.push(`… and ${notDone.length - 20} more blobs not done`);
    if (faultedShare < profile.minFaultedShare) problems.push(`only ${pct(faultedShare)} of simulator requests were faulted; this mode needs ${pct(profile.minFaultedShare)}`);
    if (profile.azuriteRestartAt !== undefined && azuriteRestart === undefined) problems.push('Azurite was never restarted');
    // Not failures, but the issue's targets: reported beside the verdict.
    const targets = [
      `duplicates ${pct(duplicateShare)} of records (target ≤ 0.50 %): ${duplicateShare <= 0.005 ? 'met' : 'NOT met'}`,
      `throttle AF429 ${pct(throttled / Math.max(1, mgmtCalls))} of Management API calls (target ≤ 1 %): ${throttled <= 0.01 * mgmtCalls ? 'met' : 'NOT met'}`,
    ];

    const verdict = problems.length === 0 ? 'PASS' : 'FAIL';
    const faultsByKind = Object.entries(simStats.faultsApplied).map(([k, v]) => `${SIM_FAULT_LABELS[k] ?? k}: ${formatCount(v ?? 0)}`).join(', ');
    const faultsByOp = ['content', 'blob', 'token'].map((op) => `${op}: ${formatCount(Object.entries(byOp[op as keyof typeof byOp] ?? {}).filter(([o]) => o !== '200').reduce((x, [, y]) => x + y, 0))}`).join(', ');
    const requests = Object.entries(simStats.totals).map(([k, v]) => `${k}: ${formatCount(v ?? 0)}`).join(', ');
    const table = markdownTable(
      ['measure', 'value'],
      [
        ['verdict', verdict],
        ['mode', `${profile.name}: ${workerCount} ingest worker processes, simulator throttle ${formatCount(requestsPerMinute)} requests/min per tenant`],
        ['blobs listed (ledger rows)', `${formatCount(rows.size)} (${formatCount(expected.size)} required by the first poll's range)`],
        ['blobs done / not done', `${formatCount(rows.size - notDone.length)} / ${formatCount(notDone.length)}`],
        ['records served (sim.recordsOf over every listed blob)', formatCount(served.records)],
        ['records arrived (distinct blob + Id)', formatCount(compared.distinctArrived)],
        ['records lost', formatCount(compared.missing)],
        ['duplicates (events beyond the first per blob + Id)', `${formatCount(compared.duplicates)} (${pct(duplicateShare)} of records)`],
        ['events at the broker', `${formatCount(arrivedCounter.dataEvents)} record events, ${formatCount(arrivedCounter.pipelineEvents)} pipeline events`],
        ['records the tenant itself served twice in one blob', formatCount(compared.servedRepeats)],
        ['ledger statuses', Object.entries(statuses).map(([k, v]) => `${k}: ${formatCount(v)}`).join(', ')],
        ['most attempts on one blob', String(maxAttempts)],
        ['simulator requests / faulted', `${formatCount(allCalls)} / ${formatCount(faulted)} (${pct(faultedShare)})`],
        ['faults injected by kind', faultsByKind || 'none'],
        ['answers other than 200 by operation', faultsByOp],
        ['Management API calls', `${formatCount(mgmtCalls)} (peak ${formatCount(peakPerMinute)} in any 60 s)`],
        ['AF429 answers', `${formatCount(simStats.af429)} (${pct(simStats.af429 / Math.max(1, mgmtCalls))} of Management API calls): ${formatCount(throttled)} from the throttle (${pct(throttled / Math.max(1, mgmtCalls))}), the rest injected`],
        ['simulated tenant requests', requests],
        ['broker faults', BROKER_FAULTS.map((f) => `${f}: ${brokerCounts[f]}`).join(', ')],
        ['broker connections accepted / transfers rejected', `${formatCount(broker.stats().connections)} / ${formatCount(broker.stats().rejected)}`],
        ['worker kills (SIGKILL: time, worker, blobs in flight)', `${workers.kills.length} (${workers.kills.map((k) => `${formatFixed(k.atSeconds, 0)} s #${k.worker}: ${k.blobsInFlight}`).join('; ') || 'none'})`],
        ['Azurite restart', azuriteRestart ? `at ${formatFixed(azuriteRestart.atSeconds, 0)} s, down ${formatFixed(azuriteRestart.downSeconds, 1)} s` : 'none'],
        ['failed delivery attempts retried', formatCount(workers.failedAttempts)],
        ['polls (stream outcomes)', `${polls.runs} runs: ${polls.complete} complete, ${polls.partial} partial, ${polls.failed} failed, ${polls.skipped} skipped, ${polls.errors} threw`],
        ['reconcile runs', `${reconciles.runs} (${reconciles.errors} threw)`],
        ['duration', `${formatFixed(wallSeconds, 0)} s (limit ${minutes} min)`],
      ],
    );
    const report = [
      `Run ${new Date().toISOString().slice(0, 16)}Z with \`npm run soak${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}\` (seed ${seed}).`,
      `Machine: ${describeMachine()}. Code: ${code}.`,
      '',
      table,
      '',
      ...targets.map((t) => `- ${t}`),
      ...(problems.length > 0 ? ['', 'Problems:', '', ...problems.map((p) => `- ${p}`)] : []),
    ].join('\n');
    say();
    say(report);
    if (!args['print-only']) {
      writeFileSync(DOC, replaceBlock(readFileSync(DOC, 'utf8'), profile.name === 'full' ? 'soak-full-results' : 'soak-results', report));
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
