import { afterEach, describe, expect, it } from 'vitest';
import type { SimTenant } from '../../../tools/standins/simTenant/index.js';
import { CLIENT_ID, DAY, HOUR, OTHER_TENANT, SECRET, T0, TENANT, claimsOf, iso, manualClock, startSim, tenantSpec, tokenFor } from './helpers.js';

const GRAPH_SCOPE = 'https://graph.microsoft.com/.default';
const MINUTE = 60_000;

let sim: SimTenant | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

/** Plain-fetch Graph client for one token. */
function graph(s: SimTenant, token: string) {
  const get = (pathAndQuery: string, headers: Record<string, string> = {}) =>
    fetch(pathAndQuery.startsWith('https://') ? pathAndQuery : `${s.url}/v1.0/security/${pathAndQuery}`, { headers: { authorization: `Bearer ${token}`, ...headers } });
  /** Follows @odata.nextLink to the end; every page must be 200. */
  const all = async (pathAndQuery: string, headers: Record<string, string> = {}) => {
    const items: Record<string, unknown>[] = [];
    const links: string[] = [];
    let res = await get(pathAndQuery, headers);
    for (;;) {
      const body = (await res.json()) as { value: Record<string, unknown>[]; '@odata.nextLink'?: string };
      if (res.status !== 200) throw new Error(`page failed with ${res.status}: ${JSON.stringify(body)}`);
      items.push(...body.value);
      const next = body['@odata.nextLink'];
      if (!next) return { items, links };
      if (links.length > 500) throw new Error('too many pages');
      links.push(next);
      res = await get(next, headers);
    }
  };
  return { get, all };
}

const since = (ms: number) => `$filter=${encodeURIComponent(`lastUpdateDateTime ge ${iso(ms)}`)}`;
const ascending = `$orderby=${encodeURIComponent('lastUpdateDateTime asc')}`;

async function graphError(res: Response): Promise<{ status: number; code?: string; message?: string; requestId?: string }> {
  const body = (await res.json()) as { error?: { code?: string; message?: string; innerError?: { 'request-id'?: string } } };
  return { status: res.status, code: body.error?.code, message: body.error?.message, requestId: body.error?.innerError?.['request-id'] };
}

describe('simulated Graph security: tokens and permissions', () => {
  it('issues Graph tokens with the security read roles, and each API refuses the other audience', async () => {
    sim = await startSim({ tenants: [tenantSpec({ incidentsPerHour: 1 })] });
    const graphToken = await tokenFor(sim, TENANT, GRAPH_SCOPE);
    expect(claimsOf(graphToken)).toMatchObject({ aud: 'https://graph.microsoft.com', tid: TENANT, roles: ['SecurityIncident.Read.All', 'SecurityAlert.Read.All', 'AuditLogsQuery.Read.All'] });
    const managementToken = await tokenFor(sim, TENANT);
    expect(claimsOf(managementToken).roles).toEqual(['ActivityFeed.Read']);

    const refused = await graph(sim, managementToken).get('incidents');
    expect(await graphError(refused)).toMatchObject({ status: 401, code: 'InvalidAuthenticationToken' });
    expect(refused.headers.get('www-authenticate')).toBe('Bearer');
    expect((await fetch(`${sim.url}/v1.0/security/alerts_v2`)).status).toBe(401);
    const feed = await fetch(`${sim.url}/api/v1.0/${TENANT}/activity/feed/subscriptions/list`, { headers: { authorization: `Bearer ${graphToken}` } });
    expect(feed.status).toBe(401);
  });

  it('answers 403 Forbidden naming the role when the app lacks it', async () => {
    sim = await startSim({ tenants: [{ tenantId: TENANT, apps: [{ clientId: CLIENT_ID, secret: SECRET, graphRoles: ['SecurityAlert.Read.All'] }], incidentsPerHour: 1 }] });
    const client = graph(sim, await tokenFor(sim, TENANT, GRAPH_SCOPE));
    const forbidden = await graphError(await client.get('incidents'));
    expect(forbidden).toMatchObject({ status: 403, code: 'Forbidden' });
    expect(forbidden.message).toContain('SecurityIncident.Read.All');
    expect(forbidden.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect((await client.get('alerts_v2')).status).toBe(200);
  });
});

describe('simulated Graph security: listing', () => {
  it('pages incidents with their alerts through @odata.nextLink, oldest first, each exactly once', async () => {
    const clock = manualClock(T0);
    sim = await startSim({ now: clock.now, graphMaxPageSize: 4, tenants: [tenantSpec({ incidentsPerHour: 3, historyStart: T0 - DAY })] });
    const client = graph(sim, await tokenFor(sim, TENANT, GRAPH_SCOPE));
    const from = T0 - 6 * HOUR;
    const { items, links } = await client.all(`incidents?$expand=alerts&${since(from)}&${ascending}&$top=50`, { prefer: 'include-unknown-enum-members' });

    const expected = sim.incidents(TENANT).filter((i) => Date.parse(i.lastUpdateDateTime) >= from);
    expect(expected.length).toBeGreaterThan(10);
    expect(items.map((i) => i.id).sort()).toEqual(expected.map((i) => i.id).sort());
    expect(links.length).toBe(Math.ceil(items.length / 4) - 1);
    for (const link of links) expect(link).toMatch(new RegExp(`^${sim.url}/v1\\.0/security/incidents\\?.*\\$skiptoken=`));
    const times = items.map((i) => String(i.lastUpdateDateTime));
    expect(times).toEqual([...times].sort());
    for (const time of times) expect(time).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{7}Z$/);

    const alerts = sim.alerts(TENANT);
    for (const incident of items) {
      const expanded = incident.alerts as { id: string; incidentId: string; '@odata.type': string }[];
      expect(expanded.length).toBeGreaterThanOrEqual(1);
      for (const alert of expanded) {
        expect(alert).toMatchObject({ incidentId: incident.id, '@odata.type': '#microsoft.graph.security.alert' });
        expect(alerts.map((a) => a.id)).toContain(alert.id);
      }
    }
    const first = (await (await client.get(`incidents?$expand=alerts&${since(from)}`)).json()) as Record<string, unknown>;
    expect(first['@odata.context']).toBe(`${sim.url}/v1.0/$metadata#security/incidents(alerts())`);
    const plain = (await (await client.get(`incidents?${since(from)}`)).json()) as { '@odata.context': string; value: Record<string, unknown>[] };
    expect(plain['@odata.context']).toBe(`${sim.url}/v1.0/$metadata#security/incidents`);
    expect(plain.value[0]).not.toHaveProperty('alerts');
  });

  it('serves alerts_v2 with typed evidence, newest first by default, and counts them on request', async () => {
    const clock = manualClock(T0);
    sim = await startSim({ now: clock.now, tenants: [tenantSpec({ incidentsPerHour: 2, historyStart: T0 - DAY })] });
    const client = graph(sim, await tokenFor(sim, TENANT, GRAPH_SCOPE));
    const res = await client.get(`alerts_v2?$count=true&${since(T0 - 12 * HOUR)}`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { '@odata.context': string; '@odata.count': number; value: Record<string, unknown>[] };
    expect(body['@odata.context']).toBe(`${sim.url}/v1.0/$metadata#security/alerts_v2`);
    expect(body['@odata.count']).toBe(body.value.length);
    expect(body.value.length).toBeGreaterThan(10);
    const created = body.value.map((a) => String(a.createdDateTime));
    expect(created).toEqual([...created].sort().reverse());
    for (const alert of body.value) {
      expect(alert).toMatchObject({ '@odata.type': '#microsoft.graph.security.alert', tenantId: TENANT });
      expect(String(alert.alertWebUrl)).toMatch(/^https:\/\/security\.microsoft\.com\/alerts\//);
      const evidence = alert.evidence as Record<string, unknown>[];
      expect(evidence.length).toBeGreaterThan(0);
      for (const e of evidence) expect(String(e['@odata.type'])).toMatch(/^#microsoft\.graph\.security\.\w+Evidence$/);
    }
  });

  it('compares lastUpdateDateTime with all seven fraction digits', async () => {
    const clock = manualClock(T0);
    sim = await startSim({ now: clock.now, tenants: [tenantSpec({ incidentsPerHour: 0 })] });
    const client = graph(sim, await tokenFor(sim, TENANT, GRAPH_SCOPE));
    const incident = sim.addIncident(TENANT, { createdAt: T0 - HOUR });
    const exact = incident.lastUpdateDateTime;
    expect(exact).toMatch(/\.\d{7}Z$/);
    const query = (op: string, at: string) => client.all(`incidents?$filter=${encodeURIComponent(`lastUpdateDateTime ${op} ${at}`)}`).then((r) => r.items.map((i) => i.id));
    expect(await query('ge', exact)).toEqual([incident.id]);
    expect(await query('gt', exact)).toEqual([]);
    // The same instant truncated to milliseconds is earlier than the 7-digit value.
    expect(await query('gt', `${exact.slice(0, 23)}Z`)).toEqual([incident.id]);
  });

  it('an updated incident is a new revision with a later lastUpdateDateTime; resolving it resolves its alerts', async () => {
    const clock = manualClock(T0);
    sim = await startSim({ now: clock.now, tenants: [tenantSpec({ incidentsPerHour: 0 })] });
    const client = graph(sim, await tokenFor(sim, TENANT, GRAPH_SCOPE));
    const incident = sim.addIncident(TENANT, { createdAt: T0 - HOUR, alerts: 3 });
    clock.value += 5 * MINUTE;
    const raised = sim.updateIncident(TENANT, incident.id, { severity: 'high', assignedTo: 'analyst@contoso.com' });
    clock.value += 5 * MINUTE;
    const resolved = sim.updateIncident(TENANT, incident.id, { status: 'resolved', classification: 'truePositive', determination: 'malware' });
    expect(raised.lastUpdateDateTime > incident.lastUpdateDateTime).toBe(true);
    expect(resolved.lastUpdateDateTime > raised.lastUpdateDateTime).toBe(true);

    const { items } = await client.all(`incidents?$expand=alerts&$filter=${encodeURIComponent(`lastUpdateDateTime gt ${raised.lastUpdateDateTime}`)}`);
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({ id: incident.id, status: 'resolved', severity: 'high', classification: 'truePositive', determination: 'malware', lastUpdateDateTime: resolved.lastUpdateDateTime });
    const alerts = items[0]!.alerts as Record<string, unknown>[];
    expect(alerts).toHaveLength(3);
    for (const alert of alerts) expect(alert).toMatchObject({ status: 'resolved', classification: 'truePositive', resolvedDateTime: alert.lastUpdateDateTime });
  });

  it('hides evolvable enum members unless the client sends Prefer: include-unknown-enum-members', async () => {
    const clock = manualClock(T0);
    sim = await startSim({ now: clock.now, tenants: [tenantSpec({ incidentsPerHour: 0 })] });
    const client = graph(sim, await tokenFor(sim, TENANT, GRAPH_SCOPE));
    const incident = sim.addIncident(TENANT, { createdAt: T0 - HOUR });
    sim.updateIncident(TENANT, incident.id, { status: 'awaitingAction' });
    const plain = await client.get('incidents');
    expect(plain.headers.get('preference-applied')).toBeNull();
    expect(((await plain.json()) as { value: { status: string }[] }).value[0]!.status).toBe('unknownFutureValue');
    const preferring = await client.get('incidents', { prefer: 'include-unknown-enum-members' });
    expect(preferring.headers.get('preference-applied')).toBe('include-unknown-enum-members');
    expect(((await preferring.json()) as { value: { status: string }[] }).value[0]!.status).toBe('awaitingAction');
    expect(sim.incidents(TENANT)[0]!.status).toBe('awaitingAction');
  });

  it('refuses what it does not support, and a skiptoken of another query or a forged one, with Graph error bodies', async () => {
    const clock = manualClock(T0);
    sim = await startSim({ now: clock.now, graphMaxPageSize: 2, tenants: [tenantSpec({ incidentsPerHour: 2, historyStart: T0 - DAY })] });
    const client = graph(sim, await tokenFor(sim, TENANT, GRAPH_SCOPE));
    expect(await graphError(await client.get(`incidents?$filter=${encodeURIComponent("severity eq 'high'")}`))).toMatchObject({ status: 400, code: 'BadRequest' });
    expect(await graphError(await client.get(`incidents?$filter=${encodeURIComponent('lastUpdateDateTime ge yesterday')}`))).toMatchObject({ status: 400, code: 'BadRequest' });
    expect(await graphError(await client.get('alerts_v2?$expand=evidence'))).toMatchObject({ status: 400, code: 'BadRequest' });
    expect(await graphError(await client.get('incidents?$select=id'))).toMatchObject({ status: 400, code: 'BadRequest' });
    expect(await graphError(await client.get('incidents?$top=0'))).toMatchObject({ status: 400, code: 'BadRequest' });

    const first = (await (await client.get(`incidents?${since(T0 - 12 * HOUR)}&${ascending}`)).json()) as { '@odata.nextLink': string };
    const token = new URL(first['@odata.nextLink']).searchParams.get('$skiptoken')!;
    expect(await graphError(await client.get(`incidents?${since(T0 - 11 * HOUR)}&${ascending}&$skiptoken=${encodeURIComponent(token)}`))).toMatchObject({ status: 400, code: 'BadRequest' });
    expect(await graphError(await client.get(`incidents?${since(T0 - 12 * HOUR)}&${ascending}&$skiptoken=${encodeURIComponent(`${token.split('.')[0]}.forged`)}`))).toMatchObject({ status: 400 });
    expect((await client.get(first['@odata.nextLink'])).status).toBe(200);
  });

  it('generates the same incidents and alerts under the same seed, and others under another', async () => {
    const ids = async (seed: number) => {
      const s = await startSim({ seed, now: () => T0, tenants: [tenantSpec({ incidentsPerHour: 2, historyStart: T0 - DAY })] });
      try {
        return { incidents: s.incidents(TENANT), alerts: s.alerts(TENANT).map((a) => a.id) };
      } finally {
        await s.close();
      }
    };
    const a = await ids(7);
    const b = await ids(7);
    const c = await ids(8);
    expect(a).toEqual(b);
    expect(a.incidents.length).toBeGreaterThan(40);
    expect(c.alerts).not.toEqual(a.alerts);
  });
});

describe('simulated Graph security: throttling and faults', () => {
  it('throttles per app per tenant with 429, a Retry-After and a TooManyRequests body', async () => {
    sim = await startSim({ graphRequestsPerMinute: 3, tenants: [tenantSpec({ incidentsPerHour: 0 }), tenantSpec({ incidentsPerHour: 0 }, OTHER_TENANT)] });
    const client = graph(sim, await tokenFor(sim, TENANT, GRAPH_SCOPE));
    for (let i = 0; i < 3; i++) expect((await client.get('alerts_v2')).status).toBe(200);
    const throttled = await client.get('incidents');
    expect(await graphError(throttled)).toMatchObject({ status: 429, code: 'TooManyRequests' });
    expect(Number(throttled.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    // Another tenant's bucket is untouched.
    expect((await graph(sim, await tokenFor(sim, OTHER_TENANT, GRAPH_SCOPE)).get('incidents')).status).toBe(200);
    expect(sim.stats().requests[TENANT]?.incidents).toEqual({ 429: 1 });
  });

  it("reuses the fault controller: op 'graph', skip, Retry-After, a foreign next link, a truncated page that loses nothing", async () => {
    const clock = manualClock(T0);
    sim = await startSim({ now: clock.now, graphMaxPageSize: 4, tenants: [tenantSpec({ incidentsPerHour: 2, historyStart: T0 - DAY })] });
    const client = graph(sim, await tokenFor(sim, TENANT, GRAPH_SCOPE));
    sim.faults.inject({ op: 'graph', skip: 1, times: 1, fault: { kind: 'status', status: 503, retryAfterSeconds: 2 } });
    expect((await client.get('alerts_v2')).status).toBe(200);
    const unavailable = await client.get('incidents');
    expect(await graphError(unavailable)).toMatchObject({ status: 503, code: 'ServiceUnavailable' });
    expect(unavailable.headers.get('retry-after')).toBe('2');
    expect((await client.get('incidents')).status).toBe(200);

    sim.faults.inject({ op: 'incidents', fault: { kind: 'foreign-next-page' } });
    const foreign = (await (await client.get(`incidents?${since(T0 - 6 * HOUR)}`)).json()) as { '@odata.nextLink': string };
    expect(new URL(foreign['@odata.nextLink']).host).toBe('evil.example');

    const query = `incidents?${since(T0 - 12 * HOUR)}&${ascending}`;
    const intact = await client.all(query);
    sim.faults.inject({ op: 'incidents', skip: 1, fault: { kind: 'truncated-page' } });
    const truncated = await client.all(query);
    expect(intact.links.length).toBeGreaterThan(2);
    expect(truncated.items.map((i) => i.id)).toEqual(intact.items.map((i) => i.id));
    expect(sim.stats().faultsApplied).toMatchObject({ status: 1, 'foreign-next-page': 1, 'truncated-page': 1 });
  });

  it('records every revision served on a page, and none of a page cut off by a fault', async () => {
    const clock = manualClock(T0);
    sim = await startSim({ now: clock.now, tenants: [tenantSpec({ incidentsPerHour: 0 })] });
    const client = graph(sim, await tokenFor(sim, TENANT, GRAPH_SCOPE));
    const incident = sim.addIncident(TENANT, { createdAt: T0 - HOUR, alerts: 2 });
    sim.faults.inject({ op: 'alerts', fault: { kind: 'malformed-json' } });
    await client.get('alerts_v2').then((r) => r.text());
    await client.get('alerts_v2').then((r) => r.json());
    await client.get('incidents?$expand=alerts').then((r) => r.json());
    const stats = sim.stats();
    expect(stats.servedIncidentRevisions).toEqual([`${incident.id}|${incident.lastUpdateDateTime}`]);
    expect(stats.servedAlertRevisions.sort()).toEqual(sim.alerts(TENANT).map((a) => `${a.id}|${a.lastUpdateDateTime}`).sort());
    expect(stats.servedAlertRevisions).toHaveLength(2);
  });

  it('makes generated revisions visible a little after their lastUpdateDateTime (the indexing lag a poller overlaps)', async () => {
    const start = T0 - 3 * HOUR;
    const clock = manualClock(start);
    sim = await startSim({ now: clock.now, tenants: [tenantSpec({ incidentsPerHour: 60, historyStart: start })] });
    const lags: number[] = [];
    const seen = new Set<string>();
    for (let t = start; t <= T0; t += 30_000) {
      clock.value = t;
      for (const incident of sim.incidents(TENANT)) {
        if (seen.has(incident.id)) continue;
        seen.add(incident.id);
        lags.push(t - Date.parse(incident.lastUpdateDateTime));
      }
    }
    expect(seen.size).toBeGreaterThan(150);
    // Never listed before its timestamp, never later than 8 minutes (plus the 30 s step) after it.
    expect(Math.min(...lags)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...lags)).toBeLessThanOrEqual(8 * MINUTE + 30_000);
    expect(lags.filter((lag) => lag > 2 * MINUTE).length).toBeGreaterThan(0);
  });
});
