import { CLOUDS, CLOUD_NAMES, isCloudName, type CloudName } from './core/clouds.js';
import { CONTENT_TYPES, isContentType, isGuid, type ContentType, type PartitionKeyMode } from './core/model.js';

/**
 * The configuration contract (the README's settings table). `loadConfig(env)` is the only code that reads app
 * settings; it validates everything at once and throws one {@link ConfigError} that lists every
 * problem with the setting's name and what is expected.
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

/** One row of the settings reference: the README table and the Bicep app settings are checked against it. */
export interface SettingSpec {
  readonly name: string;
  readonly required: boolean;
  readonly default?: string;
  readonly description: string;
}

export const SETTINGS: readonly SettingSpec[] = [
  { name: 'O365_TENANTS', required: true, description: 'JSON array of tenants: tenantId, clientId, cloud, credential, optional contentTypes, publisherIdentifier, name, defenderXdr' },
  { name: 'O365_CONTENT_TYPES', required: false, default: CONTENT_TYPES.join(','), description: 'Default content types for tenants that do not list their own (comma-separated)' },
  { name: 'O365_MANAGEMENT_ENDPOINT', required: false, description: "Override the cloud's Management API endpoint (simulator, tests)" },
  { name: 'O365_AUTHORITY_HOST', required: false, description: "Override the cloud's Entra authority host (simulator, tests)" },
  { name: 'GRAPH_ENDPOINT', required: false, description: "Override the cloud's Microsoft Graph endpoint used for Defender XDR incidents and alerts and for audit search (simulator, tests)" },
  { name: 'KEY_VAULT_URL', required: false, description: 'Key Vault holding tenant credentials; without it a secretName is read from the environment variable of that name' },
  { name: 'AZURE_CLIENT_ID', required: false, description: 'Client id of the user-assigned managed identity the app uses for Storage, Event Hubs and Key Vault' },
  { name: 'EVENTHUB_CONNECTION__fullyQualifiedNamespace', required: false, description: 'Event Hubs namespace (identity-based); one of this or EVENTHUB_CONNECTION is required' },
  { name: 'EVENTHUB_CONNECTION', required: false, description: 'Event Hubs connection string (local broker, or key-based namespaces)' },
  { name: 'EVENTHUB_NAME', required: true, description: 'The event hub that receives normalized events' },
  { name: 'AzureWebJobsStorage', required: false, description: 'Storage connection string; one of this or AzureWebJobsStorage__accountName is required' },
  { name: 'AzureWebJobsStorage__accountName', required: false, description: 'Storage account name for identity-based access' },
  { name: 'CONTENT_QUEUE_NAME', required: false, default: 'o365-content', description: 'Queue of content blobs to ingest (its poison queue is <name>-poison)' },
  { name: 'POLL_SCHEDULE', required: false, default: '0 */5 * * * *', description: 'NCRONTAB schedule of the pollContent timer' },
  { name: 'SETTLE_LAG_MINUTES', required: false, default: '10', description: 'Windows end this long before now, so late-listed blobs settle' },
  { name: 'OVERLAP_MINUTES', required: false, default: '120', description: 'Each poll re-lists this much before the cursor to catch blobs listed late' },
  { name: 'INITIAL_LOOKBACK_HOURS', required: false, default: '24', description: 'How far back the first poll of a stream starts (at most 167)' },
  { name: 'MAX_EVENT_BYTES', required: false, default: '61440', description: 'Per-event budget; larger events move Raw to a claim-check blob' },
  { name: 'PARTITION_KEY_MODE', required: false, default: 'content', description: 'Event Hubs partition key: content (contentId), tenant, or none (round-robin)' },
  { name: 'EVENT_PROFILE', required: false, default: 'full', description: 'Event shape: full (normalized fields + Raw) or compact (normalized fields + every other record field in AdditionalFields, no Raw)' },
  { name: 'POLL_QUEUE_NAME', required: false, default: 'o365-poll', description: 'Queue of discovery tasks: the timers enqueue one poll or sweep per stream, a queue-triggered poller runs each' },
  { name: 'SWEEP_SCHEDULE', required: false, default: '0 30 * * * *', description: 'NCRONTAB schedule of the retention sweep that re-lists each stream\'s whole retrievable range' },
  { name: 'RECONCILE_SCHEDULE', required: false, default: '0 */15 * * * *', description: 'NCRONTAB schedule of reconcile (retries, completeness check, health)' },
  { name: 'RETRY_INITIAL_SECONDS', required: false, default: '30', description: 'First backoff of a blob re-enqueued after a transient failure (doubles per attempt)' },
  { name: 'RETRY_MAX_SECONDS', required: false, default: '3600', description: 'Longest backoff between delivery attempts; retries go on until the content expires' },
  { name: 'LEDGER_RETENTION_DAYS', required: false, default: '30', description: 'Ledger rows are deleted this many days after contentCreated, once their hour is summarized' },
  { name: 'LOGS_INGESTION_ENDPOINT', required: false, description: 'Logs ingestion endpoint of the data collection endpoint; when set, the forwardToLogAnalytics function reads the hub and posts its events to the Logs Ingestion API' },
  { name: 'LOGS_INGESTION_RULE_ID', required: false, description: 'Immutable ID (dcr-...) of the data collection rule the forwarder posts to; required with LOGS_INGESTION_ENDPOINT' },
  { name: 'LOGS_INGESTION_STREAM', required: false, default: 'Custom-M365AuditEvents', description: 'Stream of that rule the forwarder posts to' },
  { name: 'LOGS_INGESTION_CONSUMER_GROUP', required: false, default: 'logs-ingestion', description: "The forwarder's own consumer group on the event hub" },
  { name: 'HEAL_GAPS', required: false, default: 'true', description: 'Heal recorded gaps (time the Management API can no longer list) from Purview audit search automatically: true or false' },
  { name: 'HEAL_SCHEDULE', required: false, default: '0 */10 * * * *', description: 'NCRONTAB schedule of the heal timer (submits, polls and pages audit log queries)' },
  { name: 'HEAL_LOOKBEHIND_HOURS', required: false, default: '24', description: 'A gap is healed from this many hours before its start: records can reach a content blob that long after they were created' },
  { name: 'HEAL_QUERIES_PER_DAY', required: false, default: '200', description: "Audit log queries submitted per tenant in any 24 hours (Graph's documented baseline)" },
  { name: 'HEAL_MAX_RUNNING_QUERIES', required: false, default: '50', description: "Audit log queries queued or running per tenant at once (Graph's documented baseline)" },
  { name: 'HEAL_GRAPH_VERSION', required: false, default: 'v1.0', description: 'Microsoft Graph version of the audit log query API: v1.0 or beta' },
  {
    name: 'TENANT_REQUESTS_PER_MINUTE',
    required: false,
    default: '1800',
    description: "Management API requests per tenant and minute the app allows itself, across all instances with SHARED_REQUEST_BUDGET (the service throttles at 2,000): each instance's own bucket and the shared budget (half of it per 30 s window)",
  },
  {
    name: 'SHARED_REQUEST_BUDGET',
    required: false,
    default: 'true',
    description: "Share each tenant's Management API request budget (900 per 30 s) across all instances through the budgets table: true or false (false: each instance keeps only its own 1,800 a minute)",
  },
];

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
  const defaultContentTypes = parseContentTypeList(get('O365_CONTENT_TYPES'), 'O365_CONTENT_TYPES', problems) ?? [...CONTENT_TYPES];
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

  const managedIdentityClientId = get('AZURE_CLIENT_ID');
  if (managedIdentityClientId !== undefined && !isGuid(managedIdentityClientId)) {
    problems.push(`AZURE_CLIENT_ID: expected the GUID of a user-assigned managed identity, got ${show(managedIdentityClientId)}`);
  }

  const storage = parseStorage(get, problems);
  const eventHub = parseEventHub(get, problems);

  const contentQueueName = get('CONTENT_QUEUE_NAME') ?? 'o365-content';
  if (!/^[a-z0-9](?!.*--)[a-z0-9-]{1,55}[a-z0-9]$/.test(contentQueueName)) {
    problems.push(
      `CONTENT_QUEUE_NAME: expected 3–57 lowercase letters, digits and single hyphens (the "-poison" suffix must still fit 63), got ${show(contentQueueName)}`,
    );
  }

  const pollQueueName = get('POLL_QUEUE_NAME') ?? 'o365-poll';
  if (!/^[a-z0-9](?!.*--)[a-z0-9-]{1,55}[a-z0-9]$/.test(pollQueueName)) {
    problems.push(`POLL_QUEUE_NAME: expected 3–57 lowercase letters, digits and single hyphens, got ${show(pollQueueName)}`);
  }
  if (pollQueueName === contentQueueName) problems.push('POLL_QUEUE_NAME: must differ from CONTENT_QUEUE_NAME');

  const schedule = scheduleSetting(get, 'POLL_SCHEDULE', '0 */5 * * * *', problems);
  const sweepSchedule = scheduleSetting(get, 'SWEEP_SCHEDULE', '0 30 * * * *', problems);
  const reconcileSchedule = scheduleSetting(get, 'RECONCILE_SCHEDULE', '0 */15 * * * *', problems);
  const settleLagMinutes = integerSetting(get, 'SETTLE_LAG_MINUTES', 10, 0, 720, problems);
  const overlapMinutes = integerSetting(get, 'OVERLAP_MINUTES', 120, 0, 1440, problems);
  // The API refuses windows that start more than 7 days back; leave an hour of margin.
  const initialLookbackHours = integerSetting(get, 'INITIAL_LOOKBACK_HOURS', 24, 1, 167, problems);
  // 1 KiB floor keeps the envelope itself sendable; the Standard tier publishes at most 1 MiB per
  // message including AMQP overhead, so a single event stays under 1,000,000 bytes.
  const maxEventBytes = integerSetting(get, 'MAX_EVENT_BYTES', 61440, 1024, 1_000_000, problems);
  const partitionKeyMode = get('PARTITION_KEY_MODE') ?? 'content';
  if (partitionKeyMode !== 'content' && partitionKeyMode !== 'tenant' && partitionKeyMode !== 'none') {
    problems.push(`PARTITION_KEY_MODE: expected one of content, tenant, none, got ${show(partitionKeyMode)}`);
  }
  const eventProfile = get('EVENT_PROFILE') ?? 'full';
  if (eventProfile !== 'full' && eventProfile !== 'compact') problems.push(`EVENT_PROFILE: expected full or compact, got ${show(eventProfile)}`);
  // Visibility timeouts of Storage queues go up to 7 days; an hour between attempts keeps retries frequent.
  const retryInitialSeconds = integerSetting(get, 'RETRY_INITIAL_SECONDS', 30, 1, 3600, problems);
  const retryMaxSeconds = integerSetting(get, 'RETRY_MAX_SECONDS', 3600, 1, 86_400, problems);
  if (retryMaxSeconds < retryInitialSeconds) problems.push(`RETRY_MAX_SECONDS: must be at least RETRY_INITIAL_SECONDS (${retryInitialSeconds})`);
  // Content can be retrievable for up to ~20 days after it was created; rows must outlive it.
  const ledgerRetentionDays = integerSetting(get, 'LEDGER_RETENTION_DAYS', 30, 21, 3650, problems);
  const healGaps = (get('HEAL_GAPS') ?? 'true').toLowerCase();
  if (healGaps !== 'true' && healGaps !== 'false') problems.push(`HEAL_GAPS: expected true or false, got "${get('HEAL_GAPS')}"`);
  const healSchedule = scheduleSetting(get, 'HEAL_SCHEDULE', '0 */10 * * * *', problems);
  const tenantRequestsPerMinute = integerSetting(get, 'TENANT_REQUESTS_PER_MINUTE', 1800, 2, 2000, problems);
  const sharedRequestBudget = (get('SHARED_REQUEST_BUDGET') ?? 'true').toLowerCase();
  if (sharedRequestBudget !== 'true' && sharedRequestBudget !== 'false') problems.push(`SHARED_REQUEST_BUDGET: expected true or false, got "${get('SHARED_REQUEST_BUDGET')}"`);
  // Purview keeps audit records 180 days (Audit Standard); a lookbehind beyond 30 days would query mostly delivered records.
  const healLookbehindHours = integerSetting(get, 'HEAL_LOOKBEHIND_HOURS', 24, 0, 720, problems);
  const healQueriesPerDay = integerSetting(get, 'HEAL_QUERIES_PER_DAY', 200, 1, 100_000, problems);
  const healMaxRunning = integerSetting(get, 'HEAL_MAX_RUNNING_QUERIES', 50, 1, 10_000, problems);
  const healGraphVersion = get('HEAL_GRAPH_VERSION') ?? 'v1.0';
  if (healGraphVersion !== 'v1.0' && healGraphVersion !== 'beta') problems.push(`HEAL_GRAPH_VERSION: expected v1.0 or beta, got "${healGraphVersion}"`);

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
    ingest: { maxEventBytes, partitionKeyMode: partitionKeyMode as PartitionKeyMode, eventProfile: eventProfile as EventProfile },
    retry: { initialSeconds: retryInitialSeconds, maxSeconds: retryMaxSeconds },
    reconcile: { schedule: reconcileSchedule, ledgerRetentionDays },
    ...(logsIngestion ? { logsIngestion } : {}),
    sharedRequestBudget: sharedRequestBudget === 'true',
    tenantRequestsPerMinute,
    heal: {
      enabled: healGaps === 'true',
      schedule: healSchedule,
      lookbehindHours: healLookbehindHours,
      queriesPerDay: healQueriesPerDay,
      maxRunningQueries: healMaxRunning,
      graphVersion: healGraphVersion as 'v1.0' | 'beta',
    },
  });
}

/**
 * What the forwarder's trigger needs before the configuration is loaded: undefined when
 * `LOGS_INGESTION_ENDPOINT` is unset (the forwarder is off and its function is not registered).
 */
export function forwarderTrigger(env: Env): { readonly consumerGroup: string } | undefined {
  if (!env.LOGS_INGESTION_ENDPOINT?.trim()) return undefined;
  return { consumerGroup: env.LOGS_INGESTION_CONSUMER_GROUP?.trim() || 'logs-ingestion' };
}

function parseLogsIngestion(get: (n: string) => string | undefined, problems: string[]): LogsIngestionConfig | undefined {
  const endpoint = optionalHttpsOrigin(get, 'LOGS_INGESTION_ENDPOINT', problems);
  const ruleId = get('LOGS_INGESTION_RULE_ID');
  if (get('LOGS_INGESTION_ENDPOINT') === undefined) {
    if (ruleId !== undefined) problems.push('LOGS_INGESTION_RULE_ID: set, but LOGS_INGESTION_ENDPOINT is not; set both to turn the forwarder on, or neither');
    return undefined;
  }
  if (ruleId === undefined) problems.push('LOGS_INGESTION_RULE_ID: required with LOGS_INGESTION_ENDPOINT; expected the rule\'s immutable ID, dcr- and 32 hex digits');
  else if (!/^dcr-[0-9a-f]{32}$/i.test(ruleId)) problems.push("LOGS_INGESTION_RULE_ID: expected the rule's immutable ID, dcr- and 32 hex digits (not its resource ID)");
  const streamName = get('LOGS_INGESTION_STREAM') ?? 'Custom-M365AuditEvents';
  if (!/^Custom-[A-Za-z0-9_-]{1,200}$/.test(streamName)) problems.push('LOGS_INGESTION_STREAM: expected a custom stream name, Custom- and letters, digits, _ or -');
  const consumerGroup = get('LOGS_INGESTION_CONSUMER_GROUP') ?? 'logs-ingestion';
  if (!/^[A-Za-z0-9$][A-Za-z0-9._-]{0,49}$/.test(consumerGroup)) problems.push('LOGS_INGESTION_CONSUMER_GROUP: expected 1-50 letters, digits, periods, hyphens or underscores');
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

function optionalHttpsOrigin(get: (n: string) => string | undefined, name: string, problems: string[]): string | undefined {
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

function parseStorage(get: (n: string) => string | undefined, problems: string[]): StorageConfig {
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
  if (accountName && !/^[a-z0-9]{3,24}$/.test(accountName)) {
    problems.push(`AzureWebJobsStorage__accountName: expected 3–24 lowercase letters and digits, got ${show(accountName)}`);
  }
  return { connectionString, accountName, blobServiceUri, queueServiceUri, tableServiceUri };
}

function parseEventHub(get: (n: string) => string | undefined, problems: string[]): EventHubConfig {
  const connectionString = get('EVENTHUB_CONNECTION');
  const fullyQualifiedNamespace = get('EVENTHUB_CONNECTION__fullyQualifiedNamespace');
  const entityPath = connectionString ? /(?:^|;)EntityPath=([^;]+)/i.exec(connectionString)?.[1] : undefined;
  const name = get('EVENTHUB_NAME') ?? entityPath;
  if (!connectionString && !fullyQualifiedNamespace) {
    problems.push(
      'EVENTHUB_CONNECTION__fullyQualifiedNamespace: required (e.g. myns.servicebus.windows.net, identity-based), or EVENTHUB_CONNECTION with a connection string',
    );
  }
  if (connectionString && !/(?:^|;)Endpoint=sb:\/\//i.test(connectionString)) {
    problems.push('EVENTHUB_CONNECTION: expected an Event Hubs connection string starting with Endpoint=sb://');
  }
  if (fullyQualifiedNamespace && /[/\s]/.test(fullyQualifiedNamespace)) {
    problems.push(`EVENTHUB_CONNECTION__fullyQualifiedNamespace: expected a host name such as myns.servicebus.windows.net (no scheme, path or key), got ${show(fullyQualifiedNamespace)}`);
  }
  if (!name) problems.push('EVENTHUB_NAME: required; the event hub that receives normalized events');
  else if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,255}$/.test(name)) problems.push(`EVENTHUB_NAME: expected letters, digits, '.', '_' and '-', got ${show(name)}`);
  return { name: name ?? '', connectionString, fullyQualifiedNamespace };
}

function scheduleSetting(get: (n: string) => string | undefined, name: string, fallback: string, problems: string[]): string {
  const schedule = get(name) ?? fallback;
  if (schedule.split(/\s+/).length !== 6) {
    problems.push(`${name}: expected an NCRONTAB expression with 6 fields (second minute hour day month weekday), got ${/^(?:[0-9A-Za-z*/,-]{1,20}\s+){0,9}[0-9A-Za-z*/,-]{1,20}$/.test(schedule) ? JSON.stringify(schedule) : show(schedule)}`);
  }
  return schedule;
}

function integerSetting(get: (n: string) => string | undefined, name: string, fallback: number, min: number, max: number, problems: string[]): number {
  const raw = get(name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < min || value > max) {
    problems.push(`${name}: expected a whole number from ${min} to ${max}, got ${show(raw)}`);
    return fallback;
  }
  return value;
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
