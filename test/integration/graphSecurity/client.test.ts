import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { GraphSecurityClient, type SecurityCollection } from '../../../shared/adapters/graphSecurity/client.js';
import type { AccessTokenSource } from '../../../shared/adapters/identity/tokenSource.js';
import { PermanentError, TransientError } from '../../../shared/core/errors.js';
import { localServerTls } from '../../../tools/local/localPki.js';
import { recordedSleeps, simTokens, startSimTenantForFile } from '../setup.js';

const TENANT = '3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f';
const APP = '4d5e6f7a-8b9c-4dae-9f0a-2b3c4d5e6f7a';
const NO_ROLES_APP = '5e6f7a8b-9cad-4ebf-8a1b-3c4d5e6f7a8b';
const SECRET = 'graph-client-secret';
const T0 = Date.UTC(2026, 10, 20, 12);
const HOUR = 3_600_000;

let feedNow = T0;
const sim = await startSimTenantForFile({
  now: () => feedNow,
  graphMaxPageSize: 4,
  tenants: [
    {
      tenantId: TENANT,
      apps: [
        { clientId: APP, secret: SECRET },
        { clientId: NO_ROLES_APP, secret: SECRET, graphRoles: [] },
      ],
      incidentsPerHour: 3,
      blobsPerHour: 0,
      historyStart: T0 - 24 * HOUR,
    },
  ],
});
beforeEach(() => {
  feedNow = T0;
});

/** A client with real tokens from the simulated tenant; its sleeps are recorded, not slept. */
function client(clientId = APP) {
  const tokens = simTokens(sim, TENANT, clientId, 'https://graph.microsoft.com/.default', { type: 'secret', clientSecret: SECRET });
  const { sleeps, pacing } = recordedSleeps();
  const c = new GraphSecurityClient({ tenantId: TENANT, graphEndpoint: sim.url, tokens, ...pacing });
  return { c, sleeps };
}

async function scan(c: GraphSecurityClient, collection: SecurityCollection, since: string) {
  const ids: string[] = [];
  const pages: { pageNumber: number; url: string; size: number }[] = [];
  for await (const page of c.listUpdatedSince(collection, since)) {
    pages.push({ pageNumber: page.pageNumber, url: page.url, size: page.items.length });
    ids.push(...page.items.map((i) => (i as { id: string }).id));
  }
  return { ids, pages };
}

const graphCalls = () => sim.requestLog().filter((r) => r.op === 'incidents' || r.op === 'alerts');

describe('GraphSecurityClient against the simulated tenant', () => {
  it('asks for everything updated since the cursor, oldest first, with the full-precision timestamp, and follows every next link', async () => {
    const { c } = client();
    const since = '2026-11-20T02:00:00.1234567Z';
    const { ids, pages } = await scan(c, 'incidents', since);
    const expected = sim.incidents(TENANT).filter((i) => i.lastUpdateDateTime >= since).map((i) => i.id);
    expect(ids.sort()).toEqual(expected.sort());
    expect(pages.length).toBe(Math.ceil(expected.length / 4));
    expect(pages.map((p) => p.pageNumber)).toEqual(pages.map((_, i) => i + 1));
    expect(pages[1]!.url).toContain('$skiptoken=');

    const [first] = graphCalls();
    expect(first).toMatchObject({
      method: 'GET',
      op: 'incidents',
      path: '/v1.0/security/incidents',
      authorization: 'Bearer',
      query: { $filter: `lastUpdateDateTime ge ${since}`, $orderby: 'lastUpdateDateTime asc', $top: '50', $expand: 'alerts' },
    });
    await scan(c, 'alerts', since);
    const alertsCall = graphCalls().find((r) => r.op === 'alerts')!;
    expect(alertsCall).toMatchObject({ path: '/v1.0/security/alerts_v2', query: { $filter: `lastUpdateDateTime ge ${since}`, $orderby: 'lastUpdateDateTime asc', $top: '200' } });
    expect(alertsCall.query).not.toHaveProperty('$expand');
  });

  it('asks for evolvable enum members (Prefer: include-unknown-enum-members)', async () => {
    const incident = sim.addIncident(TENANT, { createdAt: T0 - HOUR });
    sim.updateIncident(TENANT, incident.id, { status: 'awaitingAction' });
    const { c } = client();
    const statuses: unknown[] = [];
    for await (const page of c.listUpdatedSince('incidents', '2026-11-20T11:30:00Z')) statuses.push(...page.items.map((i) => (i as { status: unknown }).status));
    expect(statuses).toContain('awaitingAction');
    expect(statuses).not.toContain('unknownFutureValue');
  });

  it('honours Retry-After on 429 and 503, backs off on 500, and loses nothing', async () => {
    const { c, sleeps } = client();
    sim.faults.inject({ op: 'incidents', skip: 1, times: 1, fault: { kind: 'status', status: 429, retryAfterSeconds: 2 } });
    sim.faults.inject({ op: 'incidents', skip: 1, times: 1, fault: { kind: 'status', status: 503, retryAfterSeconds: 5 } });
    sim.faults.inject({ op: 'incidents', skip: 1, times: 1, fault: { kind: 'status', status: 500 } });
    const since = '2026-11-20T00:00:00Z';
    const { ids } = await scan(c, 'incidents', since);
    expect(ids.sort()).toEqual(sim.incidents(TENANT).filter((i) => i.lastUpdateDateTime >= since).map((i) => i.id).sort());
    expect(sleeps).toEqual([2000, 5000, 200]);
    expect(sim.stats().requests[TENANT]?.incidents).toMatchObject({ 429: 1, 503: 1, 500: 1 });
  });

  it('gives up after a bounded number of attempts, and at once when Retry-After is longer than it may wait', async () => {
    const { c, sleeps } = client();
    sim.faults.inject({ op: 'alerts', times: 4, fault: { kind: 'status', status: 500 } });
    const failure = await scan(c, 'alerts', '2026-11-20T00:00:00Z').catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(TransientError);
    expect(failure).toMatchObject({ code: 'ServiceUnavailable', httpStatus: 500, tenantId: TENANT });
    expect(graphCalls()).toHaveLength(4);
    expect(sleeps).toEqual([50, 100, 200]);

    sim.faults.inject({ op: 'alerts', fault: { kind: 'status', status: 429, retryAfterSeconds: 3600 } });
    const throttled = await scan(c, 'alerts', '2026-11-20T00:00:00Z').catch((e: unknown) => e);
    expect(throttled).toMatchObject({ code: 'Throttled', retryAfterInMs: 3_600_000 });
    expect(sleeps).toHaveLength(3);
  });

  it('refreshes a refused token once and carries on', async () => {
    const { c } = client();
    const before = await scan(c, 'alerts', '2026-11-20T09:00:00Z');
    const tokensBefore = sim.stats().totals.token ?? 0;
    sim.faults.inject({ op: 'alerts', fault: { kind: 'status', status: 401 } });
    const after = await scan(c, 'alerts', '2026-11-20T09:00:00Z');
    expect(after.ids).toEqual(before.ids);
    expect(before.ids.length).toBeGreaterThan(0);
    expect((sim.stats().totals.token ?? 0) - tokensBefore).toBe(1);
    expect(sim.stats().requests[TENANT]?.alerts).toMatchObject({ 401: 1 });
  });

  it('a missing application permission is permanent and names the permission to grant', async () => {
    const { c } = client(NO_ROLES_APP);
    const failure = await scan(c, 'incidents', '2026-11-20T00:00:00Z').catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(PermanentError);
    expect(failure).toMatchObject({ code: 'PermissionMissing', httpStatus: 403 });
    expect((failure as Error).message).toMatch(/SecurityIncident\.Read\.All on Microsoft Graph/);
    expect((failure as Error).message).toMatch(/request-id [0-9a-f-]{36}/);
    expect(graphCalls()).toHaveLength(1);
  });

  it('refuses a next link to another host before sending the token, and a garbled page is transient', async () => {
    const { c } = client();
    sim.faults.inject({ op: 'incidents', fault: { kind: 'foreign-next-page' } });
    const failure = await scan(c, 'incidents', '2026-11-20T00:00:00Z').catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(PermanentError);
    expect(failure).toMatchObject({ code: 'ForeignHost' });
    expect((failure as Error).message).toMatch(/host evil\.example is not the configured Graph host/);

    sim.faults.inject({ op: 'alerts', fault: { kind: 'malformed-json' } });
    expect(await scan(c, 'alerts', '2026-11-20T00:00:00Z').catch((e: unknown) => e)).toMatchObject({ code: 'ServiceUnavailable' });
    await expect(scan(c, 'alerts', 'yesterday')).rejects.toThrow(RangeError);
  });
});

describe('GraphSecurityClient host guard (two local origins)', () => {
  let graph: Server;
  let foreign: Server;
  let graphUrl = '';
  let foreignUrl = '';
  let answer: (url: URL) => { status: number; body?: unknown; headers?: Record<string, string> };
  const foreignRequests: { url: string; authorization?: string }[] = [];
  const tokens: AccessTokenSource = { getToken: async () => 'token-for-graph-only' };

  const listen = (server: Server) => new Promise<string>((resolve) => server.listen(0, '127.0.0.1', () => resolve(`https://127.0.0.1:${(server.address() as AddressInfo).port}`)));
  beforeAll(async () => {
    const tls = localServerTls();
    graph = createServer(tls, (req, res) => {
      const { status, body, headers } = answer(new URL(req.url ?? '/', graphUrl));
      res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(body === undefined ? '' : JSON.stringify(body));
    });
    foreign = createServer(tls, (req, res) => {
      foreignRequests.push({ url: req.url ?? '', authorization: req.headers.authorization });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"value":[]}');
    });
    graphUrl = await listen(graph);
    foreignUrl = await listen(foreign);
  });
  afterAll(async () => {
    graph.closeAllConnections();
    foreign.closeAllConnections();
    await Promise.all([new Promise((r) => graph.close(r)), new Promise((r) => foreign.close(r))]);
  });
  afterEach(() => {
    foreignRequests.length = 0;
  });

  const guarded = () => new GraphSecurityClient({ tenantId: TENANT, graphEndpoint: graphUrl, tokens, retry: { maxAttempts: 1 } });

  it.each([
    ['another origin', () => `${foreignUrl}/v1.0/security/incidents?$skiptoken=abc`, /is not the configured Graph host/],
    ['another path on the Graph host', () => `${graphUrl}/v1.0/users?$skiptoken=abc`, /path \/v1\.0\/users is not \/v1\.0\/security\/incidents/],
    ['plain http', () => `${graphUrl.replace('https:', 'http:')}/v1.0/security/incidents`, /scheme http: is not https/],
    ['credentials in the link', () => `https://user:pw@${graphUrl.slice('https://'.length)}/v1.0/security/incidents`, /carries credentials/],
    ['not a URL', () => '/v1.0/security/incidents?$skiptoken=abc', /not an absolute URL/],
  ])('refuses a next link to %s', async (_what, link, reason) => {
    answer = () => ({ status: 200, body: { value: [{ id: '1' }], '@odata.nextLink': link() } });
    const pages: number[] = [];
    const failure = await (async () => {
      for await (const page of guarded().listUpdatedSince('incidents', '2026-11-20T00:00:00Z')) pages.push(page.items.length);
    })().catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(PermanentError);
    expect(failure).toMatchObject({ code: 'ForeignHost' });
    expect((failure as Error).message).toMatch(reason);
    expect(pages).toEqual([1]);
    expect(foreignRequests).toEqual([]);
  });

  it('never follows a redirect, so the token stays on the Graph host', async () => {
    answer = () => ({ status: 302, headers: { location: `${foreignUrl}/v1.0/security/incidents` } });
    const failure = await guarded().listUpdatedSince('incidents', '2026-11-20T00:00:00Z').next().catch((e: unknown) => e);
    expect(failure).toMatchObject({ code: 'ForeignHost', httpStatus: 302 });
    expect(foreignRequests).toEqual([]);
  });

  it('refuses a next link that repeats (a paging loop) instead of spinning', async () => {
    answer = (url) => ({ status: 200, body: { value: [], '@odata.nextLink': `${graphUrl}/v1.0/security/alerts_v2?$skiptoken=${url.searchParams.get('$skiptoken') === 'a' ? 'b' : 'a'}` } });
    const failure = await (async () => {
      for await (const _page of guarded().listUpdatedSince('alerts', '2026-11-20T00:00:00Z'));
    })().catch((e: unknown) => e);
    expect(failure).toMatchObject({ code: 'ServiceUnavailable' });
    expect((failure as Error).message).toMatch(/paging did not end after 3 pages/);
  });

  it('classifies an undocumented error body as transient and a documented 400 as permanent', async () => {
    answer = () => ({ status: 400, body: { error: { code: 'BadRequest', message: "Invalid filter clause: 'x'", innerError: { 'request-id': 'r-1' } } } });
    expect(await guarded().listUpdatedSince('alerts', '2026-11-20T00:00:00Z').next().catch((e: unknown) => e)).toMatchObject({ code: 'BadRequest', retryable: false, httpStatus: 400 });
    answer = () => ({ status: 418 });
    expect(await guarded().listUpdatedSince('alerts', '2026-11-20T00:00:00Z').next().catch((e: unknown) => e)).toMatchObject({ code: 'ServiceUnavailable', retryable: true, httpStatus: 418 });
  });
});
