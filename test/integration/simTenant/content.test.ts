import { afterEach, describe, expect, it } from 'vitest';
import type { ContentListing, SimTenant, SimTenantOptions, SimTenantSpec } from '../../../tools/standins/simTenant/index.js';
import { DAY, HOUR, T0, TENANT, afError, feedClient, iso, listAll, manualClock, startSim, tenantSpec, tokenFor, window } from './helpers.js';

const MINUTE = 60_000;
const sims: SimTenant[] = [];
afterEach(async () => {
  await Promise.all(sims.splice(0).map((s) => s.close()));
});

async function setup(options: Partial<SimTenantOptions> = {}, spec: Partial<SimTenantSpec> = {}) {
  const clock = manualClock();
  const sim = await startSim({ now: clock.now, tenants: [tenantSpec(spec)], ...options });
  sims.push(sim);
  const client = feedClient(sim, await tokenFor(sim));
  return { sim, clock, client };
}

const ids = (entries: ContentListing[]) => entries.map((e) => e.contentId);

describe('listing and paging', () => {
  it('follows NextPageUri over many pages and gets exactly the listable blobs, in listing order', async () => {
    const { sim, client } = await setup({ pageSize: 10 });
    await client.start('Audit.Exchange');
    const start = T0 - 20 * HOUR;
    const end = T0 - 2 * HOUR;
    const { entries, nextUris, pageSizes } = await listAll(client, `contentType=Audit.Exchange&${window(start, end)}`);

    const oracle = sim.blobs(TENANT, 'Audit.Exchange', start, end);
    expect(oracle.length).toBeGreaterThan(150);
    expect(entries).toEqual(oracle);
    expect(nextUris.length).toBe(Math.ceil(oracle.length / 10) - 1);
    expect(pageSizes.slice(0, -1).every((n) => n === 10)).toBe(true);
    // The next-page URI repeats the window verbatim on /api/v1/ and adds an opaque nextPage.
    const next = new URL(nextUris[0]!);
    expect(next.origin).toBe(sim.url);
    expect(next.pathname).toBe(`/api/v1/${TENANT}/activity/feed/subscriptions/content`);
    expect(next.searchParams.get('startTime')).toBe(iso(start));
    expect(next.searchParams.get('endTime')).toBe(iso(end));
    expect(next.searchParams.get('nextPage')).toBeTruthy();
  });

  it('listing entries have the documented shape and honour startTime <= contentCreated < endTime', async () => {
    const { client } = await setup();
    await client.start('Audit.SharePoint');
    const start = T0 - 6 * HOUR;
    const end = T0 - HOUR;
    const entries = (await (await client.content(`contentType=Audit.SharePoint&${window(start, end)}`)).json()) as ContentListing[];
    expect(entries.length).toBeGreaterThan(0);
    for (const e of entries) {
      expect(e.contentType).toBe('Audit.SharePoint');
      expect(e.contentId).toMatch(/^\d{21}\$\d{21}\$audit_sharepoint\$Audit_SharePoint\$[a-z]+\d{4}$/);
      expect(e.contentUri).toBe(`${client.root}/audit/${e.contentId}`);
      expect(e.contentCreated).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      const created = Date.parse(e.contentCreated);
      expect(created).toBeGreaterThanOrEqual(start);
      expect(created).toBeLessThan(end);
      expect(Date.parse(e.contentExpiration) - created).toBe(7 * DAY);
      // The id's second timestamp is contentCreated.
      expect(e.contentId.split('$')[1]!.slice(0, 17)).toBe(iso(created).replace(/[-T:.Z]/g, ''));
    }
  });

  it('omitted times list the last 24 hours and the next page carries that window explicitly', async () => {
    const { sim, client } = await setup({ pageSize: 50 });
    await client.start('Audit.AzureActiveDirectory');
    const res = await client.content('contentType=Audit.AzureActiveDirectory');
    const page = (await res.json()) as ContentListing[];
    expect(page).toEqual(sim.blobs(TENANT, 'Audit.AzureActiveDirectory', T0 - DAY, T0).slice(0, 50));
    const next = new URL(res.headers.get('NextPageUri')!);
    expect(next.searchParams.get('startTime')).toBe(iso(T0 - DAY));
    expect(next.searchParams.get('endTime')).toBe(iso(T0));
  });

  it("headerName 'NextPageUrl' and lower-case next-page parameters, as seen in the wild", async () => {
    const { sim, client } = await setup({ pageSize: 5, headerName: 'NextPageUrl', lowerCaseNextPageParams: true });
    await client.start('DLP.All');
    const start = T0 - 6 * HOUR;
    const end = T0 - 3 * HOUR;
    const first = await client.content(`contentType=DLP.All&${window(start, end)}`);
    expect(first.headers.get('NextPageUri')).toBeNull();
    const next = first.headers.get('NextPageUrl')!;
    expect(next).toContain('starttime=');
    expect(next).toContain('endtime=');
    const { entries } = await listAll(client, `contentType=DLP.All&${window(start, end)}`, 'NextPageUrl');
    expect(entries).toEqual(sim.blobs(TENANT, 'DLP.All', start, end));
  });

  it('answers AF20031 for a forged nextPage or one issued for another window', async () => {
    const { client } = await setup({ pageSize: 5 });
    await client.start('Audit.Exchange');
    const q = `contentType=Audit.Exchange&${window(T0 - 10 * HOUR, T0 - 2 * HOUR)}`;
    const token = new URL((await client.content(q)).headers.get('NextPageUri')!).searchParams.get('nextPage')!;
    expect(await afError(await client.content(`${q}&nextPage=2015101900R022885001761`))).toMatchObject({ status: 400, code: 'AF20031' });
    expect(await afError(await client.content(`contentType=Audit.Exchange&${window(T0 - 11 * HOUR, T0 - 2 * HOUR)}&nextPage=${token}`))).toMatchObject({ code: 'AF20031' });
    expect((await client.content(`${q}&nextPage=${token}`)).status).toBe(200);
  });

  it('never lists expired blobs', async () => {
    const { sim, client } = await setup({ expiryInMs: 3 * HOUR });
    await client.start('Audit.General');
    const entries = (await (await client.content(`contentType=Audit.General&${window(T0 - 10 * HOUR, T0)}`)).json()) as ContentListing[];
    expect(entries.length).toBeGreaterThan(0);
    expect(entries.every((e) => Date.parse(e.contentExpiration) > T0)).toBe(true);
    expect(entries.every((e) => Date.parse(e.contentCreated) > T0 - 3 * HOUR)).toBe(true);
    expect(sim.blobs(TENANT, 'Audit.General', T0 - 10 * HOUR, T0 - 4 * HOUR)).toEqual([]);
  });

  it('generates nothing before historyStart', async () => {
    const { sim } = await setup({}, { historyStart: T0 - 5 * HOUR });
    const all = sim.blobs(TENANT, 'Audit.Exchange', T0 - 7 * DAY, T0);
    expect(all.length).toBeGreaterThan(0);
    expect(Math.min(...all.map((e) => Date.parse(e.contentCreated)))).toBeGreaterThanOrEqual(T0 - 5 * HOUR);
  });

  it('produces content only for the configured content types', async () => {
    const { sim } = await setup({}, { contentTypes: ['Audit.Exchange'] });
    expect(sim.blobs(TENANT, 'Audit.Exchange', T0 - DAY, T0).length).toBeGreaterThan(0);
    expect(sim.blobs(TENANT, 'Audit.SharePoint', T0 - DAY, T0)).toEqual([]);
  });
});

describe('window rules', () => {
  it('both or neither, ordered, at most 24 h apart, starting at most 7 days back: otherwise AF20055', async () => {
    const { client } = await setup();
    await client.start('Audit.Exchange');
    const rejected = [
      `startTime=${iso(T0 - HOUR)}`,
      `endTime=${iso(T0)}`,
      window(T0 - 25 * HOUR, T0),
      window(T0, T0 - HOUR),
      window(T0, T0),
      window(T0 - 7 * DAY - HOUR, T0 - 7 * DAY + HOUR),
    ];
    for (const q of rejected) {
      const err = await afError(await client.content(`contentType=Audit.Exchange&${q}`));
      expect(err, q).toMatchObject({ status: 400, code: 'AF20055' });
      expect(err.message).toContain('no more than 7 days in the past');
    }
    expect((await client.content(`contentType=Audit.Exchange&${window(T0 - DAY, T0)}`)).status).toBe(200);
    expect((await client.content(`contentType=Audit.Exchange&${window(T0 - 7 * DAY + MINUTE, T0 - 6 * DAY)}`)).status).toBe(200);
    // Future windows are allowed (and empty).
    const future = await client.content(`contentType=Audit.Exchange&${window(T0 + HOUR, T0 + 2 * HOUR)}`);
    expect(await future.json()).toEqual([]);
  });

  it('allowExactly24h false rejects a window of exactly 24 h', async () => {
    const { client } = await setup({ allowExactly24h: false });
    await client.start('Audit.Exchange');
    expect(await afError(await client.content(`contentType=Audit.Exchange&${window(T0 - DAY, T0)}`))).toMatchObject({ code: 'AF20055' });
    expect((await client.content(`contentType=Audit.Exchange&${window(T0 - DAY + 1000, T0)}`)).status).toBe(200);
  });

  it('answers AF20002 for a time it cannot read', async () => {
    const { client } = await setup();
    await client.start('Audit.Exchange');
    expect(await afError(await client.content('contentType=Audit.Exchange&startTime=yesterday&endTime=2026-03-10'))).toMatchObject({ status: 400, code: 'AF20002' });
    expect(await afError(await client.content('contentType=Audit.Exchange&startTime=2026-02-30&endTime=2026-03-01'))).toMatchObject({ code: 'AF20002' });
  });

  it('reads every documented time form and RFC 3339 (zone-less = UTC)', async () => {
    const { sim, client } = await setup();
    await client.start('Audit.Exchange');
    const start = Date.UTC(2026, 2, 9, 13);
    const midnight = Date.UTC(2026, 2, 10);
    const forms: [string, number][] = [
      ['startTime=2026-03-09T13:00&endTime=2026-03-10', midnight],
      ['startTime=2026-03-09T13:00:00&endTime=2026-03-10T00:00:00', midnight],
      ['startTime=2026-03-09T13:00:00Z&endTime=2026-03-10T00:00:00.000Z', midnight],
      ['startTime=2026-03-09T13:00:00.0000000Z&endTime=2026-03-09T23:59:59.9999999Z', midnight - 1],
      [`startTime=${encodeURIComponent('2026-03-09T15:00:00+02:00')}&endTime=${encodeURIComponent('2026-03-09T19:00:00-05:00')}`, midnight],
    ];
    for (const [q, end] of forms) {
      const expected = ids(sim.blobs(TENANT, 'Audit.Exchange', start, end));
      expect(expected.length).toBeGreaterThan(0);
      expect(ids((await listAll(client, `contentType=Audit.Exchange&${q}`)).entries), q).toEqual(expected);
    }
  });
});

describe('visibility and late blobs', () => {
  it('a blob appears in its window only once its visibleAt has passed', async () => {
    const { clock, sim, client } = await setup({}, { blobsPerHour: 0 });
    await client.start('Audit.Exchange');
    const late = sim.addBlob(TENANT, 'Audit.Exchange', { contentCreated: T0 - 30 * MINUTE, visibleAt: T0 + 90 * MINUTE });
    const q = `contentType=Audit.Exchange&${window(T0 - HOUR, T0)}`;
    expect(await (await client.content(q)).json()).toEqual([]);
    expect(await afError(await client.fetchUrl(late.contentUri))).toMatchObject({ status: 404, code: 'AF20050' });
    clock.value = T0 + 90 * MINUTE;
    expect(await (await client.content(q)).json()).toEqual([late]);
  });

  it('generated windows keep growing after the fact: late blobs join a window already listed, none leave', async () => {
    const { clock, client } = await setup({}, { blobsPerHour: 60 });
    await client.start('Audit.SharePoint');
    const q = `contentType=Audit.SharePoint&${window(T0 - 40 * MINUTE, T0)}`;
    const early = ids(((await (await client.content(q)).json()) as ContentListing[]));
    clock.value = T0 + 3 * HOUR;
    const later = ids(((await (await client.content(q)).json()) as ContentListing[]));
    expect(later.length).toBeGreaterThan(early.length);
    expect(later).toEqual(expect.arrayContaining(early));
  });

  it('some generated blobs are late by more than 25 minutes (the ~2% long-delay tail)', async () => {
    const { sim, clock } = await setup({}, { blobsPerHour: 60 });
    // A blob created at c is listed at c + 25 min only if its delay is at most 25 min.
    const windowEnd = T0 - 3 * HOUR;
    const created = sim.blobs(TENANT, 'Audit.General', T0 - 2 * DAY, windowEnd);
    let late = 0;
    for (const e of created) {
      clock.value = Date.parse(e.contentCreated) + 25 * MINUTE;
      const listedThen = sim.blobs(TENANT, 'Audit.General', Date.parse(e.contentCreated), Date.parse(e.contentCreated) + 1);
      if (listedThen.length === 0) late++;
    }
    expect(late).toBeGreaterThan(0);
    expect(late / created.length).toBeLessThan(0.06);
  });
});

describe('determinism', () => {
  it('two servers with the same seed and options serve identical listings and records; another seed differs', async () => {
    const a = await setup({ seed: 7 });
    const b = await setup({ seed: 7 });
    const c = await setup({ seed: 8 });
    for (const s of [a, b, c]) await s.client.start('Audit.Exchange');
    const q = `contentType=Audit.Exchange&${window(T0 - 12 * HOUR, T0)}`;
    const [la, lb, lc] = await Promise.all([a, b, c].map(async (s) => ids((await listAll(s.client, q)).entries)));
    expect(la!.length).toBeGreaterThan(50);
    expect(lb).toEqual(la);
    expect(lc).not.toEqual(la);
    for (const id of la!.slice(0, 5)) {
      const [ra, rb] = await Promise.all([a, b].map(async (s) => (await s.client.fetchUrl(`${s.client.root}/audit/${id}`)).json()));
      expect(rb).toEqual(ra);
      expect(ra).toEqual(a.sim.recordsOf(TENANT, id));
    }
  });
});

describe('duplicates', () => {
  it('some blobs repeat a record (same Id, same content) of an earlier blob', async () => {
    const { sim } = await setup({}, { blobsPerHour: 12 });
    const byId = new Map<string, { contentId: string; record: unknown }>();
    const repeats: { first: unknown; again: unknown; blobs: [string, string] }[] = [];
    for (const e of sim.blobs(TENANT, 'Audit.AzureActiveDirectory', T0 - 3 * DAY, T0)) {
      for (const record of sim.recordsOf(TENANT, e.contentId) as { Id: string }[]) {
        const seen = byId.get(record.Id);
        if (seen && seen.contentId !== e.contentId) repeats.push({ first: seen.record, again: record, blobs: [seen.contentId, e.contentId] });
        else byId.set(record.Id, { contentId: e.contentId, record });
      }
    }
    expect(repeats.length).toBeGreaterThan(0);
    for (const r of repeats) expect(r.again).toEqual(r.first);
  });

  it('duplicateRate 0 produces no repeated Ids', async () => {
    const { sim } = await setup({ duplicateRate: 0 }, { blobsPerHour: 12 });
    const seen = new Set<string>();
    let total = 0;
    for (const e of sim.blobs(TENANT, 'Audit.AzureActiveDirectory', T0 - 3 * DAY, T0)) {
      for (const record of sim.recordsOf(TENANT, e.contentId) as { Id: string }[]) {
        seen.add(record.Id);
        total++;
      }
    }
    expect(seen.size).toBe(total);
  });
});
