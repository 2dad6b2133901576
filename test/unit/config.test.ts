import { describe, expect, it } from 'vitest';
import { loadConfig, SETTINGS } from '../../shared/config.js';
import { APP, baseEnv, problemsOf, TENANT } from '../fakes/configEnv.js';

describe('loadConfig', () => {
  it('applies the documented defaults and the commercial cloud profile', () => {
    const config = loadConfig(baseEnv());
    expect(config.contentQueueName).toBe('o365-content');
    expect(config.poll).toEqual({ schedule: '0 */5 * * * *', sweepSchedule: '0 30 * * * *', settleLagMinutes: 10, overlapMinutes: 120, initialLookbackHours: 24 });
    expect(config.ingest).toEqual({ maxEventBytes: 61440, partitionKeyMode: 'content', eventProfile: 'full' });
    expect(config.retry).toEqual({ initialSeconds: 30, maxSeconds: 3600 });
    expect(config.reconcile).toEqual({ schedule: '0 */15 * * * *', ledgerRetentionDays: 30 });
    expect(config.pollQueueName).toBe('o365-poll');
    const [tenant] = config.tenants;
    expect(tenant).toMatchObject({
      tenantId: TENANT,
      clientId: APP,
      name: TENANT,
      cloud: 'commercial',
      publisherIdentifier: TENANT,
      managementEndpoint: 'https://manage.office.com',
      authorityHost: 'https://login.microsoftonline.com',
      tokenScope: 'https://manage.office.com/.default',
    });
    expect(tenant?.contentTypes).toEqual(['Audit.AzureActiveDirectory', 'Audit.Exchange', 'Audit.SharePoint', 'Audit.General', 'DLP.All']);
    expect(config.localSecrets.get('CONTOSO_SECRET')).toBe('not-a-real-secret');
    expect(Object.isFrozen(config.poll)).toBe(true);
  });

  it.each([
    ['gcc', 'https://manage-gcc.office.com', 'https://login.microsoftonline.com'],
    ['gcchigh', 'https://manage.office365.us', 'https://login.microsoftonline.us'],
    ['dod', 'https://manage.protection.apps.mil', 'https://login.microsoftonline.us'],
  ])('resolves the %s cloud to its management and login hosts', (cloud, endpoint, authority) => {
    const env = baseEnv({
      O365_TENANTS: JSON.stringify([{ tenantId: TENANT, clientId: APP, cloud, credential: { type: 'secret', secretName: 'CONTOSO_SECRET' } }]),
    });
    const [tenant] = loadConfig(env).tenants;
    expect(tenant?.managementEndpoint).toBe(endpoint);
    expect(tenant?.authorityHost).toBe(authority);
    expect(tenant?.tokenScope).toBe(`${endpoint}/.default`);
  });

  it('lets the environment override hosts (trailing slash tolerated) while keeping the cloud token scope', () => {
    const config = loadConfig(baseEnv({ O365_MANAGEMENT_ENDPOINT: 'https://127.0.0.1:8443/', O365_AUTHORITY_HOST: 'https://localhost:9443' }));
    expect(config.tenants[0]).toMatchObject({
      managementEndpoint: 'https://127.0.0.1:8443',
      authorityHost: 'https://localhost:9443',
      tokenScope: 'https://manage.office.com/.default',
    });
  });

  it('reads tenant options: name, publisher id, content types, certificate and managed identity credentials', () => {
    const publisher = 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee';
    const second = '2a2a2a2a-2b2b-4c2c-8d2d-2e2e2e2e2e2e';
    const config = loadConfig(
      baseEnv({
        KEY_VAULT_URL: 'https://kv-audit.vault.azure.net/',
        O365_TENANTS: JSON.stringify([
          { tenantId: TENANT.toUpperCase(), clientId: APP, name: 'Contoso', publisherIdentifier: publisher, contentTypes: ['DLP.All'],
            credential: { type: 'certificate', secretName: 'contoso-cert', passwordSecretName: 'contoso-cert-password' } },
          { tenantId: second, cloud: 'gcchigh', credential: { type: 'managedIdentity' } },
        ]),
      }),
    );
    expect(config.keyVaultUrl).toBe('https://kv-audit.vault.azure.net');
    expect(config.localSecrets.size).toBe(0);
    expect(config.tenants[0]).toMatchObject({
      tenantId: TENANT,
      name: 'Contoso',
      publisherIdentifier: publisher,
      contentTypes: ['DLP.All'],
      credential: { type: 'certificate', secretName: 'contoso-cert', passwordSecretName: 'contoso-cert-password' },
    });
    expect(config.tenants[1]).toMatchObject({ tenantId: second, clientId: undefined, cloud: 'gcchigh', credential: { type: 'managedIdentity' } });
  });

  it('takes the hub name from EntityPath when EVENTHUB_NAME is absent', () => {
    const config = loadConfig(baseEnv({ EVENTHUB_NAME: undefined, EVENTHUB_CONNECTION: 'Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=s;SharedAccessKey=k;EntityPath=audit' }));
    expect(config.eventHub.name).toBe('audit');
  });

  it('accepts identity-based storage and Event Hubs settings', () => {
    const config = loadConfig(
      baseEnv({
        AzureWebJobsStorage: undefined,
        AzureWebJobsStorage__accountName: 'stauditprod',
        EVENTHUB_CONNECTION: undefined,
        EVENTHUB_CONNECTION__fullyQualifiedNamespace: 'evhns-audit.servicebus.windows.net',
        AZURE_CLIENT_ID: APP,
      }),
    );
    expect(config.storage.accountName).toBe('stauditprod');
    expect(config.eventHub).toEqual({ name: 'm365-audit', connectionString: undefined, fullyQualifiedNamespace: 'evhns-audit.servicebus.windows.net' });
    expect(config.managedIdentityClientId).toBe(APP);
  });

  it('reports every problem at once, each naming its setting and what is expected', () => {
    const problems = problemsOf({
      O365_TENANTS: JSON.stringify([
        { tenantId: 'contoso', cloud: 'china', credential: { type: 'password' }, extra: 1 },
        { tenantId: TENANT, credential: { type: 'secret', secretName: 'S1' } },
      ]),
      O365_CONTENT_TYPES: 'Audit.Exchange,audit.sharepoint',
      O365_MANAGEMENT_ENDPOINT: 'http://manage.office.com',
      CONTENT_QUEUE_NAME: 'Bad_Queue',
      POLL_SCHEDULE: '*/5 * * * *',
      SETTLE_LAG_MINUTES: '-1',
      INITIAL_LOOKBACK_HOURS: '200',
      MAX_EVENT_BYTES: '64k',
      PARTITION_KEY_MODE: 'random',
      AZURE_CLIENT_ID: 'not-a-guid',
    });
    const expected = [
      /^O365_TENANTS\[0\]\.extra: unknown key/,
      /^O365_TENANTS\[0\]\.tenantId: expected the tenant GUID, got "contoso"/,
      /^O365_TENANTS\[0\]\.cloud: expected one of commercial, gcc, gcchigh, dod, got "china"/,
      /^O365_TENANTS\[0\]\.credential\.type: expected .*got type "password"/,
      /^O365_TENANTS\[1\]\.clientId: required for a secret credential/,
      /^O365_CONTENT_TYPES: expected one or more of .*got "audit\.sharepoint"/,
      /^O365_MANAGEMENT_ENDPOINT: expected an https origin/,
      /^CONTENT_QUEUE_NAME: expected 3–57 lowercase/,
      /^POLL_SCHEDULE: expected an NCRONTAB expression with 6 fields/,
      /^SETTLE_LAG_MINUTES: expected a whole number from 0 to 720, got "-1"/,
      /^INITIAL_LOOKBACK_HOURS: expected a whole number from 1 to 167, got "200"/,
      /^MAX_EVENT_BYTES: expected a whole number from 1024 to 1000000, got "64k"/,
      /^PARTITION_KEY_MODE: expected one of content, tenant, none, got "random"/,
      /^AZURE_CLIENT_ID: expected the GUID/,
      /^AzureWebJobsStorage: required/,
      /^EVENTHUB_CONNECTION__fullyQualifiedNamespace: required/,
      /^EVENTHUB_NAME: required/,
    ];
    for (const pattern of expected) expect(problems.some((p) => pattern.test(p)), `missing ${pattern}`).toBe(true);
    expect(problems).toHaveLength(expected.length);
  });

  it('requires O365_TENANTS and explains its shape', () => {
    const problems = problemsOf(baseEnv({ O365_TENANTS: undefined }));
    expect(problems).toEqual([expect.stringMatching(/^O365_TENANTS: required; expected a JSON array of tenants/)]);
    expect(problemsOf(baseEnv({ O365_TENANTS: '{not json' }))).toEqual([expect.stringMatching(/^O365_TENANTS: .*not valid JSON/)]);
    expect(problemsOf(baseEnv({ O365_TENANTS: '[]' }))).toEqual(['O365_TENANTS: expected a non-empty JSON array of tenants']);
  });

  it('in local mode names the environment variable a tenant secret should come from, without printing values', () => {
    const problems = problemsOf(baseEnv({ CONTOSO_SECRET: '' }));
    expect(problems).toEqual([expect.stringMatching(/^CONTOSO_SECRET: tenant .* reads its credential from this environment variable/)]);
  });

  it('rejects a tenant listed twice and a malformed event hub connection string', () => {
    const tenants = JSON.stringify([
      { tenantId: TENANT, clientId: APP, credential: { type: 'secret', secretName: 'CONTOSO_SECRET' } },
      { tenantId: TENANT.toUpperCase(), clientId: APP, credential: { type: 'secret', secretName: 'CONTOSO_SECRET' } },
    ]);
    const problems = problemsOf(baseEnv({ O365_TENANTS: tenants, EVENTHUB_CONNECTION: 'HostName=x' }));
    expect(problems).toEqual([
      expect.stringMatching(/^O365_TENANTS\[1\]\.tenantId: tenant .* is listed twice/),
      expect.stringMatching(/^EVENTHUB_CONNECTION: expected an Event Hubs connection string/),
    ]);
  });

  it('never echoes a secret value in an error', () => {
    const secret = 'super-secret-value-123';
    try {
      loadConfig(baseEnv({ CONTOSO_SECRET: secret, EVENTHUB_NAME: 'bad name!' }));
      expect.unreachable();
    } catch (err) {
      expect(String(err)).not.toContain(secret);
    }
  });

  it('leaves Defender XDR off by default and resolves each cloud\'s Microsoft Graph endpoint and scope', () => {
    expect(loadConfig(baseEnv()).tenants[0]).toMatchObject({ defenderXdr: false, graphEndpoint: 'https://graph.microsoft.com', graphScope: 'https://graph.microsoft.com/.default' });
    const clouds = { commercial: 'https://graph.microsoft.com', gcc: 'https://graph.microsoft.com', gcchigh: 'https://graph.microsoft.us', dod: 'https://dod-graph.microsoft.us' };
    for (const [cloud, graph] of Object.entries(clouds)) {
      const env = baseEnv({ O365_TENANTS: JSON.stringify([{ tenantId: TENANT, clientId: APP, cloud, defenderXdr: true, credential: { type: 'secret', secretName: 'CONTOSO_SECRET' } }]) });
      expect(loadConfig(env).tenants[0], cloud).toMatchObject({ defenderXdr: true, graphEndpoint: graph, graphScope: `${graph}/.default` });
    }
  });

  it('overrides the Graph endpoint with GRAPH_ENDPOINT or a tenant\'s graphEndpoint (the tenant\'s wins), keeping the cloud\'s Graph scope', () => {
    const second = '2a2a2a2a-2b2b-4c2c-8d2d-2e2e2e2e2e2e';
    const config = loadConfig(
      baseEnv({
        GRAPH_ENDPOINT: 'https://127.0.0.1:8443/',
        O365_TENANTS: JSON.stringify([
          { tenantId: TENANT, clientId: APP, defenderXdr: true, credential: { type: 'secret', secretName: 'CONTOSO_SECRET' } },
          { tenantId: second, clientId: APP, cloud: 'gcchigh', defenderXdr: true, graphEndpoint: 'https://graph-proxy.contoso.example', credential: { type: 'secret', secretName: 'CONTOSO_SECRET' } },
        ]),
      }),
    );
    expect(config.tenants[0]).toMatchObject({ graphEndpoint: 'https://127.0.0.1:8443', graphScope: 'https://graph.microsoft.com/.default' });
    expect(config.tenants[1]).toMatchObject({ graphEndpoint: 'https://graph-proxy.contoso.example', graphScope: 'https://graph.microsoft.us/.default' });
  });

  it('reports Defender XDR problems together with every other one', () => {
    const problems = problemsOf(
      baseEnv({
        GRAPH_ENDPOINT: 'graph.microsoft.com',
        O365_TENANTS: JSON.stringify([
          { tenantId: TENANT, clientId: APP, defenderXdr: 'yes', credential: { type: 'secret', secretName: 'CONTOSO_SECRET' } },
          { tenantId: '2a2a2a2a-2b2b-4c2c-8d2d-2e2e2e2e2e2e', clientId: APP, graphEndpoint: 'http://graph.microsoft.com', credential: { type: 'secret', secretName: 'CONTOSO_SECRET' } },
        ]),
        SETTLE_LAG_MINUTES: 'soon',
      }),
    );
    expect(problems).toEqual([
      expect.stringMatching(/^GRAPH_ENDPOINT: expected an https URL/),
      'O365_TENANTS[0].defenderXdr: expected true or false (poll Defender XDR incidents and alerts), got "yes"',
      expect.stringMatching(/^O365_TENANTS\[1\]\.graphEndpoint: expected an https origin/),
      expect.stringMatching(/^SETTLE_LAG_MINUTES: expected a whole number/),
    ]);
  });

  it('allows a tenant 1,800 Management API requests a minute by default; TENANT_REQUESTS_PER_MINUTE sets it, never above the service\'s 2,000', () => {
    expect(loadConfig(baseEnv()).tenantRequestsPerMinute).toBe(1800);
    expect(loadConfig(baseEnv({ TENANT_REQUESTS_PER_MINUTE: '900' })).tenantRequestsPerMinute).toBe(900);
    expect(problemsOf(baseEnv({ TENANT_REQUESTS_PER_MINUTE: '2500' }))[0]).toMatch(/^TENANT_REQUESTS_PER_MINUTE/);
  });

  it('shares each tenant\'s request budget across instances by default; SHARED_REQUEST_BUDGET=false turns it off', () => {
    expect(loadConfig(baseEnv()).sharedRequestBudget).toBe(true);
    expect(loadConfig(baseEnv({ SHARED_REQUEST_BUDGET: 'FALSE' })).sharedRequestBudget).toBe(false);
    expect(loadConfig(baseEnv({ SHARED_REQUEST_BUDGET: 'true' })).sharedRequestBudget).toBe(true);
    expect(problemsOf(baseEnv({ SHARED_REQUEST_BUDGET: 'off' }))).toEqual(['SHARED_REQUEST_BUDGET: expected true or false, got "off"']);
  });

  it('heals gaps by default within the documented audit search limits, and validates the heal settings', () => {
    expect(loadConfig(baseEnv()).heal).toEqual({ enabled: true, schedule: '0 */10 * * * *', lookbehindHours: 24, queriesPerDay: 200, maxRunningQueries: 50, graphVersion: 'v1.0' });
    expect(loadConfig(baseEnv({ HEAL_GAPS: 'false', HEAL_GRAPH_VERSION: 'beta', HEAL_LOOKBEHIND_HOURS: '0' })).heal).toMatchObject({ enabled: false, graphVersion: 'beta', lookbehindHours: 0 });
    expect(problemsOf(baseEnv({ HEAL_GAPS: 'yes', HEAL_SCHEDULE: 'hourly', HEAL_LOOKBEHIND_HOURS: '721', HEAL_QUERIES_PER_DAY: '0', HEAL_MAX_RUNNING_QUERIES: 'x', HEAL_GRAPH_VERSION: 'v2' }))).toEqual([
      'HEAL_GAPS: expected true or false, got "yes"',
      expect.stringMatching(/^HEAL_SCHEDULE: expected an NCRONTAB expression/),
      expect.stringMatching(/^HEAL_LOOKBEHIND_HOURS: expected a whole number from 0 to 720/),
      expect.stringMatching(/^HEAL_QUERIES_PER_DAY: expected a whole number from 1/),
      expect.stringMatching(/^HEAL_MAX_RUNNING_QUERIES: expected a whole number from 1/),
      'HEAL_GRAPH_VERSION: expected v1.0 or beta, got "v2"',
    ]);
  });

  it('documents every setting it reads in SETTINGS', () => {
    const names = SETTINGS.map((s) => s.name);
    for (const name of ['O365_TENANTS', 'EVENTHUB_NAME', 'CONTENT_QUEUE_NAME', 'MAX_EVENT_BYTES', 'PARTITION_KEY_MODE', 'KEY_VAULT_URL', 'GRAPH_ENDPOINT']) {
      expect(names).toContain(name);
    }
    expect(SETTINGS.filter((s) => s.required).map((s) => s.name)).toEqual(['O365_TENANTS', 'EVENTHUB_NAME']);
  });
});
