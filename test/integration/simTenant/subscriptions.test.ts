import { afterEach, describe, expect, it } from 'vitest';
import type { SimTenant, SimTenantOptions } from '../../../tools/standins/simTenant/index.js';
import { HOUR, T0, TENANT, afError, feedClient, manualClock, startSim, tenantSpec, tokenFor, window } from './helpers.js';

const MINUTE = 60_000;
let sim: SimTenant | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

async function setup(options: Partial<SimTenantOptions> = {}) {
  const clock = manualClock();
  sim = await startSim({ now: clock.now, ...options });
  return { sim, clock, client: feedClient(sim, await tokenFor(sim)) };
}

describe('subscriptions', () => {
  it('AF20022 before /start; /start → 200 enabled; again → 400 AF20024; /list shows it', async () => {
    const { sim, client } = await setup();
    expect(await afError(await client.content('contentType=Audit.Exchange'))).toMatchObject({ status: 400, code: 'AF20022' });
    const listBefore = await client.get('subscriptions/list');
    expect(await listBefore.json()).toEqual([]);

    const started = await client.start('Audit.Exchange');
    expect(started.status).toBe(200);
    expect(await started.json()).toEqual({ contentType: 'Audit.Exchange', status: 'enabled', webhook: null });
    expect(await afError(await client.start('Audit.Exchange'))).toEqual({
      status: 400,
      code: 'AF20024',
      message: 'The subscription is already enabled. No property change.',
    });
    expect(sim.subscription(TENANT, 'Audit.Exchange')).toEqual({ status: 'enabled', startCalls: 2, lastStartAt: T0 });

    await client.start('DLP.All');
    expect(await (await client.get('subscriptions/list')).json()).toEqual([
      { contentType: 'Audit.Exchange', status: 'enabled', webhook: null },
      { contentType: 'DLP.All', status: 'enabled', webhook: null },
    ]);
  });

  it('/stop disables (AF20023) and a restart never exposes content created while stopped', async () => {
    const { sim, clock, client } = await setup({ tenants: [tenantSpec({ blobsPerHour: 30 })] });
    await client.start('Audit.General');
    clock.value += HOUR;
    const stopped = await client.post('subscriptions/stop?contentType=Audit.General');
    expect(stopped.status).toBe(200);
    expect(await stopped.text()).toBe('');
    const stopAt = clock.value;
    expect(await afError(await client.content('contentType=Audit.General'))).toMatchObject({ status: 400, code: 'AF20023' });

    clock.value += 2 * HOUR;
    const restartAt = clock.value;
    expect((await client.start('Audit.General')).status).toBe(200);
    clock.value += HOUR;
    const res = await client.content(`contentType=Audit.General&${window(stopAt - 3 * HOUR, clock.value)}`);
    const created = ((await res.json()) as { contentCreated: string }[]).map((e) => Date.parse(e.contentCreated));
    expect(created.some((t) => t < stopAt)).toBe(true);
    expect(created.some((t) => t >= restartAt)).toBe(true);
    expect(created.filter((t) => t >= stopAt && t < restartAt)).toEqual([]);
    expect(sim.blobs(TENANT, 'Audit.General', stopAt, restartAt)).toEqual([]);
  });

  it('/stop of a content type never started is AF20022', async () => {
    const { client } = await setup();
    expect(await afError(await client.post('subscriptions/stop?contentType=Audit.SharePoint'))).toMatchObject({ status: 400, code: 'AF20022' });
  });

  it('a subscription disabled by an admin answers AF20023 until started again', async () => {
    const { sim, client } = await setup();
    await client.start('Audit.SharePoint');
    sim.setSubscription(TENANT, 'Audit.SharePoint', 'disabled');
    expect(await afError(await client.content('contentType=Audit.SharePoint'))).toEqual({
      status: 400,
      code: 'AF20023',
      message: 'The subscription was disabled by a tenant admin.',
    });
    expect((await client.start('Audit.SharePoint')).status).toBe(200);
    expect((await client.content('contentType=Audit.SharePoint')).status).toBe(200);
  });

  it('an admin-locked subscription: /start answers 200 but it stays disabled', async () => {
    const { sim, client } = await setup();
    await client.start('Audit.Exchange');
    sim.setSubscription(TENANT, 'Audit.Exchange', 'disabled', { adminLocked: true });
    const restart = await client.start('Audit.Exchange');
    expect(restart.status).toBe(200);
    expect(await restart.json()).toMatchObject({ status: 'disabled' });
    expect(await afError(await client.content('contentType=Audit.Exchange'))).toMatchObject({ status: 400, code: 'AF20023' });
    expect(sim.subscription(TENANT, 'Audit.Exchange').status).toBe('disabled');
  });

  it("startCooldown 'reject': a second /start within 15 min is 403 AF429; after 15 min it is accepted", async () => {
    const { sim, clock, client } = await setup({ startCooldown: 'reject' });
    expect((await client.start('Audit.Exchange')).status).toBe(200);
    clock.value += 14 * MINUTE;
    const rejected = await afError(await client.start('Audit.Exchange'));
    expect(rejected).toMatchObject({ status: 403, code: 'AF429' });
    expect(rejected.message).toBe(`Too many requests. Method=POST, PublisherId=${TENANT}`);
    clock.value += MINUTE;
    expect(await afError(await client.start('Audit.Exchange'))).toMatchObject({ code: 'AF20024' });
    expect(sim.stats()).toMatchObject({ startsWithinCooldown: 1, af429: 1 });
    expect(sim.subscription(TENANT, 'Audit.Exchange').lastStartAt).toBe(clock.value);
  });

  it("startCooldown 'accept' (default) counts early starts but serves them", async () => {
    const { sim, clock, client } = await setup();
    await client.start('Audit.Exchange');
    clock.value += MINUTE;
    sim.setSubscription(TENANT, 'Audit.Exchange', 'disabled');
    expect((await client.start('Audit.Exchange')).status).toBe(200);
    expect(sim.stats().startsWithinCooldown).toBe(1);
  });
});

describe('request validation', () => {
  it('contentType: AF20001 when missing, AF20020 when not one of the five exact names', async () => {
    const { client } = await setup();
    expect(await afError(await client.post('subscriptions/start'))).toEqual({ status: 400, code: 'AF20001', message: 'Missing parameter: contentType.' });
    expect(await afError(await client.post('subscriptions/start?contentType=audit.exchange'))).toMatchObject({ status: 400, code: 'AF20020' });
    expect(await afError(await client.content('contentType=Audit.Teams'))).toMatchObject({ status: 400, code: 'AF20020' });
  });

  it('matches parameter names case-insensitively', async () => {
    const { client } = await setup();
    expect((await client.post('subscriptions/start?CONTENTTYPE=Audit.General&publisheridentifier=' + TENANT)).status).toBe(200);
    expect((await client.content(`contenttype=Audit.General&STARTTIME=2026-03-10T00:00&endtime=2026-03-10T06:00`)).status).toBe(200);
  });

  it('accepts /api/v1/ as well as /api/v1.0/', async () => {
    const { sim } = await setup();
    const res = await fetch(`${sim.url}/api/v1/${TENANT}/activity/feed/subscriptions/list`, { headers: { authorization: `Bearer ${await tokenFor(sim)}` } });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual([]);
  });

  it('with auditing off every feed call fails with the DataServiceException text, until it is turned on', async () => {
    const { sim, client } = await setup();
    sim.setAuditing(TENANT, false);
    for (const res of [await client.get('subscriptions/list'), await client.start('Audit.Exchange'), await client.content('contentType=Audit.Exchange')]) {
      expect(await afError(res)).toEqual({
        status: 400,
        code: 'AF20011',
        message: `Microsoft.Office.Compliance.Audit.DataServiceException: Tenant ${TENANT} does not exist.`,
      });
    }
    sim.setAuditing(TENANT, true);
    expect((await client.start('Audit.Exchange')).status).toBe(200);
  });

  it('a tenant spec with auditingEnabled false starts with auditing off', async () => {
    const { client } = await setup({ tenants: [tenantSpec({ auditingEnabled: false })] });
    expect(await afError(await client.get('subscriptions/list'))).toMatchObject({ code: 'AF20011' });
  });

  it('answers the documented headers, and [] with Content-Length 2 for an empty listing', async () => {
    const { client } = await setup({ tenants: [tenantSpec({ blobsPerHour: 0 })] });
    await client.start('Audit.Exchange');
    const res = await client.content('contentType=Audit.Exchange');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(res.headers.get('content-length')).toBe('2');
    expect(res.headers.get('cache-control')).toBe('no-cache');
    expect(res.headers.get('retry-after')).toBeNull();
    expect(await res.text()).toBe('[]');
  });
});

describe('/resources/dlpSensitiveTypes', () => {
  it('lists friendly names and validates Accept-Language (AF20053, AF20054)', async () => {
    const { client } = await setup();
    const res = await client.get('resources/dlpSensitiveTypes', { 'accept-language': 'en-US' });
    expect(res.status).toBe(200);
    expect(await res.json()).toContainEqual({ id: '50842eb7-edc8-4019-85dd-5a5c1f2bb085', name: 'CreditCardNumber' });
    expect(await afError(await client.get('resources/dlpSensitiveTypes', { 'accept-language': 'en-US, fr' }))).toMatchObject({ status: 400, code: 'AF20053' });
    expect(await afError(await client.get('resources/dlpSensitiveTypes', { 'accept-language': 'en_US!' }))).toMatchObject({ status: 400, code: 'AF20054' });
  });
});
