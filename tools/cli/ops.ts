/**
 * Operator CLI over the deployment's own state (Table storage, the queue) and the Management API,
 * configured by the same app settings as the function app (export them, or use local settings).
 * `status` and `reconcile` cover the Defender XDR streams too; backfill and replay are for audit content.
 *
 *   npm run ops -- status [--json] [--hours]
 *   npm run ops -- backfill --tenant <id> --content-type <type> --from <ISO time> [--to <ISO time>]
 *   npm run ops -- replay --tenant <id> --content-type <type> [--status poisoned,failed] [--content-id <id>]...
 *   npm run ops -- reconcile
 *   npm run ops -- heal --tenant <id> --content-type <type> --from <ISO time> --to <ISO time> [--wait <minutes>]
 *   npm run ops -- verify --events <file.ndjson | -> [--problems] [--json]
 *
 * `verify` needs no settings: it reads events as a hub reader received them (the local hub's
 * `.local/events.ndjson`, or any NDJSON export) and checks each blob against its manifest event.
 *
 * Exit codes: 0 done, 1 failed (the message says why; `reconcile` also when any stream failed; `verify`: a
 * blob is short of its manifest), 2 usage. `--help` prints the usage on stdout.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../../shared/config.js';
import { describeError } from '../../shared/core/errors.js';
import { describeInvariant } from '../../shared/core/invariant.js';
import { isContentType, isSecurityStream, type StreamKey } from '../../shared/core/model.js';
import { summarizeGapHeals } from '../../shared/core/auditSearch.js';
import { describeVerification, ManifestVerifier } from '../../shared/core/verify.js';
import type { Logger } from '../../shared/ports.js';
import type { HourAccount, StreamHealth } from '../../shared/core/accounting.js';
import type { LedgerStatus } from '../../shared/core/ledger.js';
import { healRange } from '../../shared/usecases/healGaps.js';
import { backfill, replay, status } from '../../shared/usecases/operations.js';
import { reconcile } from '../../shared/usecases/reconcile.js';
import { createWiring } from '../../shared/wiring.js';
import { exitOnHelp } from '../common/cliHelp.js';

const USAGE = `usage:
  ops status [--json] [--hours]
  ops backfill --tenant <id> --content-type <type> --from <ISO time> [--to <ISO time>]
  ops replay --tenant <id> --content-type <type> [--status poisoned,failed] [--content-id <id>]...
  ops reconcile
  ops heal --tenant <id> --content-type <type> --from <ISO time> --to <ISO time> [--wait <minutes>]
  ops verify --events <file.ndjson | -> [--problems] [--json]`;

const HELP = `npm run ops -- <command> [options]

Operator commands over a deployment's own state (its Table storage and queues) and, for backfill, the
Management Activity API. Configure them with the app's settings in the environment (the same names as
the function app: O365_TENANTS, AzureWebJobsStorage or AzureWebJobsStorage__accountName, ...).

  status [--json] [--hours]
                         per stream: state, cursor and lag, counts, the completeness invariant, sweep, gaps
                         (--hours: every recent hour's accounting)
  backfill --tenant <id> --content-type <type> --from <ISO time> [--to <ISO time>]
                         re-list a window (up to 7 days back) and enqueue only blobs the ledger lacks
  replay --tenant <id> --content-type <type> [--status poisoned,failed] [--content-id <id>]...
                         put poisoned or failed blobs back on the queue while their content has not expired
  reconcile              run reconcile once now (re-enqueue stuck blobs, account, write health)
  heal --tenant <id> --content-type <type> --from <ISO time> --to <ISO time> [--wait <minutes>]
                         recover a gap's records through the Purview audit search and publish them

Only heal publishes to Event Hubs, so the other commands need no EVENTHUB_* setting; only backfill and
heal sign in to the tenants, so status, replay and reconcile need no tenant credential. Off Azure, identity-based storage is reached with your
own sign-in (Azure CLI, Azure PowerShell, azd, environment credentials) when no managed identity answers.

Exit codes: 0 done; 1 failed (the message says why; reconcile also when any stream failed); 2 usage.`;

const STATUSES: readonly LedgerStatus[] = ['listed', 'done', 'expired', 'missing', 'failed', 'poisoned'];

class UsageError extends Error {
  override readonly name = 'UsageError';
}
class CommandFailed extends Error {
  override readonly name = 'CommandFailed';
}

/**
 * The settings a command reads. Only heal publishes to Event Hubs, and only backfill and heal sign in
 * to the tenants: settings a command never uses get inert values when absent, so `ops status` does not
 * demand a hub connection or a tenant secret it would never touch.
 */
function settingsFor(command: string, env: NodeJS.ProcessEnv): Record<string, string | undefined> {
  const settings: Record<string, string | undefined> = { ...env };
  // heal publishes the records it recovers; no other command publishes to Event Hubs.
  if (command !== 'heal') {
    if (!settings.EVENTHUB_CONNECTION && !settings.EVENTHUB_CONNECTION__fullyQualifiedNamespace) {
      settings.EVENTHUB_CONNECTION__fullyQualifiedNamespace = 'not-used-by-ops.invalid';
    }
    settings.EVENTHUB_NAME ||= 'not-used-by-ops';
  }
  // Without KEY_VAULT_URL a tenant's secret is read from an environment variable; only backfill and heal sign in to tenants.
  if (command !== 'backfill' && command !== 'heal' && !settings.KEY_VAULT_URL) settings.KEY_VAULT_URL = 'https://not-used-by-ops.invalid';
  return settings;
}

function formatFields(fields: Record<string, unknown> | undefined): string {
  if (!fields || Object.keys(fields).length === 0) return '';
  return ` ${JSON.stringify(fields, (_key, value: unknown) => (value instanceof Error ? describeError(value) : value))}`;
}

async function main(argv: string[]): Promise<void> {
  exitOnHelp(argv, HELP);
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      tenant: { type: 'string' },
      'content-type': { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      status: { type: 'string' },
      'content-id': { type: 'string', multiple: true },
      wait: { type: 'string' },
      json: { type: 'boolean', default: false },
      hours: { type: 'boolean', default: false },
      events: { type: 'string' },
      problems: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help || positionals[0] === 'help') return void console.log(HELP);
  const command = positionals[0];
  if (!command || !['status', 'backfill', 'replay', 'reconcile', 'heal', 'verify'].includes(command)) throw new UsageError(command ? `unknown command ${command}` : 'a command is required');
  if (command === 'verify') return verify(values.events, { problemsOnly: values.problems, json: values.json });

  const config = loadConfig(settingsFor(command, process.env));
  const logger: Logger = {
    debug() {},
    info() {},
    warn: (m, f) => console.error(`warning: ${m}${formatFields(f)}`),
    error: (m, f) => console.error(`error: ${m}${formatFields(f)}`),
  };
  const wiring = createWiring(config, { logger });
  const metrics = { count() {} };
  const deps = { ...wiring, logger, metrics };

  try {
    if (command === 'status') {
      const rows = await status([...wiring.streams, ...wiring.securityStreams], wiring);
      if (values.json) return void console.log(JSON.stringify(rows, null, 2));
      const names = new Map(config.tenants.map((t) => [t.tenantId, t.name]));
      const heals = new Map(summarizeGapHeals(await wiring.gaps.listAll()).map((g) => [`${g.tenantId}|${g.contentType}`, g]));
      for (const { stream, cursor, health } of rows) {
        // A Defender XDR cursor is the newest change seen, which stands still while a tenant is quiet: its lag is the last complete scan's age.
        const listedUpTo = isSecurityStream(stream) ? cursor?.lastSuccessAt : cursor?.cursor;
        const lag = listedUpTo ? `${Math.round((wiring.clock.now() - Date.parse(listedUpTo)) / 60_000)} min` : 'never listed';
        const counts = health ? STATUSES.filter((s) => health.counts[s] > 0).map((s) => `${s} ${health.counts[s]}`).join(', ') || 'no blobs' : 'no reconcile yet';
        console.log(`${names.get(stream.tenantId)} ${stream.contentType}: ${health?.state ?? 'starting'} · cursor ${cursor?.cursor ?? '-'} (lag ${lag}) · ${counts}`);
        if (health?.reasons.length) console.log(`    ${health.reasons.join('; ')}`);
        const gaps = heals.get(`${stream.tenantId}|${stream.contentType}`);
        if (gaps) {
          const healedRecords = gaps.healed.reduce((n, g) => n + g.records, 0);
          console.log(`    gaps: ${gaps.healed.length} healed (${healedRecords} records from audit search), ${gaps.unhealed.length} not healed`);
          for (const g of gaps.unhealed) console.log(`      ${g.start} to ${g.end}: ${g.state}${g.reason ? ` (${g.reason})` : ''}`);
        }
        if (cursor?.lastError) console.log(`    last error (${cursor.lastErrorAt}): ${cursor.lastError}`);
        if (health) for (const line of healthDetails(health, values.hours)) console.log(`    ${line}`);
      }
      return;
    }
    if (command === 'reconcile') {
      const streams = [...wiring.streams, ...wiring.securityStreams];
      // As the reconcile timer runs it: the configured ledger retention and retry backoff.
      const run = wiring.reconciling({ logger, metrics });
      const health = await reconcile(streams, run.deps, run.options);
      for (const h of health) console.log(`${h.tenantId} ${h.contentType}: ${h.state}${h.reasons.length ? ` (${h.reasons.join('; ')})` : ''} · invariant ${describeInvariant(h.invariant)}`);
      // reconcile logs a stream it could not finish and goes on with the others; the operator must see that in the exit code.
      const failed = streams.length - health.length;
      if (failed > 0) throw new CommandFailed(`reconcile: ${failed} of ${streams.length} streams failed (see the errors above)`);
      return;
    }
    const stream = streamArg(values.tenant, values['content-type'], config.tenants.map((t) => t.tenantId));
    if (command === 'heal') {
      const from = timeArg('--from', values.from);
      const to = timeArg('--to', values.to);
      if (!(to > from)) throw new UsageError('--to must be after --from');
      const waitMinutes = values.wait === undefined ? 60 : Number(values.wait);
      if (!(waitMinutes >= 0)) throw new UsageError('--wait needs a number of minutes');
      const run = wiring.healing({ logger, metrics }, wiring.clock.now() + waitMinutes * 60_000);
      const gap = await healRange(stream, { start: from, end: to }, run.deps, run.options);
      const heal = gap.heal!;
      const submitted = heal.queries.filter((q) => q.submittedAt).length;
      console.log(`heal ${stream.tenantId} ${stream.contentType} ${gap.start} to ${gap.end}: ${heal.state} · ${submitted} queries, ${heal.splits ?? 0} splits · ${heal.recordsFound} records found, ${heal.recordsDelivered} delivered`);
      for (const q of heal.queries) console.log(`    ${q.id || '(not submitted)'} ${q.from} to ${q.to}: ${q.state}${q.records === undefined ? '' : `, ${q.records} records`}`);
      if (heal.reason) console.log(`    ${heal.reason}`);
      if (heal.state === 'running' || heal.state === 'pending') console.log('    still running: the healGaps timer continues it (or run the same command again)');
      if (['failed', 'unavailable', 'suspicious', 'partial'].includes(heal.state)) process.exitCode = 1;
      return;
    }
    if (command === 'backfill') {
      const from = timeArg('--from', values.from);
      const to = values.to ? timeArg('--to', values.to) : wiring.clock.now();
      const result = await backfill(stream, { start: from, end: to }, deps);
      console.log(`backfill ${stream.tenantId} ${stream.contentType}: ${result.windows} windows, ${result.listed} blobs listed, ${result.enqueued} new blobs enqueued`);
      return;
    }
    const statuses = values.status?.split(',').map((s) => s.trim()) ?? ['poisoned', 'failed'];
    const unknown = statuses.filter((s) => !STATUSES.includes(s as LedgerStatus));
    if (unknown.length > 0) throw new UsageError(`--status: unknown ${unknown.join(', ')} (one or more of ${STATUSES.join(', ')})`);
    const result = await replay(stream, deps, { statuses: statuses as LedgerStatus[], contentIds: values['content-id'] });
    console.log(`replay ${stream.tenantId} ${stream.contentType}: ${result.replayed.length} blobs re-enqueued, ${result.skippedExpired.length} skipped (content expired)`);
    for (const id of result.skippedExpired) console.log(`    expired: ${id}`);
  } finally {
    await wiring.close();
  }
}

/** The invariant, sweep and hours of a health row, a line each (every hour with `--hours`, else those that violate); gaps are listed above with their healing. */
function healthDetails(health: StreamHealth, allHours: boolean): string[] {
  const lines: string[] = [];
  // Health rows written before the invariant existed have none.
  if (health.invariant) {
    const range = health.invariant.from ? ` (${health.invariant.from} … ${health.invariant.to})` : '';
    lines.push(`invariant ${describeInvariant(health.invariant)}${range}`);
    for (const v of health.invariant.examples) lines.push(`  ${v.hour} ${v.contentId}: ${v.problem} — ${v.detail}`);
    const more = health.invariant.violations - health.invariant.examples.length;
    if (more > 0) lines.push(`  … and ${more} more in hours ${health.invariant.violatingHours.join(', ')}`);
  }
  if (health.sweep) {
    const s = health.sweep;
    const lateness = s.latenessMaxMinutes !== undefined ? `, lateness max ${s.latenessMaxMinutes} min, p95 ${s.latenessP95Minutes} min` : '';
    lines.push(`sweep ${s.lastSweepAt ?? 'never'}${s.lastOutcome ? ` ${s.lastOutcome}` : ''}: found ${s.found24h} in 24 h${lateness}`);
  }
  for (const h of health.hours.filter((a) => allHours || !a.holds)) lines.push(`hour ${describeHour(h)}`);
  return lines;
}

function describeHour(h: HourAccount): string {
  const statuses = (['done', 'expired', 'missing', 'failed', 'poisoned', 'pending', 'unknown'] as const).filter((k) => h[k] > 0).map((k) => `${k} ${h[k]}`).join(' + ') || '0';
  const problems = [
    h.notInLedger && `${h.notInLedger} listed not in the ledger`,
    h.pastHorizon && `${h.pastHorizon} pending past expiry`,
    h.countMismatch && `${h.countMismatch} done with events short of records`,
    h.unknown && `${h.unknown} with an unknown status`,
  ].filter(Boolean);
  const waiting = h.awaitingInsert ? ` (${h.awaitingInsert} being inserted)` : '';
  return `${h.hour}: listed ${h.listed}${waiting} ⊆ ledger ${h.ledger} = ${statuses}; records ${h.records} = events ${h.events} + quarantined ${h.quarantined} · ${h.holds ? 'holds' : `VIOLATED: ${problems.join(', ')}`}`;
}

/** `ops verify`: streams the NDJSON file (or stdin) through the manifest verifier; exit 1 when a blob is short. */
async function verify(file: string | undefined, options: { problemsOnly: boolean; json: boolean }): Promise<void> {
  if (!file) throw new UsageError('verify needs --events <file.ndjson> (or - for stdin)');
  const verifier = new ManifestVerifier();
  const input = file === '-' ? process.stdin : createReadStream(file);
  const lines = createInterface({ input, crlfDelay: Infinity });
  for await (const line of lines) verifier.addLine(line);
  const results = verifier.results();
  const summary = verifier.summary(results);
  if (options.json) console.log(JSON.stringify({ summary, blobs: options.problemsOnly ? results.filter((r) => r.verdict !== 'complete') : results }, null, 2));
  else {
    for (const r of results) if (!options.problemsOnly || r.verdict !== 'complete') console.log(describeVerification(r));
    const parts = [`${summary.complete} complete`, `${summary.short} short`, summary.mismatch > 0 && `${summary.mismatch} mismatched`, `${summary.noManifest} without a manifest`].filter(Boolean);
    console.log(`verify ${file}: ${summary.blobs} blobs, ${parts.join(', ')}; ${summary.events} events, ${summary.manifests} manifests${summary.unreadable ? `, ${summary.unreadable} unreadable lines` : ''}`);
  }
  if (summary.failed) process.exitCode = 1;
}

function streamArg(tenant: string | undefined, contentType: string | undefined, configured: string[]): StreamKey {
  if (!tenant || !contentType) throw new UsageError('--tenant and --content-type are required');
  const tenantId = tenant.toLowerCase();
  if (!configured.includes(tenantId)) throw new UsageError(`--tenant ${tenant} is not in O365_TENANTS`);
  if (!isContentType(contentType)) throw new UsageError(`--content-type ${contentType} is not a content type`);
  return { tenantId, contentType };
}

function timeArg(name: string, value: string | undefined): number {
  const ms = value ? Date.parse(value) : NaN;
  if (Number.isNaN(ms)) throw new UsageError(`${name} needs an ISO 8601 time, e.g. 2026-11-20T00:00:00Z`);
  return ms;
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
    console.error(`${(err as Error).message}\n${USAGE}`);
    process.exit(2);
  }
  console.error(err instanceof ConfigError || err instanceof CommandFailed ? err.message : describeError(err));
  process.exit(1);
});
