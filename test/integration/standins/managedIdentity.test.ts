import { ManagedIdentityCredential } from '@azure/identity';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyHs256Jwt } from '../../../tools/standins/jwt.js';
import { startManagedIdentityStandIn, type ManagedIdentityStandIn } from '../../../tools/standins/managedIdentity.js';
import { pointManagedIdentityAt } from './helpers.js';

const TENANT = '6f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f';
const UAMI = { clientId: '2b7e151e-28ae-4d2a-a6f7-15881f9c4f3c', principalId: 'c1a2b3c4-d5e6-4f70-8192-a3b4c5d6e7f8' };

let mi: ManagedIdentityStandIn;
let restoreEnv: () => void;

beforeAll(async () => {
  mi = await startManagedIdentityStandIn({ tenantId: TENANT, identities: [UAMI] });
  restoreEnv = pointManagedIdentityAt(mi);
});
afterAll(async () => {
  restoreEnv();
  await mi.close();
});

// MSAL keeps the HTTP pipeline of the first credential that asks for a token in this process, so every
// credential here is built with the same options to keep the behaviour independent of test order.
const credential = (clientId?: string) => new ManagedIdentityCredential({ ...(clientId ? { clientId } : {}), retryOptions: { maxRetries: 0 } });

function claimsOf(token: string): Readonly<Record<string, unknown>> {
  const verified = verifyHs256Jwt(token, mi.signingKey);
  if (!verified.ok) throw new Error(`token does not verify with the stand-in's key: ${verified.reason}`);
  return verified.claims;
}

const newRequests = (before: number) => mi.requests().slice(before);

describe('ManagedIdentityCredential against the managed identity stand-in', () => {
  it('gets a system-assigned token whose claims name the resource, tenant and identity', async () => {
    const before = mi.requests().length;
    const token = await credential().getToken('https://vault.azure.net/.default');

    expect(newRequests(before)).toEqual([{ resource: 'https://vault.azure.net' }]);
    const claims = claimsOf(token.token);
    expect(claims).toMatchObject({
      aud: 'https://vault.azure.net',
      iss: `https://sts.windows.net/${TENANT}/`,
      tid: TENANT,
      oid: mi.systemIdentity.principalId,
      appid: mi.systemIdentity.clientId,
      idtyp: 'app',
    });
    expect(Number(claims.exp) - Number(claims.iat)).toBe(24 * 3600);
    expect(claims.nbf).toBe(claims.iat);
    // The credential's expiry comes from the string expires_on (epoch seconds) of the reply.
    expect(Math.abs(token.expiresOnTimestamp - Number(claims.exp) * 1000)).toBeLessThanOrEqual(2000);
    expect(token.tokenType).toBe('Bearer');
  });

  it('sends client_id for a user-assigned identity and gets that identity in the token', async () => {
    const before = mi.requests().length;
    const token = await credential(UAMI.clientId).getToken('https://storage.azure.com/.default');

    expect(newRequests(before)).toEqual([{ resource: 'https://storage.azure.com', clientId: UAMI.clientId }]);
    expect(claimsOf(token.token)).toMatchObject({ aud: 'https://storage.azure.com', tid: TENANT, oid: UAMI.principalId, appid: UAMI.clientId });
  });

  it('serves a token already held for that identity and resource from the process-wide cache, even to a new credential', async () => {
    const first = await credential(UAMI.clientId).getToken('https://eventhubs.azure.net/.default');
    const before = mi.requests().length;
    const second = await credential(UAMI.clientId).getToken('https://eventhubs.azure.net/.default');

    expect(second.token).toBe(first.token);
    expect(newRequests(before)).toEqual([]);
  });

  it('fails clearly for a client id that is not attached to the app', async () => {
    const before = mi.requests().length;
    const attempt = credential('0d0e0f10-1112-4314-9516-171819202122').getToken('https://vault.azure.net/.default');

    await expect(attempt).rejects.toMatchObject({ name: 'CredentialUnavailableError' });
    await expect(attempt).rejects.toThrow(/Unable to load the proper Managed Identity/);
    expect(newRequests(before)).toEqual([{ resource: 'https://vault.azure.net', clientId: '0d0e0f10-1112-4314-9516-171819202122' }]);
  });

  it("surfaces an 'unavailable' endpoint as an error, and works again once it is back", async () => {
    const before = mi.requests().length;
    mi.setFailure('unavailable');
    try {
      await expect(credential().getToken('https://management.azure.com/.default')).rejects.toThrow(/temporarily unavailable/);
      expect(newRequests(before).length).toBeGreaterThanOrEqual(1);
      expect(newRequests(before).every((r) => r.resource === 'https://management.azure.com')).toBe(true);
    } finally {
      mi.setFailure('none');
    }
    const token = await credential().getToken('https://management.azure.com/.default');
    expect(claimsOf(token.token).aud).toBe('https://management.azure.com');
  });
});

describe('the endpoint protocol', () => {
  const tokenUrl = (query: string) => `${mi.endpoint}?${query}`;

  it('answers like App Service: expires_on as a string of epoch seconds, resource, client_id', async () => {
    const res = await fetch(tokenUrl('api-version=2019-08-01&resource=https%3A%2F%2Fvault.azure.net'), { headers: { 'x-identity-header': mi.header } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ resource: 'https://vault.azure.net', token_type: 'Bearer', client_id: mi.systemIdentity.clientId });
    expect(body.expires_on).toMatch(/^\d{10}$/);
    expect(claimsOf(String(body.access_token)).exp).toBe(Number(body.expires_on));
  });

  it('refuses requests without the identity header (400) or with another value (401), without recording them', async () => {
    const before = mi.requests().length;
    const url = tokenUrl('api-version=2019-08-01&resource=https%3A%2F%2Fvault.azure.net');
    expect((await fetch(url)).status).toBe(400);
    expect((await fetch(url, { headers: { 'x-identity-header': 'not-the-header' } })).status).toBe(401);
    expect(newRequests(before)).toEqual([]);
  });

  it('refuses another api-version, a missing resource and identity selectors it cannot resolve', async () => {
    const headers = { 'x-identity-header': mi.header };
    const statusOf = async (query: string) => (await fetch(tokenUrl(query), { headers })).status;
    expect(await statusOf('api-version=2017-09-01&resource=https%3A%2F%2Fvault.azure.net')).toBe(400);
    expect(await statusOf('api-version=2019-08-01')).toBe(400);
    expect(await statusOf(`api-version=2019-08-01&resource=https%3A%2F%2Fvault.azure.net&principal_id=${UAMI.principalId}`)).toBe(400);
  });
});
