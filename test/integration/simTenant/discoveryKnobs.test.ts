import { afterEach, describe, expect, it } from 'vitest';
import type { ContentListing, SimTenant, SimTenantOptions, SimTenantSpec, UnusableEntryKind } from '../../../tools/standins/simTenant/index.js';
import { CLIENT_ID, HOUR, SECRET, T0, TENANT, afError, feedClient, manualClock, startSim, tenantSpec, tokenFor, window } from './helpers.js';

const MINUTE = 60_000;
let sim: SimTenant | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

async function setup(options: Partial<SimTenantOptions> = {}, spec: Partial<SimTenantSpec> = {}) {
  const clock = manualClock();
  sim = await startSim({ now: clock.now, tenants: [tenantSpec({ blobsPerHour: 30, ...spec })], ...options });
  return { sim, clock, client: feedClient(sim, await tokenFor(sim)) };
}

const ids = (entries: ContentListing[]) => entries.map((e) => e.contentId).sort();

describe('simulated tenant: onboarding (first content delay and backfill)', () => {
  it('lists nothing until S + delay, then a backlog reaching back to S − backfill and no further', async () => {
    const { sim, clock, client } = await setup({ pageSize: 1000 }, { firstContent: { delayInMs: 3 * HOUR, backfillInMs: 22 * HOUR } });
    expect((await client.start('Audit.Exchange')).status).toBe(200);
    const q = `contentType=Audit.Exchange&${window(T0 - 24 * HOUR, T0)}`;
    const q2 = `contentType=Audit.Exchange&${window(T0 - 48 * HOUR, T0 - 24 * HOUR)}`;
    expect(await (await client.content(q)).json()).toEqual([]);
    clock.value = T0 + 3 * HOUR - 1;
    expect(await (await client.content(q)).json()).toEqual([]);
    const early = sim.blobs(TENANT, 'Audit.Exchange', T0 - 22 * HOUR, T0);
    expect(early).toEqual([]);

    clock.value = T0 + 3 * HOUR;
    const listed = (await (await client.content(q)).json()) as ContentListing[];
    const created = listed.map((e) => Date.parse(e.contentCreated));
    expect(listed.length).toBeGreaterThan(500);
    expect(Math.min(...created)).toBeGreaterThanOrEqual(T0 - 22 * HOUR);
    expect(Math.min(...created)).toBeLessThan(T0 - 21 * HOUR);
    expect(await (await client.content(q2)).json()).toEqual([]);
    // The blobs themselves follow the same rule.
    expect((await client.fetchUrl(listed[0]!.contentUri)).status).toBe(200);
  });

  it('a blob of the backlog is AF20050 before the first content appears', async () => {
    const { sim, client } = await setup({}, { blobsPerHour: 0, firstContent: { delayInMs: HOUR, backfillInMs: 22 * HOUR } });
    await client.start('Audit.General');
    const blob = sim.addBlob(TENANT, 'Audit.General', { contentCreated: T0 - 5 * HOUR });
    expect(await afError(await client.fetchUrl(blob.contentUri))).toMatchObject({ status: 404, code: 'AF20050' });
  });

  it('without the knob the whole history is listable at once (unchanged behaviour)', async () => {
    const { client } = await setup({ pageSize: 1000 });
    await client.start('Audit.Exchange');
    const listed = (await (await client.content(`contentType=Audit.Exchange&${window(T0 - 24 * HOUR, T0)}`)).json()) as ContentListing[];
    expect(listed.length).toBeGreaterThan(600);
  });

  it('rejects a negative delay', async () => {
    await expect(startSim({ tenants: [tenantSpec({ firstContent: { delayInMs: -1, backfillInMs: 0 } })] })).rejects.toThrow(/firstContent/);
  });
});

describe('simulated tenant: blobs listed hours late (lateBlobs)', () => {
  it('a fraction of blobs becomes listable only hours after contentCreated; the other blobs keep their ids', async () => {
    const plain = await setup();
    const before = ids(plain.sim.blobs(TENANT, 'Audit.SharePoint', T0 - 4 * DAY_MS, T0 - 3 * DAY_MS));
    await plain.sim.close();

    const { sim, clock } = await setup({ lateBlobs: { fraction: 0.1, delayInMs: { min: 5 * HOUR, max: 7 * HOUR } } });
    const from = T0 - 3 * HOUR;
    const to = T0 - 2 * HOUR;
    const now = ids(sim.blobs(TENANT, 'Audit.SharePoint', from, to));
    clock.value = T0 + 8 * HOUR;
    const later = ids(sim.blobs(TENANT, 'Audit.SharePoint', from, to));
    const late = later.filter((id) => !now.includes(id));
    expect(late.length).toBeGreaterThan(0);
    expect(late.length / later.length).toBeLessThan(0.3);
    // Old blobs, all long visible: the same set with or without the knob.
    expect(ids(sim.blobs(TENANT, 'Audit.SharePoint', T0 - 4 * DAY_MS, T0 - 3 * DAY_MS))).toEqual(before);
  });

  it('rejects a fraction outside [0, 1]', async () => {
    await expect(startSim({ lateBlobs: { fraction: 2, delayInMs: { min: 0, max: 1 } } })).rejects.toThrow(/lateBlobs/);
  });
});

describe('simulated tenant: unusable listing entries (fault)', () => {
  const q = `contentType=Audit.Exchange&${window(T0 - 2 * HOUR, T0 - HOUR)}`;

  it.each<[UnusableEntryKind, (entry: unknown) => void]>([
    ['space-in-id', (e) => expect((e as ContentListing).contentId).toMatch(/ /)],
    ['slash-in-id', (e) => expect((e as ContentListing).contentId).toMatch(/\//)],
    ['foreign-type', (e) => expect((e as ContentListing).contentType).not.toBe('Audit.Exchange')],
    ['bad-created', (e) => expect(Number.isNaN(Date.parse((e as ContentListing).contentCreated))).toBe(true)],
    ['not-object', (e) => expect(e).toBe(42)],
  ])('%s: one extra entry beside the real ones, the same on a re-list', async (entry, check) => {
    const { sim, client } = await setup();
    await client.start('Audit.Exchange');
    const real = ids(sim.blobs(TENANT, 'Audit.Exchange', T0 - 2 * HOUR, T0 - HOUR));
    sim.faults.inject({ op: 'content', times: 2, fault: { kind: 'unusable-entry', entry } });
    const first = (await (await client.content(q)).json()) as unknown[];
    const second = (await (await client.content(q)).json()) as unknown[];
    expect(first).toHaveLength(real.length + 1);
    check(first.at(-1));
    expect(second.at(-1)).toEqual(first.at(-1));
    expect(ids(first.slice(0, -1) as ContentListing[])).toEqual(real);
    expect(sim.stats().faultsApplied['unusable-entry']).toBe(2);
  });

  it.each([
    ['no-uri', 'contentUri'],
    ['no-expiration', 'contentExpiration'],
  ] as const)('%s: the first real entry lacks %s', async (entry, field) => {
    const { client } = await setup();
    await client.start('Audit.Exchange');
    sim!.faults.inject({ op: 'content', fault: { kind: 'unusable-entry', entry } });
    const page = (await (await client.content(q)).json()) as Record<string, unknown>[];
    expect(page[0]).not.toHaveProperty(field);
    expect(page[1]).toHaveProperty(field);
  });

  it('rejects an unknown entry kind', async () => {
    const { sim } = await setup();
    expect(() => sim.faults.inject({ fault: { kind: 'unusable-entry', entry: 'nope' as UnusableEntryKind } })).toThrow(/entry must be one of/);
  });
});

describe('simulated tenant: a Graph revision stamped in the future', () => {
  it('is visible now when the change says so', async () => {
    const { sim } = await setup({}, { incidentsPerHour: 0 });
    const incident = sim.addIncident(TENANT, { createdAt: T0 - HOUR, alerts: 1 });
    const alertId = sim.alerts(TENANT).find((a) => a.incidentId === incident.id)!.id;
    const future = sim.updateAlert(TENANT, alertId, { status: 'inProgress', at: T0 + 400 * 24 * HOUR, visibleAt: T0 });
    expect(Date.parse(future.lastUpdateDateTime)).toBeGreaterThan(T0 + 300 * 24 * HOUR);
    expect(sim.alerts(TENANT).find((a) => a.id === alertId)?.lastUpdateDateTime).toBe(future.lastUpdateDateTime);
  });
});

describe('simulated tenant: many tenants', () => {
  it('serves 200 tenants on one origin, each with its own token, subscription and listing', async () => {
    const tenantIds = Array.from({ length: 200 }, (_, i) => `${String(i).padStart(8, '0')}-0000-4000-8000-000000000000`);
    const clock = manualClock();
    sim = await startSim({ now: clock.now, tenants: tenantIds.map((tenantId) => ({ tenantId, apps: [{ clientId: CLIENT_ID, secret: SECRET }], blobsPerHour: 2 })) });
    const counts = await Promise.all(
      tenantIds.map(async (tenantId) => {
        const client = feedClient(sim!, await tokenFor(sim!, tenantId), tenantId);
        expect((await client.start('Audit.General')).status).toBe(200);
        const listed = (await (await client.content(`contentType=Audit.General&${window(T0 - 12 * HOUR, T0 - 10 * MINUTE)}`)).json()) as ContentListing[];
        return listed.length;
      }),
    );
    expect(counts.every((n) => n > 10)).toBe(true);
    expect(Object.keys(sim.stats().requests)).toHaveLength(200);
  });
});

const DAY_MS = 24 * HOUR;
