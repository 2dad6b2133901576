import { app } from '@azure/functions';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { forwarderTrigger, loadConfig } from '../../../shared/config.js';
import { baseEnv as env, problemsOf } from '../../fakes/configEnv.js';

const RULE = 'dcr-0123456789abcdef0123456789abcdef';
const ENDPOINT = 'https://m365-audit-dce-ab12.westeurope-1.ingest.monitor.azure.com';

describe('forwarder settings (LOGS_INGESTION_*)', () => {
  it('leaves the forwarder off when LOGS_INGESTION_ENDPOINT is unset', () => {
    expect(loadConfig(env()).logsIngestion).toBeUndefined();
    expect(forwarderTrigger(env())).toBeUndefined();
    expect(forwarderTrigger(env({ LOGS_INGESTION_ENDPOINT: '  ' }))).toBeUndefined();
  });

  it('reads endpoint, rule, stream and consumer group, with the defaults and the cloud\'s audience', () => {
    expect(loadConfig(env({ LOGS_INGESTION_ENDPOINT: ENDPOINT, LOGS_INGESTION_RULE_ID: RULE })).logsIngestion).toEqual({
      endpoint: ENDPOINT,
      ruleId: RULE,
      streamName: 'Custom-M365AuditEvents',
      consumerGroup: 'logs-ingestion',
      audience: 'https://monitor.azure.com',
    });
    const gov = loadConfig(env({ LOGS_INGESTION_ENDPOINT: 'https://dce.usgovvirginia-1.ingest.monitor.azure.us', LOGS_INGESTION_RULE_ID: RULE, LOGS_INGESTION_CONSUMER_GROUP: 'fwd' }));
    expect(gov.logsIngestion).toMatchObject({ audience: 'https://monitor.azure.us', consumerGroup: 'fwd' });
    expect(forwarderTrigger(env({ LOGS_INGESTION_ENDPOINT: ENDPOINT, LOGS_INGESTION_CONSUMER_GROUP: 'fwd' }))).toEqual({ consumerGroup: 'fwd' });
  });

  it('names each mistake without echoing the value', () => {
    const badEndpoint = 'https://user:SuperSecret123@dce.example.com';
    const problems = problemsOf(env({ LOGS_INGESTION_ENDPOINT: badEndpoint, LOGS_INGESTION_RULE_ID: '/subscriptions/x/resourceGroups/y/providers/Microsoft.Insights/dataCollectionRules/z' }));
    expect(problems.some((p) => p.startsWith('LOGS_INGESTION_RULE_ID: expected the rule\'s immutable ID'))).toBe(true);
    expect(problemsOf(env({ LOGS_INGESTION_RULE_ID: RULE }))).toEqual([expect.stringMatching(/^LOGS_INGESTION_RULE_ID: set, but LOGS_INGESTION_ENDPOINT is not/)]);
    expect(problemsOf(env({ LOGS_INGESTION_ENDPOINT: ENDPOINT }))).toEqual([expect.stringMatching(/^LOGS_INGESTION_RULE_ID: required with LOGS_INGESTION_ENDPOINT/)]);
    expect(problemsOf(env({ LOGS_INGESTION_ENDPOINT: ENDPOINT, LOGS_INGESTION_RULE_ID: RULE, LOGS_INGESTION_STREAM: 'M365' }))).toEqual([
      expect.stringMatching(/^LOGS_INGESTION_STREAM: expected a custom stream name/),
    ]);
    for (const p of problems.filter((p) => p.startsWith('LOGS_INGESTION_RULE_ID'))) expect(p).not.toContain('/subscriptions/x');
  });
});

describe('forwardToLogAnalytics registration', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.restoreAllMocks();
    vi.resetModules();
  });

  it('is not registered without LOGS_INGESTION_ENDPOINT', async () => {
    vi.stubEnv('LOGS_INGESTION_ENDPOINT', '');
    const eventHub = vi.spyOn(app, 'eventHub').mockImplementation(() => undefined);
    await import('../../../functions/forwardToLogAnalytics.js');
    expect(eventHub).not.toHaveBeenCalled();
  });

  it('reads the hub with the identity-based EVENTHUB_CONNECTION, its own consumer group, in batches, retrying a failed batch until it succeeds', async () => {
    vi.stubEnv('LOGS_INGESTION_ENDPOINT', ENDPOINT);
    vi.stubEnv('LOGS_INGESTION_CONSUMER_GROUP', 'logs-ingestion');
    const eventHub = vi.spyOn(app, 'eventHub').mockImplementation(() => undefined);
    await import('../../../functions/forwardToLogAnalytics.js');
    expect(eventHub).toHaveBeenCalledWith(
      'forwardToLogAnalytics',
      expect.objectContaining({
        connection: 'EVENTHUB_CONNECTION',
        eventHubName: '%EVENTHUB_NAME%',
        consumerGroup: 'logs-ingestion',
        cardinality: 'many',
        retry: expect.objectContaining({ strategy: 'exponentialBackoff', maxRetryCount: -1 }),
      }),
    );
  });
});
