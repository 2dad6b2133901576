import { expect } from 'vitest';
import { ConfigError, loadConfig } from '../../shared/config.js';

/** The tenant and app of the configuration tests' environment. */
export const TENANT = '8f0a1c2d-3b4e-4f56-8a9b-0c1d2e3f4a5b';
export const APP = '1d2c3b4a-5f6e-4a7b-9c8d-7e6f5a4b3c2d';

/** The fewest settings loadConfig accepts (one tenant with a client secret, development storage, the Event Hubs emulator), then `overrides`. */
export function baseEnv(overrides: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return {
    O365_TENANTS: JSON.stringify([{ tenantId: TENANT, clientId: APP, credential: { type: 'secret', secretName: 'CONTOSO_SECRET' } }]),
    CONTOSO_SECRET: 'not-a-real-secret',
    AzureWebJobsStorage: 'UseDevelopmentStorage=true',
    EVENTHUB_CONNECTION: 'Endpoint=sb://localhost:5672;SharedAccessKeyName=k;SharedAccessKey=v;UseDevelopmentEmulator=true',
    EVENTHUB_NAME: 'm365-audit',
    ...overrides,
  };
}

/** The problems of the ConfigError loadConfig(env) throws; fails the test when it throws anything else or nothing. */
export function problemsOf(env: Record<string, string | undefined>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return [...(err as ConfigError).problems];
  }
  throw new Error('expected loadConfig to throw');
}
