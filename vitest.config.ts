import { defineConfig } from 'vitest/config';
import { ensureLocalPki, writeTrustBundle } from './tools/local/localPki.js';

// Two projects: `unit` needs no network and no child process; `integration` runs the real Azure SDK
// clients against local stand-ins (Azurite, the simulated tenant, the test Event Hubs broker) that
// its global setup starts and stops. `npm test` runs both.
//
// The stand-ins serve TLS with a certificate generated on this machine (.local/pki, made here on the
// first run). The test processes trust its CA through NODE_EXTRA_CA_CERTS, set for the forked workers
// (Node reads it only at process start) to a bundle of the user's own NODE_EXTRA_CA_CERTS plus that CA.
const trust = writeTrustBundle(await ensureLocalPki());

export default defineConfig({
  test: {
    pool: 'forks',
    env: { NODE_EXTRA_CA_CERTS: trust },
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/integration/globalSetup.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
