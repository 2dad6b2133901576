import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../shared/config.js';

// A setting in the wrong place is the usual way a secret reaches a log: the error must name the
// setting and the shape it expects, and never print the value.
const TENANT = '8f0a1c2d-3b4e-4f56-8a9b-0c1d2e3f4a5b';
const APP = '1d2c3b4a-5f6e-4a7b-9c8d-7e6f5a4b3c2d';
const ACCOUNT_KEY = 'q3Zp9XnVtB8uJm2LkR7sWd4Yf6Hc1GaE0oIiUyTrEwQ+Pl5Mk/Nj8Bh7Vg6Cf5Xd4Za3Sw2Qe1Rt0Yu9Io8Pa7==';
const SAS_KEY = 'Xq1Wd2Ef3Rg4Th5Yj6Uk7Il8Op9As0Df1Gh2Jk3L+=';
const CLIENT_SECRET = 'Q8k~Zr5aT2mVxq9JpL3nBd7WcF_e1Hs4Yu6Gi0Oo';

function problemsOf(env: Record<string, string | undefined>): string {
  try {
    loadConfig({
      O365_TENANTS: JSON.stringify([{ tenantId: TENANT, clientId: APP, credential: { type: 'secret', secretName: 'CONTOSO_SECRET' } }]),
      CONTOSO_SECRET: 'x',
      AzureWebJobsStorage: 'UseDevelopmentStorage=true',
      EVENTHUB_NAME: 'm365-audit',
      EVENTHUB_CONNECTION__fullyQualifiedNamespace: 'myns.servicebus.windows.net',
      ...env,
    });
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).message;
  }
  throw new Error('expected a ConfigError');
}

describe('configuration errors never echo a value that may be a secret', () => {
  it('a connection string with its key in EVENTHUB_CONNECTION__fullyQualifiedNamespace', () => {
    const value = `Endpoint=sb://myns.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=${SAS_KEY}`;
    const message = problemsOf({ EVENTHUB_CONNECTION__fullyQualifiedNamespace: value });
    expect(message).toMatch(/EVENTHUB_CONNECTION__fullyQualifiedNamespace: expected a host name such as myns\.servicebus\.windows\.net .*got a connection string with a key/);
    expect(message).not.toContain(SAS_KEY);
    expect(message).not.toContain('SharedAccessKey=');
  });

  it('an account key in AzureWebJobsStorage__accountName', () => {
    const message = problemsOf({ AzureWebJobsStorage: undefined, AzureWebJobsStorage__accountName: ACCOUNT_KEY });
    expect(message).toMatch(/AzureWebJobsStorage__accountName: expected 3–24 lowercase letters and digits, got a 88-character base64 string/);
    expect(message).not.toContain(ACCOUNT_KEY.slice(0, 12));
  });

  it('a whole storage connection string in AzureWebJobsStorage__accountName', () => {
    const value = `DefaultEndpointsProtocol=https;AccountName=stm365;AccountKey=${ACCOUNT_KEY};EndpointSuffix=core.windows.net`;
    const message = problemsOf({ AzureWebJobsStorage: undefined, AzureWebJobsStorage__accountName: value });
    expect(message).toMatch(/AzureWebJobsStorage__accountName: .*got a connection string with a key/);
    expect(message).not.toContain(ACCOUNT_KEY.slice(0, 12));
  });

  it('a client secret where secretName belongs', () => {
    const tenants = JSON.stringify([{ tenantId: TENANT, clientId: APP, credential: { type: 'secret', secretName: CLIENT_SECRET } }]);
    const message = problemsOf({ O365_TENANTS: tenants });
    expect(message).toMatch(/O365_TENANTS\[0\]\.credential\.secretName: expected a Key Vault secret name .*got a 40-character value \(not shown/);
    expect(message).not.toContain(CLIENT_SECRET.slice(0, 8));
  });

  it('a URL with user:password in an endpoint override', () => {
    for (const name of ['O365_MANAGEMENT_ENDPOINT', 'O365_AUTHORITY_HOST', 'GRAPH_ENDPOINT', 'KEY_VAULT_URL']) {
      const message = problemsOf({ [name]: 'https://operator:Pa55w0rd-Hunter2@proxy.contoso.example:8443/' });
      expect(message, name).toMatch(new RegExp(`${name}: expected an https origin without path, query or credentials .*got a URL with a user name or password`));
      expect(message, name).not.toContain('Pa55w0rd');
      expect(message, name).not.toContain('operator');
    }
    const tenants = JSON.stringify([{ tenantId: TENANT, clientId: APP, managementEndpoint: 'https://u:Secr3tPass@m.example', credential: { type: 'secret', secretName: 'CONTOSO_SECRET' } }]);
    expect(problemsOf({ O365_TENANTS: tenants })).not.toContain('Secr3tPass');
  });

  it('a secret pasted into O365_TENANTS that breaks its JSON', () => {
    const message = problemsOf({ O365_TENANTS: `[{"tenantId":"${TENANT}","credential":${CLIENT_SECRET}}]` });
    expect(message).toMatch(/O365_TENANTS: expected a JSON array of tenants, but it is not valid JSON/);
    expect(message).not.toContain(CLIENT_SECRET.slice(0, 8));
  });

  it('still echoes short name-like values, so ordinary typos stay easy to fix', () => {
    expect(problemsOf({ PARTITION_KEY_MODE: 'random' })).toContain('got "random"');
    expect(problemsOf({ POLL_SCHEDULE: '*/5 * * * *' })).toContain('got "*/5 * * * *"');
    expect(problemsOf({ EVENTHUB_CONNECTION__fullyQualifiedNamespace: 'https://myns.servicebus.windows.net' })).toMatch(/got a URL/);
  });
});
