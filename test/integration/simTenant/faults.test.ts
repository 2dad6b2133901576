import { afterEach, describe, expect, it } from 'vitest';
import type { ContentListing, SimTenant, SimTenantOptions } from '../../../tools/standins/simTenant/index.js';
import { CLIENT_ID, HOUR, OTHER_TENANT, SECRET, T0, TENANT, afError, feedClient, listAll, manualClock, startSim, tenantSpec, tokenFor, window } from './helpers.js';

const MINUTE = 60_000;
const Q = `contentType=Audit.Exchange&${window(T0 - 12 * HOUR, T0)}`;
const sims: SimTenant[] = [];
afterEach(async () => {
  await Promise.all(sims.splice(0).map((s) => s.close()));
});

async function setup(options: Partial<SimTenantOptions> = {}) {
  const clock = manualClock();
  const sim = await startSim({ now: clock.now, pageSize: 20, tenants: [tenantSpec(), tenantSpec({}, OTHER_TENANT)], ...options });
  sims.push(sim);
  const client = feedClient(sim, await tokenFor(sim));
  await client.start('Audit.Exchange');
  const [entry] = sim.blobs(TENANT, 'Audit.Exchange', T0 - 12 * HOUR, T0);
  return { sim, clock, client, entry: entry! };
}

describe('fault kinds', () => {
  it('status: 500 AF50000 once, then normal service; counted as rejected', async () => {
    const { sim, client } = await setup();
    sim.faults.inject({ op: 'content', fault: { kind: 'status', status: 500, code: 'AF50000' } });
    expect(await afError(await client.content(Q))).toEqual({ status: 500, code: 'AF50000', message: 'An internal error occurred. Retry the request.' });
    expect((await client.content(Q)).status).toBe(200);
    expect(sim.stats()).toMatchObject({ rejectedByFaults: 1, faultsApplied: { status: 1 } });
    expect(sim.stats().requests[TENANT]?.content).toEqual({ '200': 1, '500': 1 });
  });

  it('status: 503 and 408 without a code have an empty body; 429 AF429 carries the throttle message', async () => {
    const { sim, client, entry } = await setup();
    sim.faults.inject({ op: 'blob', fault: { kind: 'status', status: 503 } });
    sim.faults.inject({ op: 'blob', fault: { kind: 'status', status: 408 } });
    sim.faults.inject({ op: 'blob', fault: { kind: 'status', status: 429, code: 'AF429' } });
    const first = await client.fetchUrl(entry.contentUri);
    expect([first.status, await first.text()]).toEqual([503, '']);
    const second = await client.fetchUrl(entry.contentUri);
    expect([second.status, await second.text()]).toEqual([408, '']);
    const third = await afError(await client.fetchUrl(`${entry.contentUri}?PublisherIdentifier=${TENANT}`));
    expect(third).toEqual({ status: 429, code: 'AF429', message: `Too many requests. Method=GetBlob, PublisherId=${TENANT}` });
    expect(sim.stats().af429).toBe(1);
    expect((await client.fetchUrl(entry.contentUri)).status).toBe(200);
  });

  it('af429-403: the documented 403 form of AF429', async () => {
    const { sim, client, entry } = await setup();
    sim.faults.inject({ op: 'blob', fault: { kind: 'af429-403' } });
    expect(await afError(await client.fetchUrl(entry.contentUri))).toEqual({
      status: 403,
      code: 'AF429',
      message: 'Too many requests. Method=GetBlob, PublisherId=00000000-0000-0000-0000-000000000000',
    });
  });

  it('reset: a listing loses its connection without a response', async () => {
    const { sim, client } = await setup();
    sim.faults.inject({ op: 'content', fault: { kind: 'reset' } });
    await expect(client.content(Q)).rejects.toThrow();
    expect((await client.content(Q)).status).toBe(200);
    expect(sim.stats().requests[TENANT]?.content).toMatchObject({ reset: 1, '200': 1 });
  });

  it('reset: a blob is cut mid-body after the 200 and is not counted as served', async () => {
    const { sim, client } = await setup();
    const big = sim.addBlob(TENANT, 'Audit.Exchange', { contentCreated: T0 - HOUR, recordCount: 600 });
    sim.faults.inject({ op: 'blob', fault: { kind: 'reset' } });
    const res = await client.fetchUrl(big.contentUri);
    expect(res.status).toBe(200);
    await expect(res.text()).rejects.toThrow();
    expect(sim.stats().servedBlobIds).not.toContain(big.contentId);
    expect(sim.stats().requests[TENANT]?.blob).toMatchObject({ reset: 1 });
    expect(((await (await client.fetchUrl(big.contentUri)).json()) as unknown[]).length).toBe(600);
  });

  it('slow: the answer is delayed but correct', async () => {
    const { sim, client } = await setup();
    sim.faults.inject({ op: 'content', fault: { kind: 'slow', delayInMs: 200 } });
    const res = await client.content(Q);
    expect(res.status).toBe(200);
    expect(((await res.json()) as ContentListing[]).length).toBe(20);
    expect(sim.stats()).toMatchObject({ rejectedByFaults: 0, faultsApplied: { slow: 1 } });
  });

  it('malformed-json: a 200 whose listing or blob body does not parse', async () => {
    const { sim, client, entry } = await setup();
    sim.faults.inject({ op: 'content', fault: { kind: 'malformed-json' } });
    sim.faults.inject({ op: 'blob', fault: { kind: 'malformed-json' } });
    const listing = await client.content(Q);
    expect(listing.status).toBe(200);
    const listingText = await listing.text();
    expect(listingText.startsWith('[{"contentType":"Audit.Exchange"')).toBe(true);
    expect(() => JSON.parse(listingText)).toThrow(SyntaxError);
    const blob = await client.fetchUrl(entry.contentUri);
    expect(blob.status).toBe(200);
    const blobText = await blob.text();
    expect(blobText.startsWith('[{')).toBe(true);
    expect(() => JSON.parse(blobText)).toThrow(SyntaxError);
    expect(sim.stats().servedBlobIds).not.toContain(entry.contentId);
  });

  it('non-json-error: an HTML error page', async () => {
    const { sim, client } = await setup();
    sim.faults.inject({ op: 'content', fault: { kind: 'non-json-error', status: 502 } });
    const res = await client.content(Q);
    expect(res.status).toBe(502);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await res.text()).toMatch(/^<!DOCTYPE html>/);
  });

  it('wrong-host-uri: listing entries carry http://localhost/... contentUris, ids unchanged', async () => {
    const { sim, client } = await setup();
    sim.faults.inject({ fault: { kind: 'wrong-host-uri' } });
    const broken = (await (await client.content(Q)).json()) as ContentListing[];
    const normal = (await (await client.content(Q)).json()) as ContentListing[];
    expect(broken.map((e) => e.contentId)).toEqual(normal.map((e) => e.contentId));
    for (const e of broken) {
      expect(e.contentUri).toMatch(/^http:\/\/localhost\/[^/]+\/activity\/feed\/audit\//);
      expect(e.contentUri).not.toContain('/api/v1.0/');
      expect(e.contentUri.endsWith(e.contentId)).toBe(true);
    }
    expect(sim.stats().faultsApplied).toEqual({ 'wrong-host-uri': 1 });
  });

  it('foreign-next-page: the next page points at another host', async () => {
    const { sim, client } = await setup();
    sim.faults.inject({ op: 'content', fault: { kind: 'foreign-next-page' } });
    expect(new URL((await client.content(Q)).headers.get('NextPageUri')!).origin).toBe('https://evil.example');
    expect(new URL((await client.content(Q)).headers.get('NextPageUri')!).origin).toBe(sim.url);
  });

  it('stale-next-page: the first page is fine, following its NextPageUri gets AF20031, a retry works', async () => {
    const { sim, client } = await setup();
    sim.faults.inject({ op: 'content', fault: { kind: 'stale-next-page' } });
    const first = await client.content(Q);
    expect(first.status).toBe(200);
    const next = first.headers.get('NextPageUri')!;
    expect(await afError(await client.fetchUrl(next))).toMatchObject({ status: 400, code: 'AF20031' });
    expect((await client.fetchUrl(next)).status).toBe(200);
  });

  it('truncated-page: a short page whose NextPageUri continues without losing anything', async () => {
    const { sim, client } = await setup();
    sim.faults.inject({ op: 'content', times: 3, fault: { kind: 'truncated-page' } });
    const { entries, pageSizes } = await listAll(client, Q);
    expect(pageSizes.slice(0, 3)).toEqual([10, 10, 10]);
    expect(entries).toEqual(sim.blobs(TENANT, 'Audit.Exchange', T0 - 12 * HOUR, T0));
  });

  it('a fault on the token endpoint', async () => {
    const { sim } = await setup();
    sim.faults.inject({ op: 'token', fault: { kind: 'status', status: 503 } });
    const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: CLIENT_ID, client_secret: SECRET, scope: 'https://manage.office.com/.default' });
    const res = await fetch(`${sim.url}/${TENANT}/oauth2/v2.0/token`, { method: 'POST', body: form });
    expect(res.status).toBe(503);
    expect(await tokenFor(sim)).toMatch(/^ey/);
  });
});

describe('fault rules', () => {
  it('match by op and tenant, count down `times`, report pending(), and clear()', async () => {
    const { sim, client, entry } = await setup();
    sim.faults.inject({ op: 'blob', tenantId: OTHER_TENANT, fault: { kind: 'status', status: 500, code: 'AF50005' } });
    sim.faults.inject({ op: 'blob', tenantId: TENANT, times: 2, fault: { kind: 'status', status: 500, code: 'AF50005' } });
    expect((await client.content(Q)).status).toBe(200);
    expect((await client.fetchUrl(entry.contentUri)).status).toBe(500);
    expect(sim.faults.pending().map((r) => r.times)).toEqual([1, 1]);
    expect((await client.fetchUrl(entry.contentUri)).status).toBe(500);
    expect((await client.fetchUrl(entry.contentUri)).status).toBe(200);
    expect(sim.faults.pending()).toEqual([{ op: 'blob', tenantId: OTHER_TENANT, times: 1, fault: { kind: 'status', status: 500, code: 'AF50005' } }]);
    sim.faults.clear();
    expect(sim.faults.pending()).toEqual([]);
  });

  it('probability draws from the seeded RNG: some requests are hit, some are not, the same ones every run', async () => {
    const run = async () => {
      const { sim, client, entry } = await setup({ seed: 3 });
      sim.faults.inject({ op: 'blob', probability: 0.4, fault: { kind: 'status', status: 503 } });
      const statuses: number[] = [];
      for (let i = 0; i < 30; i++) statuses.push((await client.fetchUrl(entry.contentUri)).status);
      return statuses;
    };
    const a = await run();
    expect(a.filter((s) => s === 503).length).toBeGreaterThan(0);
    expect(a.filter((s) => s === 200).length).toBeGreaterThan(0);
    expect(await run()).toEqual(a);
  });

  it('a feed-clock window: no fault before activeFrom, every request inside it, dropped once activeUntil passed', async () => {
    const { sim, client, entry, clock } = await setup();
    sim.faults.inject({ op: 'blob', activeFrom: T0 + 10 * MINUTE, activeUntil: T0 + 40 * MINUTE, fault: { kind: 'status', status: 503 } });
    expect((await client.fetchUrl(entry.contentUri)).status).toBe(200);
    clock.value += 10 * MINUTE;
    for (let i = 0; i < 5; i++) {
      expect((await client.fetchUrl(entry.contentUri)).status).toBe(503);
      clock.value += 5 * MINUTE;
    }
    clock.value += 5 * MINUTE;
    expect((await client.fetchUrl(entry.contentUri)).status).toBe(200);
    expect(sim.faults.pending()).toEqual([]);
  });

  it('rejects an invalid rule', async () => {
    const { sim } = await setup();
    expect(() => sim.faults.inject({ fault: { kind: 'status', status: 404 as 500 } })).toThrow(/Invalid fault rule/);
    expect(() => sim.faults.inject({ times: 0, fault: { kind: 'reset' } })).toThrow(/times/);
    expect(() => sim.faults.inject({ fault: { kind: 'explode' } as never })).toThrow(/unknown fault kind/);
    expect(() => sim.faults.inject({ activeFrom: 10, activeUntil: 5, fault: { kind: 'reset' } })).toThrow(/activeUntil/);
  });
});

describe('throttling', () => {
  it('answers AF429 (429) once the per-minute bucket is empty, counting blob GETs too', async () => {
    const { sim, client, entry } = await setup({ requestsPerMinute: 4 });
    // /start in setup took one token from the tenant bucket (it sends PublisherIdentifier).
    const withPublisher = (path: string) => client.fetchUrl(`${path}${path.includes('?') ? '&' : '?'}PublisherIdentifier=${TENANT}`);
    expect((await withPublisher(`${client.root}/subscriptions/content?${Q}`)).status).toBe(200);
    expect((await withPublisher(entry.contentUri)).status).toBe(200);
    expect((await withPublisher(entry.contentUri)).status).toBe(200);
    const throttled = await afError(await withPublisher(entry.contentUri));
    expect(throttled).toEqual({ status: 429, code: 'AF429', message: `Too many requests. Method=GetBlob, PublisherId=${TENANT}` });
    // Requests without PublisherIdentifier draw from the shared bucket, which is still full.
    expect((await client.content(Q)).status).toBe(200);
    expect(sim.stats().af429).toBe(1);
  });

  it('throttleStatus 403 answers the documented 403 form', async () => {
    const { client } = await setup({ requestsPerMinute: 1, throttleStatus: 403 });
    expect((await client.content(Q)).status).toBe(200);
    expect(await afError(await client.content(Q))).toMatchObject({ status: 403, code: 'AF429', message: 'Too many requests. Method=GET, PublisherId=00000000-0000-0000-0000-000000000000' });
  });
});

describe('admin surface', () => {
  const admin = (sim: SimTenant, method: string, path: string, body?: unknown, key = sim.adminKey) =>
    fetch(`${sim.url}/_sim/${path}`, { method, headers: { 'x-sim-admin': key }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });

  it('refuses requests without the admin key', async () => {
    const { sim } = await setup();
    expect((await admin(sim, 'GET', 'stats', undefined, 'wrong')).status).toBe(403);
    expect((await fetch(`${sim.url}/_sim/stats`)).status).toBe(403);
  });

  it('POST/DELETE /_sim/faults arm and clear rules; GET /_sim/stats reports counts', async () => {
    const { sim, client } = await setup();
    expect((await admin(sim, 'POST', 'faults', { op: 'content', fault: { kind: 'status', status: 500, code: 'AF50000' } })).status).toBe(200);
    expect((await admin(sim, 'POST', 'faults', { fault: { kind: 'nope' } })).status).toBe(400);
    expect((await client.content(Q)).status).toBe(500);
    await admin(sim, 'POST', 'faults', { op: 'content', fault: { kind: 'status', status: 500 } });
    expect((await admin(sim, 'DELETE', 'faults')).status).toBe(200);
    expect((await client.content(Q)).status).toBe(200);
    const stats = (await (await admin(sim, 'GET', 'stats')).json()) as { totals: Record<string, number>; rejectedByFaults: number };
    expect(stats.totals).toMatchObject({ token: 1, start: 1, content: 2 });
    expect(stats.rejectedByFaults).toBe(1);
  });

  it('POST /_sim/now shifts the feed clock: a blob that becomes visible later is listed', async () => {
    const { sim, client } = await setup();
    const late = sim.addBlob(TENANT, 'Audit.Exchange', { contentCreated: T0 - 10 * MINUTE, visibleAt: T0 + 30 * MINUTE });
    const q = `contentType=Audit.Exchange&${window(T0 - 15 * MINUTE, T0 - 5 * MINUTE)}`;
    const ids = async () => ((await (await client.content(q)).json()) as ContentListing[]).map((e) => e.contentId);
    expect(await ids()).not.toContain(late.contentId);
    const res = await admin(sim, 'POST', 'now', { offsetInMs: HOUR });
    expect(await res.json()).toEqual({ now: T0 + HOUR, offsetInMs: HOUR });
    expect(await ids()).toContain(late.contentId);
    expect((await admin(sim, 'POST', 'now', { offsetInMs: 'soon' })).status).toBe(400);
  });
});
