import { ManagedIdentityCredential } from '@azure/identity';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { KeyVaultSecretProvider } from '../../../shared/adapters/keyVault/secretProviders.js';
import { PermanentError, TransientError } from '../../../shared/core/errors.js';
import { startKeyVaultStandIn, type KeyVaultStandIn } from '../../../tools/standins/keyVault.js';
import { startManagedIdentityStandIn, type ManagedIdentityStandIn } from '../../../tools/standins/managedIdentity.js';
import { pointManagedIdentityAt, serverTls } from './helpers.js';

const TENANT = '5e4d3c2b-1a09-4f8e-9d7c-6b5a4f3e2d1c';
const TTL_MS = 10 * 60_000;

let mi: ManagedIdentityStandIn;
let vault: KeyVaultStandIn;
let restoreEnv: () => void;
let clock: number;
let provider: KeyVaultSecretProvider;

beforeAll(async () => {
  mi = await startManagedIdentityStandIn({ tenantId: TENANT });
  vault = await startKeyVaultStandIn({ tls: serverTls, tenantId: TENANT, authorityHost: 'https://login.microsoftonline.com', signingKey: mi.signingKey });
  restoreEnv = pointManagedIdentityAt(mi);
  clock = Date.UTC(2025, 0, 15, 8, 0, 0);
  provider = new KeyVaultSecretProvider({ vaultUrl: vault.url, credential: new ManagedIdentityCredential(), ttlInMs: TTL_MS, now: () => clock });
});
afterEach(() => vault.setAvailability('up'));
afterAll(async () => {
  restoreEnv();
  await Promise.all([vault.close(), mi.close()]);
});

/** The rejection of `promise`, which must reject. */
async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (err: unknown) => err,
  );
}

describe('KeyVaultSecretProvider against the Key Vault stand-in (managed identity credential)', () => {
  it('reads a secret once and serves it from memory within the TTL, then reads it again', async () => {
    vault.setSecret('o365-client-secret', 'first-secret');

    expect(await provider.get('o365-client-secret')).toBe('first-secret');
    expect(vault.reads('o365-client-secret')).toBe(1);

    clock += TTL_MS - 1;
    expect(await provider.get('o365-client-secret')).toBe('first-secret');
    expect(vault.reads('o365-client-secret')).toBe(1);

    clock += 1;
    expect(await provider.get('o365-client-secret')).toBe('first-secret');
    expect(vault.reads('o365-client-secret')).toBe(2);
  });

  it('keeps serving the cached value after a rotation until refresh: true re-reads it', async () => {
    vault.setSecret('rotating-secret', 'before-rotation');
    expect(await provider.get('rotating-secret')).toBe('before-rotation');

    vault.setSecret('rotating-secret', 'after-rotation');
    expect(await provider.get('rotating-secret')).toBe('before-rotation');
    expect(vault.reads('rotating-secret')).toBe(1);

    expect(await provider.get('rotating-secret', { refresh: true })).toBe('after-rotation');
    expect(vault.reads('rotating-secret')).toBe(2);
    // The refreshed value is what the cache serves from then on.
    expect(await provider.get('rotating-secret')).toBe('after-rotation');
    expect(vault.reads('rotating-secret')).toBe(2);
  });

  it('reports a missing secret as permanent CredentialRejected (404)', async () => {
    const error = await rejectionOf(provider.get('never-created'));

    expect(error).toBeInstanceOf(PermanentError);
    expect(error).toMatchObject({ code: 'CredentialRejected', httpStatus: 404 });
  });

  it('reports an unreachable vault as transient SecretUnavailable', async () => {
    vault.setSecret('while-down', 'value');
    vault.setAvailability('down');

    const error = await rejectionOf(provider.get('while-down'));

    expect(error).toBeInstanceOf(TransientError);
    expect(error).toMatchObject({ code: 'SecretUnavailable', httpStatus: undefined });
    expect(vault.reads('while-down')).toBe(0);
  });

  it('reports a missing role assignment as permanent PermissionMissing (403)', async () => {
    vault.setSecret('not-granted', 'value');
    vault.setAvailability('forbidden');

    const error = await rejectionOf(provider.get('not-granted'));

    expect(error).toBeInstanceOf(PermanentError);
    expect(error).toMatchObject({ code: 'PermissionMissing', httpStatus: 403 });
  });

  it("gives up on a slow vault when the caller's signal aborts, as transient SecretUnavailable", async () => {
    vault.setSecret('slow-secret', 'value');
    vault.setAvailability('slow');

    // The vault holds the request for 5 s; the caller's deadline ends the wait long before that.
    const error = await rejectionOf(provider.get('slow-secret', { abortSignal: AbortSignal.timeout(250) }));

    expect(error).toBeInstanceOf(TransientError);
    expect(error).toMatchObject({ code: 'SecretUnavailable' });
    expect(vault.reads('slow-secret')).toBe(0);
  });

  it('reports a disabled secret as CredentialRejected, not as a missing role', async () => {
    vault.setSecret('disabled-secret', 'value', { enabled: false });
    const error = await rejectionOf(provider.get('disabled-secret'));
    expect(error).toMatchObject({ code: 'CredentialRejected', retryable: false });
    expect((error as Error).message).toMatch(/is disabled/);
  });

  it('makes one request for concurrent cold reads of the same secret', async () => {
    vault.setSecret('popular-secret', 'value');
    const values = await Promise.all(Array.from({ length: 5 }, () => provider.get('popular-secret')));
    expect(values).toEqual(['value', 'value', 'value', 'value', 'value']);
    expect(vault.reads('popular-secret')).toBe(1);
  });
});
