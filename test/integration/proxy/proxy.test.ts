import { randomUUID } from 'node:crypto';
import { ManagedIdentityCredential } from '@azure/identity';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { bypassed, proxiedFetch, proxyFor, resetProxyDispatcher } from '../../../shared/adapters/http/proxy.js';
import { RateLimiter } from '../../../shared/adapters/http/rateLimiter.js';
import { createTenantCredential } from '../../../shared/adapters/identity/credentials.js';
import { KeyVaultSecretProvider } from '../../../shared/adapters/keyVault/secretProviders.js';
import { ManagementActivityClient } from '../../../shared/adapters/managementApi/client.js';
import { webSocketsThroughProxy } from '../../../shared/adapters/eventHubs/eventHubsSink.js';
import { StorageClients } from '../../../shared/adapters/storage/clients.js';
import { TableCursorStore } from '../../../shared/adapters/storage/tableCursorStore.js';
import { startSimTenant, type SimTenant } from '../../../tools/standins/simTenant/index.js';
import { startConnectProxy, type ConnectProxy } from '../../../tools/standins/connectProxy.js';
import { startKeyVaultStandIn, type KeyVaultStandIn } from '../../../tools/standins/keyVault.js';
import { startManagedIdentityStandIn, type ManagedIdentityStandIn } from '../../../tools/standins/managedIdentity.js';
import { pointManagedIdentityAt, serverTls } from '../standins/helpers.js';

// Every outbound call of the app, made through a local forward proxy named by HTTPS_PROXY / HTTP_PROXY
// (as on a network where only the proxy may connect out). The proxy records what it carried.
const TENANT = randomUUID();
const APP = randomUUID();
const SECRET = 'proxy-test-secret';
const SCOPE = 'https://manage.office.com/.default';
let proxy: ConnectProxy;
let sim: SimTenant;
let vault: KeyVaultStandIn;
let mi: ManagedIdentityStandIn;
let restore: () => void;
const saved = { ...process.env };
const hostOf = (url: string) => new URL(url).host;

beforeAll(async () => {
  proxy = await startConnectProxy();
  sim = await startSimTenant({ tenants: [{ tenantId: TENANT, apps: [{ clientId: APP, secret: SECRET }], contentTypes: ['Audit.Exchange'] }] });
  mi = await startManagedIdentityStandIn({ tenantId: TENANT });
  vault = await startKeyVaultStandIn({ tls: serverTls, tenantId: TENANT, authorityHost: 'https://login.microsoftonline.com', signingKey: mi.signingKey });
  // Set before the first SDK request: the Azure SDK pipeline reads them when a client is built.
  for (const name of ['NO_PROXY', 'no_proxy', 'https_proxy', 'http_proxy']) delete process.env[name];
  process.env.HTTPS_PROXY = proxy.url;
  process.env.HTTP_PROXY = proxy.url;
  resetProxyDispatcher();
  restore = pointManagedIdentityAt(mi);
});
afterAll(async () => {
  restore();
  process.env = saved;
  resetProxyDispatcher();
  await Promise.all([sim.close(), vault.close(), mi.close(), proxy.close()]);
});

describe('every outbound call honours HTTPS_PROXY / HTTP_PROXY', () => {
  it('the token request (@azure/identity and MSAL) goes through the proxy', async () => {
    const before = proxy.tunnels.length;
    const credential = createTenantCredential({ tenantId: TENANT, clientId: APP, authorityHost: sim.url }, { type: 'secret', clientSecret: SECRET });
    expect((await credential.getToken(SCOPE))?.token).toBeTruthy();
    expect(proxy.tunnels.slice(before)).toContain(hostOf(sim.url));
  });

  it('the Management Activity API (our own fetch) goes through the proxy', async () => {
    const token = (await createTenantCredential({ tenantId: TENANT, clientId: APP, authorityHost: sim.url }, { type: 'secret', clientSecret: SECRET }).getToken(SCOPE))!.token;
    const before = proxy.tunnels.length;
    const client = new ManagementActivityClient({
      tenantId: TENANT,
      managementEndpoint: sim.url,
      publisherIdentifier: TENANT,
      tokens: { getToken: async () => token },
      rateLimiter: new RateLimiter({ requestsPerMinute: 600, burst: 10 }),
    });
    expect(await client.startSubscription('Audit.Exchange')).toMatchObject({ contentType: 'Audit.Exchange' });
    expect(proxy.tunnels.slice(before)).toEqual([hostOf(sim.url)]);
  });

  it('Key Vault and the managed identity endpoint go through the proxy', async () => {
    vault.setSecret('tenant-secret', 'value-from-vault');
    const before = { tunnels: proxy.tunnels.length, forwarded: proxy.forwarded.length };
    const secrets = new KeyVaultSecretProvider({ vaultUrl: vault.url, credential: new ManagedIdentityCredential() });
    expect(await secrets.get('tenant-secret')).toBe('value-from-vault');
    expect(proxy.tunnels.slice(before.tunnels)).toContain(hostOf(vault.url));
    // The managed identity endpoint is plain http: forwarded, not tunnelled (on Azure, put localhost in NO_PROXY).
    expect(proxy.forwarded.slice(before.forwarded).some((r) => r.startsWith(`GET ${mi.endpoint}`))).toBe(true);
  });

  it('Storage (tables, queues) goes through the proxy', async () => {
    const before = proxy.forwarded.length;
    const storage = new StorageClients({ connectionString: inject('azuriteConnectionString') });
    const table = storage.table(`proxy${randomUUID().replace(/-/g, '').slice(0, 10)}`);
    await table.createTable();
    await new TableCursorStore(table).read({ tenantId: TENANT, contentType: 'Audit.Exchange' });
    await storage.queue(`proxy-${randomUUID().slice(0, 8)}`).createIfNotExists();
    const carried = proxy.forwarded.slice(before).map((r) => new URL(r.split(' ')[1]!).host);
    const azurite = inject('azuriteConnectionString');
    expect(carried).toContain(new URL(/TableEndpoint=([^;]+)/.exec(azurite)![1]!).host);
    expect(carried).toContain(new URL(/QueueEndpoint=([^;]+)/.exec(azurite)![1]!).host);
  });

  it('NO_PROXY sends a host directly', async () => {
    process.env.NO_PROXY = '127.0.0.1';
    resetProxyDispatcher();
    try {
      const before = proxy.tunnels.length;
      const response = await proxiedFetch(`${sim.url}/${TENANT}/v2.0/.well-known/openid-configuration`);
      expect(response.status).toBe(200);
      expect(proxy.tunnels.length).toBe(before);
    } finally {
      delete process.env.NO_PROXY;
      resetProxyDispatcher();
    }
  });
});

describe('which proxy applies', () => {
  it('follows HTTPS_PROXY, HTTP_PROXY and NO_PROXY as curl does', () => {
    const env = { HTTPS_PROXY: 'http://proxy:3128', HTTP_PROXY: 'http://plain:8080', NO_PROXY: 'localhost,.internal.example, 10.0.0.1, vault.example:8443' };
    expect(proxyFor('https://manage.office.com/api', env)).toBe('http://proxy:3128');
    expect(proxyFor('http://169.254.169.254/metadata', env)).toBe('http://plain:8080');
    expect(proxyFor('https://localhost:8443/', env)).toBeUndefined();
    expect(proxyFor('https://a.b.internal.example/', env)).toBeUndefined();
    expect(proxyFor('https://10.0.0.1/', env)).toBeUndefined();
    expect(proxyFor('https://vault.example:8443/', env)).toBeUndefined();
    expect(proxyFor('https://vault.example/', env)).toBe('http://proxy:3128');
    expect(proxyFor('https://x.example/', { https_proxy: 'http://lower:1' })).toBe('http://lower:1');
    expect(proxyFor('https://x.example/', {})).toBeUndefined();
    expect(bypassed('anything.example', '443', '*')).toBe(true);
  });

  it('Event Hubs: AMQP over WebSockets through the proxy when one applies to the namespace, plain AMQP otherwise', () => {
    const through = webSocketsThroughProxy('myns.servicebus.windows.net', { HTTPS_PROXY: proxy.url });
    const agent = through.webSocketOptions?.webSocketConstructorOptions as { agent?: { proxy?: URL } } | undefined;
    expect(String(agent?.agent?.proxy)).toBe(`${proxy.url}/`);
    expect(through.webSocketOptions?.webSocket).toBeTypeOf('function');
    expect(webSocketsThroughProxy('myns.servicebus.windows.net', { HTTPS_PROXY: proxy.url, NO_PROXY: '.servicebus.windows.net' })).toEqual({});
    expect(webSocketsThroughProxy('myns.servicebus.windows.net', {})).toEqual({});
  });
});
