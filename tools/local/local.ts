/**
 * `npm run local`: the whole pipeline on one machine with embedded defaults. Starts Azurite (from
 * node_modules), the simulated tenant (unless O365_TENANTS names real tenants) and the test Event Hubs
 * broker (unless EVENTHUB_CONNECTION or EVENTHUB_CONNECTION__fullyQualifiedNamespace names a real hub),
 * then runs the same function handlers in-process: pollContent, pollSecurity (Defender XDR incidents and
 * alerts from the simulated Graph) and sweepContent on their schedules, enqueueing discovery tasks that
 * pollStream runs; reconcile on a short local schedule (every 30 s); and ingestContent and onPoison as queue
 * workers with the Functions host's semantics. Prints live progress (with the completeness invariant's state
 * and what sweeps found); every event the local hub receives is appended to an NDJSON file, which
 * `npm run ops -- verify --events <file>` checks against the blob manifests. Ctrl-C stops cleanly; a last
 * reconcile runs after the workers finish.
 *
 *   npm run local -- [--out .local/events.ndjson] [--seconds N] [--schedule "<ncrontab>"]
 *                    [--lookback-hours 2] [--blobs-per-hour 12] [--records-per-blob 20] [--incidents-per-hour 4]
 *                    [--seed 1] [--report file] [--persist] [--quiet] [--help]
 */
import { createWriteStream, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import functions from '@azure/functions';

// @azure/functions is CommonJS; Node's ESM loader cannot see this export by name (tsx, plain node).
const { InvocationContext } = functions;
import { handleIngestContentMessage } from '../../functions/ingestContent.js';
import { handleOnPoisonMessage } from '../../functions/onPoison.js';
import { handlePollContentTimer } from '../../functions/pollContent.js';
import { handlePollSecurityTimer } from '../../functions/pollSecurity.js';
import { handleReconcileTimer } from '../../functions/reconcile.js';
import { handlePollStreamMessage } from '../../functions/pollStream.js';
import { handleSweepContentTimer } from '../../functions/sweepContent.js';
import { loadConfig, ConfigError } from '../../shared/config.js';
import { DAY_MS } from '../../shared/core/windows.js';
import { createWiring } from '../../shared/wiring.js';
import { startEventHubBroker, type EventHubBroker } from '../standins/eventHubBroker/index.js';
import { startSimTenant, type SimTenant } from '../standins/simTenant/index.js';
import { startAzurite } from './azurite.js';
import { nextFire } from './ncrontab.js';
import { createQueueWorker } from './queueWorker.js';
import { exitOnHelp } from '../common/cliHelp.js';

const SIM_TENANT = '5f1e2d3c-4b5a-4697-8877-665544332211';
const SIM_APP = 'a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d';
const SIM_SECRET = 'sim-tenant-local-secret'; // a public local-test value; protects nothing
const HUB = 'm365-audit';

exitOnHelp(
  process.argv.slice(2),
  `npm run local -- [options]

Runs the whole pipeline on this machine: Azurite, a simulated Microsoft 365 tenant (unless O365_TENANTS
names real tenants), a local Event Hubs broker (unless EVENTHUB_CONNECTION or
EVENTHUB_CONNECTION__fullyQualifiedNamespace names a real hub), and the real function handlers on their
schedules. Ctrl-C stops it.

  --seconds N              stop after N seconds (default: run until Ctrl-C)
  --out FILE               append every event the local hub receives to FILE (default .local/events.ndjson)
  --schedule "<ncrontab>"  schedule of pollContent and pollSecurity (default "*/30 * * * * *")
  --lookback-hours N       where each stream's first poll starts (default 2)
  --blobs-per-hour N       simulated content blobs per hour and content type (default 12)
  --records-per-blob N     records per simulated blob (default 20)
  --incidents-per-hour N   simulated Defender XDR incidents per hour (default 4)
  --seed N                 seed of the simulated tenant (default 1)
  --report FILE            write what was served and received as JSON when stopping
  --persist                keep Azurite's data under .local/azurite (fixed ports 10000-10002) and print the
                           settings with which npm run ops reads this run's state
  --download-outage N      the simulated tenant answers every blob download with 503 for the first N seconds
                           (delivery backs off and retries; every record still arrives)
  --quiet                  no progress lines
  --help                   this text`,
);

const { values: args } = parseArgs({
  options: {
    out: { type: 'string', default: '.local/events.ndjson' },
    seconds: { type: 'string' },
    schedule: { type: 'string' },
    'lookback-hours': { type: 'string', default: '2' },
    'blobs-per-hour': { type: 'string', default: '12' },
    'records-per-blob': { type: 'string', default: '20' },
    'incidents-per-hour': { type: 'string', default: '4' },
    seed: { type: 'string', default: '1' },
    report: { type: 'string' },
    quiet: { type: 'boolean', default: false },
    persist: { type: 'boolean', default: false },
    'download-outage': { type: 'string' },
  },
  strict: true,
});

async function main(): Promise<void> {
  const say = (line: string) => process.stdout.write(`${line}\n`);
  const stops: Array<() => Promise<unknown>> = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch((err: unknown) => say(`while stopping: ${String(err)}`));
  };

  // --persist: Azurite keeps its data under .local/azurite, on its default ports, so the state of the run
  // survives a restart and `npm run ops` can read it with the settings printed below.
  const azuriteDir = resolve('.local/azurite');
  if (args.persist) mkdirSync(azuriteDir, { recursive: true });
  const azurite = args.persist
    ? await startAzurite({ location: azuriteDir, ports: { blob: 10000, queue: 10001, table: 10002 } }).catch(() => {
        say('note         Azurite\'s default ports 10000-10002 are taken; using free ones (see the settings below)');
        return startAzurite({ location: azuriteDir });
      })
    : await startAzurite();
  stops.push(() => azurite.stop());
  say(`azurite      ${azurite.connectionString.match(/BlobEndpoint=([^;]+)/)?.[1] ?? ''} (${args.persist ? `data kept in ${azuriteDir}` : 'in memory'})`);

  const realTenants = Boolean(process.env.O365_TENANTS);
  if (process.env.AzureWebJobsStorage) say('note         AzureWebJobsStorage is set; the local run uses it instead of the embedded Azurite');
  let sim: SimTenant | undefined;
  if (!realTenants) {
    sim = await startSimTenant({
      seed: Number(args.seed),
      tenants: [
        {
          tenantId: SIM_TENANT,
          apps: [{ clientId: SIM_APP, secret: SIM_SECRET }],
          blobsPerHour: Number(args['blobs-per-hour']),
          recordsPerBlob: Number(args['records-per-blob']),
          incidentsPerHour: Number(args['incidents-per-hour']),
        },
      ],
    });
    stops.push(() => sim!.close());
    say(`tenant       simulated ${SIM_TENANT} at ${sim.url}`);
    if (args['download-outage']) {
      const seconds = Number(args['download-outage']);
      sim.faults.inject({ op: 'blob', activeUntil: Date.now() + seconds * 1000, fault: { kind: 'status', status: 503 } });
      say(`fault        every blob download fails (HTTP 503) for the first ${seconds} s`);
    }
  } else say('tenant       real tenants from O365_TENANTS');

  const realHub = Boolean(process.env.EVENTHUB_CONNECTION || process.env.EVENTHUB_CONNECTION__fullyQualifiedNamespace);
  let broker: EventHubBroker | undefined;
  let received = 0;
  const outPath = resolve(args.out);
  if (!realHub) {
    mkdirSync(dirname(outPath), { recursive: true });
    const out = createWriteStream(outPath, { flags: 'w' });
    stops.push(() => new Promise((r) => out.end(r)));
    broker = await startEventHubBroker({
      hubs: [{ name: HUB, partitionCount: 4 }],
      onEvent: (e) => {
        received++;
        out.write(`${e.body.toString('utf8')}\n`);
      },
    });
    stops.push(() => broker!.close());
    say(`event hub    local broker ${broker.fullyQualifiedNamespace}/${HUB} → ${outPath}`);
  } else say('event hub    real hub from EVENTHUB_* settings (no local output file)');

  const env: Record<string, string | undefined> = {
    ...(sim && {
      O365_TENANTS: JSON.stringify([{ tenantId: SIM_TENANT, clientId: SIM_APP, name: 'simulated', defenderXdr: true, credential: { type: 'secret', secretName: 'SIM_CLIENT_SECRET' } }]),
      SIM_CLIENT_SECRET: SIM_SECRET,
      O365_MANAGEMENT_ENDPOINT: sim.url,
      O365_AUTHORITY_HOST: sim.url,
      GRAPH_ENDPOINT: sim.url,
    }),
    ...(broker && { EVENTHUB_CONNECTION: broker.connectionString(), EVENTHUB_NAME: HUB }),
    AzureWebJobsStorage: azurite.connectionString,
    INITIAL_LOOKBACK_HOURS: args['lookback-hours'],
    POLL_SCHEDULE: args.schedule ?? '*/30 * * * * *',
    // Local schedules short enough that a run of a few minutes shows sweeps, reconcile and retries recovering.
    RECONCILE_SCHEDULE: '*/30 * * * * *',
    SWEEP_SCHEDULE: '0 */2 * * * *',
    RETRY_INITIAL_SECONDS: '5',
    RETRY_MAX_SECONDS: '60',
    // Settings from the environment win over the embedded defaults (empty ones are ignored).
    ...Object.fromEntries(Object.entries(process.env).filter(([, v]) => v)),
  };
  const config = loadConfig(env);
  if (args.persist) {
    // Azurite's development account key is public; O365_TENANTS names secrets, it holds none.
    const tenants = sim ? ` O365_TENANTS='${env.O365_TENANTS}'` : ' (with your O365_TENANTS)';
    say(`storage      AzureWebJobsStorage="${azurite.connectionString}"`);
    say(`ops          AzureWebJobsStorage="${azurite.connectionString}"${tenants} npm run ops -- status`);
  }
  const wiring = createWiring(config, { logger: quietLogger(args.quiet) });
  await wiring.ensureResources();
  stops.push(() => wiring.close());

  const log = (level: string, message: string) => {
    if (!args.quiet && (level === 'error' || level === 'warning')) say(`  ${level}: ${message}`);
  };
  const queue = wiring.storage.queue(config.contentQueueName);
  const poison = wiring.storage.queue(`${config.contentQueueName}-poison`);
  // Delivery retries are the use case's own (the blob goes back on the queue with a delay): counted from its outcomes.
  let retries = 0;
  const worker = createQueueWorker({
    queue,
    poisonQueue: poison,
    functionName: 'ingestContent',
    handler: async (m, c) => {
      if ((await handleIngestContentMessage(m, c, wiring)).status === 'retrying') retries++;
    },
    visibilityTimeoutInSeconds: 10,
    onLog: log,
  });
  const poisonWorker = createQueueWorker({ queue: poison, poisonQueue: wiring.storage.queue(`${config.contentQueueName}-poison-dead`), functionName: 'onPoison', handler: (m, c) => handleOnPoisonMessage(m, c, wiring), onLog: log });
  // Discovery tasks (polls, sweeps, Defender scans) the timers enqueue, run as the pollStream queue trigger would.
  const pollQueue = wiring.storage.queue(config.pollQueueName);
  const taskWorker = createQueueWorker({ queue: pollQueue, poisonQueue: wiring.storage.queue(`${config.pollQueueName}-poison`), functionName: 'pollStream', handler: (m, c) => handlePollStreamMessage(m, c, wiring), visibilityTimeoutInSeconds: 10, onLog: log });
  worker.start();
  poisonWorker.start();
  taskWorker.start();
  stops.push(() => poisonWorker.stop());
  stops.push(() => worker.stop());
  stops.push(() => taskWorker.stop());

  let polling: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  const schedule = () => {
    const at = nextFire(config.poll.schedule, Date.now());
    timer = setTimeout(() => {
      polling = runPoll().finally(schedule);
    }, at - Date.now());
  };
  const runPoll = async () => {
    const timer = { isPastDue: false, schedule: { adjustForDST: false }, scheduleStatus: { last: '', next: '', lastUpdated: '' } };
    const contextOf = (functionName: string) => new InvocationContext({ functionName, invocationId: `local-${Date.now()}`, logHandler: (level, ...a) => log(level, a.map(logText).join(' ')) });
    // Two timer functions on one schedule, as the host runs them: side by side.
    await Promise.all([
      handlePollContentTimer(timer, contextOf('pollContent'), wiring).catch((err: unknown) => say(`poll failed: ${String(err)}`)),
      handlePollSecurityTimer(timer, contextOf('pollSecurity'), wiring).catch((err: unknown) => say(`security poll failed: ${String(err)}`)),
    ]);
  };
  say(`schedule     pollContent${wiring.securityStreams.length > 0 ? ' and pollSecurity' : ''} "${config.poll.schedule}" (first run now), sweepContent "${config.poll.sweepSchedule}", task and ingest workers running; Ctrl-C to stop`);
  polling = runPoll().finally(schedule);
  stops.push(async () => {
    clearTimeout(timer);
    await polling;
  });

  // Timers besides the poll, each run serialized with itself.
  const timerInfo = { isPastDue: false, schedule: { adjustForDST: false }, scheduleStatus: { last: '', next: '', lastUpdated: '' } };
  const contextOf = (functionName: string) => new InvocationContext({ functionName, invocationId: `local-${Date.now()}`, logHandler: (level, ...a) => log(level, a.map(String).join(' ')) });
  const timers = startLocalTimers([
    { name: 'reconcile', schedule: config.reconcile.schedule, run: () => handleReconcileTimer(timerInfo, contextOf('reconcile'), wiring) },
    { name: 'sweep', schedule: config.poll.sweepSchedule, run: () => handleSweepContentTimer(timerInfo, contextOf('sweepContent'), wiring) },
  ], (name, err) => say(`${name} failed: ${String(err)}`));
  say(`schedule     reconcile "${config.reconcile.schedule}"; delivery retries back off from ${config.retry.initialSeconds} s to ${config.retry.maxSeconds} s`);
  stops.push(() => timers.stop());

  /** The invariant's state and the sweeps' finds, from the health and sweep rows (what `ops status` shows). */
  const proofLine = async (): Promise<{ text: string; holds?: boolean; violations: number; sweepFound: number }> => {
    const rows = await wiring.health.readAll().catch(() => []);
    const mine = rows.filter((h) => [...wiring.streams, ...wiring.securityStreams].some((s) => s.tenantId === h.tenantId && s.contentType === h.contentType));
    const withInvariant = mine.filter((h) => h.invariant);
    const violations = withInvariant.reduce((n, h) => n + h.invariant.violations, 0);
    let sweepFound = 0;
    for (const stream of wiring.streams) {
      const state = await wiring.sweeps.read(stream).catch(() => undefined);
      sweepFound += state?.lateness.filter(([at]) => Date.now() - at <= DAY_MS).length ?? 0;
    }
    const holds = withInvariant.length === 0 ? undefined : violations === 0;
    const invariant = holds === undefined ? 'invariant - (no reconcile yet)' : holds ? `invariant holds (${withInvariant.length} streams)` : `invariant VIOLATED (${violations} blobs; npm run ops -- status)`;
    return { text: `sweep found ${sweepFound} · ${invariant}`, holds, violations, sweepFound };
  };

  let lastReceived = 0;
  let lastAt = Date.now();
  const progress = setInterval(async () => {
    const now = Date.now();
    const rate = ((received - lastReceived) * 1000) / Math.max(1, now - lastAt);
    lastReceived = received;
    lastAt = now;
    const lags: string[] = [];
    for (const stream of [...wiring.streams, ...wiring.securityStreams]) {
      const state = (await wiring.cursors.read(stream).catch(() => undefined))?.state;
      const lagMin = state?.cursor ? Math.round((now - Date.parse(state.cursor)) / 60_000) : undefined;
      lags.push(`${stream.contentType.replace('Audit.', '')}:${lagMin === undefined ? '-' : `${lagMin}m`}${state?.lastErrorCode ? `!${state.lastErrorCode}` : ''}`);
    }
    const proof = await proofLine();
    if (!args.quiet) say(`progress     messages ${worker.stats.processed} (delivery retries ${retries}, crashed ${worker.stats.failed}, poisoned ${worker.stats.poisoned}) · events ${received} (${rate.toFixed(0)}/s) · cursor lag ${lags.join(' ')} · ${proof.text}`);
  }, 5000);
  stops.push(async () => clearInterval(progress));

  let stopping = false;
  const finish = async (reason: string) => {
    if (stopping) return;
    stopping = true;
    say(`stopping (${reason}) ...`);
    clearInterval(progress);
    // Stop polling and let the workers finish their messages before the simulator goes away.
    clearTimeout(timer);
    await polling;
    await timers.stop();
    await taskWorker.stop();
    await worker.stop();
    await poisonWorker.stop();
    // A last reconcile over what the workers finished, so the report and the health rows show the end state.
    await handleReconcileTimer(timerInfo, contextOf('reconcile'), wiring).catch((err: unknown) => say(`reconcile failed: ${String(err)}`));
    const proof = await proofLine();
    say(`reconciled   ${proof.text}`);
    const stats = sim?.stats();
    const served = stats?.servedBlobIds ?? [];
    const servedSecurityRevisions = [...new Set([...(stats?.servedIncidentRevisions ?? []), ...(stats?.servedAlertRevisions ?? [])])];
    const invariant = { holds: proof.holds, violations: proof.violations, sweepFound: proof.sweepFound };
    if (args.report) writeFileSync(args.report, JSON.stringify({ received, servedBlobs: served.length, servedRecordIds: sim ? recordIdsOf(sim, served) : [], servedSecurityRevisions, invariant }));
    await stopAll();
    say(`stopped: ${received} events${broker ? ` written to ${outPath}` : ''}; ${served.length} content blobs and ${servedSecurityRevisions.length} Defender XDR revisions served`);
  };
  process.once('SIGINT', () => void finish('Ctrl-C'));
  process.once('SIGTERM', () => void finish('SIGTERM'));
  // unref: after a Ctrl-C the process must not stay alive until this deadline.
  if (args.seconds) setTimeout(() => void finish(`--seconds ${args.seconds}`), Number(args.seconds) * 1000).unref();
}

/** A log argument as text: fields as JSON (never "[object Object]"), errors as their message. */
function logText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value instanceof Error) return value.message;
  try {
    return JSON.stringify(value, (_k, v: unknown) => (v instanceof Error ? v.message : v)) ?? String(value);
  } catch {
    return String(value);
  }
}

interface LocalTimer {
  readonly name: string;
  /** Six-field NCRONTAB, as the Functions host reads it. */
  readonly schedule: string;
  readonly run: () => Promise<unknown>;
}

/** Runs each timer on its schedule as the host would (a run never overlaps the previous one of the same timer). */
function startLocalTimers(list: readonly LocalTimer[], onError: (name: string, err: unknown) => void): { stop(): Promise<void> } {
  let stopped = false;
  const handles = new Set<NodeJS.Timeout>();
  const running = new Set<Promise<unknown>>();
  const arm = (t: LocalTimer) => {
    if (stopped) return;
    const handle = setTimeout(() => {
      handles.delete(handle);
      const run = t.run().catch((err: unknown) => onError(t.name, err));
      running.add(run);
      void run.finally(() => {
        running.delete(run);
        arm(t);
      });
    }, Math.max(0, nextFire(t.schedule, Date.now()) - Date.now()));
    handles.add(handle);
  };
  for (const t of list) arm(t);
  return {
    async stop() {
      stopped = true;
      for (const handle of handles) clearTimeout(handle);
      await Promise.all(running);
    },
  };
}

function recordIdsOf(sim: SimTenant, contentIds: readonly string[]): string[] {
  const ids = new Set<string>();
  for (const contentId of contentIds) for (const r of sim.recordsOf(SIM_TENANT, contentId) as { Id?: unknown }[]) ids.add(String(r.Id));
  return [...ids];
}

function quietLogger(quiet: boolean) {
  const write = (level: string) => (message: string, fields?: Record<string, unknown>) => {
    if (!quiet && (level === 'warn' || level === 'error')) process.stdout.write(`  ${level}: ${message} ${fields ? JSON.stringify(fields) : ''}\n`);
  };
  return { debug: () => undefined, info: () => undefined, warn: write('warn'), error: write('error') };
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof ConfigError ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
