import type { CloudName } from './clouds.js';
import type { ContentType, TimeWindow } from './model.js';
import { RECORD_TYPE_NAMES } from './recordTypes.js';
import { HOUR_MS } from './windows.js';

/**
 * Healing gaps from Microsoft Purview audit search (Microsoft Graph `/security/auditLog/queries`): which
 * records a content type's query asks for, where the API exists, how an `auditLogRecord` becomes the
 * audit record the Management API would have served, and which ranges of record time are missing.
 * Pure: no clock, no I/O.
 */

/** One record type: its number in the audit schema and its name in Graph's `auditLogRecordType` enum. */
export interface ScopedRecordType {
  readonly number: number;
  readonly graphName: string;
}

export interface AuditSearchScope {
  /**
   * The record types a query asks for (`recordTypeFilters`). Undefined for Audit.General, which holds
   * everything the other four do not: its query is unfiltered and its records are sorted client-side.
   */
  readonly recordTypes?: readonly ScopedRecordType[];
  /** The Graph application permissions that let audit search return these records (least privileged first). */
  readonly permissions: readonly string[];
}

const rt = (number: number, graphName: string): ScopedRecordType => ({ number, graphName });

/** The permission that covers every workload; the deployment guide asks for this one. */
export const AUDIT_QUERY_PERMISSION = 'AuditLogsQuery.Read.All';

/**
 * Content type → record types. The Management API does not publish which record types each content type
 * carries; this is the documented core of each (Entra ID sign-ins and directory audit, Exchange admin and
 * mailbox audit, SharePoint and OneDrive file, sharing and list operations, the DLP record types), and
 * Audit.General is everything else. A record type the Management API files elsewhere is healed with
 * Audit.General; its EventId does not depend on the content type, so consumers still dedupe it.
 */
export const AUDIT_SEARCH_SCOPES: Readonly<Record<ContentType, AuditSearchScope>> = {
  'Audit.AzureActiveDirectory': {
    recordTypes: [rt(8, 'azureActiveDirectory'), rt(9, 'azureActiveDirectoryAccountLogon'), rt(15, 'azureActiveDirectoryStsLogon')],
    permissions: ['AuditLogsQuery-Entra.Read.All', AUDIT_QUERY_PERMISSION],
  },
  'Audit.Exchange': {
    recordTypes: [rt(1, 'exchangeAdmin'), rt(2, 'exchangeItem'), rt(3, 'exchangeItemGroup'), rt(19, 'exchangeAggregatedOperation'), rt(50, 'exchangeItemAggregated')],
    permissions: ['AuditLogsQuery-Exchange.Read.All', AUDIT_QUERY_PERMISSION],
  },
  'Audit.SharePoint': {
    recordTypes: [
      rt(4, 'sharePoint'), rt(6, 'sharePointFileOperation'), rt(7, 'oneDrive'), rt(14, 'sharePointSharingOperation'), rt(36, 'sharePointListOperation'),
      rt(37, 'sharePointCommentOperation'), rt(54, 'sharePointListItemOperation'), rt(55, 'sharePointContentTypeOperation'), rt(56, 'sharePointFieldOperation'),
    ],
    permissions: ['AuditLogsQuery-SharePoint.Read.All', 'AuditLogsQuery-OneDrive.Read.All', AUDIT_QUERY_PERMISSION],
  },
  'DLP.All': {
    recordTypes: [rt(11, 'complianceDLPSharePoint'), rt(13, 'complianceDLPExchange'), rt(33, 'complianceDLPSharePointClassification'), rt(63, 'dlpEndpoint'), rt(107, 'complianceDLPExchangeClassification')],
    permissions: [AUDIT_QUERY_PERMISSION],
  },
  'Audit.General': { permissions: [AUDIT_QUERY_PERMISSION] },
};

const CONTENT_TYPE_OF_NUMBER: ReadonlyMap<number, ContentType> = new Map(
  Object.entries(AUDIT_SEARCH_SCOPES).flatMap(([contentType, scope]) => (scope.recordTypes ?? []).map((t) => [t.number, contentType as ContentType] as const)),
);

/** The content type a record type number belongs to (Audit.General for every number the others do not claim). */
export function contentTypeOfRecordType(recordType: number | undefined): ContentType {
  return (recordType !== undefined && CONTENT_TYPE_OF_NUMBER.get(recordType)) || 'Audit.General';
}

/** `recordTypeFilters` of a content type's query; undefined = no filter. */
export function recordTypeFiltersOf(contentType: ContentType): string[] | undefined {
  return AUDIT_SEARCH_SCOPES[contentType].recordTypes?.map((t) => t.graphName);
}

/**
 * Where the audit log query API exists. Graph's API pages list it for the global service only, not for
 * US Government L4 (GCC High), L5 (DoD) or 21Vianet. GCC tenants use the global Graph service
 * (graph.microsoft.com), so GCC is treated as available.
 */
export function auditSearchAvailability(cloud: CloudName): { readonly available: true } | { readonly available: false; readonly reason: string } {
  if (cloud === 'commercial' || cloud === 'gcc') return { available: true };
  const name = cloud === 'gcchigh' ? 'GCC High (US Government L4)' : 'DoD (US Government L5)';
  return {
    available: false,
    reason:
      `Microsoft Graph's audit log query API is not available in ${name}: it exists in the global service only. ` +
      'This gap cannot be healed from audit search; search the audit log in the Microsoft Purview portal of your cloud and export the range.',
  };
}

// ---------------------------------------------------------------------------------------------------
// auditLogRecord → audit record

const NUMBER_OF_GRAPH_NAME: ReadonlyMap<string, number> = (() => {
  const map = new Map<string, number>();
  for (const [number, name] of RECORD_TYPE_NAMES) map.set(name.replace(/\s+/g, '').toLowerCase(), number);
  // Graph's enum kept a few older names.
  map.set('yammer', 22);
  map.set('workplaceanalytics', 44);
  for (const scope of Object.values(AUDIT_SEARCH_SCOPES)) for (const t of scope.recordTypes ?? []) map.set(t.graphName.toLowerCase(), t.number);
  return map;
})();

/** The audit schema's record type number of a Graph `auditLogRecordType` name (`exchangeItem` → 2). */
export function recordTypeOfGraphName(name: unknown): number | undefined {
  return typeof name === 'string' ? NUMBER_OF_GRAPH_NAME.get(name.toLowerCase()) : undefined;
}

export interface HealedRecord {
  /** The original unified audit record (the `auditData` of the auditLogRecord). */
  readonly record: Record<string, unknown>;
  /** Its record type number, when it has one (from the record, else from `auditLogRecordType`). */
  readonly recordType?: number;
  /** Set when the record had to be rebuilt from the auditLogRecord's own properties. */
  readonly warning?: string;
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Turns one `auditLogRecord` back into the audit record it carries: `auditData` is the record the
 * Management API serves (`Id`, `RecordType` as a number, `CreationTime`, …); its `@odata.type` annotation
 * is Graph's and is dropped. Without a usable `auditData`, the record is rebuilt from the auditLogRecord's
 * common properties (id, createdDateTime, operation, …), with a warning; a value that is not an object
 * at all gives undefined.
 */
export function auditRecordOf(item: unknown): HealedRecord | undefined {
  if (!isObject(item)) return undefined;
  const data = item.auditData;
  if (isObject(data) && Object.keys(data).some((k) => k !== '@odata.type')) {
    const record: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(data)) if (key !== '@odata.type') record[key] = value;
    return { record, recordType: recordTypeNumber(record.RecordType) ?? recordTypeOfGraphName(item.auditLogRecordType) };
  }
  const recordType = recordTypeOfGraphName(item.auditLogRecordType);
  const record: Record<string, unknown> = {};
  const copy = (to: string, value: unknown) => {
    if (value !== undefined && value !== null) record[to] = value;
  };
  copy('CreationTime', item.createdDateTime);
  copy('Id', item.id);
  copy('Operation', item.operation);
  copy('OrganizationId', item.organizationId);
  copy('RecordType', recordType);
  copy('UserType', item.userType);
  copy('Workload', item.service);
  copy('ObjectId', item.objectId);
  copy('UserId', item.userPrincipalName ?? item.userId);
  copy('ClientIP', item.clientIp);
  copy('AuditLogRecordType', item.auditLogRecordType);
  return { record, recordType, warning: 'the auditLogRecord had no auditData; the record was rebuilt from its common properties' };
}

function recordTypeNumber(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isInteger(value)) return value;
  if (typeof value === 'string' && /^\d{1,6}$/.test(value.trim())) return Number(value.trim());
  return undefined;
}

// ---------------------------------------------------------------------------------------------------
// Which record time is missing

/** The heal range of a gap: record time `[gap start − lookbehind, gap end)`, or exactly the range an operator asked for. */
export function healRangeOf(gap: { readonly start: string; readonly end: string; readonly cause: string }, lookbehindInMs: number): TimeWindow {
  const start = Date.parse(gap.start);
  const end = Date.parse(gap.end);
  return gap.cause === 'operator' ? { start, end } : { start: start - lookbehindInMs, end };
}

export interface HealPlanInput {
  /** Record time to consider, `[from, to)`. */
  readonly range: TimeWindow;
  /**
   * How long after its CreationTime a record can still reach a content blob: a blob created at `c` can
   * hold records of `(c − lookbehind, c]`.
   */
  readonly lookbehindInMs: number;
  /** The stream's listing covers contentCreated from here (its intended start); undefined when it never listed. */
  readonly listedFrom?: number;
  /** ... up to here (its cursor). */
  readonly listedTo?: number;
  /** The stream's gaps (contentCreated ranges the Management API did not list), this one included. */
  readonly gaps: readonly TimeWindow[];
  /** contentCreated of blobs that ended without delivery (expired, missing, failed, poisoned). */
  readonly lostBlobs: readonly number[];
  /** Record time already healed from audit search (queries whose every page was published). */
  readonly healed: readonly TimeWindow[];
}

export interface HealPlan {
  /** Record time to fetch from audit search, merged, at most `maxQueryInMs` each. */
  readonly missing: TimeWindow[];
  /** Hours (or parts) by verdict: delivered by the Management API, not listed yet, healed before, missing. */
  readonly hours: { readonly covered: number; readonly pending: number; readonly healedBefore: number; readonly missing: number };
}

/** The longest range one query is first submitted for; a query that hits the record limit is split further. */
export const MAX_QUERY_MS = 7 * 24 * HOUR_MS;

/**
 * Which record time of `range` audit search must supply, hour by hour. The records created in hour `H`
 * can be in any blob created in `[H, H + 1 h + lookbehind)`; the hour is
 * - healed before, when an earlier heal already published it;
 * - missing, when a blob of that interval can never be delivered: the interval meets a gap, a blob that
 *   ended without delivery, or time before the stream's listing started;
 * - pending, when the interval reaches past the stream's cursor (the Management API will still list it);
 * - covered (delivered by the Management API) otherwise.
 * Nothing but missing hours is queried, so a range the Management API delivered costs no query and
 * delivers nothing new.
 */
export function planHeal(input: HealPlanInput, maxQueryInMs = MAX_QUERY_MS): HealPlan {
  const hours = { covered: 0, pending: 0, healedBefore: 0, missing: 0 };
  const missing: TimeWindow[] = [];
  const { range, lookbehindInMs } = input;
  for (let start = range.start; start < range.end; ) {
    const end = Math.min(range.end, Math.floor(start / HOUR_MS) * HOUR_MS + HOUR_MS);
    const verdict = hourVerdict({ start, end }, input, lookbehindInMs);
    hours[verdict]++;
    if (verdict === 'missing') {
      const last = missing.at(-1);
      if (last && last.end === start && end - last.start <= maxQueryInMs) missing[missing.length - 1] = { start: last.start, end };
      else missing.push({ start, end });
    }
    start = end;
  }
  return { missing, hours };
}

function hourVerdict(bucket: TimeWindow, input: HealPlanInput, lookbehindInMs: number): keyof HealPlan['hours'] {
  if (covers(input.healed, bucket)) return 'healedBefore';
  const blobs: TimeWindow = { start: bucket.start, end: bucket.end + lookbehindInMs };
  if (input.listedFrom === undefined || blobs.start < input.listedFrom) return 'missing';
  if (input.gaps.some((g) => g.start < blobs.end && blobs.start < g.end)) return 'missing';
  if (input.lostBlobs.some((c) => c >= blobs.start && c < blobs.end)) return 'missing';
  if (input.listedTo === undefined || blobs.end > input.listedTo) return 'pending';
  return 'covered';
}

/** Whether the union of `ranges` contains `bucket`. */
function covers(ranges: readonly TimeWindow[], bucket: TimeWindow): boolean {
  let at = bucket.start;
  for (const r of [...ranges].sort((a, b) => a.start - b.start)) {
    if (r.start > at) break;
    if (r.end > at) at = r.end;
    if (at >= bucket.end) return true;
  }
  return at >= bucket.end;
}

/** The two halves of a range whose query hit the record-count limit (whole seconds); undefined below two seconds. */
export function splitRange(range: TimeWindow): [TimeWindow, TimeWindow] | undefined {
  const mid = Math.floor((range.start + (range.end - range.start) / 2) / 1000) * 1000;
  if (mid <= range.start || mid >= range.end) return undefined;
  return [
    { start: range.start, end: mid },
    { start: mid, end: range.end },
  ];
}

/**
 * `SourceContentId` (and, with PARTITION_KEY_MODE=content, the partition key) of records healed by one
 * query: the range, not the query id, so a resubmitted query's records land on the same partition.
 */
export function healSourceContentId(range: TimeWindow): string {
  const stamp = (ms: number) => new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  return `AuditSearch$${stamp(range.start)}$${stamp(range.end)}`;
}

/**
 * Records the stream would normally have in `hours` of record time, from the ledger around the range:
 * the records of delivered blobs per hour, or at least one per listed blob when none is delivered yet.
 */
export function expectedRecords(around: { readonly records: number; readonly blobs: number; readonly hours: number }, hours: number): number {
  if (around.hours <= 0) return 0;
  return (Math.max(around.records, around.blobs) / around.hours) * hours;
}

/** Below this many expected records, an empty answer is plausible (a quiet stream) rather than suspicious. */
export const SUSPICIOUS_EXPECTED_RECORDS = 5;

/** The message of a heal that found nothing where the stream normally has data. */
export function suspiciousReason(contentType: ContentType, range: TimeWindow, perHour: number): string {
  const scope = AUDIT_SEARCH_SCOPES[contentType];
  const others = scope.permissions.filter((p) => p !== AUDIT_QUERY_PERMISSION);
  return (
    `audit search returned no ${contentType} records for ${new Date(range.start).toISOString()} to ${new Date(range.end).toISOString()}, ` +
    `although the stream's ledger shows about ${Math.round(perHour * 10) / 10} records per hour around it. The likely cause is a missing Microsoft Graph ` +
    `application permission: grant ${AUDIT_QUERY_PERMISSION}${others.length ? ` (or ${others.join(' and ')})` : ''} with admin consent; without it audit search ` +
    'answers with zero records instead of an error. Then heal the range again with npm run ops -- heal.'
  );
}

// ---------------------------------------------------------------------------------------------------
// The completeness view

export interface GapHealSummary {
  readonly tenantId: string;
  readonly contentType: string;
  /** Gap ranges (contentCreated) whose heal delivered what audit search had. */
  readonly healed: readonly { readonly start: string; readonly end: string; readonly records: number }[];
  /** Gap ranges not (yet) healed, with the heal state (`none` when healing never looked at it). */
  readonly unhealed: readonly { readonly start: string; readonly end: string; readonly state: string; readonly reason?: string }[];
}

/**
 * Healed and unhealed ranges per stream, from the gap records: what a completeness view shows next to
 * the ledger's accounting. `healed` counts only a heal that ended `healed`; `partial`, `suspicious`,
 * `failed`, `unavailable` and `off` leave the range unhealed.
 */
export function summarizeGapHeals(
  gaps: readonly { tenantId: string; contentType: string; start: string; end: string; heal?: { state: string; recordsDelivered: number; reason?: string } }[],
): GapHealSummary[] {
  const byStream = new Map<string, { tenantId: string; contentType: string; healed: GapHealSummary['healed'][number][]; unhealed: GapHealSummary['unhealed'][number][] }>();
  for (const gap of gaps) {
    const key = `${gap.tenantId}|${gap.contentType}`;
    let entry = byStream.get(key);
    if (!entry) byStream.set(key, (entry = { tenantId: gap.tenantId, contentType: gap.contentType, healed: [], unhealed: [] }));
    if (gap.heal?.state === 'healed') entry.healed.push({ start: gap.start, end: gap.end, records: gap.heal.recordsDelivered });
    else entry.unhealed.push({ start: gap.start, end: gap.end, state: gap.heal?.state ?? 'none', ...(gap.heal?.reason ? { reason: gap.heal.reason } : {}) });
  }
  return [...byStream.values()];
}
