import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startSimTenant, type ContentListing, type SimTenant, type SimTenantOptions, type SimTenantSpec } from '../../../tools/standins/simTenant/index.js';

export const TENANT = '6b1f5a2e-3c4d-4e5f-8a9b-0c1d2e3f4a5b';
export const OTHER_TENANT = '7c2a6b3f-4d5e-4f60-9bac-1d2e3f4a5b6c';
export const CLIENT_ID = '3e8d1c4b-9a7f-4b6e-8d5c-2f1a0e9d8c7b';
export const SECRET = 'sim-test-secret';
/** The feed clock most tests freeze: 2026-03-10T12:00:00Z. */
export const T0 = Date.UTC(2026, 2, 10, 12);
export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;

export const certFile = (name: string) => fileURLToPath(new URL(`../../certs/${name}`, import.meta.url));
export const CLIENT_CERT_PEM = readFileSync(certFile('client.pem'), 'utf8');

/** A mutable feed clock for `now`. */
export function manualClock(start = T0) {
  const clock = { value: start, now: () => clock.value };
  return clock;
}

/** One tenant (plus optional others) with the standard test app. */
export function tenantSpec(overrides: Partial<SimTenantSpec> = {}, tenantId = TENANT): SimTenantSpec {
  return { tenantId, apps: [{ clientId: CLIENT_ID, secret: SECRET, certificatePem: CLIENT_CERT_PEM }], ...overrides };
}

export function startSim(options: Partial<SimTenantOptions> & { tenants?: SimTenantSpec[] } = {}): Promise<SimTenant> {
  return startSimTenant({ tenants: [tenantSpec()], ...options });
}

/** A v2 client-credentials token obtained with plain fetch. */
export async function tokenFor(sim: SimTenant, tenantId = TENANT, scope = 'https://manage.office.com/.default', clientId = CLIENT_ID, secret = SECRET): Promise<string> {
  const res = await fetch(`${sim.url}/${tenantId}/oauth2/v2.0/token`, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: secret, scope }),
  });
  const body = (await res.json()) as { access_token?: string };
  if (res.status !== 200 || !body.access_token) throw new Error(`token request failed with ${res.status}`);
  return body.access_token;
}

export function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
}

/** Plain-fetch client of the activity API for one tenant and token. */
export function feedClient(sim: SimTenant, token: string, tenantId = TENANT) {
  const root = `${sim.url}/api/v1.0/${tenantId}/activity/feed`;
  const auth = { authorization: `Bearer ${token}` };
  return {
    root,
    get: (pathAndQuery: string, headers: Record<string, string> = {}) => fetch(`${root}/${pathAndQuery}`, { headers: { ...auth, ...headers } }),
    post: (pathAndQuery: string) => fetch(`${root}/${pathAndQuery}`, { method: 'POST', headers: auth }),
    fetchUrl: (url: string) => fetch(url, { headers: auth }),
    start: (contentType: string) => fetch(`${root}/subscriptions/start?contentType=${contentType}&PublisherIdentifier=${tenantId}`, { method: 'POST', headers: auth }),
    content: (query: string) => fetch(`${root}/subscriptions/content?${query}`, { headers: auth }),
  };
}

export type FeedClient = ReturnType<typeof feedClient>;

/** Reads `{"error":{"code","message"}}`. */
export async function afError(res: Response): Promise<{ status: number; code?: string; message?: string }> {
  const body = (await res.json()) as { error?: { code?: string; message?: string } };
  return { status: res.status, code: body.error?.code, message: body.error?.message };
}

/** Follows NextPageUri until it is absent; returns every entry and the page URIs followed. */
export async function listAll(client: FeedClient, firstQuery: string, headerName = 'NextPageUri'): Promise<{ entries: ContentListing[]; nextUris: string[]; pageSizes: number[] }> {
  const entries: ContentListing[] = [];
  const nextUris: string[] = [];
  const pageSizes: number[] = [];
  let res = await client.content(firstQuery);
  for (;;) {
    if (res.status !== 200) throw new Error(`listing page failed with ${res.status}: ${await res.text()}`);
    const page = (await res.json()) as ContentListing[];
    entries.push(...page);
    pageSizes.push(page.length);
    const next = res.headers.get(headerName);
    if (!next) return { entries, nextUris, pageSizes };
    if (nextUris.length > 1000) throw new Error('too many pages');
    nextUris.push(next);
    res = await client.fetchUrl(`${next}&PublisherIdentifier=${TENANT}`);
  }
}

export const iso = (ms: number) => new Date(ms).toISOString();
export const window = (start: number, end: number) => `startTime=${iso(start)}&endTime=${iso(end)}`;
