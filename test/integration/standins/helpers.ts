import { localServerTls } from '../../../tools/local/localPki.js';
import type { ManagedIdentityStandIn } from '../../../tools/standins/managedIdentity.js';

/** The stand-ins' server certificate (SAN localhost, 127.0.0.1), generated at test setup; the test runner trusts its CA. */
export const serverTls = localServerTls();

/**
 * Points managed identity discovery at the stand-in (the two variables App Service sets) and returns
 * the function that restores the previous environment.
 */
export function pointManagedIdentityAt(mi: ManagedIdentityStandIn): () => void {
  const previous = { IDENTITY_ENDPOINT: process.env.IDENTITY_ENDPOINT, IDENTITY_HEADER: process.env.IDENTITY_HEADER };
  process.env.IDENTITY_ENDPOINT = mi.endpoint;
  process.env.IDENTITY_HEADER = mi.header;
  return () => {
    for (const [name, value] of Object.entries(previous)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
}
