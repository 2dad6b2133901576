import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../shared/config.js';
import { silentLogger } from '../../../shared/ports.js';
import { createWiring } from '../../../shared/wiring.js';
import { startEventHubBroker, type EventHubBroker } from '../../../tools/standins/eventHubBroker/index.js';
import { startSimTenant, type SimTenant } from '../../../tools/standins/simTenant/index.js';
import { opsEnv, runTsx } from '../setup.js';

const TENANT = randomUUID();
const APP = randomUUID();
const SECRET = 'ops-heal-secret';
const HOUR = 3_600_000;
const HUB = 'm365-audit';
let sim: SimTenant;
let broker: EventHubBroker;
let env: Record<string, string>;

beforeAll(async () => {
  // The CLI runs on the real clock; the simulated queries finish within a second of it.
  sim = await startSimTenant({
    tenants: [{ tenantId: TENANT, apps: [{ clientId: APP, secret: SECRET }], blobsPerHour: 2, recordsPerBlob: 4, contentTypes: ['Audit.Exchange'], historyStart: Date.now() - 40 * 24 * HOUR }],
    auditSearch: { startDelayInMs: 0, runDurationInMs: 500 },
  });
  broker = await startEventHubBroker({ hubs: [{ name: HUB, partitionCount: 2 }] });
  env = {
    ...opsEnv(sim, TENANT, APP, SECRET),
    GRAPH_ENDPOINT: sim.url,
    EVENTHUB_CONNECTION: broker.connectionString(),
    EVENTHUB_NAME: HUB,
    CONTENT_QUEUE_NAME: `heal-${randomUUID().slice(0, 8)}`,
    HEAL_LOOKBEHIND_HOURS: '0',
  };
  // Bicep creates the tables in Azure; Azurite starts empty.
  const wiring = createWiring(loadConfig(env), { logger: silentLogger });
  await wiring.ensureResources();
  await wiring.close();
});
afterAll(async () => {
  await sim.close();
  await broker.close();
});

function ops(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return runTsx(['tools/cli/ops.ts', ...args], { PATH: process.env.PATH, NODE_EXTRA_CA_CERTS: process.env.NODE_EXTRA_CA_CERTS, ...env });
}

describe('npm run ops -- heal', () => {
  it('heals a range of record time from audit search, then finds it healed and delivers nothing new', async () => {
    const to = Math.floor(Date.now() / HOUR) * HOUR - 30 * 24 * HOUR;
    const from = to - 4 * HOUR;
    const args = ['heal', '--tenant', TENANT, '--content-type', 'Audit.Exchange', '--from', new Date(from).toISOString(), '--to', new Date(to).toISOString(), '--wait', '2'];
    const first = await ops(...args);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/: healed · 1 queries, 0 splits · (\d+) records found, \1 delivered/);
    const expected = sim.auditRecords(TENANT, from, to).filter((r) => [1, 2, 3, 19, 50].includes(Number(r.RecordType)));
    const healed = broker.events(HUB).map((e) => JSON.parse(e.body.toString('utf8')) as { Source: string; EventOriginalUid?: string }).filter((e) => e.Source === 'PurviewAuditSearch');
    expect(healed.map((e) => e.EventOriginalUid).sort()).toEqual(expected.map((r) => String(r.Id)).sort());

    const before = broker.events(HUB).length;
    const again = await ops(...args);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/healed · 1 queries/);
    expect(again.stdout).toMatch(/nothing missing .*healed before/);
    expect(sim.auditQueries(TENANT)).toHaveLength(1);
    // Only the heal event of the second run: no record again.
    expect(broker.events(HUB).slice(before).map((e) => (JSON.parse(e.body.toString('utf8')) as { EventSchema: string }).EventSchema)).toEqual(['PipelineHeal']);

    const status = await ops('status');
    expect(status.stdout).toMatch(/gaps: 1 healed \(\d+ records from audit search\), 0 not healed/);
  }, 120_000);

  it('explains its usage', async () => {
    const bad = await ops('heal', '--tenant', TENANT, '--content-type', 'Audit.Exchange', '--from', '2026-01-02T00:00:00Z', '--to', '2026-01-01T00:00:00Z');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--to must be after --from/);
  });
});
