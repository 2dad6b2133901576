import { ManagedIdentityCredential, type AccessToken, type TokenCredential } from '@azure/identity';
import { SecretClient } from '@azure/keyvault-secrets';
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { signHs256Jwt } from '../../../tools/standins/jwt.js';
import { startKeyVaultStandIn, type KeyVaultStandIn } from '../../../tools/standins/keyVault.js';
import { startManagedIdentityStandIn, type ManagedIdentityStandIn } from '../../../tools/standins/managedIdentity.js';
import { pointManagedIdentityAt, serverTls } from './helpers.js';

const TENANT = '0a9b8c7d-6e5f-4a3b-9c2d-1e0f9a8b7c6d';
const AUTHORITY = 'https://login.microsoftonline.com';

let mi: ManagedIdentityStandIn;
let vault: KeyVaultStandIn;
let client: SecretClient;
let restoreEnv: () => void;

beforeAll(async () => {
  mi = await startManagedIdentityStandIn({ tenantId: TENANT });
  vault = await startKeyVaultStandIn({ tls: serverTls, tenantId: TENANT, authorityHost: AUTHORITY, signingKey: mi.signingKey });
  restoreEnv = pointManagedIdentityAt(mi);
  client = clientWith(new ManagedIdentityCredential({ retryOptions: { maxRetries: 0 } }));
});
afterEach(() => vault.setAvailability('up'));
afterAll(async () => {
  restoreEnv();
  await Promise.all([vault.close(), mi.close()]);
});

function clientWith(credential: TokenCredential): SecretClient {
  return new SecretClient(vault.url, credential, { disableChallengeResourceVerification: true, retryOptions: { maxRetries: 0 } });
}

/** A credential that hands out a token signed with `key` (default: the identity stand-in's), with these claims changed. */
function forgedCredential(overrides: Record<string, unknown>, key: Buffer = mi.signingKey): TokenCredential {
  return {
    getToken: async (): Promise<AccessToken> => {
      const now = Math.floor(Date.now() / 1000);
      const claims = { aud: 'https://vault.azure.net', iss: `https://sts.windows.net/${TENANT}/`, tid: TENANT, appid: 'forged', oid: 'forged', iat: now, nbf: now, exp: now + 3600, ...overrides };
      return { token: signHs256Jwt(claims, key), expiresOnTimestamp: Date.now() + 3_600_000 };
    },
  };
}

describe('SecretClient with ManagedIdentityCredential against the Key Vault stand-in', () => {
  it('completes the challenge with a managed identity token and reads the secret', async () => {
    const version = vault.setSecret('api-client-secret', 's3cr3t-value-1', { contentType: 'text/plain' });

    const secret = await client.getSecret('api-client-secret');

    expect(secret.value).toBe('s3cr3t-value-1');
    expect(secret.properties).toMatchObject({ name: 'api-client-secret', version, vaultUrl: vault.url, contentType: 'text/plain', enabled: true, recoverableDays: 90 });
    expect(secret.properties.id).toBe(`${vault.url}/secrets/api-client-secret/${version}`);
    expect(version).toMatch(/^[0-9a-f]{32}$/);
    // Epoch seconds on the wire become whole-second Dates.
    expect(secret.properties.createdOn).toBeInstanceOf(Date);
    expect((secret.properties.createdOn?.getTime() ?? NaN) % 1000).toBe(0);
    expect(secret.properties.updatedOn).toEqual(secret.properties.createdOn);
    // The challenge's resource became the token request of the managed identity endpoint.
    expect(mi.requests()).toContainEqual({ resource: 'https://vault.azure.net' });
    expect(vault.reads('api-client-secret')).toBe(1);
  });

  it('answers a request without a token with 401 and the challenge', async () => {
    const res = await fetch(`${vault.url}/secrets/api-client-secret/?api%2Dversion=2025-07-01`);

    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe(`Bearer authorization="${AUTHORITY}/${TENANT}", resource="https://vault.azure.net"`);
    expect(await res.json()).toMatchObject({ error: { code: 'Unauthorized' } });
  });

  it('returns the newest value after a rotation, and older versions by id', async () => {
    const v1 = vault.setSecret('rotated', 'first value');
    const v2 = vault.setSecret('rotated', 'second value');

    const latest = await client.getSecret('rotated');
    expect(latest.value).toBe('second value');
    expect(latest.properties.version).toBe(v2);
    expect((await client.getSecret('rotated', { version: v1 })).value).toBe('first value');
  });

  it('stores a secret written through setSecret (PUT) as a new version', async () => {
    const written = await client.setSecret('written-by-sdk', 'put value', { contentType: 'application/x-pem-file', tags: { owner: 'tests' } });
    const read = await client.getSecret('written-by-sdk');

    expect(read.value).toBe('put value');
    expect(read.properties).toMatchObject({ version: written.properties.version, contentType: 'application/x-pem-file', tags: { owner: 'tests' } });
  });

  it('matches secret names case-insensitively and keeps the casing they were created with', async () => {
    const version = vault.setSecret('Tenant-Cert', 'pem');

    const secret = await client.getSecret('tenant-cert');

    expect(secret.value).toBe('pem');
    expect(secret.properties.id).toBe(`${vault.url}/secrets/Tenant-Cert/${version}`);
    expect(vault.reads('TENANT-CERT')).toBe(1);
  });

  it('reports a missing secret as 404 SecretNotFound', async () => {
    await expect(client.getSecret('does-not-exist')).rejects.toMatchObject({ statusCode: 404, code: 'SecretNotFound' });
  });

  it('refuses a disabled secret with 403 Forbidden / SecretDisabled', async () => {
    vault.setSecret('switched-off', 'hidden', { enabled: false });
    const before = vault.reads();

    await expect(client.getSecret('switched-off')).rejects.toMatchObject({
      statusCode: 403,
      code: 'Forbidden',
      details: { error: { innerError: { code: 'SecretDisabled' } } },
    });
    expect(vault.reads()).toBe(before);
  });

  it("answers 403 ForbiddenByRbac when 'forbidden'", async () => {
    vault.setSecret('rbac-guarded', 'value');
    vault.setAvailability('forbidden');

    await expect(client.getSecret('rbac-guarded')).rejects.toMatchObject({
      statusCode: 403,
      code: 'Forbidden',
      details: { error: { innerError: { code: 'ForbiddenByRbac' } } },
    });
  });

  it("fails with a network error while 'down', and serves again once 'up'", async () => {
    vault.setSecret('flaky', 'value');
    vault.setAvailability('down');

    const error: unknown = await client.getSecret('flaky').then(() => undefined, (e: unknown) => e);
    expect(error).toMatchObject({ name: 'RestError' });
    expect((error as { statusCode?: number }).statusCode).toBeUndefined();

    vault.setAvailability('up');
    expect((await client.getSecret('flaky')).value).toBe('value');
  });

  it.each([
    ['a wrong audience', { aud: 'https://storage.azure.com' }, undefined, /AKV10022: Invalid audience/],
    ['another tenant', { iss: 'https://sts.windows.net/11111111-2222-4333-8444-555555555555/' }, undefined, /AKV10032: Invalid issuer/],
    ['an expired token', { exp: Math.floor(Date.now() / 1000) - 60 }, undefined, /expired/],
    ['a foreign signing key', {}, randomBytes(32), /signature is invalid/],
  ])('refuses a token with %s (401)', async (_label, overrides, key, message) => {
    vault.setSecret('guarded', 'value');
    const before = vault.reads();

    const attempt = clientWith(forgedCredential(overrides, key)).getSecret('guarded');

    await expect(attempt).rejects.toMatchObject({ statusCode: 401, code: 'Unauthorized' });
    await expect(attempt).rejects.toThrow(message);
    expect(vault.reads()).toBe(before);
  });
});
