import { createHash, createSign, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ClientCertificateCredential, ClientSecretCredential } from '@azure/identity';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { SimTenant } from '../../../tools/standins/simTenant/index.js';
import { CLIENT_CERT_PEM, CLIENT_ID, HOUR, OTHER_TENANT, SECRET, TENANT, certFile, claimsOf, feedClient, startSim, tenantSpec, tokenFor, afError } from './helpers.js';

const SCOPE = 'https://manage.office.com/.default';
const READONLY_APP = '9f8e7d6c-5b4a-4c3d-9e2f-1a0b9c8d7e6f';

let sim: SimTenant;
const options = () => ({ authorityHost: sim.url, disableInstanceDiscovery: true });

beforeAll(async () => {
  sim = await startSim({
    tenants: [
      tenantSpec({ apps: [{ clientId: CLIENT_ID, secret: SECRET, certificatePem: CLIENT_CERT_PEM }, { clientId: READONLY_APP, secret: 'other-secret', roles: ['ServiceHealth.Read'] }] }),
      tenantSpec({}, OTHER_TENANT),
    ],
  });
});
afterAll(() => sim.close());

/** A hand-made client assertion signed with the registered client key (RS256 + x5t unless told otherwise). */
function assertion(overrides: { header?: Record<string, unknown>; payload?: Record<string, unknown> } = {}): string {
  const der = new X509Certificate(CLIENT_CERT_PEM).raw;
  const now = Math.floor(Date.now() / 1000);
  const header = { alg: 'RS256', typ: 'JWT', x5t: createHash('sha1').update(der).digest('base64url'), ...overrides.header };
  const payload = { aud: `${sim.url}/${TENANT}/oauth2/token`, iss: CLIENT_ID, sub: CLIENT_ID, jti: 'a1', nbf: now, exp: now + 600, ...overrides.payload };
  const input = `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
  const signature = createSign('RSA-SHA256').update(input).sign(readFileSync(certFile('client.key'))).toString('base64url');
  return `${input}.${signature}`;
}

function postAssertion(jwt: string) {
  return fetch(`${sim.url}/${TENANT}/oauth2/token`, {
    method: 'POST',
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: CLIENT_ID,
      resource: 'https://manage.office.com',
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: jwt,
    }),
  });
}

describe('token endpoint with the real @azure/identity', () => {
  it('ClientSecretCredential gets a one-hour app token whose claims the API expects, and the API accepts it', async () => {
    const token = await new ClientSecretCredential(TENANT, CLIENT_ID, SECRET, options()).getToken(SCOPE);
    const claims = claimsOf(token.token);
    expect(claims).toMatchObject({
      aud: 'https://manage.office.com',
      iss: `https://sts.windows.net/${TENANT}/`,
      tid: TENANT,
      appid: CLIENT_ID,
      appidacr: '1',
      roles: ['ActivityFeed.Read'],
    });
    expect(Number(claims.exp) - Number(claims.iat)).toBe(3600);
    expect(Number(claims.nbf)).toBe(Number(claims.iat));
    const res = await feedClient(sim, token.token).get('subscriptions/list');
    expect(res.status).toBe(200);
  });

  it('ClientCertificateCredential signs a PS256 assertion the endpoint verifies against the registered certificate', async () => {
    const token = await new ClientCertificateCredential(TENANT, CLIENT_ID, { certificatePath: certFile('client-combined.pem') }, options()).getToken(SCOPE);
    expect(claimsOf(token.token)).toMatchObject({ tid: TENANT, appid: CLIENT_ID, appidacr: '2', roles: ['ActivityFeed.Read'] });
  });

  it('rejects a wrong secret with AADSTS7000215', async () => {
    await expect(new ClientSecretCredential(TENANT, CLIENT_ID, 'not-the-secret', options()).getToken(SCOPE)).rejects.toThrow(/AADSTS7000215/);
  });

  it('rejects an app not consented in the tenant with AADSTS700016', async () => {
    await expect(new ClientSecretCredential(TENANT, '0a0b0c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d', SECRET, options()).getToken(SCOPE)).rejects.toThrow(/AADSTS700016/);
  });

  it('rejects an assertion signed by the unregistered rogue certificate with AADSTS700027', async () => {
    await expect(new ClientCertificateCredential(TENANT, CLIENT_ID, { certificatePath: certFile('rogue-combined.pem') }, options()).getToken(SCOPE)).rejects.toThrow(/AADSTS700027/);
  });

  it('after rotateSecret only the new secret works', async () => {
    const rotating = await startSim();
    try {
      rotating.rotateSecret(TENANT, CLIENT_ID, 'rotated-secret');
      const opts = { authorityHost: rotating.url, disableInstanceDiscovery: true };
      await expect(new ClientSecretCredential(TENANT, CLIENT_ID, SECRET, opts).getToken(SCOPE)).rejects.toThrow(/AADSTS7000215/);
      const token = await new ClientSecretCredential(TENANT, CLIENT_ID, 'rotated-secret', opts).getToken(SCOPE);
      expect(claimsOf(token.token).appid).toBe(CLIENT_ID);
    } finally {
      await rotating.close();
    }
  });
});

describe('token endpoint with plain HTTP', () => {
  it('serves the metadata MSAL needs, pointing at this server', async () => {
    const res = await fetch(`${sim.url}/${TENANT}/v2.0/.well-known/openid-configuration`);
    const doc = (await res.json()) as Record<string, string>;
    expect(doc.token_endpoint).toBe(`${sim.url}/${TENANT}/oauth2/v2.0/token`);
    expect(doc.authorization_endpoint).toBe(`${sim.url}/${TENANT}/oauth2/v2.0/authorize`);
    expect(doc.issuer).toBe(`${sim.url}/${TENANT}/v2.0`);
    expect(doc.jwks_uri).toMatch(/^https:\/\//);
  });

  it('v1 endpoint with HTTP Basic client auth answers with numbers as strings and the resource', async () => {
    const res = await fetch(`${sim.url}/${TENANT}/oauth2/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${CLIENT_ID}:${SECRET}`).toString('base64')}` },
      body: new URLSearchParams({ grant_type: 'client_credentials', resource: 'https://manage.office.com' }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ token_type: 'Bearer', expires_in: '3599', ext_expires_in: '3599', resource: 'https://manage.office.com' });
    expect(Number(body.expires_on) - Number(body.not_before)).toBe(3599);
    expect((await feedClient(sim, String(body.access_token)).get('subscriptions/list')).status).toBe(200);
  });

  it('v2 answers with numeric lifetimes', async () => {
    const res = await fetch(`${sim.url}/${TENANT}/oauth2/v2.0/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: CLIENT_ID, client_secret: SECRET, scope: SCOPE }),
    });
    expect(await res.json()).toMatchObject({ token_type: 'Bearer', expires_in: 3599, ext_expires_in: 3599 });
  });

  it('accepts an RS256 assertion with an x5t thumbprint and refuses wrong audience, issuer, expiry or signature', async () => {
    const ok = await postAssertion(assertion());
    expect(ok.status).toBe(200);
    expect(claimsOf(((await ok.json()) as { access_token: string }).access_token).appidacr).toBe('2');

    const now = Math.floor(Date.now() / 1000);
    const good = assertion();
    const bad = [
      assertion({ payload: { aud: `https://login.microsoftonline.com/${TENANT}/oauth2/token` } }),
      assertion({ payload: { iss: READONLY_APP } }),
      assertion({ payload: { exp: now - 60 } }),
      assertion({ header: { x5t: 'AAAA' } }),
      `${good.slice(0, good.lastIndexOf('.'))}.${Buffer.from('forged').toString('base64url')}`,
    ];
    for (const jwt of bad) {
      const res = await postAssertion(jwt);
      const body = (await res.json()) as { error: string; error_codes: number[] };
      expect({ status: res.status, error: body.error, codes: body.error_codes }).toEqual({ status: 401, error: 'invalid_client', codes: [700027] });
    }
  });

  it('answers errors in the Entra shape, echoing client-request-id as the correlation id', async () => {
    const res = await fetch(`${sim.url}/${TENANT}/oauth2/v2.0/token`, {
      method: 'POST',
      headers: { 'client-request-id': 'c0ffee00-1111-4222-8333-444455556666' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: CLIENT_ID, client_secret: 'wrong', scope: SCOPE }),
    });
    expect(res.status).toBe(401);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ error: 'invalid_client', error_codes: [7000215], correlation_id: 'c0ffee00-1111-4222-8333-444455556666' });
    expect(String(body.error_description)).toMatch(/^AADSTS7000215: Invalid client secret provided\./);
    expect(typeof body.trace_id).toBe('string');
    expect(typeof body.timestamp).toBe('string');
  });

  it('answers an unknown tenant with 400 invalid_request AADSTS90002', async () => {
    const res = await fetch(`${sim.url}/0f0e0d0c-0b0a-4909-8807-060504030201/oauth2/v2.0/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: CLIENT_ID, client_secret: SECRET, scope: SCOPE }),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: 'invalid_request', error_codes: [90002] });
  });

  it('requires a /.default scope on v2', async () => {
    const res = await fetch(`${sim.url}/${TENANT}/oauth2/v2.0/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: CLIENT_ID, client_secret: SECRET, scope: 'https://manage.office.com/ActivityFeed.Read' }),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: 'invalid_scope' });
  });
});

describe('bearer checks of the activity API', () => {
  it('answers 401 without an AF body for a missing, forged or foreign-server token', async () => {
    const other = await startSim();
    try {
      const foreign = await tokenFor(other);
      const good = await tokenFor(sim);
      const forged = `${good.split('.').slice(0, 2).join('.')}.${Buffer.from('x'.repeat(32)).toString('base64url')}`;
      const url = `${sim.url}/api/v1.0/${TENANT}/activity/feed/subscriptions/list`;
      const attempts: Record<string, string>[] = [{}, { authorization: `Bearer ${forged}` }, { authorization: `Bearer ${foreign}` }, { authorization: 'Basic abc' }];
      for (const headers of attempts) {
        const res = await fetch(url, { headers });
        expect(res.status).toBe(401);
        expect(await res.text()).toBe('');
      }
    } finally {
      await other.close();
    }
  });

  it('answers 401 once the token has expired (real clock)', async () => {
    const token = await tokenFor(sim);
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 2 * HOUR });
    try {
      expect((await feedClient(sim, token).get('subscriptions/list')).status).toBe(401);
    } finally {
      vi.useRealTimers();
    }
    expect((await feedClient(sim, token).get('subscriptions/list')).status).toBe(200);
  });

  it('refuses a token issued for another audience', async () => {
    const storageToken = await tokenFor(sim, TENANT, 'https://storage.azure.com/.default');
    expect(claimsOf(storageToken).aud).toBe('https://storage.azure.com');
    expect(claimsOf(storageToken).roles).toBeUndefined();
    expect((await feedClient(sim, storageToken).get('subscriptions/list')).status).toBe(401);
  });

  it('answers AF10001 (401) when the token lacks ActivityFeed.Read', async () => {
    const token = await tokenFor(sim, TENANT, 'https://manage.office.com/.default', READONLY_APP, 'other-secret');
    const err = await afError(await feedClient(sim, token).get('subscriptions/list'));
    expect(err).toMatchObject({ status: 401, code: 'AF10001' });
    expect(err.message).toContain('ServiceHealth.Read');
  });

  it('checks the URL tenant: AF20013 not a GUID, AF20011 unknown, AF20010 not the token tenant', async () => {
    const token = await tokenFor(sim);
    const at = (tenant: string) => fetch(`${sim.url}/api/v1.0/${tenant}/activity/feed/subscriptions/list`, { headers: { authorization: `Bearer ${token}` } });
    expect(await afError(await at('contoso.onmicrosoft.com'))).toMatchObject({ status: 400, code: 'AF20013' });
    expect(await afError(await at('0f0e0d0c-0b0a-4909-8807-060504030201'))).toMatchObject({ status: 400, code: 'AF20011' });
    const mismatch = await afError(await at(OTHER_TENANT));
    expect(mismatch).toMatchObject({ status: 401, code: 'AF20010' });
    expect(mismatch.message).toContain(TENANT);
  });
});
