import { randomUUID } from 'node:crypto';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../../shared/config.js';
import { lazyAppCredential } from '../../../shared/wiring.js';
import { StorageClients } from '../../../shared/adapters/storage/clients.js';
import { TableHealthStore } from '../../../shared/adapters/storage/tableHealthStore.js';
import { runTsx } from '../setup.js';

const TENANT = randomUUID();
const APP = randomUUID();

function ops(args: string[], env: Record<string, string | undefined>) {
  return runTsx(['tools/cli/ops.ts', ...args], { PATH: process.env.PATH, ...env });
}

const tenants = JSON.stringify([{ tenantId: TENANT, clientId: APP, name: 'contoso', credential: { type: 'secret', secretName: 'CONTOSO_SECRET' } }]);

describe('ops as an operator expects', () => {
  it('status needs only what it reads: no Event Hubs setting and no tenant secret', async () => {
    const result = await ops(['status'], { O365_TENANTS: tenants, O365_CONTENT_TYPES: 'Audit.Exchange', AzureWebJobsStorage: inject('azuriteConnectionString') });
    // Azurite of this run may not have this deployment's tables: either way the command ran without asking for EVENTHUB_*.
    expect(result.stderr).not.toMatch(/EVENTHUB|CONTOSO_SECRET/);
    expect(`${result.stdout}${result.stderr}`).toMatch(/contoso Audit\.Exchange|does not exist in this storage account/);
  });

  it('a missing table is a clear message, not OData JSON', async () => {
    const storage = new StorageClients({ connectionString: inject('azuriteConnectionString') });
    const health = new TableHealthStore(storage.table(`never${randomUUID().replace(/-/g, '').slice(0, 12)}`));
    const err = await health.readAll().then(() => undefined, (e: unknown) => e as Error);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/the table does not exist in this storage account \(TableNotFound\)\. Check that AzureWebJobsStorage/);
    expect((err as Error).message).not.toMatch(/odata|\{"/);
  });

  it('reconcile exits non-zero when a stream fails', async () => {
    const connection = inject('azuriteConnectionString');
    const wrongKey = connection.replace(/AccountKey=[^;]+/, `AccountKey=${Buffer.from('not the key').toString('base64')}`);
    const reconcile = await ops(['reconcile'], { O365_TENANTS: tenants, O365_CONTENT_TYPES: 'Audit.Exchange', AzureWebJobsStorage: wrongKey });
    expect(reconcile.code).toBe(1);
    expect(reconcile.stderr).toMatch(/reconcile: 1 of 1 streams failed/);
    expect(reconcile.stderr).not.toContain('[object Object]');
  });

  it('--help prints the usage on stdout and exits 0; an unknown option exits 2', async () => {
    const help = await ops(['--help'], {});
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^npm run ops -- <command>/);
    expect(help.stdout).toContain('status [--json]');
    expect(help.stdout).toContain('backfill --tenant <id>');
    expect((await ops(['status', '--bogus'], {})).code).toBe(2);
  });
});

describe('the app credential off Azure', () => {
  it('falls back to the operator\'s sign-in (Azure CLI) when no managed identity answers, also with AZURE_CLIENT_ID set', async () => {
    // A stand-in `az` on PATH answers like `az account get-access-token --output json`.
    const bin = mkdtempSync(join(tmpdir(), 'fake-az-'));
    const expires = Math.floor(Date.now() / 1000) + 3600;
    writeFileSync(
      join(bin, 'az'),
      `#!/bin/sh\necho '{"accessToken":"token-from-az-login","expiresOn":"2099-01-01 00:00:00.000000","expires_on":${expires},"subscription":"s","tenant":"t","tokenType":"Bearer"}'\n`,
    );
    chmodSync(join(bin, 'az'), 0o755);
    // The managed identity endpoint of App Service, pointed at a port where nothing listens.
    const closed = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const port = (s.address() as { port: number }).port;
        s.close(() => resolve(port));
      });
    });
    const saved = { ...process.env };
    Object.assign(process.env, { PATH: `${bin}:${process.env.PATH}`, IDENTITY_ENDPOINT: `http://127.0.0.1:${closed}/msi/token`, IDENTITY_HEADER: 'h', AZURE_CLIENT_ID: APP });
    try {
      const config = loadConfig({
        O365_TENANTS: tenants,
        CONTOSO_SECRET: 'x',
        AZURE_CLIENT_ID: APP,
        AzureWebJobsStorage__accountName: 'stm365audit',
        EVENTHUB_CONNECTION__fullyQualifiedNamespace: 'ns.servicebus.windows.net',
        EVENTHUB_NAME: 'hub',
      });
      const token = await lazyAppCredential(config).getToken('https://storage.azure.com/.default');
      expect(token?.token).toBe('token-from-az-login');
    } finally {
      process.env = saved;
    }
  });
});
