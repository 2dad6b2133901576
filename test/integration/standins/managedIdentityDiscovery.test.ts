import { ManagedIdentityCredential } from '@azure/identity';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startManagedIdentityStandIn, type ManagedIdentityStandIn } from '../../../tools/standins/managedIdentity.js';
import { pointManagedIdentityAt } from './helpers.js';

// This file holds the first managed identity token request of its worker process (vitest runs each
// test file in its own process), which is what the discovery behaviour below depends on.

let first: ManagedIdentityStandIn;
let second: ManagedIdentityStandIn;
const restores: (() => void)[] = [];

beforeAll(async () => {
  first = await startManagedIdentityStandIn();
  second = await startManagedIdentityStandIn();
});
afterAll(async () => {
  for (const restore of restores.reverse()) restore();
  await Promise.all([first.close(), second.close()]);
});

it('reads IDENTITY_ENDPOINT/IDENTITY_HEADER at the first token request, then keeps that endpoint and pipeline for the process', async () => {
  // 1. Nothing is read at construction: the variables are unset here and set only before getToken.
  const previous = { IDENTITY_ENDPOINT: process.env.IDENTITY_ENDPOINT, IDENTITY_HEADER: process.env.IDENTITY_HEADER };
  delete process.env.IDENTITY_ENDPOINT;
  delete process.env.IDENTITY_HEADER;
  restores.push(() => {
    for (const [name, value] of Object.entries(previous)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });
  const early = new ManagedIdentityCredential({ retryOptions: { maxRetries: 0 } });
  restores.push(pointManagedIdentityAt(first));
  await early.getToken('https://vault.azure.net/.default');
  expect(first.requests()).toEqual([{ resource: 'https://vault.azure.net' }]);

  // 2. Later changes are ignored: a new credential, after the variables moved to another endpoint, still
  //    calls the first one.
  restores.push(pointManagedIdentityAt(second));
  await new ManagedIdentityCredential().getToken('https://storage.azure.com/.default');
  expect(first.requests()).toEqual([{ resource: 'https://vault.azure.net' }, { resource: 'https://storage.azure.com' }]);
  expect(second.requests()).toEqual([]);

  // 3. The HTTP pipeline is the first credential's too: retry options of a later credential do not apply
  //    (the first one allowed no retries, so a 503 is asked exactly once).
  first.setFailure('unavailable');
  await expect(
    new ManagedIdentityCredential({ retryOptions: { maxRetries: 3, retryDelayInMs: 1 } }).getToken('https://management.azure.com/.default'),
  ).rejects.toThrow(/temporarily unavailable/);
  expect(first.requests().filter((r) => r.resource === 'https://management.azure.com')).toHaveLength(1);
});
