import { DefaultAzureCredential, ManagedIdentityCredential, type TokenCredential } from '@azure/identity';
import { ManagementApiFeed } from './adapters/managementApi/activityFeed.js';
import { ManagementApiContentSource } from './adapters/managementApi/contentSource.js';
import { createProducer, EventHubsSink } from './adapters/eventHubs/eventHubsSink.js';
import { AzureBlobStore } from './adapters/storage/blobStore.js';
import { ManagementActivityClient, type RetryOptions } from './adapters/managementApi/client.js';
import { DEFAULT_RATE, RateLimiter } from './adapters/managementApi/rateLimiter.js';
import { CredentialTokenSource } from './adapters/managementApi/tokens.js';
import { createTenantCredential, type CredentialMaterial } from './adapters/identity/credentials.js';
import { EnvSecretProvider, KeyVaultSecretProvider } from './adapters/keyVault/secretProviders.js';
import type { InvocationContext } from '@azure/functions';
import { consoleLogger, invocationLogger, logMetrics } from './adapters/functions/logging.js';
import { StorageClients, TABLES } from './adapters/storage/clients.js';
import { StorageQueueContentQueue } from './adapters/storage/storageQueueContentQueue.js';
import { TableCursorStore } from './adapters/storage/tableCursorStore.js';
import { TableLedger } from './adapters/storage/tableLedger.js';
import { TableHealthStore } from './adapters/storage/tableHealthStore.js';
import { loadConfig, type Config, type TenantConfig } from './config.js';
import type { StreamKey } from './core/model.js';
import type { ActivityFeed, BlobStore, Clock, ContentQueue, ContentSource, CursorStore, EventSink, HealthStore, Ledger, Logger, Metrics, SecretProvider } from './ports.js';

/** Process-wide parts, built once per worker from the configuration. */
export interface Wiring {
  readonly config: Config;
  readonly clock: Clock;
  readonly feed: ActivityFeed;
  readonly ledger: Ledger;
  readonly cursors: CursorStore;
  readonly queue: ContentQueue;
  readonly health: HealthStore;
  readonly storage: StorageClients;
  readonly secrets: SecretProvider;
  readonly source: ContentSource;
  /** The hub; the producer connects on first use. */
  readonly sink: EventSink;
  readonly blobs: BlobStore;
  /** Configured tenants by id, with the management endpoint their content may come from. */
  readonly tenants: ReadonlyMap<string, TenantConfig>;
  /** Every (tenant, content type) stream of the configuration. */
  readonly streams: readonly StreamKey[];
  clientFor(tenantId: string): ManagementActivityClient;
  /** Creates tables and queues that do not exist yet (Bicep creates them in Azure; Azurite starts empty). */
  ensureResources(): Promise<void>;
  /** Closes the Event Hubs connection (local runner, tests). */
  close(): Promise<void>;
}

export interface WiringOverrides {
  /** Credential for Storage, Event Hubs and Key Vault (default: the app's managed identity). */
  readonly azureCredential?: TokenCredential;
  readonly secrets?: SecretProvider;
  readonly clock?: Clock;
  /** Logger for adapters that outlive an invocation. */
  readonly logger?: Logger;
  /** In-process retry of Management API calls (tests shorten the backoff). */
  readonly managementRetry?: RetryOptions;
  /** Event Hubs producer retries and operation timeout (tests shorten them). */
  readonly eventHubRetry?: { maxRetries?: number; retryDelayInMs?: number; maxRetryDelayInMs?: number; timeoutInMs?: number };
}

const systemClock: Clock = { now: () => Date.now() };

export function createWiring(config: Config, overrides: WiringOverrides = {}): Wiring {
  const logger = overrides.logger ?? consoleLogger();
  const azureCredential = overrides.azureCredential ?? lazyAppCredential(config);
  const storage = new StorageClients(config.storage, azureCredential);
  const secrets = overrides.secrets ?? (config.keyVaultUrl ? new KeyVaultSecretProvider({ vaultUrl: config.keyVaultUrl, credential: azureCredential }) : new EnvSecretProvider(config.localSecrets));
  const tenants = new Map(config.tenants.map((t) => [t.tenantId, t]));
  const clients = new Map<string, ManagementActivityClient>();

  const clientFor = (tenantId: string): ManagementActivityClient => {
    let client = clients.get(tenantId);
    if (!client) {
      const tenant = tenants.get(tenantId);
      if (!tenant) throw new RangeError(`tenant ${tenantId} is not configured`);
      client = createTenantClient(tenant, config, secrets, logger, overrides.managementRetry);
      clients.set(tenantId, client);
    }
    return client;
  };

  const ledgerTable = storage.table(TABLES.ledger);
  const cursorTable = storage.table(TABLES.cursors);
  const healthTable = storage.table(TABLES.health);
  const contentQueue = storage.queue(config.contentQueueName);

  let sink: EventHubsSink | undefined;
  const lazySink: EventSink = { open: (options) => (sink ??= new EventHubsSink(createProducer(config.eventHub, azureCredential, overrides.eventHubRetry))).open(options) };

  return {
    config,
    clock: overrides.clock ?? systemClock,
    source: new ManagementApiContentSource(clientFor),
    sink: lazySink,
    blobs: new AzureBlobStore(storage.blobService()),
    tenants,
    feed: new ManagementApiFeed(clientFor),
    ledger: new TableLedger(ledgerTable),
    cursors: new TableCursorStore(cursorTable),
    queue: new StorageQueueContentQueue(contentQueue),
    health: new TableHealthStore(healthTable),
    storage,
    secrets,
    streams: config.tenants.flatMap((t) => t.contentTypes.map((contentType) => ({ tenantId: t.tenantId, contentType }))),
    clientFor,
    async ensureResources() {
      await Promise.all([
        ledgerTable.createTable(),
        cursorTable.createTable(),
        healthTable.createTable(),
        contentQueue.createIfNotExists(),
        storage.queue(`${config.contentQueueName}-poison`).createIfNotExists(),
      ]);
    },
    async close() {
      await sink?.close();
    },
  };
}

function createTenantClient(tenant: TenantConfig, config: Config, secrets: SecretProvider, logger: Logger, retry?: RetryOptions): ManagementActivityClient {
  const identity = { tenantId: tenant.tenantId, clientId: tenant.clientId, authorityHost: tenant.authorityHost };
  const credential = tenant.credential;
  const material = async (reload: boolean): Promise<CredentialMaterial> => {
    switch (credential.type) {
      case 'secret':
        return { type: 'secret', clientSecret: await secrets.get(credential.secretName, { refresh: reload }) };
      case 'certificate':
        return {
          type: 'certificate',
          certificatePem: await secrets.get(credential.secretName, { refresh: reload }),
          certificatePassword: credential.passwordSecretName ? await secrets.get(credential.passwordSecretName, { refresh: reload }) : undefined,
        };
      case 'managedIdentity':
        return { type: 'managedIdentity', clientId: credential.clientId ?? config.managedIdentityClientId };
    }
  };
  const tokens = new CredentialTokenSource({
    identity,
    scope: tenant.tokenScope,
    createCredential: async ({ reloadSecret }) => createTenantCredential(identity, await material(reloadSecret)),
  });
  return new ManagementActivityClient({
    tenantId: tenant.tenantId,
    managementEndpoint: tenant.managementEndpoint,
    publisherIdentifier: tenant.publisherIdentifier,
    tokens,
    rateLimiter: new RateLimiter(DEFAULT_RATE),
    retry,
    logger,
  });
}

/** The app's own identity: the user-assigned managed identity when AZURE_CLIENT_ID is set. */
function lazyAppCredential(config: Config): TokenCredential {
  let credential: TokenCredential | undefined;
  return {
    getToken: (scopes, options) => {
      credential ??= config.managedIdentityClientId ? new ManagedIdentityCredential({ clientId: config.managedIdentityClientId }) : new DefaultAzureCredential();
      return credential.getToken(scopes, options);
    },
  };
}

/** Logger and metrics bound to one invocation (log lines correlate with it in Application Insights). */
export function observability(context: InvocationContext): { logger: Logger; metrics: Metrics } {
  const logger = invocationLogger(context);
  return { logger, metrics: logMetrics(logger) };
}

let processWiring: Wiring | undefined;

/** The worker's wiring, built from the app settings on first use (throws ConfigError listing every problem). */
export function getWiring(): Wiring {
  processWiring ??= createWiring(loadConfig(process.env));
  return processWiring;
}
