import { readFileSync } from 'node:fs';
import type { ManagedIdentityStandIn } from '../../../tools/standins/managedIdentity.js';

/** The committed test server certificate (CN/SAN localhost and 127.0.0.1), trusted through NODE_EXTRA_CA_CERTS. */
export const serverTls = {
  cert: readFileSync(new URL('../../certs/server.pem', import.meta.url)),
  key: readFileSync(new URL('../../certs/server.key', import.meta.url)),
};

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
