import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ManagementActivityClient } from '../../../shared/adapters/managementApi/client.js';
import { RateLimiter } from '../../../shared/adapters/http/rateLimiter.js';
import { CredentialTokenSource } from '../../../shared/adapters/identity/tokenSource.js';
import { createTenantCredential, type CredentialMaterial } from '../../../shared/adapters/identity/credentials.js';
import { PermanentError, TransientError } from '../../../shared/core/errors.js';
import { startSimTenant, type SimTenant } from '../../../tools/standins/simTenant/index.js';

const TENANT = '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';
const OTHER = '1b2c3d4e-5f6a-4b7c-9d8e-0f1a2b3c4d5e';
const APP = '2c3d4e5f-6a7b-4c8d-8e9f-1a2b3c4d5e6f';
const PUBLISHER = '3d4e5f6a-7b8c-4d9e-9f0a-2b3c4d5e6f7a';
const SECRET = 'client-test-secret';
const certPem = (name: string) => readFileSync(new URL(`../../certs/${name}`, import.meta.url), 'utf8');
const T0 = Date.UTC(2026, 10, 20, 12);
const HOUR = 3_600_000;

let sim: SimTenant;
let feedNow = T0;

beforeAll(async () => {
  sim = await startSimTenant({
    now: () => feedNow,
    pageSize: 5,
    tenants: [
      { tenantId: TENANT, apps: [{ clientId: APP, secret: SECRET, certificatePem: certPem('client.pem') }], blobsPerHour: 12, recordsPerBlob: 4, historyStart: T0 - 8 * 24 * HOUR },
      { tenantId: OTHER, apps: [{ clientId: APP, secret: SECRET }], blobsPerHour: 0 },
    ],
  });
});
afterAll(() => sim.close());
beforeEach(() => {
  sim.faults.clear();
  sim.resetStats();
  feedNow = T0;
});

function client(material: CredentialMaterial = { type: 'secret', clientSecret: SECRET }, tenantId = TENANT) {
  const identity = { tenantId, clientId: APP, authorityHost: sim.url };
  const tokens = new CredentialTokenSource({ identity, scope: 'https://manage.office.com/.default', createCredential: async () => createTenantCredential(identity, material) });
  return new ManagementActivityClient({
    tenantId,
    managementEndpoint: sim.url,
    publisherIdentifier: PUBLISHER,
    tokens,
    rateLimiter: new RateLimiter({ requestsPerMinute: 6000, burst: 1000 }),
    retry: { baseDelayInMs: 10, maxDelayInMs: 50 },
  });
}

const feedCalls = () => sim.requestLog().filter((r) => r.op !== 'token' && r.op !== 'metadata');
const window = { start: T0 - 23 * HOUR, end: T0 - HOUR };

async function listAll(c: ManagementActivityClient, contentType: 'Audit.Exchange' | 'DLP.All' = 'Audit.Exchange') {
  const ids: string[] = [];
  let pages = 0;
  for await (const page of c.listContent(contentType, window)) {
    pages++;
    ids.push(...page.items.map((i) => i.contentId));
  }
  return { ids, pages };
}

describe('ManagementActivityClient against the simulated tenant', () => {
  it('gets tokens with a client secret and with a certificate through the real @azure/identity credentials', async () => {
    await client({ type: 'secret', clientSecret: SECRET }).startSubscription('Audit.Exchange');
    await client({ type: 'certificate', certificatePem: certPem('client-combined.pem') }).startSubscription('Audit.SharePoint');
    const tokenCalls = sim.requestLog().filter((r) => r.op === 'token');
    expect(tokenCalls.map((r) => r.outcome)).toEqual(['200', '200']);
    expect(sim.subscription(TENANT, 'Audit.SharePoint').status).toBe('enabled');
  });

  it('shapes every call: method, path, PublisherIdentifier, time format, bearer token', async () => {
    const c = client();
    const started = await c.startSubscription('DLP.All');
    const again = await c.startSubscription('DLP.All');
    expect([started.alreadyEnabled, again.alreadyEnabled]).toEqual([false, true]); // AF20024 is success
    const subscriptions = await c.listSubscriptions();
    expect(subscriptions).toContainEqual({ contentType: 'DLP.All', status: 'enabled' });
    await c.startSubscription('Audit.Exchange');
    const { ids } = await listAll(c);
    const download = await c.fetchContent(`${sim.url}/api/v1.0/${TENANT}/activity/feed/audit/${ids[0]}`);
    const chunks: Uint8Array[] = [];
    for await (const chunk of download.body) chunks.push(chunk);
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    expect(body).toEqual(sim.recordsOf(TENANT, ids[0]!));

    const calls = feedCalls();
    const root = `/api/v1.0/${TENANT}/activity/feed`;
    expect(calls[0]).toMatchObject({ method: 'POST', path: `${root}/subscriptions/start`, query: { contentType: 'DLP.All', PublisherIdentifier: PUBLISHER }, authorization: 'Bearer', outcome: '200' });
    expect(calls[1]).toMatchObject({ method: 'POST', outcome: '400' });
    expect(calls[2]).toMatchObject({ method: 'GET', path: `${root}/subscriptions/list`, query: { PublisherIdentifier: PUBLISHER } });
    const listings = calls.filter((r) => r.op === 'content');
    expect(listings[0]).toMatchObject({
      method: 'GET',
      path: `${root}/subscriptions/content`,
      query: { contentType: 'Audit.Exchange', startTime: '2026-11-19T13:00:00', endTime: '2026-11-20T11:00:00', PublisherIdentifier: PUBLISHER },
    });
    // Next pages follow the service's link and still carry our PublisherIdentifier.
    for (const page of listings.slice(1)) expect(page.query.PublisherIdentifier).toBe(PUBLISHER);
    expect(calls.at(-1)).toMatchObject({ method: 'GET', op: 'blob', path: `${root}/audit/${ids[0]}`, query: { PublisherIdentifier: PUBLISHER }, outcome: '200' });
    expect(calls.every((r) => r.authorization === 'Bearer')).toBe(true);
  });

  it('pages over many pages and returns exactly what the service lists', async () => {
    const c = client();
    await c.startSubscription('Audit.Exchange');
    const { ids, pages } = await listAll(c);
    const expected = sim.blobs(TENANT, 'Audit.Exchange', window.start, window.end).map((b) => b.contentId);
    expect(expected.length).toBeGreaterThan(200);
    expect(pages).toBe(Math.ceil(expected.length / 5));
    expect(ids).toEqual(expected);
  });

  it('refreshes the token once on a bare 401 and retries in place', async () => {
    const c = client();
    await c.startSubscription('Audit.Exchange');
    sim.faults.inject({ op: 'content', fault: { kind: 'status', status: 401 } });
    const { ids } = await listAll(c);
    expect(ids.length).toBeGreaterThan(0);
    const ops = sim.requestLog().filter((r) => r.op !== 'metadata').map((r) => `${r.op}:${r.outcome}`);
    const first401 = ops.indexOf('content:401');
    expect(first401).toBeGreaterThanOrEqual(0);
    expect(ops.slice(first401 + 1, first401 + 3)).toEqual(['token:200', 'content:200']);
  });

  it('recognizes AF429 arriving as HTTP 403, backs off and retries', async () => {
    const c = client();
    await c.startSubscription('Audit.Exchange');
    sim.faults.inject({ op: 'content', times: 2, fault: { kind: 'af429-403' } });
    const { ids } = await listAll(c);
    expect(ids).toEqual(sim.blobs(TENANT, 'Audit.Exchange', window.start, window.end).map((b) => b.contentId));
    expect(sim.stats().af429).toBe(2);
  });

  it('gives up after its bounded retries with a typed, retryable error naming the tenant', async () => {
    const c = client();
    await c.startSubscription('Audit.Exchange');
    sim.faults.inject({ op: 'content', times: 10, fault: { kind: 'af429-403' } });
    const error = await listAll(c).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransientError);
    expect(error).toMatchObject({ code: 'Throttled', afCode: 'AF429', httpStatus: 403, retryable: true, tenantId: TENANT });
    expect(sim.stats().af429).toBe(4); // maxAttempts
  });

  it('retries 500 AF50000, 503, connection resets and a malformed listing body', async () => {
    const c = client();
    await c.startSubscription('Audit.Exchange');
    sim.faults.inject({ op: 'content', fault: { kind: 'status', status: 500, code: 'AF50000' } });
    sim.faults.inject({ op: 'content', fault: { kind: 'status', status: 503 } });
    sim.faults.inject({ op: 'content', fault: { kind: 'reset' } });
    const { ids } = await listAll(c);
    expect(ids).toEqual(sim.blobs(TENANT, 'Audit.Exchange', window.start, window.end).map((b) => b.contentId));
    sim.faults.inject({ op: 'content', fault: { kind: 'malformed-json' } });
    await expect(listAll(c)).rejects.toMatchObject({ code: 'ServiceUnavailable', retryable: true });
  });

  it('refuses a next-page link to a foreign host without sending anything there', async () => {
    const c = client();
    await c.startSubscription('Audit.Exchange');
    sim.resetStats();
    sim.faults.inject({ op: 'content', fault: { kind: 'foreign-next-page' } });
    const error = await listAll(c).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermanentError);
    expect(error).toMatchObject({ code: 'ForeignHost' });
    expect(feedCalls().filter((r) => r.op === 'content')).toHaveLength(1);
  });

  it('refuses content URIs on another host, scheme, tenant or path before attaching a token', async () => {
    const c = client();
    const id = '20261120000000000000001$x$audit_exchange$Audit_Exchange$na01';
    sim.resetStats();
    for (const uri of [
      `http://localhost/celbroken1/activity/feed/audit/${id}`,
      `https://evil.example/api/v1.0/${TENANT}/activity/feed/audit/${id}`,
      `${sim.url}/api/v1.0/${OTHER}/activity/feed/audit/${id}`,
      `${sim.url}/api/v1.0/${TENANT}/activity/feed/subscriptions/list`,
    ]) {
      await expect(c.fetchContent(uri)).rejects.toMatchObject({ code: 'ForeignHost', retryable: false });
    }
    expect(sim.requestLog()).toEqual([]);
  });

  it('maps the API errors: AF20022, AF20050, AF20051', async () => {
    const c = client({ type: 'secret', clientSecret: SECRET }, OTHER);
    await expect(listAll(c)).rejects.toMatchObject({ code: 'SubscriptionMissing', afCode: 'AF20022', httpStatus: 400 });
    await c.startSubscription('Audit.Exchange');
    const listing = sim.addBlob(OTHER, 'Audit.Exchange', { contentCreated: T0 - 10 * HOUR, records: [{ Id: 'a' }] });
    await expect(c.fetchContent(listing.contentUri.replace(/audit\/.*$/, 'audit/20261120000000000000009$nope$audit_exchange$Audit_Exchange$na01'))).rejects.toMatchObject({ code: 'ContentMissing', afCode: 'AF20050' });
    feedNow = Date.parse(listing.contentExpiration) + 1;
    await expect(c.fetchContent(listing.contentUri)).rejects.toMatchObject({ code: 'ContentExpired', afCode: 'AF20051', retryable: false });
  });

  it('names the tenant and the fix when the app is not consented or the secret is wrong', async () => {
    const unconsented = new CredentialTokenSource({
      identity: { tenantId: TENANT, clientId: '9f9f9f9f-9f9f-4f9f-8f9f-9f9f9f9f9f9f', authorityHost: sim.url },
      scope: 'https://manage.office.com/.default',
      createCredential: async () => createTenantCredential({ tenantId: TENANT, clientId: '9f9f9f9f-9f9f-4f9f-8f9f-9f9f9f9f9f9f', authorityHost: sim.url }, { type: 'secret', clientSecret: SECRET }),
    });
    const notConsented = await unconsented.getToken().catch((e: unknown) => e);
    expect(notConsented).toMatchObject({ code: 'AppNotConsented', retryable: false });
    expect((notConsented as Error).message).toContain(`${sim.url}/${TENANT}/adminconsent?client_id=9f9f9f9f-9f9f-4f9f-8f9f-9f9f9f9f9f9f`);

    let reloads = 0;
    const wrong = new CredentialTokenSource({
      identity: { tenantId: TENANT, clientId: APP, authorityHost: sim.url },
      scope: 'https://manage.office.com/.default',
      createCredential: async ({ reloadSecret }) => {
        if (reloadSecret) reloads++;
        return createTenantCredential({ tenantId: TENANT, clientId: APP, authorityHost: sim.url }, { type: 'secret', clientSecret: 'wrong-secret' });
      },
    });
    const rejected = await wrong.getToken().catch((e: unknown) => e);
    expect(rejected).toMatchObject({ code: 'CredentialRejected', retryable: false });
    expect((rejected as Error).message).toMatch(new RegExp(`tenant ${TENANT}.*AADSTS7000215`));
    expect((rejected as Error).message).not.toContain('wrong-secret');
    expect(reloads).toBe(1); // read the secret again once, in case it was rotated
  });
});
