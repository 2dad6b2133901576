import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';

// The Functions host and the Azure Monitor exporter are stood in for: only the settings the worker's
// telemetry reads matter here, not what it starts.
vi.mock('@azure/functions', () => ({
  app: { setup: vi.fn(), hook: { preInvocation: vi.fn(), log: vi.fn(), appTerminate: vi.fn() } },
}));
vi.mock('../../shared/adapters/telemetry/azureMonitor.js', () => ({
  aadClientIdOf: () => ({ aad: false, clientId: undefined }),
  startAzureMonitorTelemetry: () => ({ logger: () => ({}), shutdown: async () => {} }),
}));

const { forwarderTrigger, loadConfig, SETTINGS } = await import('../../shared/config.js');
const { enableWorkerTelemetry } = await import('../../shared/adapters/functions/workerTelemetry.js');
const { proxyFor } = await import('../../shared/adapters/http/proxy.js');
const { webSocketsThroughProxy } = await import('../../shared/adapters/eventHubs/eventHubsSink.js');

const TENANT = '8f0a1c2d-3b4e-4f56-8a9b-0c1d2e3f4a5b';
const APP = '1d2c3b4a-5f6e-4a7b-9c8d-7e6f5a4b3c2d';
const SECRET_NAMES = ['CONTOSO_SECRET', 'CONTOSO_CERT', 'CONTOSO_CERT_PASSWORD'];

/** A valid environment that takes every branch that reads a setting (the forwarder on, local secrets). */
function validEnv(): Record<string, string> {
  return {
    O365_TENANTS: JSON.stringify([
      { tenantId: TENANT, clientId: APP, credential: { type: 'secret', secretName: 'CONTOSO_SECRET' } },
      { tenantId: APP, clientId: TENANT, credential: { type: 'certificate', secretName: 'CONTOSO_CERT', passwordSecretName: 'CONTOSO_CERT_PASSWORD' } },
    ]),
    CONTOSO_SECRET: 'not-a-real-secret',
    CONTOSO_CERT: 'not-a-real-certificate',
    CONTOSO_CERT_PASSWORD: 'not-a-real-password',
    AzureWebJobsStorage: 'UseDevelopmentStorage=true',
    EVENTHUB_CONNECTION: 'Endpoint=sb://localhost:5672;SharedAccessKeyName=k;SharedAccessKey=v;UseDevelopmentEmulator=true',
    EVENTHUB_NAME: 'm365-audit',
    LOGS_INGESTION_ENDPOINT: 'https://dce.westeurope-1.ingest.monitor.azure.com',
    LOGS_INGESTION_RULE_ID: `dcr-${'0'.repeat(32)}`,
    APPLICATIONINSIGHTS_CONNECTION_STRING: 'InstrumentationKey=00000000-0000-0000-0000-000000000000',
    FUNCTIONS_WORKER_RUNTIME: 'node',
    HTTP_PROXY: 'http://proxy.invalid:3128',
  };
}

/** The environment behind a Proxy that records the name of every variable read or tested. */
function recording(env: Record<string, string>): { env: Record<string, string | undefined>; names: Set<string> } {
  const names = new Set<string>();
  const proxy = new Proxy(env, {
    get: (target, key) => {
      if (typeof key === 'string') names.add(key);
      return Reflect.get(target, key);
    },
    has: (target, key) => {
      if (typeof key === 'string') names.add(key);
      return Reflect.has(target, key);
    },
    ownKeys: () => {
      throw new Error('the code enumerated the environment; a recording cannot tell which settings it reads');
    },
  });
  return { env: proxy, names };
}

describe('the settings the code reads', () => {
  it('are exactly the names in SETTINGS (a recording of every entry point that reads the environment)', async () => {
    const { env, names } = recording(validEnv());
    // What shared/wiring.ts and functions/ pass process.env to.
    loadConfig(env);
    forwarderTrigger(env);
    await enableWorkerTelemetry(env, () => ({ getToken: async () => null }));
    // The outbound proxy: our HTTP calls, the Azure SDK URLs and Event Hubs over WebSockets.
    proxyFor('https://manage.office.com/api/v1.0', env);
    proxyFor('http://127.0.0.1:10000', env);
    webSocketsThroughProxy('myns.servicebus.windows.net', env);

    const declared = new Map<string, string>();
    for (const spec of SETTINGS) for (const name of [spec.name, ...(spec.aliases ?? [])]) declared.set(name, spec.name);
    // A tenant's secretName names a variable of its own (local mode); those are the operator's, not the table's.
    const read = [...names].filter((name) => !SECRET_NAMES.includes(name));
    expect(read.filter((name) => !declared.has(name)).sort(), 'read but not in SETTINGS').toEqual([]);
    const readSettings = new Set(read.map((name) => declared.get(name)));
    expect(SETTINGS.map((s) => s.name).filter((name) => !readSettings.has(name)), 'in SETTINGS but never read').toEqual([]);
    for (const secret of SECRET_NAMES) expect(names.has(secret), secret).toBe(true);
  });

  it('are read only where the recording above looks (a scan of shared/ and functions/)', () => {
    const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
    const sources = ['shared', 'functions'].flatMap((dir) =>
      readdirSync(path.join(root, dir), { recursive: true, encoding: 'utf8' })
        .filter((file) => file.endsWith('.ts'))
        .map((file) => path.posix.join(dir, file.split(path.sep).join('/'))),
    );
    const readers = new Map<string, string[]>();
    for (const file of sources) {
      const source = readFileSync(path.join(root, file), 'utf8');
      // A read of a variable: env.NAME, env?.NAME, env[...], process.env.NAME, process.env[...] (passing env along is not one).
      const literal = [...source.matchAll(/\benv\??\.([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]!);
      if (literal.length > 0 || /\benv\[/.test(source)) readers.set(file, literal);
    }
    // A new reader must join the recording above (and its settings the table).
    expect([...readers.keys()].sort()).toEqual(['shared/adapters/functions/workerTelemetry.ts', 'shared/adapters/http/proxy.ts', 'shared/config.ts']);
    const known = new Set(SETTINGS.flatMap((s) => [s.name, ...(s.aliases ?? [])]));
    expect([...readers.values()].flat().filter((name) => !known.has(name))).toEqual([]);
  });
});
