import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeEach, inject } from 'vitest';
import { handleIngestContentMessage } from '../../functions/ingestContent.js';
import { RateLimiter } from '../../shared/adapters/http/rateLimiter.js';
import { createTenantCredential, type CredentialMaterial } from '../../shared/adapters/identity/credentials.js';
import { CredentialTokenSource } from '../../shared/adapters/identity/tokenSource.js';
import { StorageClients } from '../../shared/adapters/storage/clients.js';
import { startEventHubBroker } from '../../tools/standins/eventHubBroker/index.js';
import { startSimTenant, type SimTenant, type SimTenantOptions } from '../../tools/standins/simTenant/index.js';
import { createQueueWorker } from '../../tools/local/queueWorker.js';
import { startHarness, type Harness, type HarnessOptions } from './harness.js';

/**
 * The Event Hubs test broker with one hub, for the tests of one file: `await` it at the file's top level.
 * Each test starts its own harness with the returned `startHarness`; after the test that harness is closed
 * and the broker's events and faults are reset; after the file's last test the broker stops.
 */
export async function startDeliveryStack(hub: string, partitionCount: number) {
  const broker = await startEventHubBroker({ hubs: [{ name: hub, partitionCount }] });
  let started: Harness | undefined;
  afterAll(() => broker.close());
  afterEach(async () => {
    await started?.close();
    started = undefined;
    broker.reset();
  });
  /** startHarness with `options` as given (no delivery to the broker); closed after the test. */
  const startHarnessWithoutBroker = async (options: HarnessOptions): Promise<Harness> => (started = await startHarness(options));
  return {
    broker,
    /** startHarness delivering to the broker's hub (`options.env` applies over that); closed after the test. */
    startHarness: (options: HarnessOptions) =>
      startHarnessWithoutBroker({ ...options, env: { EVENTHUB_CONNECTION: broker.connectionString(), EVENTHUB_NAME: hub, ...options.env } }),
    startHarnessWithoutBroker,
  };
}

/**
 * A worker that runs the messages on the harness's content queue through the `ingestContent` function, as
 * the Functions host would, without a visibility delay; a message that keeps failing moves to `<queue>-poison`.
 */
export function ingestWorker(harness: Harness) {
  return createQueueWorker({
    queue: harness.wiring.storage.queue(harness.config.contentQueueName),
    poisonQueue: harness.wiring.storage.queue(`${harness.config.contentQueueName}-poison`),
    functionName: 'ingestContent',
    handler: (message, context) => handleIngestContentMessage(message, context, harness.wiring),
    visibilityTimeoutInSeconds: 0,
  });
}

/**
 * A simulated tenant for the tests of one file: `await` it at the file's top level. Before each test its
 * faults are cleared and its request stats reset; after the file's last test it closes.
 */
export async function startSimTenantForFile(options: SimTenantOptions): Promise<SimTenant> {
  const sim = await startSimTenant(options);
  afterAll(() => sim.close());
  beforeEach(() => {
    sim.faults.clear();
    sim.resetStats();
  });
  return sim;
}

/** Tokens for `scope` from the simulated tenant's Entra, for the app `clientId` of `tenantId`, through the real @azure/identity credential. */
export function simTokens(sim: SimTenant, tenantId: string, clientId: string, scope: string, material: CredentialMaterial): CredentialTokenSource {
  const identity = { tenantId, clientId, authorityHost: sim.url };
  return new CredentialTokenSource({ identity, scope, createCredential: async () => createTenantCredential(identity, material) });
}

/**
 * The pacing of a Graph client under test: a rate limit it never reaches, retries from 100 to 400 ms without
 * jitter, and its sleeps recorded in `sleeps` instead of slept.
 */
export function recordedSleeps() {
  const sleeps: number[] = [];
  const pacing = {
    rateLimiter: new RateLimiter({ requestsPerMinute: 6000, burst: 1000 }),
    retry: { baseDelayInMs: 100, maxDelayInMs: 400 },
    sleep: async (ms: number) => void sleeps.push(ms),
    random: () => 0,
  };
  return { sleeps, pacing };
}

/** Runs `node --import tsx <args>` (a script and its arguments) with exactly `env`; resolves with its exit code and output when it exits. */
export function runTsx(args: readonly string[], env: NodeJS.ProcessEnv, cwd?: URL): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', ...args], { cwd, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * The settings with which the operator CLI (`npm run ops`) reads the Audit.Exchange stream of one tenant of
 * the simulated tenant, named contoso, its app's secret in OPS_SECRET, on the shared Azurite.
 */
export function opsEnv(sim: SimTenant, tenantId: string, clientId: string, secret: string): Record<string, string> {
  return {
    O365_TENANTS: JSON.stringify([{ tenantId, clientId, name: 'contoso', credential: { type: 'secret', secretName: 'OPS_SECRET' } }]),
    OPS_SECRET: secret,
    O365_CONTENT_TYPES: 'Audit.Exchange',
    O365_MANAGEMENT_ENDPOINT: sim.url,
    O365_AUTHORITY_HOST: sim.url,
    AzureWebJobsStorage: inject('azuriteConnectionString'),
  };
}

let azurite: StorageClients | undefined;

/** Clients of the shared Azurite that the global setup started. */
export function azuriteStorage(): StorageClients {
  return (azurite ??= new StorageClients({ connectionString: inject('azuriteConnectionString') }));
}

/** A new, empty table on the shared Azurite, named `prefix` and 12 random hex digits. */
export async function freshTable(prefix: string) {
  const table = azuriteStorage().table(`${prefix}${randomUUID().replaceAll('-', '').slice(0, 12)}`);
  await table.createTable();
  return table;
}
