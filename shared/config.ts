import { CLOUDS, CLOUD_NAMES, isCloudName, type CloudName } from './core/clouds.js';
import { CONTENT_TYPES, isContentType, isGuid, type ContentType, type PartitionKeyMode } from './core/model.js';

/**
 * The configuration contract: {@link SETTINGS}, the one table of the environment variables the code reads
 * (the README's settings table is rendered from it). `loadConfig(env)` reads the app's settings with the
 * table's defaults and validation; it validates everything at once and throws one {@link ConfigError} that
 * lists every problem with the setting's name and what is expected. The few the table marks `readBy`
 * (worker telemetry, the outbound proxy) are read where they are used, before or without the configuration.
 */

export type TenantCredential =
  | { readonly type: 'secret'; readonly secretName: string }
  | { readonly type: 'certificate'; readonly secretName: string; readonly passwordSecretName?: string }
  | { readonly type: 'managedIdentity'; readonly clientId?: string };

export interface TenantConfig {
  readonly tenantId: string;
  /** The Entra application (client) id; absent only for managed identity without a user-assigned id. */
  readonly clientId?: string;
  /** A display name for logs and health; defaults to the tenant id. */
  readonly name: string;
  readonly cloud: CloudName;
  readonly credential: TenantCredential;
  readonly contentTypes: readonly ContentType[];
  /** Sent on every call for a dedicated throttling quota; defaults to the tenant id. */
  readonly publisherIdentifier: string;
  /** Resolved from the cloud profile, unless overridden: `https://host[:port]`, no trailing slash. */
  readonly managementEndpoint: string;
  readonly authorityHost: string;
  readonly tokenScope: string;
  /** Poll Defender XDR incidents and alerts from Microsoft Graph security (`"defenderXdr": true`). */
  readonly defenderXdr: boolean;
  /** The Graph origin, from the cloud profile unless overridden; the only origin that gets this tenant's Graph token. */
  readonly graphEndpoint: string;
  /** Scope of the Graph token (the cloud's Graph resource, even when the endpoint is overridden). */
  readonly graphScope: string;
}


export interface StorageConfig {
  /** A connection string (Azurite, or a key-based account) ... */
  readonly connectionString?: string;
  /** ... or an identity-based account: `AzureWebJobsStorage__accountName`. */
  readonly accountName?: string;
  readonly blobServiceUri?: string;
  readonly queueServiceUri?: string;
  readonly tableServiceUri?: string;
}

export interface EventHubConfig {
  readonly name: string;
  readonly connectionString?: string;
  readonly fullyQualifiedNamespace?: string;
}

export interface Config {
  readonly tenants: readonly TenantConfig[];
  readonly keyVaultUrl?: string;
  /** Local mode (no `KEY_VAULT_URL`): the values of every referenced `secretName`, read from the environment. */
  readonly localSecrets: ReadonlyMap<string, string>;
  /** `AZURE_CLIENT_ID`: the user-assigned managed identity the app's SDK clients use. */
  readonly managedIdentityClientId?: string;
  readonly storage: StorageConfig;
  readonly eventHub: EventHubConfig;
  readonly contentQueueName: string;
  /** Queue of discovery tasks (one poll or sweep of one stream per message). */
  readonly pollQueueName: string;
  readonly poll: {
    readonly schedule: string;
    /** NCRONTAB of the retention sweep (`SWEEP_SCHEDULE`). */
    readonly sweepSchedule: string;
    readonly settleLagMinutes: number;
    readonly overlapMinutes: number;
    readonly initialLookbackHours: number;
  };
  readonly ingest: {
    readonly maxEventBytes: number;
    readonly partitionKeyMode: PartitionKeyMode;
    /** `full` (normalized fields + Raw) or `compact` (normalized fields + every other record field in AdditionalFields). */
    readonly eventProfile: EventProfile;
  };
  /** Backoff of blobs re-enqueued after a transient failure, until their content expires. */
  readonly retry: {
    readonly initialSeconds: number;
    readonly maxSeconds: number;
  };
  readonly reconcile: {
    /** NCRONTAB of the reconcile timer (`RECONCILE_SCHEDULE`). */
    readonly schedule: string;
    /** Ledger rows are deleted this many days after their content was created, once their hour is summarized. */
    readonly ledgerRetentionDays: number;
  };
  /** The forwarder to the Logs Ingestion API (`LOGS_INGESTION_*`); absent when `LOGS_INGESTION_ENDPOINT` is unset. */
  readonly logsIngestion?: LogsIngestionConfig;
  /** `SHARED_REQUEST_BUDGET`: every instance draws a tenant's Management API requests from one budget in table `budgets`. */
  readonly sharedRequestBudget: boolean;
  /** `TENANT_REQUESTS_PER_MINUTE`: a tenant's Management API requests per minute, per instance and (shared budget) for all. */
  readonly tenantRequestsPerMinute: number;
  /** Healing gaps from Purview audit search (Microsoft Graph audit log queries). */
  readonly heal: {
    /** `HEAL_GAPS`: heal recorded gaps automatically (an operator's `ops heal` works either way). */
    readonly enabled: boolean;
    /** NCRONTAB of the heal timer (`HEAL_SCHEDULE`). */
    readonly schedule: string;
    /** How long after its creation a record may still reach a content blob (`HEAL_LOOKBEHIND_HOURS`). */
    readonly lookbehindHours: number;
    /** Audit log queries submitted per tenant in any 24 h (`HEAL_QUERIES_PER_DAY`). */
    readonly queriesPerDay: number;
    /** Audit log queries queued or running per tenant at once (`HEAL_MAX_RUNNING_QUERIES`). */
    readonly maxRunningQueries: number;
    /** Graph API version of the audit log query API (`HEAL_GRAPH_VERSION`). */
    readonly graphVersion: 'v1.0' | 'beta';
  };
}

export interface LogsIngestionConfig {
  /** The data collection endpoint's logs ingestion origin. */
  readonly endpoint: string;
  /** The rule's immutable id, `dcr-` and 32 hex digits. */
  readonly ruleId: string;
  readonly streamName: string;
  /** The forwarder's consumer group on the event hub. */
  readonly consumerGroup: string;
  /** Token audience of the endpoint's cloud (`https://monitor.azure.com` and its sovereign counterparts). */
  readonly audience: string;
}

export type EventProfile = 'full' | 'compact';

/**
 * How a setting's value is parsed and validated. Every message names the setting; `echo` says whether
 * it may quote the value (through {@link show}, which never quotes what may be a secret).
 */
export type SettingKind =
  /** JSON, parsed by its own parser (`O365_TENANTS`). */
  | { readonly kind: 'json' }
  /** A comma-separated list of some of `values` (exact spelling). */
  | { readonly kind: 'list'; readonly values: readonly string[] }
  /** An https origin, `https://host[:port]` (a trailing slash is accepted and dropped). */
  | { readonly kind: 'url' }
  | { readonly kind: 'guid'; readonly expected: string }
  /** Free text, or text matching `pattern` (the message then says `expected`). */
  | { readonly kind: 'text'; readonly pattern?: RegExp; readonly expected?: string; readonly echo?: boolean }
  /** May carry a key or password (a connection string, a proxy URL with credentials): never quoted. */
  | { readonly kind: 'secret'; readonly pattern?: RegExp; readonly expected?: string }
  /** An NCRONTAB expression with six fields. */
  | { readonly kind: 'schedule' }
  /** A whole number from `min` to `max`. */
  | { readonly kind: 'integer'; readonly min: number; readonly max: number }
  /** `true` or `false`, any case. The message quotes the value as typed. */
  | { readonly kind: 'boolean' }
  /** One of `values`; `quoteAsTyped`: the message quotes the value as typed rather than through `show`. */
  | { readonly kind: 'enum'; readonly values: readonly string[]; readonly quoteAsTyped?: boolean };

/**
 * One row of the settings reference: the only list of the environment variables the code reads. The
 * README's settings table is rendered from it (`npm run docs:settings`), the Bicep app settings and a
 * recording of the names the code reads are checked against it, and {@link loadConfig} takes each
 * setting's default and validation from it.
 */
export type SettingSpec = SettingKind & {
  readonly name: string;
  readonly required: boolean;
  /** The value when the setting is unset or blank. */
  readonly default?: string;
  /** What it does, in the README's words (Markdown). */
  readonly description: string;
  /** Who reads it: {@link loadConfig} (the default), or code that runs without the configuration. */
  readonly readBy?: 'worker telemetry' | 'outbound proxy';
  /** Also read under these names (the proxy variables' lower-case forms). */
  readonly aliases?: readonly string[];
  /** The README's "required" column when it is not simply yes or no. */
  readonly requiredText?: string;
  /** The README's "default" column when it is not the default itself. */
  readonly defaultText?: string;
};

const QUEUE_NAME = /^[a-z0-9](?!.*--)[a-z0-9-]{1,55}[a-z0-9]$/;

export const SETTINGS: readonly SettingSpec[] = [
  { name: 'O365_TENANTS', kind: 'json', required: true, description: 'JSON array of tenants (below)' },
  {
    name: 'O365_CONTENT_TYPES', kind: 'list', values: CONTENT_TYPES, required: false, default: CONTENT_TYPES.join(','), defaultText: 'all five',
    description: 'Content types for tenants that do not list their own (comma-separated)',
  },
  { name: 'O365_MANAGEMENT_ENDPOINT', kind: 'url', required: false, defaultText: 'by cloud', description: 'Override the Management API endpoint (simulator, tests)' },
  { name: 'O365_AUTHORITY_HOST', kind: 'url', required: false, defaultText: 'by cloud', description: 'Override the Entra ID authority host (simulator, tests)' },
  { name: 'GRAPH_ENDPOINT', kind: 'url', required: false, defaultText: 'by cloud', description: 'Override the Microsoft Graph endpoint the Defender XDR streams are polled from (simulator, tests)' },
  { name: 'KEY_VAULT_URL', kind: 'url', required: false, description: "Key Vault with the tenants' credentials; without it, local mode (below)" },
  {
    name: 'AZURE_CLIENT_ID', kind: 'guid', expected: 'the GUID of a user-assigned managed identity', required: false,
    description: "Client id of the app's user-assigned managed identity",
  },
  {
    name: 'EVENTHUB_CONNECTION__fullyQualifiedNamespace', kind: 'text', pattern: /^[^/\s]+$/, echo: true,
    expected: 'a host name such as myns.servicebus.windows.net (no scheme, path or key)', required: false, requiredText: 'one of these two',
    description: 'Event Hubs namespace, identity-based (`myns.servicebus.windows.net`)',
  },
  {
    name: 'EVENTHUB_CONNECTION', kind: 'secret', pattern: /(?:^|;)Endpoint=sb:\/\//i, expected: 'an Event Hubs connection string starting with Endpoint=sb://',
    required: false, requiredText: 'one of these two', description: 'Event Hubs connection string (the local broker, or key-based namespaces)',
  },
  {
    name: 'EVENTHUB_NAME', kind: 'text', pattern: /^[A-Za-z0-9][A-Za-z0-9._-]{0,255}$/, echo: true, expected: "letters, digits, '.', '_' and '-'", required: true,
    description: 'The hub that receives normalized events',
  },
  {
    name: 'AzureWebJobsStorage', kind: 'secret', required: false, requiredText: 'one of these two',
    description: 'Storage connection string (`UseDevelopmentStorage=true` for Azurite)',
  },
  {
    name: 'AzureWebJobsStorage__accountName', kind: 'text', pattern: /^[a-z0-9]{3,24}$/, echo: true, expected: '3–24 lowercase letters and digits',
    required: false, requiredText: 'one of these two', description: 'Storage account name, identity-based',
  },
  {
    name: 'AzureWebJobsStorage__blobServiceUri', kind: 'text', required: false, defaultText: 'from the account',
    description: 'Blob endpoint of an identity-based account (`https://<account>.blob.core.windows.net` unless set; sovereign clouds, private DNS); with all three endpoints set, the account name may be left out',
  },
  {
    name: 'AzureWebJobsStorage__queueServiceUri', kind: 'text', required: false, defaultText: 'from the account',
    description: 'Queue endpoint of an identity-based account (`https://<account>.queue.core.windows.net` unless set)',
  },
  {
    name: 'AzureWebJobsStorage__tableServiceUri', kind: 'text', required: false, defaultText: 'from the account',
    description: 'Table endpoint of an identity-based account (`https://<account>.table.core.windows.net` unless set)',
  },
  {
    name: 'CONTENT_QUEUE_NAME', kind: 'text', pattern: QUEUE_NAME, echo: true,
    expected: '3–57 lowercase letters, digits and single hyphens (the "-poison" suffix must still fit 63)', required: false, default: 'o365-content',
    description: 'Queue of content blobs; its poison queue is `<name>-poison`',
  },
  { name: 'POLL_SCHEDULE', kind: 'schedule', required: false, default: '0 */5 * * * *', description: 'NCRONTAB schedule of `pollContent`' },
  { name: 'SETTLE_LAG_MINUTES', kind: 'integer', min: 0, max: 720, required: false, default: '10', description: 'Windows end this long before now' },
  {
    name: 'OVERLAP_MINUTES', kind: 'integer', min: 0, max: 1440, required: false, default: '120',
    description: 'Each poll re-lists this much before the cursor (late-listed blobs)',
  },
  // The API refuses windows that start more than 7 days back; leave an hour of margin.
  { name: 'INITIAL_LOOKBACK_HOURS', kind: 'integer', min: 1, max: 167, required: false, default: '24', description: "Where a stream's first poll starts (1–167)" },
  // 1 KiB floor keeps the envelope itself sendable; the Standard tier publishes at most 1 MiB per
  // message including AMQP overhead, so a single event stays under 1,000,000 bytes.
  {
    name: 'MAX_EVENT_BYTES', kind: 'integer', min: 1024, max: 1_000_000, required: false, default: '61440',
    description: "Per-event budget; 60 KiB fits Sentinel's 64 KB Event Hub limit",
  },
  {
    name: 'PARTITION_KEY_MODE', kind: 'enum', values: ['content', 'tenant', 'none'], required: false, default: 'content',
    description: '`content` (contentId), `tenant`, or `none` (round-robin)',
  },
  {
    name: 'EVENT_PROFILE', kind: 'enum', values: ['full', 'compact'], required: false, default: 'full',
    description: '`full` (normalized fields + the record verbatim in `Raw`) or `compact` (normalized fields + every other field of the record in `AdditionalFields`, no `Raw`)',
  },
  {
    name: 'POLL_QUEUE_NAME', kind: 'text', pattern: QUEUE_NAME, echo: true, expected: '3–57 lowercase letters, digits and single hyphens', required: false, default: 'o365-poll',
    description: 'Queue of discovery tasks: the timers enqueue one poll or sweep per stream; its poison queue is `<name>-poison`',
  },
  {
    name: 'SWEEP_SCHEDULE', kind: 'schedule', required: false, default: '0 30 * * * *',
    description: "NCRONTAB schedule of the retention sweep, which re-lists each stream's whole retrievable range",
  },
  {
    name: 'RECONCILE_SCHEDULE', kind: 'schedule', required: false, default: '0 */15 * * * *',
    description: 'NCRONTAB schedule of reconcile (retries, completeness check, health)',
  },
  // Visibility timeouts of Storage queues go up to 7 days; an hour between attempts keeps retries frequent.
  {
    name: 'RETRY_INITIAL_SECONDS', kind: 'integer', min: 1, max: 3600, required: false, default: '30',
    description: 'First backoff of a blob re-enqueued after a transient failure; doubles per attempt',
  },
  {
    name: 'RETRY_MAX_SECONDS', kind: 'integer', min: 1, max: 86_400, required: false, default: '3600',
    description: 'Longest backoff between delivery attempts; attempts go on until the content expires',
  },
  // Content can be retrievable for up to ~20 days after it was created; rows must outlive it.
  {
    name: 'LEDGER_RETENTION_DAYS', kind: 'integer', min: 21, max: 3650, required: false, default: '30',
    description: 'Ledger rows are deleted this many days after `contentCreated`, once their hour is summarized (21 or more)',
  },
  {
    name: 'LOGS_INGESTION_ENDPOINT', kind: 'url', required: false,
    description: 'Logs ingestion endpoint of the Sentinel data collection endpoint; setting it turns on `forwardToLogAnalytics`, which reads the hub and posts its events to the Logs Ingestion API (see [Sentinel](#sentinel))',
  },
  {
    name: 'LOGS_INGESTION_RULE_ID', kind: 'text', pattern: /^dcr-[0-9a-f]{32}$/i, expected: "the rule's immutable ID, dcr- and 32 hex digits (not its resource ID)",
    required: false, requiredText: 'with the endpoint', description: 'Immutable ID (`dcr-…`) of the data collection rule the forwarder posts to',
  },
  {
    name: 'LOGS_INGESTION_STREAM', kind: 'text', pattern: /^Custom-[A-Za-z0-9_-]{1,200}$/, expected: 'a custom stream name, Custom- and letters, digits, _ or -',
    required: false, default: 'Custom-M365AuditEvents', description: 'Stream of that rule',
  },
  {
    name: 'LOGS_INGESTION_CONSUMER_GROUP', kind: 'text', pattern: /^[A-Za-z0-9$][A-Za-z0-9._-]{0,49}$/, expected: '1-50 letters, digits, periods, hyphens or underscores',
    required: false, default: 'logs-ingestion', description: "The forwarder's own consumer group on the event hub",
  },
  {
    name: 'HEAL_GAPS', kind: 'boolean', required: false, default: 'true',
    description: 'Heal recorded gaps (time the Management API can no longer list) from Purview audit search automatically; `false` leaves them to `npm run ops -- heal` (see [Healing gaps](#healing-gaps-from-purview-audit-search))',
  },
  {
    name: 'HEAL_SCHEDULE', kind: 'schedule', required: false, default: '0 */10 * * * *',
    description: 'NCRONTAB schedule of the `healGaps` timer (submits, polls and pages audit log queries)',
  },
  // Purview keeps audit records 180 days (Audit Standard); a lookbehind beyond 30 days would query mostly delivered records.
  {
    name: 'HEAL_LOOKBEHIND_HOURS', kind: 'integer', min: 0, max: 720, required: false, default: '24',
    description: 'A gap is healed from this many hours before its start: a record can reach a content blob that long after it was created (0–720)',
  },
  {
    name: 'HEAL_QUERIES_PER_DAY', kind: 'integer', min: 1, max: 100_000, required: false, default: '200',
    description: "Audit log queries submitted per tenant in any 24 hours (Graph's documented baseline allocation)",
  },
  {
    name: 'HEAL_MAX_RUNNING_QUERIES', kind: 'integer', min: 1, max: 10_000, required: false, default: '50',
    description: "Audit log queries queued or running per tenant at once (Graph's documented baseline)",
  },
  {
    name: 'HEAL_GRAPH_VERSION', kind: 'enum', values: ['v1.0', 'beta'], quoteAsTyped: true, required: false, default: 'v1.0',
    description: 'Microsoft Graph version of the audit log query API: `v1.0` or `beta`',
  },
  {
    name: 'TENANT_REQUESTS_PER_MINUTE', kind: 'integer', min: 2, max: 2000, required: false, default: '1800',
    description: "Management API requests per tenant and minute the app allows itself (2–2000; the service throttles at 2,000): each instance's bucket, and with `SHARED_REQUEST_BUDGET` the budget of all instances together (half of it per 30-second window). Lower it when another collector reads the same tenant",
  },
  {
    name: 'SHARED_REQUEST_BUDGET', kind: 'boolean', required: false, default: 'true',
    description: "All instances draw each tenant's Management API requests from one budget in the `budgets` table (900 per 30 s); `false` leaves each instance with only its own 1,800 a minute, which is safe only with a single instance (see `docs/architecture.md`, \"Request budget across instances\")",
  },
  {
    name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', kind: 'secret', required: false, readBy: 'worker telemetry',
    description: 'Application Insights resource the worker exports its logs and metrics to (OpenTelemetry, in the Functions host only); unset: no export',
  },
  {
    name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING', kind: 'text', required: false, readBy: 'worker telemetry',
    description: "`Authorization=AAD;ClientId=<identity client id>`: the exporter authenticates with the app's identity (see `docs/deployment.md`)",
  },
  {
    name: 'FUNCTIONS_WORKER_RUNTIME', kind: 'text', required: false, readBy: 'worker telemetry', defaultText: 'set by the host',
    description: 'Set by the Functions host (`node`; `local.settings.json` locally, not an app setting on Flex Consumption); telemetry is exported only inside the host',
  },
  {
    name: 'HTTPS_PROXY', kind: 'secret', aliases: ['https_proxy'], required: false, readBy: 'outbound proxy',
    description: 'Proxy for outbound https (Management API, Graph, the Azure SDKs; Event Hubs switches to AMQP over WebSockets through it; see `docs/deployment.md`)',
  },
  { name: 'HTTP_PROXY', kind: 'secret', aliases: ['http_proxy'], required: false, readBy: 'outbound proxy', description: 'Proxy for outbound plain http, and for https when `HTTPS_PROXY` is unset' },
  {
    name: 'NO_PROXY', kind: 'text', aliases: ['no_proxy'], required: false, readBy: 'outbound proxy',
    description: 'Hosts reached directly, not through the proxy (comma-separated; put `localhost,127.0.0.1` in it)',
  },
];

const SPECS = new Map(SETTINGS.map((spec) => [spec.name, spec]));

/** The table's row of `name`, of the kind the caller parses it as (a wrong name or kind is a bug here). */
function specOf<K extends SettingSpec['kind']>(name: string, kind: K): Extract<SettingSpec, { kind: K }> {
  const spec = SPECS.get(name);
  if (spec?.kind !== kind) throw new Error(`SETTINGS has no ${kind} setting ${name}`);
  return spec as Extract<SettingSpec, { kind: K }>;
}

/** The default of a setting, from the table. */
function settingDefault(name: string): string | undefined {
  return SPECS.get(name)?.default;
}

/** Thrown once at startup with every configuration problem; never caught by the pipeline. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n- ${problems.join('\n- ')}`);
  }
}

type Env = Readonly<Record<string, string | undefined>>;

export function loadConfig(env: Env): Config {
  const problems: string[] = [];
  const get = (name: string): string | undefined => {
    const value = env[name]?.trim();
    return value ? value : undefined;
  };

  const endpointOverride = optionalHttpsOrigin(get, 'O365_MANAGEMENT_ENDPOINT', problems);
  const authorityOverride = optionalHttpsOrigin(get, 'O365_AUTHORITY_HOST', problems);
  const graphOverride = optionalHttpsOrigin(get, 'GRAPH_ENDPOINT', problems);
  const defaultContentTypes = contentTypesSetting(get, 'O365_CONTENT_TYPES', problems);
  const keyVaultUrl = optionalHttpsOrigin(get, 'KEY_VAULT_URL', problems);

  const tenants = parseTenants(get('O365_TENANTS'), { defaultContentTypes, endpointOverride, authorityOverride, graphOverride }, problems);

  const localSecrets = new Map<string, string>();
  if (!keyVaultUrl) {
    for (const tenant of tenants) {
      for (const secretName of secretNamesOf(tenant.credential)) {
        const value = env[secretName];
        if (value === undefined || value === '') {
          problems.push(
            isPrintable(secretName)
              ? `${secretName}: tenant ${tenant.name} reads its credential from this environment variable (local mode, KEY_VAULT_URL is not set), but it is empty`
              : `O365_TENANTS: tenant ${tenant.name} reads its credential from the environment variable its secretName names (local mode, KEY_VAULT_URL is not set), but it is empty; that name (${show(secretName)}) looks like a value, not a name`,
          );
        } else localSecrets.set(secretName, value);
      }
    }
  }

  const managedIdentityClientId = guidSetting(get, 'AZURE_CLIENT_ID', problems);

  const storage = parseStorage(get, problems);
  const eventHub = parseEventHub(get, problems);

  const contentQueueName = textSetting(get, 'CONTENT_QUEUE_NAME', problems)!;
  const pollQueueName = textSetting(get, 'POLL_QUEUE_NAME', problems)!;
  if (pollQueueName === contentQueueName) problems.push('POLL_QUEUE_NAME: must differ from CONTENT_QUEUE_NAME');

  const schedule = scheduleSetting(get, 'POLL_SCHEDULE', problems);
  const sweepSchedule = scheduleSetting(get, 'SWEEP_SCHEDULE', problems);
  const reconcileSchedule = scheduleSetting(get, 'RECONCILE_SCHEDULE', problems);
  const settleLagMinutes = integerSetting(get, 'SETTLE_LAG_MINUTES', problems);
  const overlapMinutes = integerSetting(get, 'OVERLAP_MINUTES', problems);
  const initialLookbackHours = integerSetting(get, 'INITIAL_LOOKBACK_HOURS', problems);
  const maxEventBytes = integerSetting(get, 'MAX_EVENT_BYTES', problems);
  const partitionKeyMode = enumSetting<PartitionKeyMode>(get, 'PARTITION_KEY_MODE', problems);
  const eventProfile = enumSetting<EventProfile>(get, 'EVENT_PROFILE', problems);
  const retryInitialSeconds = integerSetting(get, 'RETRY_INITIAL_SECONDS', problems);
  const retryMaxSeconds = integerSetting(get, 'RETRY_MAX_SECONDS', problems);
  if (retryMaxSeconds < retryInitialSeconds) problems.push(`RETRY_MAX_SECONDS: must be at least RETRY_INITIAL_SECONDS (${retryInitialSeconds})`);
  const ledgerRetentionDays = integerSetting(get, 'LEDGER_RETENTION_DAYS', problems);
  const healGaps = booleanSetting(get, 'HEAL_GAPS', problems);
  const healSchedule = scheduleSetting(get, 'HEAL_SCHEDULE', problems);
  const tenantRequestsPerMinute = integerSetting(get, 'TENANT_REQUESTS_PER_MINUTE', problems);
  const sharedRequestBudget = booleanSetting(get, 'SHARED_REQUEST_BUDGET', problems);
  const healLookbehindHours = integerSetting(get, 'HEAL_LOOKBEHIND_HOURS', problems);
  const healQueriesPerDay = integerSetting(get, 'HEAL_QUERIES_PER_DAY', problems);
  const healMaxRunning = integerSetting(get, 'HEAL_MAX_RUNNING_QUERIES', problems);
  const healGraphVersion = enumSetting<'v1.0' | 'beta'>(get, 'HEAL_GRAPH_VERSION', problems);

  const logsIngestion = parseLogsIngestion(get, problems);

  if (problems.length > 0) throw new ConfigError(problems);

  return deepFreeze({
    tenants,
    keyVaultUrl,
    localSecrets,
    managedIdentityClientId,
    storage,
    eventHub,
    contentQueueName,
    pollQueueName,
    poll: { schedule, sweepSchedule, settleLagMinutes, overlapMinutes, initialLookbackHours },
    ingest: { maxEventBytes, partitionKeyMode, eventProfile },
    retry: { initialSeconds: retryInitialSeconds, maxSeconds: retryMaxSeconds },
    reconcile: { schedule: reconcileSchedule, ledgerRetentionDays },
    ...(logsIngestion ? { logsIngestion } : {}),
    sharedRequestBudget,
    tenantRequestsPerMinute,
    heal: {
      enabled: healGaps,
      schedule: healSchedule,
      lookbehindHours: healLookbehindHours,
      queriesPerDay: healQueriesPerDay,
      maxRunningQueries: healMaxRunning,
      graphVersion: healGraphVersion,
    },
  });
}

/**
 * What the forwarder's trigger needs before the configuration is loaded: undefined when
 * `LOGS_INGESTION_ENDPOINT` is unset (the forwarder is off and its function is not registered).
 */
export function forwarderTrigger(env: Env): { readonly consumerGroup: string } | undefined {
  if (!env.LOGS_INGESTION_ENDPOINT?.trim()) return undefined;
  return { consumerGroup: env.LOGS_INGESTION_CONSUMER_GROUP?.trim() || settingDefault('LOGS_INGESTION_CONSUMER_GROUP')! };
}

function parseLogsIngestion(get: Get, problems: string[]): LogsIngestionConfig | undefined {
  const endpoint = optionalHttpsOrigin(get, 'LOGS_INGESTION_ENDPOINT', problems);
  const ruleId = get('LOGS_INGESTION_RULE_ID');
  if (get('LOGS_INGESTION_ENDPOINT') === undefined) {
    if (ruleId !== undefined) problems.push('LOGS_INGESTION_RULE_ID: set, but LOGS_INGESTION_ENDPOINT is not; set both to turn the forwarder on, or neither');
    return undefined;
  }
  if (ruleId === undefined) problems.push('LOGS_INGESTION_RULE_ID: required with LOGS_INGESTION_ENDPOINT; expected the rule\'s immutable ID, dcr- and 32 hex digits');
  else checkText(specOf('LOGS_INGESTION_RULE_ID', 'text'), ruleId, problems);
  const streamName = textSetting(get, 'LOGS_INGESTION_STREAM', problems)!;
  const consumerGroup = textSetting(get, 'LOGS_INGESTION_CONSUMER_GROUP', problems)!;
  if (endpoint === undefined || ruleId === undefined) return undefined;
  return { endpoint, ruleId, streamName, consumerGroup, audience: monitorAudience(new URL(endpoint).hostname) };
}

/** The Azure Monitor token audience of an ingestion host's cloud. */
function monitorAudience(host: string): string {
  if (host.endsWith('.azure.us')) return 'https://monitor.azure.us';
  if (host.endsWith('.azure.cn')) return 'https://monitor.azure.cn';
  return 'https://monitor.azure.com';
}

function secretNamesOf(credential: TenantCredential): string[] {
  if (credential.type === 'secret') return [credential.secretName];
  if (credential.type === 'certificate') {
    return credential.passwordSecretName ? [credential.secretName, credential.passwordSecretName] : [credential.secretName];
  }
  return [];
}

interface TenantDefaults {
  defaultContentTypes: ContentType[];
  endpointOverride?: string;
  authorityOverride?: string;
  graphOverride?: string;
}

const TENANT_KEYS = new Set([
  'tenantId', 'clientId', 'cloud', 'credential', 'contentTypes', 'publisherIdentifier', 'name', 'managementEndpoint', 'authorityHost',
  'defenderXdr', 'graphEndpoint',
]);

function parseTenants(raw: string | undefined, defaults: TenantDefaults, problems: string[]): TenantConfig[] {
  const setting = 'O365_TENANTS';
  if (raw === undefined) {
    problems.push(`${setting}: required; expected a JSON array of tenants, e.g. [{"tenantId":"<guid>","clientId":"<guid>","cloud":"commercial","credential":{"type":"secret","secretName":"contoso-o365"}}]`);
    return [];
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (err) {
    // Node 22's message quotes the input; only the position is kept (the text may hold a pasted secret).
    const position = /position (\d+)/.exec((err as Error).message)?.[1];
    problems.push(`${setting}: expected a JSON array of tenants, but it is not valid JSON${position ? ` (at character ${position})` : ''}`);
    return [];
  }
  if (!Array.isArray(parsed) || parsed.length === 0) {
    problems.push(`${setting}: expected a non-empty JSON array of tenants`);
    return [];
  }
  const tenants: TenantConfig[] = [];
  const seen = new Set<string>();
  parsed.forEach((item: unknown, index) => {
    const at = `${setting}[${index}]`;
    if (typeof item !== 'object' || item === null || Array.isArray(item)) {
      problems.push(`${at}: expected an object`);
      return;
    }
    const t = item as Record<string, unknown>;
    const before = problems.length;
    for (const key of Object.keys(t)) {
      if (!TENANT_KEYS.has(key)) problems.push(`${at}.${key}: unknown key; expected one of ${[...TENANT_KEYS].join(', ')}`);
    }
    if (!isGuid(t.tenantId)) problems.push(`${at}.tenantId: expected the tenant GUID, got ${show(t.tenantId)}`);
    const tenantId = typeof t.tenantId === 'string' ? t.tenantId.toLowerCase() : '';
    if (tenantId && seen.has(tenantId)) problems.push(`${at}.tenantId: tenant ${tenantId} is listed twice`);
    seen.add(tenantId);

    const cloud = t.cloud ?? 'commercial';
    if (!isCloudName(cloud)) problems.push(`${at}.cloud: expected one of ${CLOUD_NAMES.join(', ')}, got ${show(t.cloud)}`);

    const credential = parseCredential(t.credential, `${at}.credential`, problems);
    if (t.clientId !== undefined && !isGuid(t.clientId)) problems.push(`${at}.clientId: expected the application (client) GUID, got ${show(t.clientId)}`);
    if (t.clientId === undefined && credential && credential.type !== 'managedIdentity') {
      problems.push(`${at}.clientId: required for a ${credential.type} credential (the application id registered in Entra ID)`);
    }
    if (t.publisherIdentifier !== undefined && !isGuid(t.publisherIdentifier)) {
      problems.push(`${at}.publisherIdentifier: expected a GUID (your organization's tenant id), got ${show(t.publisherIdentifier)}`);
    }
    if (t.name !== undefined && (typeof t.name !== 'string' || t.name.trim() === '')) problems.push(`${at}.name: expected a non-empty string`);
    let contentTypes: ContentType[] | undefined = defaults.defaultContentTypes;
    if (t.contentTypes !== undefined) {
      contentTypes = Array.isArray(t.contentTypes)
        ? parseContentTypeList(t.contentTypes.join(','), `${at}.contentTypes`, problems, t.contentTypes)
        : (problems.push(`${at}.contentTypes: expected an array of content types`), undefined);
    }
    const endpoint = tenantOrigin(t.managementEndpoint, `${at}.managementEndpoint`, problems) ?? defaults.endpointOverride;
    const authority = tenantOrigin(t.authorityHost, `${at}.authorityHost`, problems) ?? defaults.authorityOverride;
    const graph = tenantOrigin(t.graphEndpoint, `${at}.graphEndpoint`, problems) ?? defaults.graphOverride;
    if (t.defenderXdr !== undefined && typeof t.defenderXdr !== 'boolean') {
      problems.push(`${at}.defenderXdr: expected true or false (poll Defender XDR incidents and alerts), got ${show(t.defenderXdr)}`);
    }

    if (problems.length > before || !credential || !contentTypes || !isCloudName(cloud)) return;
    const profile = CLOUDS[cloud];
    tenants.push({
      tenantId,
      clientId: typeof t.clientId === 'string' ? t.clientId.toLowerCase() : undefined,
      name: typeof t.name === 'string' ? t.name.trim() : tenantId,
      cloud,
      credential,
      contentTypes,
      publisherIdentifier: typeof t.publisherIdentifier === 'string' ? t.publisherIdentifier.toLowerCase() : tenantId,
      managementEndpoint: endpoint ?? profile.managementEndpoint,
      authorityHost: authority ?? profile.authorityHost,
      // The scope names the cloud's resource even when the endpoint is overridden: a token for the
      // wrong audience would be refused by the real service.
      tokenScope: profile.tokenScope,
      defenderXdr: t.defenderXdr === true,
      graphEndpoint: graph ?? profile.graphEndpoint,
      graphScope: profile.graphScope,
    });
  });
  return tenants;
}

function parseCredential(value: unknown, at: string, problems: string[]): TenantCredential | undefined {
  const expected = 'expected {"type":"secret","secretName":"..."}, {"type":"certificate","secretName":"..."} or {"type":"managedIdentity"}';
  if (typeof value !== 'object' || value === null) {
    problems.push(`${at}: required; ${expected}`);
    return undefined;
  }
  const c = value as Record<string, unknown>;
  const secretName = c.secretName;
  const validName = (name: unknown) => typeof name === 'string' && /^[A-Za-z0-9-_]{1,127}$/.test(name);
  switch (c.type) {
    case 'secret':
    case 'certificate': {
      if (!validName(secretName)) {
        problems.push(`${at}.secretName: expected a Key Vault secret name (letters, digits, hyphens; underscores allowed in local mode), got ${show(secretName)}`);
        return undefined;
      }
      if (c.type === 'secret') return { type: 'secret', secretName: secretName as string };
      if (c.passwordSecretName !== undefined && !validName(c.passwordSecretName)) {
        problems.push(`${at}.passwordSecretName: expected a Key Vault secret name, got ${show(c.passwordSecretName)}`);
        return undefined;
      }
      return { type: 'certificate', secretName: secretName as string, passwordSecretName: c.passwordSecretName as string | undefined };
    }
    case 'managedIdentity':
      if (c.clientId !== undefined && !isGuid(c.clientId)) {
        problems.push(`${at}.clientId: expected the GUID of a user-assigned managed identity, got ${show(c.clientId)}`);
        return undefined;
      }
      return { type: 'managedIdentity', clientId: c.clientId as string | undefined };
    default:
      problems.push(`${at}.type: ${expected}, got type ${show(c.type)}`);
      return undefined;
  }
}

function parseContentTypeList(raw: string | undefined, at: string, problems: string[], items?: unknown[]): ContentType[] | undefined {
  if (raw === undefined) return undefined;
  const values = items ?? raw.split(',').map((s) => s.trim()).filter(Boolean);
  const bad = values.filter((v) => !isContentType(v));
  if (bad.length > 0 || values.length === 0) {
    problems.push(`${at}: expected one or more of ${CONTENT_TYPES.join(', ')} (exact spelling), got ${bad.length ? bad.map(show).join(', ') : 'none'}`);
    return undefined;
  }
  return [...new Set(values as ContentType[])];
}

function optionalHttpsOrigin(get: Get, name: string, problems: string[]): string | undefined {
  specOf(name, 'url');
  const raw = get(name);
  return raw === undefined ? undefined : toHttpsOrigin(raw, name, problems);
}

function tenantOrigin(value: unknown, at: string, problems: string[]): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') {
    problems.push(`${at}: expected an https URL`);
    return undefined;
  }
  return toHttpsOrigin(value, at, problems);
}

/** Accepts `https://host[:port]` with or without a trailing slash (a trailing slash broke peers' validation). */
function toHttpsOrigin(raw: string, at: string, problems: string[]): string | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    problems.push(`${at}: expected an https URL such as https://host or https://host:port, got ${show(raw)}`);
    return undefined;
  }
  if (url.protocol !== 'https:' || url.username || url.password || url.search || url.hash || (url.pathname !== '/' && url.pathname !== '')) {
    problems.push(`${at}: expected an https origin without path, query or credentials (https://host or https://host:port), got ${show(raw)}`);
    return undefined;
  }
  return url.origin;
}

function parseStorage(get: Get, problems: string[]): StorageConfig {
  const connectionString = get('AzureWebJobsStorage');
  const accountName = get('AzureWebJobsStorage__accountName');
  const blobServiceUri = get('AzureWebJobsStorage__blobServiceUri');
  const queueServiceUri = get('AzureWebJobsStorage__queueServiceUri');
  const tableServiceUri = get('AzureWebJobsStorage__tableServiceUri');
  if (!connectionString && !accountName && !(blobServiceUri && queueServiceUri && tableServiceUri)) {
    problems.push(
      'AzureWebJobsStorage: required; set AzureWebJobsStorage (a connection string, e.g. UseDevelopmentStorage=true for Azurite) or AzureWebJobsStorage__accountName (identity-based)',
    );
  }
  if (accountName) checkText(specOf('AzureWebJobsStorage__accountName', 'text'), accountName, problems);
  return { connectionString, accountName, blobServiceUri, queueServiceUri, tableServiceUri };
}

function parseEventHub(get: Get, problems: string[]): EventHubConfig {
  const connectionString = get('EVENTHUB_CONNECTION');
  const fullyQualifiedNamespace = get('EVENTHUB_CONNECTION__fullyQualifiedNamespace');
  const entityPath = connectionString ? /(?:^|;)EntityPath=([^;]+)/i.exec(connectionString)?.[1] : undefined;
  const name = get('EVENTHUB_NAME') ?? entityPath;
  if (!connectionString && !fullyQualifiedNamespace) {
    problems.push(
      'EVENTHUB_CONNECTION__fullyQualifiedNamespace: required (e.g. myns.servicebus.windows.net, identity-based), or EVENTHUB_CONNECTION with a connection string',
    );
  }
  if (connectionString) checkText(specOf('EVENTHUB_CONNECTION', 'secret'), connectionString, problems);
  if (fullyQualifiedNamespace) checkText(specOf('EVENTHUB_CONNECTION__fullyQualifiedNamespace', 'text'), fullyQualifiedNamespace, problems);
  if (!name) problems.push('EVENTHUB_NAME: required; the event hub that receives normalized events');
  else checkText(specOf('EVENTHUB_NAME', 'text'), name, problems);
  return { name: name ?? '', connectionString, fullyQualifiedNamespace };
}

type Get = (name: string) => string | undefined;

function scheduleSetting(get: Get, name: string, problems: string[]): string {
  const schedule = get(name) ?? specOf(name, 'schedule').default!;
  if (schedule.split(/\s+/).length !== 6) {
    problems.push(`${name}: expected an NCRONTAB expression with 6 fields (second minute hour day month weekday), got ${/^(?:[0-9A-Za-z*/,-]{1,20}\s+){0,9}[0-9A-Za-z*/,-]{1,20}$/.test(schedule) ? JSON.stringify(schedule) : show(schedule)}`);
  }
  return schedule;
}

function integerSetting(get: Get, name: string, problems: string[]): number {
  const { min, max, default: fallbackText } = specOf(name, 'integer');
  const fallback = Number(fallbackText);
  const raw = get(name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < min || value > max) {
    problems.push(`${name}: expected a whole number from ${min} to ${max}, got ${show(raw)}`);
    return fallback;
  }
  return value;
}

/** A `text` setting (its default when unset), checked against its pattern. */
function textSetting(get: Get, name: string, problems: string[]): string | undefined {
  const spec = specOf(name, 'text');
  const value = get(name) ?? spec.default;
  if (value !== undefined) checkText(spec, value, problems);
  return value;
}

/** Checks a `text` or `secret` value against the table's pattern; a secret's message never quotes it. */
function checkText(spec: Extract<SettingSpec, { kind: 'text' | 'secret' }>, value: string, problems: string[]): void {
  if (!spec.pattern || spec.pattern.test(value)) return;
  const echo = spec.kind === 'text' && spec.echo === true;
  problems.push(`${spec.name}: expected ${spec.expected}${echo ? `, got ${show(value)}` : ''}`);
}

function guidSetting(get: Get, name: string, problems: string[]): string | undefined {
  const spec = specOf(name, 'guid');
  const value = get(name);
  if (value !== undefined && !isGuid(value)) problems.push(`${name}: expected ${spec.expected}, got ${show(value)}`);
  return value;
}

function booleanSetting(get: Get, name: string, problems: string[]): boolean {
  const raw = get(name);
  const value = (raw ?? specOf(name, 'boolean').default!).toLowerCase();
  if (value !== 'true' && value !== 'false') problems.push(`${name}: expected true or false, got "${raw}"`);
  return value === 'true';
}

/** One of the table's values (unchecked type when it is not: loadConfig then throws). */
function enumSetting<T extends string>(get: Get, name: string, problems: string[]): T {
  const spec = specOf(name, 'enum');
  const value = get(name) ?? spec.default!;
  if (!spec.values.includes(value)) {
    const expected = spec.values.length === 2 ? spec.values.join(' or ') : `one of ${spec.values.join(', ')}`;
    problems.push(`${name}: expected ${expected}, got ${spec.quoteAsTyped ? `"${value}"` : show(value)}`);
  }
  return value as T;
}

function contentTypesSetting(get: Get, name: string, problems: string[]): ContentType[] {
  const spec = specOf(name, 'list');
  return parseContentTypeList(get(name), name, problems) ?? (spec.default!.split(',') as ContentType[]);
}

/**
 * How an error message refers to a setting's value. A value is echoed only when it is short and made of
 * name-like characters (a cloud name, a number, a GUID); anything else may be a secret pasted into the
 * wrong setting (a connection string with its key, an account key, a client secret, a URL with a
 * password), so the message describes its shape instead and never contains it.
 */
function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null || typeof value === 'number' || typeof value === 'boolean') return JSON.stringify(value);
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value !== 'string') return `a JSON ${typeof value}`;
  if (isPrintable(value)) return JSON.stringify(value);
  return `${describeShape(value)} (not shown: it may be a secret)`;
}

/** Short, name-like values (no key material fits in 40 characters of these). */
function isPrintable(value: string): boolean {
  return /^[A-Za-z0-9._:-]{1,40}$/.test(value) && !/^[A-Za-z0-9+/]{32,}={0,2}$/.test(value);
}

function describeShape(value: string): string {
  if (/(?:^|;)\s*(AccountKey|SharedAccessKey|SharedAccessSignature|Password|Pwd)\s*=/i.test(value)) return `a connection string with a key (${value.length} characters)`;
  if (/(?:^|;)\s*[A-Za-z]+\s*=[^;]*;/.test(value)) return `a connection string (${value.length} characters)`;
  const url = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)/i.exec(value);
  if (url) {
    if (url[1]!.includes('@')) return `a URL with a user name or password (${value.length} characters)`;
    return `a URL with a path, query or unusual characters (${value.length} characters)`;
  }
  if (/^[A-Za-z0-9+/]{40,}={0,2}$/.test(value)) return `a ${value.length}-character base64 string such as an account key`;
  return `a ${value.length}-character value`;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !(value instanceof Map) && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
