import { readFileSync } from 'node:fs';
import { inject, afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../shared/config.js';
import type { ContentType, StreamKey } from '../../../shared/core/model.js';
import { HOUR_MS, MINUTE_MS } from '../../../shared/core/windows.js';
import type { Logger } from '../../../shared/ports.js';
import { pollStreams } from '../../../shared/usecases/pollStreams.js';
import { createWiring, type Wiring } from '../../../shared/wiring.js';
import { startSimTenant, type SimTenant } from '../../../tools/standins/simTenant/index.js';
import { startKeyVaultStandIn, type KeyVaultStandIn } from '../../../tools/standins/keyVault.js';
import { startManagedIdentityStandIn, type ManagedIdentityStandIn } from '../../../tools/standins/managedIdentity.js';
import { ManualClock } from '../../fakes/ports.js';
import { pointManagedIdentityAt, serverTls } from '../standins/helpers.js';

// The deployment's home tenant (where the function app and its identity live) and four customer tenants.
const HOME = '10000000-aaaa-4aaa-8aaa-000000000001';
const UAMI = '20000000-bbbb-4bbb-8bbb-000000000002';
const APP = '30000000-cccc-4ccc-8ccc-000000000003';
const SECRET_TENANT = '40000000-dddd-4ddd-8ddd-000000000004';
const CERT_TENANT = '50000000-eeee-4eee-8eee-000000000005';
const GCCH_TENANT = '60000000-ffff-4fff-8fff-000000000006';
const WRONG_TENANT = '70000000-9999-4999-8999-000000000007';
const SECRETS = { a: 'secret-of-tenant-a-1', a2: 'secret-of-tenant-a-2', c: 'secret-of-gcch-tenant', wrongInVault: 'this-is-not-the-secret', wrongInSim: 'the-real-secret-of-d' };
const T0 = Date.UTC(2026, 10, 20, 12);
const EXCHANGE: ContentType = 'Audit.Exchange';
const pem = (name: string) => readFileSync(new URL(`../../certs/${name}`, import.meta.url), 'utf8');

let mi: ManagedIdentityStandIn;
let vault: KeyVaultStandIn;
let commercial: SimTenant;
let gcch: SimTenant;
let restoreEnv: () => void;
const clock = new ManualClock(T0);
const lines: string[] = [];
const capture: Logger = {
  debug: (m, f) => lines.push(`${m} ${JSON.stringify(f ?? {})}`),
  info: (m, f) => lines.push(`${m} ${JSON.stringify(f ?? {})}`),
  warn: (m, f) => lines.push(`${m} ${JSON.stringify(f ?? {})}`),
  error: (m, f) => lines.push(`${m} ${JSON.stringify(f ?? {})}`),
};

beforeAll(async () => {
  mi = await startManagedIdentityStandIn({ tenantId: HOME, identities: [{ clientId: UAMI, principalId: '80000000-1111-4111-8111-000000000008' }] });
  restoreEnv = pointManagedIdentityAt(mi);
  vault = await startKeyVaultStandIn({ tls: serverTls, tenantId: HOME, authorityHost: 'https://login.microsoftonline.com', signingKey: mi.signingKey });
  const feed = { blobsPerHour: 2, contentTypes: [EXCHANGE] as ContentType[], historyStart: T0 - 8 * 24 * HOUR_MS };
  commercial = await startSimTenant({
    now: () => clock.now(),
    trustedManagedIdentityKeys: [mi.signingKey],
    tenants: [
      { tenantId: SECRET_TENANT, apps: [{ clientId: APP, secret: SECRETS.a }], ...feed },
      { tenantId: CERT_TENANT, apps: [{ clientId: APP, certificatePem: pem('client.pem') }], ...feed },
      { tenantId: WRONG_TENANT, apps: [{ clientId: APP, secret: SECRETS.wrongInSim }], ...feed },
      { tenantId: HOME, apps: [], ...feed },
    ],
  });
  gcch = await startSimTenant({ now: () => clock.now(), tokenAudience: 'https://manage.office365.us', tenants: [{ tenantId: GCCH_TENANT, apps: [{ clientId: APP, secret: SECRETS.c }], ...feed }] });
  vault.setSecret('tenant-a-secret', SECRETS.a);
  vault.setSecret('tenant-b-cert', pem('client-combined.pem'), { contentType: 'application/x-pem-file' });
  vault.setSecret('tenant-c-secret', SECRETS.c);
  vault.setSecret('tenant-d-secret', SECRETS.wrongInVault);
});

afterAll(async () => {
  restoreEnv();
  await Promise.all([vault.close(), mi.close(), commercial.close(), gcch.close()]);
});

function wiring(): Wiring {
  const at = (sim: SimTenant) => ({ managementEndpoint: sim.url, authorityHost: sim.url });
  const config = loadConfig({
    KEY_VAULT_URL: vault.url,
    AZURE_CLIENT_ID: UAMI,
    O365_CONTENT_TYPES: EXCHANGE,
    O365_TENANTS: JSON.stringify([
      { tenantId: SECRET_TENANT, clientId: APP, name: 'contoso', cloud: 'commercial', credential: { type: 'secret', secretName: 'tenant-a-secret' }, ...at(commercial) },
      { tenantId: CERT_TENANT, clientId: APP, name: 'fabrikam', cloud: 'commercial', credential: { type: 'certificate', secretName: 'tenant-b-cert' }, ...at(commercial) },
      { tenantId: GCCH_TENANT, clientId: APP, name: 'agency', cloud: 'gcchigh', credential: { type: 'secret', secretName: 'tenant-c-secret' }, ...at(gcch) },
      { tenantId: HOME, name: 'home', credential: { type: 'managedIdentity' }, ...at(commercial) },
      { tenantId: WRONG_TENANT, clientId: APP, name: 'northwind', credential: { type: 'secret', secretName: 'tenant-d-secret' }, ...at(commercial) },
    ]),
    AzureWebJobsStorage: inject('azuriteConnectionString'),
    EVENTHUB_CONNECTION: 'Endpoint=sb://127.0.0.1:1;SharedAccessKeyName=k;SharedAccessKey=unused;UseDevelopmentEmulator=true',
    EVENTHUB_NAME: 'unused',
    CONTENT_QUEUE_NAME: `cred-${Date.now()}`,
  });
  return createWiring(config, { clock, logger: capture, managementRetry: { baseDelayInMs: 5, maxDelayInMs: 20 } });
}

async function poll(w: Wiring) {
  await w.ensureResources();
  const results = await pollStreams(
    w.streams,
    { feed: w.feed, ledger: w.ledger, queue: w.queue, cursors: w.cursors, listings: w.listings, gaps: w.gaps, sink: w.sink, blobs: w.blobs, clock, logger: capture, metrics: { count() {} } },
    { settleLagInMs: 10 * MINUTE_MS, overlapInMs: 120 * MINUTE_MS, initialLookbackInMs: 6 * HOUR_MS, concurrency: 4, deadlineAtMs: clock.now() + 8 * MINUTE_MS },
  );
  return Object.fromEntries(results.map((r) => [r.stream.tenantId, r]));
}

const state = (w: Wiring, tenantId: string) => w.cursors.read({ tenantId, contentType: EXCHANGE } as StreamKey).then((r) => r?.state);

describe('credentials and tenants', () => {
  let w: Wiring;

  it('runs tenants in two clouds with a secret, a certificate (both from Key Vault) and the managed identity in one run', async () => {
    w = wiring();
    const results = await poll(w);
    for (const tenant of [SECRET_TENANT, CERT_TENANT, GCCH_TENANT, HOME]) expect(results[tenant]?.outcome, tenant).toBe('complete');
    // The GCC High simulator only accepts tokens for https://manage.office365.us: its listing succeeded.
    expect(gcch.requestLog().filter((r) => r.op === 'content').every((r) => r.outcome === '200')).toBe(true);
    expect(mi.requests().map((r) => r.resource)).toEqual(expect.arrayContaining(['https://vault.azure.net', 'https://manage.office.com']));
    expect(vault.reads('tenant-b-cert')).toBe(1);
  });

  it('a wrong secret gives a clear error that names the tenant', async () => {
    const wrong = await state(w, WRONG_TENANT);
    expect(wrong?.lastErrorCode).toBe('CredentialRejected');
    expect(wrong?.lastError).toContain(`tenant ${WRONG_TENANT}`);
    expect(wrong?.lastError).toMatch(/AADSTS7000215/);
  });

  it('picks up a secret rotated mid-run without a restart', async () => {
    commercial.rotateSecret(SECRET_TENANT, APP, SECRETS.a2);
    vault.setSecret('tenant-a-secret', SECRETS.a2);
    // The cached token stops working (revoked with the old secret): the client must get a new one.
    commercial.faults.inject({ op: 'content', tenantId: SECRET_TENANT, fault: { kind: 'status', status: 401 } });
    clock.advance(5 * MINUTE_MS);
    const readsBefore = vault.reads('tenant-a-secret');
    const results = await poll(w);
    expect(results[SECRET_TENANT]?.outcome).toBe('complete');
    // The cached secret was rejected once (AADSTS7000215), then re-read from the vault.
    expect(vault.reads('tenant-a-secret')).toBe(readsBefore + 1);
  });

  it('a vault that is down shows on the streams as a transient error', async () => {
    vault.setAvailability('down');
    try {
      const fresh = wiring(); // a new worker: nothing cached
      clock.advance(5 * MINUTE_MS);
      const results = await poll(fresh);
      expect(results[SECRET_TENANT]?.outcome).toBe('failed');
      expect((await state(fresh, SECRET_TENANT))?.lastErrorCode).toBe('SecretUnavailable');
      expect(results[HOME]?.outcome).toBe('complete'); // the managed identity needs no secret
    } finally {
      vault.setAvailability('up');
    }
  });

  it('never writes a secret or a token into a log line', () => {
    expect(lines.length).toBeGreaterThan(10);
    const text = lines.join('\n');
    for (const secret of [...Object.values(SECRETS), 'PRIVATE KEY']) expect(text).not.toContain(secret);
    expect(text).not.toMatch(/eyJ[\w-]{10,}\.[\w-]{10,}\./); // no JWT
  });
});
