import { defineConfig } from 'vitest/config';

// Two projects: `unit` needs no network and no child process; `integration` runs the real Azure SDK
// clients against local stand-ins (Azurite, the simulated tenant, the test Event Hubs broker) that
// its global setup starts and stops. `npm test` runs both.
export default defineConfig({
  test: {
    pool: 'forks',
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
