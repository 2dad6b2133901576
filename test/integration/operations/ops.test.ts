import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { HttpRequest, InvocationContext } from '@azure/functions';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { status } from '../../../functions/status.js';
import { loadConfig } from '../../../shared/config.js';
import type { ContentMessage } from '../../../shared/core/contentMessage.js';
import type { StreamKey } from '../../../shared/core/model.js';
import { DAY_MS, HOUR_MS } from '../../../shared/core/windows.js';
import { silentLogger } from '../../../shared/ports.js';
import { createWiring, type Wiring } from '../../../shared/wiring.js';
import { startSimTenant, type SimTenant } from '../../../tools/simTenant/index.js';

const TENANT = randomUUID();
const APP = randomUUID();
const SECRET = 'ops-test-secret';
const stream: StreamKey = { tenantId: TENANT, contentType: 'Audit.Exchange' };
let sim: SimTenant;
let env: Record<string, string>;
let wiring: Wiring;

beforeAll(async () => {
  // The operator CLI runs on the real clock, so this simulator does too.
  sim = await startSimTenant({ tenants: [{ tenantId: TENANT, apps: [{ clientId: APP, secret: SECRET }], blobsPerHour: 6, contentTypes: ['Audit.Exchange'] }] });
  env = {
    O365_TENANTS: JSON.stringify([{ tenantId: TENANT, clientId: APP, name: 'contoso', credential: { type: 'secret', secretName: 'OPS_SECRET' } }]),
    OPS_SECRET: SECRET,
    O365_CONTENT_TYPES: 'Audit.Exchange',
    O365_MANAGEMENT_ENDPOINT: sim.url,
    O365_AUTHORITY_HOST: sim.url,
    AzureWebJobsStorage: inject('azuriteConnectionString'),
    EVENTHUB_CONNECTION: 'Endpoint=sb://127.0.0.1:1;SharedAccessKeyName=k;SharedAccessKey=unused;UseDevelopmentEmulator=true',
    EVENTHUB_NAME: 'unused',
    CONTENT_QUEUE_NAME: `ops-${randomUUID().slice(0, 8)}`,
  };
  wiring = createWiring(loadConfig(env), { logger: silentLogger });
  await wiring.ensureResources();
  await wiring.feed.startSubscription(stream);
});
afterAll(() => sim.close());

function ops(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'tools/ops.ts', ...args], { env: { PATH: process.env.PATH, NODE_EXTRA_CA_CERTS: process.env.NODE_EXTRA_CA_CERTS, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

async function drain(): Promise<ContentMessage[]> {
  const queue = wiring.storage.queue(env.CONTENT_QUEUE_NAME!);
  const out: ContentMessage[] = [];
  for (;;) {
    const { receivedMessageItems } = await queue.receiveMessages({ numberOfMessages: 32 });
    if (receivedMessageItems.length === 0) return out;
    for (const m of receivedMessageItems) {
      out.push(JSON.parse(Buffer.from(m.messageText, 'base64').toString('utf8')) as ContentMessage);
      await queue.deleteMessage(m.messageId, m.popReceipt);
    }
  }
}

describe('operator CLI against Azurite and the simulated tenant', () => {
  it('backfill re-lists a window and enqueues only blobs the ledger does not know; a second run enqueues nothing', async () => {
    const from = new Date(Date.now() - 6 * HOUR_MS).toISOString();
    const first = await ops('backfill', '--tenant', TENANT, '--content-type', 'Audit.Exchange', '--from', from);
    expect(first.code, first.stderr).toBe(0);
    const expected = sim.blobs(TENANT, 'Audit.Exchange', Date.parse(from), Date.now()).map((b) => b.contentId).sort();
    expect(expected.length).toBeGreaterThan(20);
    expect((await drain()).map((m) => m.contentId).sort()).toEqual(expected);
    expect(first.stdout).toMatch(new RegExp(`${expected.length} new blobs enqueued`));
    const again = await ops('backfill', '--tenant', TENANT, '--content-type', 'Audit.Exchange', '--from', from);
    expect(again.stdout).toMatch(/ 0 new blobs enqueued/);
    expect(await drain()).toEqual([]);
  });

  it('backfill refuses a window beyond the API\'s 7 days, and bad usage exits 2', async () => {
    const old = await ops('backfill', '--tenant', TENANT, '--content-type', 'Audit.Exchange', '--from', new Date(Date.now() - 8 * DAY_MS).toISOString());
    expect(old.code).toBe(1);
    expect(old.stderr).toMatch(/InvalidWindow: backfill can start no earlier than/);
    expect((await ops('backfill', '--tenant', TENANT)).code).toBe(2);
    expect((await ops('explode')).code).toBe(2);
  });

  it('replay re-enqueues poisoned and failed blobs and skips expired content', async () => {
    const base = { ...stream, contentUri: `${sim.url}/api/v1.0/${TENANT}/activity/feed/audit/x`, contentCreated: new Date().toISOString(), listedAt: new Date().toISOString(), attempts: 5 };
    await wiring.ledger.insertIfAbsent([
      { ...base, contentId: 'replay-poisoned', contentExpiration: new Date(Date.now() + 3 * DAY_MS).toISOString(), status: 'poisoned', lastError: 'retries exhausted' },
      { ...base, contentId: 'replay-failed', contentExpiration: new Date(Date.now() + 3 * DAY_MS).toISOString(), status: 'failed', lastError: 'not a JSON array' },
      { ...base, contentId: 'replay-expired', contentExpiration: new Date(Date.now() - 1000).toISOString(), status: 'poisoned', lastError: 'retries exhausted' },
    ]);
    const result = await ops('replay', '--tenant', TENANT, '--content-type', 'Audit.Exchange');
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/2 blobs re-enqueued, 1 skipped \(content expired\)/);
    expect((await drain()).map((m) => m.contentId).sort()).toEqual(['replay-failed', 'replay-poisoned']);
    expect(await wiring.ledger.get(stream, 'replay-poisoned')).toMatchObject({ status: 'listed', attempts: 0 });
    expect(await wiring.ledger.get(stream, 'replay-expired')).toMatchObject({ status: 'poisoned' });
  });

  it('reconcile re-enqueues a stuck blob and flags one near expiry; status shows it', async () => {
    const base = { ...stream, contentUri: `${sim.url}/api/v1.0/${TENANT}/activity/feed/audit/y`, contentCreated: new Date(Date.now() - HOUR_MS).toISOString(), status: 'listed' as const };
    await wiring.ledger.insertIfAbsent([
      { ...base, contentId: 'stuck-blob', listedAt: new Date(Date.now() - 3 * HOUR_MS).toISOString(), contentExpiration: new Date(Date.now() + 5 * DAY_MS).toISOString() },
      { ...base, contentId: 'expiring-blob', listedAt: new Date().toISOString(), contentExpiration: new Date(Date.now() + 2 * HOUR_MS).toISOString() },
    ]);
    await wiring.ledger.markEnqueued(stream, ['stuck-blob'], new Date(Date.now() - 2 * HOUR_MS).toISOString());
    await wiring.ledger.markEnqueued(stream, ['expiring-blob'], new Date().toISOString());
    const run = await ops('reconcile');
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/undelivered blobs expire within a day.*expiring-blob/);
    expect((await drain()).map((m) => m.contentId)).toContain('stuck-blob');

    const report = await ops('status', '--json');
    const [row] = JSON.parse(report.stdout) as Array<{ health: { state: string; stuck: number; expiringSoon: number; reasons: string[] } }>;
    expect(row!.health, JSON.stringify(row!.health.reasons)).toMatchObject({ state: "degraded", expiringSoon: 1 });
    expect(row!.health.stuck).toBeGreaterThanOrEqual(1);
    const text = await ops('status');
    expect(text.stdout).toMatch(/^contoso Audit\.Exchange: degraded/m);
  });

  it('the status function returns every stream with its cursor, health and the overall state', async () => {
    const response = await status(new HttpRequest({ url: 'http://localhost/api/status', method: 'GET' }), new InvocationContext(), wiring);
    expect(response.status).toBe(200);
    const body = response.jsonBody as { state: string; streams: Array<{ tenantId: string; contentType: string; state: string; reasons: string[]; health?: { hours: unknown[] } }> };
    expect(body.state).toBe('degraded');
    expect(body.streams).toHaveLength(1);
    expect(body.streams[0]).toMatchObject({ tenantId: TENANT, contentType: 'Audit.Exchange', state: 'degraded' });
    expect(body.streams[0]!.health?.hours.length).toBeGreaterThan(0);
  });
});
