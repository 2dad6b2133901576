import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HttpRequest, InvocationContext } from '@azure/functions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handleStatusRequest } from '../../../functions/status.js';
import { loadConfig } from '../../../shared/config.js';
import type { ContentMessage } from '../../../shared/core/contentMessage.js';
import { blobManifestEvent, digestOf } from '../../../shared/core/manifest.js';
import type { StreamKey } from '../../../shared/core/model.js';
import { DAY_MS, HOUR_MS } from '../../../shared/core/windows.js';
import { silentLogger } from '../../../shared/ports.js';
import { createWiring, type Wiring } from '../../../shared/wiring.js';
import { startSimTenant, type SimTenant } from '../../../tools/standins/simTenant/index.js';
import { opsEnv, runTsx } from '../setup.js';

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
    ...opsEnv(sim, TENANT, APP, SECRET),
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
  return opsWith({ PATH: process.env.PATH, NODE_EXTRA_CA_CERTS: process.env.NODE_EXTRA_CA_CERTS, ...env }, ...args);
}

function opsWith(childEnv: NodeJS.ProcessEnv, ...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return runTsx(['tools/cli/ops.ts', ...args], childEnv);
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
    expect(run.stderr).toMatch(/blobs not done expire within a day.*expiring-blob/);
    expect((await drain()).map((m) => m.contentId)).toContain('stuck-blob');

    const report = await ops('status', '--json');
    const [row] = JSON.parse(report.stdout) as Array<{ health: { state: string; stuck: number; expiringSoon: number; reasons: string[] } }>;
    // An undelivered blob within a day of its expiry is the alarm: failing.
    expect(row!.health, JSON.stringify(row!.health.reasons)).toMatchObject({ state: 'failing', expiringSoon: 1 });
    expect(row!.health.stuck).toBeGreaterThanOrEqual(1);
    const text = await ops('status');
    expect(text.stdout).toMatch(/^contoso Audit\.Exchange: failing/m);
    expect(text.stdout).toMatch(/^ {4}invariant holds over \d+ h/m);
    const hours = await ops('status', '--hours');
    expect(hours.stdout).toMatch(/^ {4}hour \d{4}-\d{2}-\d{2}T\d{2}: listed \d+ ⊆ ledger \d+ = .* · holds$/m);
  });

  it('the status function returns every stream with its cursor, health and the overall state', async () => {
    const response = await handleStatusRequest(new HttpRequest({ url: 'http://localhost/api/status', method: 'GET' }), new InvocationContext(), wiring);
    expect(response.status).toBe(200);
    const body = response.jsonBody as { state: string; invariantHolds: boolean; streams: Array<{ tenantId: string; contentType: string; state: string; reasons: string[]; invariant?: unknown; health?: { hours: unknown[] } }> };
    expect(body.state).toBe('failing');
    expect(body).toMatchObject({ invariantHolds: true });
    expect(body.streams).toHaveLength(1);
    expect(body.streams[0]).toMatchObject({ tenantId: TENANT, contentType: 'Audit.Exchange', state: 'failing', invariant: { holds: true } });
    expect(body.streams[0]!.health?.hours.length).toBeGreaterThan(0);
  });

  it('verify reads NDJSON events without any settings: a complete run passes, a blob missing one event is short by 1 and exits 1', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ops-verify-'));
    const lines = (drop?: string) => {
      const out: string[] = [];
      for (const [contentId, n] of [['blob-one', 12], ['blob-two', 3]] as const) {
        const events = Array.from({ length: n }, (_, i) => ({ EnvelopeSchema: 'm365.audit.normalized', EventId: randomUUID(), OrganizationId: TENANT, SourceContentType: 'Audit.Exchange', SourceContentId: contentId, Seq: i }));
        const manifest = blobManifestEvent({ tenantId: TENANT, contentType: 'Audit.Exchange', contentId, records: n, events: n, digest: digestOf(events.map((e) => e.EventId)), now: Date.now() });
        out.push(...events.filter((e) => !(contentId === drop && e.Seq === 5)).map((e) => JSON.stringify(e)), JSON.stringify(manifest));
      }
      out.push(JSON.stringify({ EnvelopeSchema: 'm365.audit.normalized', EventId: randomUUID(), OrganizationId: TENANT, SourceContentType: 'Audit.Exchange', SourceContentId: 'in-flight' }));
      return `${out.join('\n')}\n`;
    };
    writeFileSync(join(dir, 'complete.ndjson'), lines());
    writeFileSync(join(dir, 'short.ndjson'), lines('blob-one'));
    const bare = { PATH: process.env.PATH };
    const complete = await opsWith(bare, 'verify', '--events', join(dir, 'complete.ndjson'));
    expect(complete.code, complete.stderr).toBe(0);
    expect(complete.stdout).toMatch(new RegExp(`^${TENANT} Audit\\.Exchange blob-one: complete \\(12 events, digest matches\\)$`, 'm'));
    expect(complete.stdout).toMatch(/in-flight: no manifest \(1 events\)/);
    expect(complete.stdout).toMatch(/: 3 blobs, 2 complete, 0 short, 1 without a manifest; 16 events, 2 manifests$/m);

    const short = await opsWith(bare, 'verify', '--events', join(dir, 'short.ndjson'), '--problems');
    expect(short.code).toBe(1);
    expect(short.stdout).toMatch(/blob-one: short by 1 \(11 of 12 events arrived\)/);
    expect(short.stdout).not.toMatch(/blob-two/);
    expect((await opsWith(bare, 'verify')).code).toBe(2);
    expect((await opsWith(bare, 'verify', '--events', join(dir, 'absent.ndjson'))).code).toBe(1);
  });
});
