import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const CLI = fileURLToPath(new URL('../../../tools/standins/simTenant/cli.ts', import.meta.url));
const TENANT_A = '0b7c6d5e-4f3a-4b2c-9d1e-8f7a6b5c4d3e';
const TENANT_B = '1c8d7e6f-5a4b-4c3d-8e2f-9a8b7c6d5e4f';
const CLIENT = '2d9e8f7a-6b5c-4d4e-9f3a-0b9c8d7e6f5a';

const children: ChildProcess[] = [];
afterAll(() => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
});

async function runCli(args: string[]): Promise<{ child: ChildProcess; info: { url: string; adminKey: string; tenants: { tenantId: string; clientId: string }[] } }> {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  const [line] = (await once(createInterface({ input: child.stdout! }), 'line')) as [string];
  return { child, info: JSON.parse(line) as { url: string; adminKey: string; tenants: { tenantId: string; clientId: string }[] } };
}

describe('simTenant CLI', () => {
  it('prints url, adminKey and tenants (never the secret), serves tokens and the feed, and exits 0 on SIGTERM', async () => {
    const { child, info } = await runCli(['--tenant', TENANT_A, '--tenant', TENANT_B, '--client-id', CLIENT, '--client-secret', 'cli-secret', '--blobs-per-hour', '6', '--page-size', '5', '--seed', '9']);
    expect(info.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(info.adminKey).toMatch(/^[0-9a-f]{32}$/);
    expect(info.tenants).toEqual([
      { tenantId: TENANT_A, clientId: CLIENT },
      { tenantId: TENANT_B, clientId: CLIENT },
    ]);
    expect(JSON.stringify(info)).not.toContain('cli-secret');

    const tokenRes = await fetch(`${info.url}/${TENANT_B}/oauth2/v2.0/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: CLIENT, client_secret: 'cli-secret', scope: 'https://manage.office.com/.default' }),
    });
    const { access_token: token } = (await tokenRes.json()) as { access_token: string };
    const auth = { authorization: `Bearer ${token}` };
    const root = `${info.url}/api/v1.0/${TENANT_B}/activity/feed`;
    expect((await fetch(`${root}/subscriptions/start?contentType=Audit.SharePoint`, { method: 'POST', headers: auth })).status).toBe(200);
    const listing = await fetch(`${root}/subscriptions/content?contentType=Audit.SharePoint`, { headers: auth });
    expect(((await listing.json()) as unknown[]).length).toBe(5);
    expect(listing.headers.get('NextPageUri')).toContain('/subscriptions/content?');

    const stats = (await (await fetch(`${info.url}/_sim/stats`, { headers: { 'x-sim-admin': info.adminKey } })).json()) as { totals: Record<string, number> };
    expect(stats.totals).toEqual({ token: 1, start: 1, content: 1 });

    child.kill('SIGTERM');
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).toBe(0);
  });

  it('runs with no arguments: one default tenant and app', async () => {
    const { child, info } = await runCli([]);
    expect(info.tenants).toHaveLength(1);
    const tenantId = info.tenants[0]!.tenantId;
    const metadata = await fetch(`${info.url}/${tenantId}/v2.0/.well-known/openid-configuration`);
    expect(metadata.status).toBe(200);
    child.kill('SIGINT');
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).toBe(0);
  });
});
