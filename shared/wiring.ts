import { DefaultAzureCredential, type TokenCredential } from '@azure/identity';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { ManagementApiFeed } from './adapters/managementApi/activityFeed.js';
import { ManagementApiContentSource } from './adapters/managementApi/contentSource.js';
import { createProducer, EventHubsSink } from './adapters/eventHubs/eventHubsSink.js';
import { AzureBlobStore } from './adapters/storage/blobStore.js';
import { GraphSecurityClient } from './adapters/graphSecurity/client.js';
import { GraphSecurityFeed } from './adapters/graphSecurity/securityFeed.js';
import { GraphAuditSearch, GraphAuditSearchClient } from './adapters/graphSecurity/auditLogQueries.js';
import { ManagementActivityClient } from './adapters/managementApi/client.js';
import type { RetryOptions } from './adapters/http/request.js';
import { DEFAULT_RATE, RateLimiter, realSleep, type Sleep } from './adapters/http/rateLimiter.js';
import { ShareLimiter, SWEEP_RATE } from './adapters/http/shareLimiter.js';
import { SharedBudgetLimiter } from './adapters/http/sharedBudgetLimiter.js';
import { BUDGET_WINDOW, TableRequestBudget } from './adapters/storage/tableRequestBudget.js';
import { StorageQueuePollTaskQueue } from './adapters/storage/storageQueuePollTaskQueue.js';
import { CredentialTokenSource } from './adapters/identity/tokenSource.js';
import { createTenantCredential, type CredentialMaterial } from './adapters/identity/credentials.js';
import { EnvSecretProvider, KeyVaultSecretProvider } from './adapters/keyVault/secretProviders.js';
import type { InvocationContext } from '@azure/functions';
import { consoleLogger, invocationLogger, invocationMetrics } from './adapters/functions/logging.js';
import { enableWorkerTelemetry } from './adapters/functions/workerTelemetry.js';
import { StorageClients, TABLES } from './adapters/storage/clients.js';
import { StorageQueueContentQueue } from './adapters/storage/storageQueueContentQueue.js';
import { AzureLogsIngestion } from './adapters/logsIngestion/logsIngestionClient.js';
import { TableCursorStore } from './adapters/storage/tableCursorStore.js';
import { TableLedger } from './adapters/storage/tableLedger.js';
import { TableHealthStore } from './adapters/storage/tableHealthStore.js';
import { TableSummaryStore } from './adapters/storage/tableSummaryStore.js';
import { TableGapStore, TableListingLog, TableSweepStore } from './adapters/storage/tableStreamStores.js';
import { loadConfig, type Config, type TenantConfig } from './config.js';
import { SECURITY_STREAMS, type SecurityStreamKey, type StreamKey } from './core/model.js';
import type { RetryPolicy } from './core/deliveryRetry.js';
import { HOUR_MS, MINUTE_MS } from './core/windows.js';
import type { IngestContentDependencies, IngestContentOptions } from './usecases/common/delivery.js';
import { healOptionsOf, type HealGapsDependencies, type HealGapsOptions } from './usecases/healGaps.js';
import type { PollSecurityDependencies, PollSecurityOptions } from './usecases/pollSecurity.js';
import type { PollStreamsDependencies, PollStreamsOptions } from './usecases/pollStreams.js';
import type { ReconcileDependencies, ReconcileOptions } from './usecases/reconcile.js';
import type { ScheduleDiscoveryDependencies } from './usecases/scheduleDiscovery.js';
import type { SweepStreamsDependencies, SweepStreamsOptions } from './usecases/sweepStreams.js';
import type {
  ActivityFeed, AuditSearch, BlobStore, Clock, ContentQueue, ContentSource, CursorStore, EventSink, GapStore, HealthStore, Ledger, ListingLog, Logger, Metrics, SecretProvider, SecurityFeed, SummaryStore, SweepStore,
  LogsIngestion,
} from './ports.js';

/** A function invocation's logger and metrics (see {@link observability}). */
export interface Observed {
  readonly logger: Logger;
  readonly metrics: Metrics;
}

/** A use case's dependencies and options for one invocation. */
export interface Invocation<D, O> {
  readonly deps: D;
  readonly options: O;
}

/** Process-wide parts, built once per worker from the configuration. */
export interface Wiring {
  readonly config: Config;
  readonly clock: Clock;
  readonly feed: ActivityFeed;
  readonly ledger: Ledger;
  readonly cursors: CursorStore;
  readonly queue: ContentQueue;
  readonly health: HealthStore;
  /** Which contentIds the API listed, per stream and hour (kept apart from the ledger). */
  readonly listings: ListingLog;
  /** Ranges the Management API can no longer list, per stream. */
  readonly gaps: GapStore;
  /** The last retention sweep of each stream. */
  readonly sweeps: SweepStore;
  /** Per stream and hour, the completeness invariant's counts (older hours are known only from these). */
  readonly summaries: SummaryStore;
  /** The listing for retention sweeps: its own small request budget in front of the tenant's, so live polls go first. */
  readonly sweepFeed: ActivityFeed;
  readonly storage: StorageClients;
  readonly source: ContentSource;
  /** The hub; the producer connects on first use. */
  readonly sink: EventSink;
  readonly blobs: BlobStore;
  /** Configured tenants by id, with the management endpoint their content may come from. */
  readonly tenants: ReadonlyMap<string, TenantConfig>;
  /** Every (tenant, content type) stream of the configuration. */
  readonly streams: readonly StreamKey[];
  /** Microsoft Graph security (Defender XDR incidents and alerts) of the tenants that enable it. */
  readonly securityFeed: SecurityFeed;
  /** The Defender XDR streams (incidents, alerts) of every tenant with `defenderXdr`. */
  readonly securityStreams: readonly SecurityStreamKey[];
  /** Purview audit search (Microsoft Graph audit log queries) of every tenant, for healing gaps. */
  readonly auditSearch: AuditSearch;
  /** Waits (polling audit log queries with backoff). */
  readonly sleep: Sleep;
  /*
   * What each function's use case needs, bound to one invocation's logger and metrics (and, for the runs
   * with a time budget, the instant `deadlineAtMs`, epoch ms, by which they stop starting work).
   */
  /** ingestContent and onPoison. */
  delivery(observed: Observed): Invocation<IngestContentDependencies, IngestContentOptions>;
  /** scheduleDiscovery (the pollContent, pollSecurity and sweepContent timers). */
  scheduling(observed: Observed): ScheduleDiscoveryDependencies;
  /** pollStreams of one audit stream (a `poll` task). */
  polling(observed: Observed, deadlineAtMs: number): Invocation<PollStreamsDependencies, PollStreamsOptions>;
  /** sweepStreams of one audit stream (a `sweep` task). */
  sweeping(observed: Observed, deadlineAtMs: number): Invocation<SweepStreamsDependencies, SweepStreamsOptions>;
  /** pollSecurity of one Defender XDR stream (a `security` task). */
  securityPolling(observed: Observed, deadlineAtMs: number): Invocation<PollSecurityDependencies, PollSecurityOptions>;
  /** healGaps. */
  healing(observed: Observed, deadlineAtMs: number): Invocation<HealGapsDependencies, HealGapsOptions>;
  /** reconcile. */
  reconciling(observed: Observed): Invocation<ReconcileDependencies, ReconcileOptions>;
  /** Creates tables and queues that do not exist yet (Bicep creates them in Azure; Azurite starts empty). */
  ensureResources(): Promise<void>;
  /** Closes the Event Hubs connection (local runner, tests). */
  close(): Promise<void>;
  /** The Logs Ingestion API stream the forwarder posts to; absent when LOGS_INGESTION_ENDPOINT is unset. */
  readonly logsIngestion?: LogsIngestion;
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
  /** In-process retry of Microsoft Graph security calls (tests shorten the backoff). */
  readonly graphRetry?: RetryOptions;
  /** Waits between polls of audit log queries (tests advance a manual clock instead of sleeping). */
  readonly sleep?: Sleep;
  /** Event Hubs producer retries and operation timeout (tests shorten them). */
  readonly eventHubRetry?: { maxRetries?: number; retryDelayInMs?: number; maxRetryDelayInMs?: number; timeoutInMs?: number };
  /** Retries of each Logs Ingestion call (tests shorten them). */
  readonly logsIngestionRetry?: { maxRetries?: number; retryDelayInMs?: number; maxRetryDelayInMs?: number };
}

const systemClock: Clock = { now: () => Date.now() };

export function createWiring(config: Config, overrides: WiringOverrides = {}): Wiring {
  const logger = overrides.logger ?? consoleLogger();
  const azureCredential = overrides.azureCredential ?? lazyAppCredential(config);
  const storage = new StorageClients(config.storage, azureCredential);
  const secrets = overrides.secrets ?? (config.keyVaultUrl ? new KeyVaultSecretProvider({ vaultUrl: config.keyVaultUrl, credential: azureCredential }) : new EnvSecretProvider(config.localSecrets));
  const tenants = new Map(config.tenants.map((t) => [t.tenantId, t]));
  const tenantOf = (tenantId: string): TenantConfig => {
    const tenant = tenants.get(tenantId);
    if (!tenant) throw new RangeError(`tenant ${tenantId} is not configured`);
    return tenant;
  };

  // One token source and one request budget per tenant, shared by the live client and the sweep's. With
  // SHARED_REQUEST_BUDGET the limiter also draws from the tenant's budget shared by every instance (table budgets).
  const budgetTable = storage.table(TABLES.budgets);
  // TENANT_REQUESTS_PER_MINUTE (default 1,800): the bucket's sustained rate, its burst scaled with it, and the
  // shared budget's window capacity (half of it per 30 s).
  const perMinute = config.tenantRequestsPerMinute;
  const rate = perMinute === DEFAULT_RATE.requestsPerMinute ? DEFAULT_RATE : { requestsPerMinute: perMinute, burst: Math.max(1, Math.round((perMinute * DEFAULT_RATE.burst) / DEFAULT_RATE.requestsPerMinute)) };
  const sharedBudget = config.sharedRequestBudget ? new TableRequestBudget(budgetTable, { capacity: Math.max(1, Math.floor((perMinute * BUDGET_WINDOW.windowInMs) / 60_000)) }) : undefined;
  const tenantLimiter = (tenantId: string): RateLimiter =>
    sharedBudget ? new SharedBudgetLimiter({ ...rate, tenantId, budget: sharedBudget, logger }) : new RateLimiter(rate);
  const partsFor = perTenant((tenantId): TenantParts => {
    const tenant = tenantOf(tenantId);
    return { tokens: tenantTokens(tenant, tenant.tokenScope, config, secrets), limiter: tenantLimiter(tenantId) };
  });
  const clientFor = perTenant((tenantId) => {
    const parts = partsFor(tenantId);
    return createTenantClient(tenantOf(tenantId), parts.tokens, parts.limiter, logger, overrides.managementRetry);
  });
  const sweepClientFor = perTenant((tenantId) => {
    const parts = partsFor(tenantId);
    return createTenantClient(tenantOf(tenantId), parts.tokens, new ShareLimiter(parts.limiter, SWEEP_RATE), logger, overrides.managementRetry);
  });
  const graphClientFor = perTenant((tenantId) => {
    const tenant = tenantOf(tenantId);
    if (!tenant.defenderXdr) throw new RangeError(`tenant ${tenantId} does not enable defenderXdr`);
    return new GraphSecurityClient({
      tenantId,
      graphEndpoint: tenant.graphEndpoint,
      // Same application and credential as the tenant's audit feed, for the Graph audience.
      tokens: tenantTokens(tenant, tenant.graphScope, config, secrets),
      retry: overrides.graphRetry,
      logger,
    });
  });
  const auditSearchClientFor = perTenant((tenantId) => {
    const tenant = tenantOf(tenantId);
    return new GraphAuditSearchClient({
      tenantId,
      graphEndpoint: tenant.graphEndpoint,
      apiVersion: config.heal.graphVersion,
      // The tenant's own app and credential, for the Graph audience (it needs AuditLogsQuery.Read.All).
      tokens: tenantTokens(tenant, tenant.graphScope, config, secrets),
      retry: overrides.graphRetry,
      logger,
    });
  });

  const ledgerTable = storage.table(TABLES.ledger);
  const cursorTable = storage.table(TABLES.cursors);
  const healthTable = storage.table(TABLES.health);
  const listingsTable = storage.table(TABLES.listings);
  const gapsTable = storage.table(TABLES.gaps);
  const sweepsTable = storage.table(TABLES.sweeps);
  const summariesTable = storage.table(TABLES.summaries);
  const contentQueue = storage.queue(config.contentQueueName);
  const pollQueue = storage.queue(config.pollQueueName);

  let sink: EventHubsSink | undefined;
  const lazySink: EventSink = { open: (options) => (sink ??= new EventHubsSink(createProducer(config.eventHub, azureCredential, overrides.eventHubRetry))).open(options) };

  const clock = overrides.clock ?? systemClock;
  const source = new ManagementApiContentSource(clientFor);
  const blobs = new AzureBlobStore(storage.blobService());
  const ledger = new TableLedger(ledgerTable);
  const queue = new StorageQueueContentQueue(contentQueue);
  // Names this process on the delivery leases it takes: host, process and a random suffix (a restarted process is another worker).
  const workerId = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  const deliveryOptions: IngestContentOptions = {
    maxEventBytes: config.ingest.maxEventBytes,
    partitionKeyMode: config.ingest.partitionKeyMode,
    eventProfile: config.ingest.eventProfile,
    retry: retryPolicyOf(config),
  };

  const feed = new ManagementApiFeed(clientFor);
  const cursors = new TableCursorStore(cursorTable);
  const health = new TableHealthStore(healthTable);
  const listings = new TableListingLog(listingsTable);
  const gaps = new TableGapStore(gapsTable);
  const sweeps = new TableSweepStore(sweepsTable);
  const summaries = new TableSummaryStore(summariesTable);
  const sweepFeed = new ManagementApiFeed(sweepClientFor);
  const pollTasks = new StorageQueuePollTaskQueue(pollQueue);
  const securityFeed = new GraphSecurityFeed(graphClientFor);
  const auditSearch = new GraphAuditSearch(auditSearchClientFor);
  const sleep = overrides.sleep ?? realSleep;
  const logsIngestion = config.logsIngestion ? new AzureLogsIngestion({ ...config.logsIngestion, credential: azureCredential, retry: overrides.logsIngestionRetry }) : undefined;
  const discovery = ({ logger, metrics }: Observed) => ({ ledger, queue, listings, sink: lazySink, blobs, clock, logger, metrics });
  const listing = { settleLagInMs: config.poll.settleLagMinutes * MINUTE_MS, overlapInMs: config.poll.overlapMinutes * MINUTE_MS, concurrency: 1 };
  const initialLookbackInMs = config.poll.initialLookbackHours * HOUR_MS;
  const reconcileOptions: ReconcileOptions = { ledgerRetentionDays: config.reconcile.ledgerRetentionDays, retry: deliveryOptions.retry };

  return {
    config,
    clock,
    source,
    sink: lazySink,
    blobs,
    tenants,
    feed,
    ledger,
    cursors,
    queue,
    health,
    listings,
    gaps,
    sweeps,
    summaries,
    sweepFeed,
    storage,
    streams: config.tenants.flatMap((t) => t.contentTypes.map((contentType) => ({ tenantId: t.tenantId, contentType }))),
    securityFeed,
    securityStreams: config.tenants.filter((t) => t.defenderXdr).flatMap((t) => SECURITY_STREAMS.map((contentType) => ({ tenantId: t.tenantId, contentType }))),
    auditSearch,
    sleep,
    delivery: ({ logger: log, metrics }) => ({
      deps: { tenants, ledger, source, sink: lazySink, blobs, queue, clock, logger: log, metrics, workerId, random: Math.random },
      options: deliveryOptions,
    }),
    scheduling: ({ logger: log, metrics }) => ({ tasks: pollTasks, clock, logger: log, metrics }),
    polling: (observed, deadlineAtMs) => ({
      deps: { ...discovery(observed), feed, cursors, gaps },
      options: { ...listing, initialLookbackInMs, deadlineAtMs },
    }),
    sweeping: (observed, deadlineAtMs) => ({
      deps: { ...discovery(observed), feed: sweepFeed, cursors, sweeps },
      options: { ...listing, deadlineAtMs },
    }),
    securityPolling: ({ logger: log, metrics }, deadlineAtMs) => ({
      deps: { feed: securityFeed, cursors, ledger, sink: lazySink, blobs, clock, logger: log, metrics },
      options: {
        initialLookbackInMs,
        maxEventBytes: config.ingest.maxEventBytes,
        partitionKeyMode: config.ingest.partitionKeyMode,
        concurrency: 1,
        deadlineAtMs,
      },
    }),
    healing: ({ logger: log, metrics }, deadlineAtMs) => ({
      deps: { gaps, ledger, cursors, auditSearch, sink: lazySink, blobs, tenants, clock, logger: log, metrics, sleep },
      options: healOptionsOf(config, deadlineAtMs),
    }),
    reconciling: ({ logger: log, metrics }) => ({
      deps: { ledger, cursors, queue, health, listings, summaries, sweeps, gaps, clock, logger: log, metrics },
      options: reconcileOptions,
    }),
    async ensureResources() {
      await Promise.all([
        ledgerTable.createTable(),
        cursorTable.createTable(),
        healthTable.createTable(),
        listingsTable.createTable(),
        gapsTable.createTable(),
        sweepsTable.createTable(),
        summariesTable.createTable(),
        budgetTable.createTable(),
        contentQueue.createIfNotExists(),
        storage.queue(`${config.contentQueueName}-poison`).createIfNotExists(),
        pollQueue.createIfNotExists(),
        storage.queue(`${config.pollQueueName}-poison`).createIfNotExists(),
      ]);
    },
    async close() {
      await sink?.close();
    },
    ...(logsIngestion ? { logsIngestion } : {}),
  };
}

/** `create` once per tenant: later calls for the same tenant return what the first built (a throw builds nothing). */
function perTenant<T>(create: (tenantId: string) => T): (tenantId: string) => T {
  const built = new Map<string, T>();
  return (tenantId) => {
    let value = built.get(tenantId);
    if (value === undefined) {
      value = create(tenantId);
      built.set(tenantId, value);
    }
    return value;
  };
}

interface TenantParts {
  readonly tokens: CredentialTokenSource;
  readonly limiter: RateLimiter;
}

function createTenantClient(tenant: TenantConfig, tokens: CredentialTokenSource, rateLimiter: RateLimiter, logger: Logger, retry?: RetryOptions): ManagementActivityClient {
  return new ManagementActivityClient({
    tenantId: tenant.tenantId,
    managementEndpoint: tenant.managementEndpoint,
    publisherIdentifier: tenant.publisherIdentifier,
    tokens,
    rateLimiter,
    retry,
    logger,
  });
}

/** Tokens for `scope` with the tenant's own credential (secret, certificate or managed identity). */
function tenantTokens(tenant: TenantConfig, scope: string, config: Config, secrets: SecretProvider): CredentialTokenSource {
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
  return new CredentialTokenSource({
    identity,
    scope,
    createCredential: async ({ reloadSecret }) => createTenantCredential(identity, await material(reloadSecret)),
  });
}

/**
 * The app's own identity for Storage, Event Hubs and Key Vault: the DefaultAzureCredential chain, with
 * the user-assigned managed identity of AZURE_CLIENT_ID as its managed identity. In Azure the managed
 * identity answers; off Azure (an operator running `ops` with the app's settings exported) no managed
 * identity answers and the chain goes on to the operator's own sign-in (Azure CLI, Azure PowerShell, azd).
 */
export function lazyAppCredential(config: Config): TokenCredential {
  let credential: TokenCredential | undefined;
  return {
    getToken: (scopes, options) => {
      credential ??= new DefaultAzureCredential(config.managedIdentityClientId ? { managedIdentityClientId: config.managedIdentityClientId } : {});
      return credential.getToken(scopes, options);
    },
  };
}

/** RETRY_INITIAL_SECONDS and RETRY_MAX_SECONDS as the delivery backoff, for ingest, onPoison and reconcile alike. */
function retryPolicyOf(config: Config): RetryPolicy {
  return { initialInMs: config.retry.initialSeconds * 1000, maxInMs: config.retry.maxSeconds * 1000 };
}

/** Logger and metrics bound to one invocation (log lines correlate with it in Application Insights). */
export function observability(context: InvocationContext): Observed {
  const logger = invocationLogger(context);
  return { logger, metrics: invocationMetrics(logger) };
}

// In the Functions host with Application Insights, OpenTelemetry must be on before the host asks the
// worker for its capabilities, which happens once every function module has loaded: this module is
// imported by all of them. Elsewhere (tools, tests) this does nothing.
void enableWorkerTelemetry(process.env, (clientId) => new DefaultAzureCredential(clientId ? { managedIdentityClientId: clientId } : {}));

let processWiring: Wiring | undefined;

/** The worker's wiring, built from the app settings on first use (throws ConfigError listing every problem). */
export function getWiring(): Wiring {
  processWiring ??= createWiring(loadConfig(process.env));
  return processWiring;
}
