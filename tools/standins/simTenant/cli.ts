/**
 * Runs a simulated tenant until SIGINT/SIGTERM and prints one JSON line `{url, adminKey, tenants}` once it
 * listens (the client secret is never printed). With no arguments: one tenant with a fixed well-known
 * test GUID and app, which also accepts assertions signed with test/certs/client.pem's key.
 *
 *   npx tsx tools/standins/simTenant/cli.ts [--port 0] [--seed 1] [--tenant <guid>]... [--client-id <guid>]
 *     [--client-secret <s>] [--blobs-per-hour 12] [--records-per-blob 20] [--incidents-per-hour 1] [--page-size 100]
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startSimTenant } from './server.js';
import { exitOnHelp } from '../../common/cliHelp.js';

/** The tenant the simulator serves when none is given. */
const DEFAULT_TENANT_ID = '5f1e2d3c-4b5a-4697-8877-665544332211';
/** The app consented in every tenant unless `--client-id` says otherwise. */
const DEFAULT_CLIENT_ID = 'a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d';
/** A local-test secret, public on purpose; it protects nothing. */
const DEFAULT_CLIENT_SECRET = 'sim-tenant-local-secret';

exitOnHelp(
  process.argv.slice(2),
  `npm run sim -- [--host 127.0.0.1] [--port 0] [--seed 1] [--tenant <guid>]... [--client-id <guid>]
               [--client-secret <s>] [--blobs-per-hour 12] [--records-per-blob 20] [--incidents-per-hour 1] [--page-size 100]

Runs a simulated Microsoft 365 tenant (the Management Activity API, Microsoft Graph security and the
Entra ID token endpoint, over https with the local stand-ins' certificate) until Ctrl-C, and prints one
JSON line {url, adminKey, tenants} once it listens. The client secret is never printed.`,
);

const { values } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '0' },
    seed: { type: 'string', default: '1' },
    tenant: { type: 'string', multiple: true },
    'client-id': { type: 'string', default: DEFAULT_CLIENT_ID },
    'client-secret': { type: 'string', default: DEFAULT_CLIENT_SECRET },
    'blobs-per-hour': { type: 'string', default: '12' },
    'records-per-blob': { type: 'string', default: '20' },
    'incidents-per-hour': { type: 'string', default: '1' },
    'page-size': { type: 'string', default: '100' },
  },
  strict: true,
});

function num(name: string, text: string): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n)) throw new Error(`--${name} must be a number, got ${JSON.stringify(text)}`);
  return n;
}

const clientId = values['client-id'];
const certificatePem = readFileSync(fileURLToPath(new URL('../../../test/certs/client.pem', import.meta.url)), 'utf8');
const tenantIds = values.tenant?.length ? values.tenant : [DEFAULT_TENANT_ID];
const sim = await startSimTenant({
  host: values.host,
  port: num('port', values.port),
  seed: num('seed', values.seed),
  pageSize: num('page-size', values['page-size']),
  tenants: tenantIds.map((tenantId) => ({
    tenantId,
    apps: [{ clientId, secret: values['client-secret'], certificatePem }],
    blobsPerHour: num('blobs-per-hour', values['blobs-per-hour']),
    recordsPerBlob: num('records-per-blob', values['records-per-blob']),
    incidentsPerHour: num('incidents-per-hour', values['incidents-per-hour']),
  })),
});

process.stdout.write(`${JSON.stringify({ url: sim.url, adminKey: sim.adminKey, tenants: tenantIds.map((tenantId) => ({ tenantId, clientId })) })}\n`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void sim.close().then(() => process.exit(0));
  });
}
