import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { GraphAuditSearchClient } from '../../../shared/adapters/graphSecurity/auditLogQueries.js';
import { RateLimiter } from '../../../shared/adapters/http/rateLimiter.js';
import { createTenantCredential } from '../../../shared/adapters/identity/credentials.js';
import { CredentialTokenSource } from '../../../shared/adapters/identity/tokenSource.js';
import { PermanentError, TransientError } from '../../../shared/core/errors.js';
import { startSimTenant, type SimTenant } from '../../../tools/standins/simTenant/index.js';

const TENANT = '8e9f0a1b-2c3d-4e5f-8a6b-7c8d9e0f1a2b';
const APP = '9f0a1b2c-3d4e-4f5a-9b7c-8d9e0f1a2b3c';
const SECRET = 'audit-client-secret';
const T0 = Date.UTC(2026, 10, 20, 12);
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

let sim: SimTenant;
let feedNow = T0;

beforeAll(async () => {
  sim = await startSimTenant({
    now: () => feedNow,
    auditSearch: { pageSize: 7 },
    tenants: [{ tenantId: TENANT, apps: [{ clientId: APP, secret: SECRET }], blobsPerHour: 2, recordsPerBlob: 4, contentTypes: ['Audit.Exchange'], historyStart: T0 - 20 * DAY }],
  });
});
afterAll(() => sim.close());
beforeEach(() => {
  sim.faults.clear();
  sim.resetStats();
  feedNow = T0;
});

function client(apiVersion: 'v1.0' | 'beta' = 'v1.0') {
  const identity = { tenantId: TENANT, clientId: APP, authorityHost: sim.url };
  const tokens = new CredentialTokenSource({ identity, scope: 'https://graph.microsoft.com/.default', createCredential: async () => createTenantCredential(identity, { type: 'secret', clientSecret: SECRET }) });
  const sleeps: number[] = [];
  const c = new GraphAuditSearchClient({
    tenantId: TENANT,
    graphEndpoint: sim.url,
    apiVersion,
    tokens,
    rateLimiter: new RateLimiter({ requestsPerMinute: 6000, burst: 1000 }),
    retry: { baseDelayInMs: 100, maxDelayInMs: 400 },
    sleep: async (ms) => void sleeps.push(ms),
    random: () => 0,
  });
  return { c, sleeps };
}

const spec = { displayName: 'test', from: new Date(T0 - 15 * DAY).toISOString(), to: new Date(T0 - 14 * DAY).toISOString(), recordTypeFilters: ['exchangeItem', 'exchangeAdmin', 'exchangeItemGroup'] };

describe('Graph audit log query client', () => {
  it('creates a query, reads its status and pages its records by @odata.nextLink', async () => {
    const { c } = client();
    const created = await c.createQuery(spec);
    expect(created).toMatchObject({ status: 'notStarted', isRecordCountLimitExceeded: false });
    feedNow += 5 * 60_000;
    const info = await c.getQuery(created.id);
    expect(info).toMatchObject({ id: created.id, status: 'succeeded', recordCountLimit: 1_000_000 });
    const ids: string[] = [];
    let pages = 0;
    for await (const page of c.listRecords(created.id)) {
      pages++;
      ids.push(...page.records.map((r) => (r as { id: string }).id));
    }
    expect(ids.length).toBe(info.approximateReturnedRecordCount);
    expect(pages).toBe(Math.ceil(ids.length / 7));
    const posted = sim.requestLog().find((r) => r.op === 'auditQuery');
    expect(posted).toMatchObject({ method: 'POST', path: '/v1.0/security/auditLog/queries', authorization: 'Bearer' });
  });

  it('resumes paging at a saved next link, and uses the configured API version', async () => {
    const { c } = client('beta');
    const q = await c.createQuery(spec);
    feedNow += 5 * 60_000;
    const first = await c.listRecords(q.id)[Symbol.asyncIterator]().next();
    const next = first.value!.next!;
    expect(next).toContain(`/beta/security/auditLog/queries/${q.id}/records`);
    const rest: string[] = [];
    for await (const page of c.listRecords(q.id, { next })) rest.push(...page.records.map((r) => (r as { id: string }).id));
    const all: string[] = [];
    for await (const page of c.listRecords(q.id)) all.push(...page.records.map((r) => (r as { id: string }).id));
    expect(rest).toEqual(all.slice(7));
  });

  it('refuses a next link off the Graph host before a token is attached, also a saved one', async () => {
    const { c } = client();
    const q = await c.createQuery(spec);
    feedNow += 5 * 60_000;
    sim.faults.inject({ op: 'auditRecords', fault: { kind: 'foreign-next-page' } });
    const failure = await (async () => {
      for await (const _ of c.listRecords(q.id));
    })().catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(PermanentError);
    expect((failure as PermanentError).code).toBe('ForeignHost');
    expect((failure as Error).message).toMatch(/host evil\.example is not the configured Graph host/);
    const saved = await (async () => {
      for await (const _ of c.listRecords(q.id, { next: `https://evil.example/v1.0/security/auditLog/queries/${q.id}/records?$skiptoken=x` }));
    })().catch((e: unknown) => e);
    expect((saved as PermanentError).code).toBe('ForeignHost');
    const other = await (async () => {
      for await (const _ of c.listRecords(q.id, { next: `${sim.url}/v1.0/security/incidents` }));
    })().catch((e: unknown) => e);
    expect((other as Error).message).toMatch(/path \/v1\.0\/security\/incidents is not/);
    expect(sim.requestLog().filter((r) => r.op === 'auditRecords')).toHaveLength(1);
  });

  it("waits the service's Retry-After on 429, retries a 500, and classifies a 404", async () => {
    const { c, sleeps } = client();
    sim.faults.inject({ op: 'auditQuery', fault: { kind: 'status', status: 429, retryAfterSeconds: 3 } });
    sim.faults.inject({ op: 'auditQueryStatus', fault: { kind: 'status', status: 500 } });
    const q = await c.createQuery(spec);
    expect(await c.getQuery(q.id)).toMatchObject({ id: q.id });
    expect(sleeps[0]).toBe(3000);
    expect(sleeps).toHaveLength(2);
    const missing = await c.getQuery('00000000-0000-0000-0000-000000000000').catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(PermanentError);
    sim.faults.inject({ op: 'auditQueryStatus', times: 10, fault: { kind: 'status', status: 503 } });
    expect(await c.getQuery(q.id).catch((e: unknown) => e)).toBeInstanceOf(TransientError);
  });
});
