/**
 * Defender XDR incidents and alerts (Microsoft Graph security) as normalized events:
 * the envelope conventions of event.ts with ASIM AlertEvent 0.1 fields.
 * Incidents and alerts are mutable, so every revision is its own event: `EventId` includes the
 * entity's `lastUpdateDateTime`, and consumers keep the latest with `arg_max(TimeGenerated, *) by
 * EventOriginalUid`.
 */
import { isIP } from 'node:net';
import { isGraphTimestamp, type SecurityStreamName } from '../model.js';
import { uuidV5 } from '../uuid.js';
import { rawDigest } from './rawDigest.js';
import { assemble as inOrder, describe, withFallbackEventId, type RawCapture } from './envelope.js';
import { Draft, MAX_DEPTH, MAX_ENTRIES } from './draft.js';
import { ENVELOPE_SCHEMA, ENVELOPE_VERSION, EVENT_ID_NAMESPACE, type EnvelopeHeader, type EnvelopeTrailer, type EventSeverity } from './event.js';
import { isJsonObject, nestsDeeperThan, own, stringifyWithoutRecursion } from './json.js';
import { toIsoUtc } from './time.js';

/** What a Graph security entity is: an incident (incidents stream) or an alert (alerts_v2 stream). */
export type DefenderEntityKind = 'incident' | 'alert';

/** The stream each kind of entity arrives on. */
const STREAM_OF_KIND: Readonly<Record<DefenderEntityKind, SecurityStreamName>> = {
  incident: 'DefenderXDR.Incidents',
  alert: 'DefenderXDR.Alerts',
};

/** Where an entity came from; the caller knows it, the entity does not. */
export interface DefenderContext {
  readonly kind: DefenderEntityKind;
  /** The stream's tenant GUID (any case; the envelope lower-cases it). */
  readonly tenantId: string;
  /** The ledger row of the page the entity was read from (`SourceContentId`). */
  readonly pageId: string;
  /** ISO 8601 with `Z`, supplied by the caller: the core has no clock. */
  readonly processedTime: string;
}

/** ASIM AlertVerdict. */
export type AlertVerdict = 'True Positive' | 'False Positive' | 'Benign Positive' | 'Unknown';

/**
 * One revision of an incident or alert. Fields without `?` are always present; optional fields are
 * omitted rather than empty. `AdditionalFields` is a null-prototype object.
 */
export interface DefenderEvent extends EnvelopeHeader, EnvelopeTrailer {
  /** The entity's Graph `id`, or null when it had none usable. */
  EventOriginalUid: string | null;
  /** `lastUpdateDateTime` in milliseconds with `Z` (the exact value is in `AdditionalFields.LastUpdateDateTime`). */
  TimeGenerated: string;
  Source: 'DefenderXDR';
  SourceContentType: SecurityStreamName;
  EventOriginalType: 'Incident' | 'Alert';
  EventSchema: 'AlertEvent';
  EventSchemaVersion: '0.1';
  EventType: 'Alert';
  EventSubType: 'Threat' | 'Suspicious Activity' | 'Compliance Violation';
  EventResult: 'NA';
  EventCount: 1;
  EventSeverity: EventSeverity;
  EventOriginalSeverity?: string;
  /** The entity's page in the Defender portal (alertWebUrl or incidentWebUrl). */
  EventReportUrl?: string;
  Dvc: string;
  /** The incident's id; for an alert, the incident it belongs to. */
  IncidentId?: string;
  IncidentUrl?: string;
  AlertId?: string;
  /** An incident's alerts, by id: the alerts themselves arrive on the alerts stream. */
  AlertIds?: string[];
  AlertName?: string;
  AlertDescription?: string;
  AlertStatus: 'Active' | 'Closed';
  AlertOriginalStatus?: string;
  AlertVerdict: AlertVerdict;
  DetectionMethod?: string;
  ThreatCategory?: string;
  ThreatName?: string;
  /** MITRE ATT&CK tactics, comma-separated. */
  AttackTactics?: string;
  /** MITRE ATT&CK technique ids, comma-separated. */
  AttackTechniques?: string;
  DvcHostname?: string;
  DvcId?: string;
  DvcOs?: string;
  Username?: string;
  UserId?: string;
  UserIdType?: string;
  IpAddr?: string;
  Url?: string;
  /** The entity as Graph served it; an incident without its expanded `alerts` (they have their own events). */
  Raw: unknown;
}

const FIELD_ORDER = [
  'EnvelopeSchema', 'EnvelopeVersion', 'EventId', 'EventOriginalUid', 'TimeGenerated', 'EventStartTime', 'EventEndTime', 'ProcessedTime',
  'Source', 'SourceContentType', 'SourceContentId', 'OrganizationId', 'EventVendor', 'EventProduct', 'EventOriginalType', 'EventSchema',
  'EventSchemaVersion', 'EventType', 'EventSubType', 'EventResult', 'EventCount', 'EventSeverity', 'EventOriginalSeverity', 'EventReportUrl',
  'Dvc', 'IncidentId', 'IncidentUrl', 'AlertId', 'AlertIds', 'AlertName', 'AlertDescription', 'AlertStatus', 'AlertOriginalStatus',
  'AlertVerdict', 'DetectionMethod', 'ThreatCategory', 'ThreatName', 'AttackTactics', 'AttackTechniques', 'DvcHostname', 'DvcId', 'DvcOs',
  'Username', 'UserId', 'UserIdType', 'IpAddr', 'Url', 'AdditionalFields', 'ParseWarnings', 'RawSha256', 'RawSizeBytes', 'RawTruncated', 'Raw',
] as const satisfies readonly (keyof DefenderEvent)[];

// Compile-time proof that FIELD_ORDER names every field: a field missing from it would be dropped silently.
type Unordered = Exclude<keyof DefenderEvent, (typeof FIELD_ORDER)[number]>;
const _everyFieldOrdered: [Unordered] extends [never] ? true : Unordered = true;

const INCIDENT_PRODUCT = 'Microsoft Defender XDR';

/** EventProduct of an alert by its Graph `serviceSource`; unknown members are used as they are. */
const PRODUCT_BY_SERVICE: ReadonlyMap<string, string> = new Map([
  ['microsoftDefenderForEndpoint', 'Microsoft Defender for Endpoint'],
  ['microsoftDefenderForIdentity', 'Microsoft Defender for Identity'],
  ['microsoftDefenderForCloudApps', 'Microsoft Defender for Cloud Apps'],
  ['microsoftDefenderForOffice365', 'Microsoft Defender for Office 365'],
  ['microsoft365Defender', INCIDENT_PRODUCT],
  ['azureAdIdentityProtection', 'Microsoft Entra ID Protection'],
  ['microsoftAppGovernance', 'App governance'],
  ['dataLossPrevention', 'Microsoft Purview Data Loss Prevention'],
  ['microsoftDefenderForCloud', 'Microsoft Defender for Cloud'],
  ['microsoftSentinel', 'Microsoft Sentinel'],
  ['microsoftInsiderRiskManagement', 'Microsoft Purview Insider Risk Management'],
]);

const SEVERITY: ReadonlyMap<string, EventSeverity> = new Map([
  ['informational', 'Informational'],
  ['low', 'Low'],
  ['medium', 'Medium'],
  ['high', 'High'],
]);

/** Statuses that end an incident or alert; a merged incident (`redirected`) lives on in another one. */
const CLOSED_STATUSES: ReadonlySet<string> = new Set(['resolved', 'redirected']);

const VERDICT_BY_CLASSIFICATION: ReadonlyMap<string, AlertVerdict> = new Map([
  ['truePositive', 'True Positive'],
  ['falsePositive', 'False Positive'],
  ['informationalExpectedActivity', 'Benign Positive'],
]);

/** Determinations group under a classification in the Defender portal; used when the classification is unknown. */
const VERDICT_BY_DETERMINATION: ReadonlyMap<string, AlertVerdict> = new Map([
  ...['apt', 'malware', 'unwantedSoftware', 'multiStagedAttack', 'compromisedAccount', 'phishing', 'maliciousUserActivity'].map((d) => [d, 'True Positive'] as const),
  ...['securityPersonnel', 'securityTesting', 'confirmedUserActivity', 'lineOfBusinessApplication'].map((d) => [d, 'Benign Positive'] as const),
  ...['notMalicious', 'notEnoughDataToValidate'].map((d) => [d, 'False Positive'] as const),
]);

/** Defender alert categories that are MITRE ATT&CK tactics (the others are threat categories only). */
const TACTICS: ReadonlySet<string> = new Set([
  'Reconnaissance', 'ResourceDevelopment', 'InitialAccess', 'Execution', 'Persistence', 'PrivilegeEscalation', 'DefenseEvasion',
  'CredentialAccess', 'Discovery', 'LateralMovement', 'Collection', 'CommandAndControl', 'Exfiltration', 'Impact',
]);

/** Sources whose alerts report policy breaches rather than attacks. */
const COMPLIANCE_SOURCES: ReadonlySet<string> = new Set(['dataLossPrevention', 'microsoftDataLossPrevention', 'microsoftInsiderRiskManagement']);

/** Top-level properties mapped to envelope fields; every other one goes to AdditionalFields. */
const MAPPED: ReadonlySet<string> = new Set([
  'id', 'title', 'displayName', 'description', 'status', 'severity', 'classification', 'determination', 'incidentId', 'incidentWebUrl',
  'alertWebUrl', 'serviceSource', 'detectionSource', 'category', 'mitreTechniques', 'threatDisplayName', 'threatFamilyName', 'tenantId',
  'lastUpdateDateTime', 'firstActivityDateTime', 'lastActivityDateTime', 'evidence', 'alerts', 'comments',
]);

/**
 * The entity's `lastUpdateDateTime` exactly as Graph wrote it (up to 7 fraction digits), or undefined
 * when it has none that is a timestamp. The poller's cursor is made of these strings.
 */
export function lastUpdateOf(entity: unknown): string | undefined {
  const value = isJsonObject(entity) ? own(entity, 'lastUpdateDateTime') : undefined;
  return isGraphTimestamp(value) ? value : undefined;
}

/**
 * Turns one incident or alert into one normalized event (ASIM AlertEvent 0.1).
 *
 * Total: it returns an event for every input value and never throws; what cannot be read is reported in
 * `ParseWarnings`. Copied strings and lists are bounded and nothing recurses over the entity. `EventId`
 * is UUIDv5 of `DefenderXDR|tenant|<kind>:<id>|<lastUpdateDateTime>` (the timestamp verbatim), so each
 * revision has its own id and a revision read twice has the same one; an entity without an id or a
 * timestamp gets UUIDv5 of `DefenderXDR|tenant|<kind>:sha256:<RawSha256>`. An incident's `Raw` leaves
 * out the `alerts` that `$expand` added: it lists their ids in `AlertIds`.
 */
export function normalizeDefender(entity: unknown, ctx: DefenderContext): DefenderEvent {
  const capture = captureRaw(entity, ctx.kind);
  const warnings = capture.warnings;
  const base = baseEvent(capture, ctx);
  if (!isJsonObject(entity)) {
    warnings.push(`${ctx.kind} is not a JSON object (${entity === null ? 'null' : Array.isArray(entity) ? 'array' : typeof entity})`);
    return assemble(base, warnings, ctx);
  }
  try {
    const draft = new Draft(entity, warnings);
    const fields = ctx.kind === 'incident' ? incidentFields(draft, ctx) : alertFields(draft, ctx);
    copyRest(draft);
    const event: Partial<DefenderEvent> = { ...base };
    for (const [key, value] of Object.entries(fields)) if (value !== undefined) (event as Record<string, unknown>)[key] = value;
    if (Object.keys(draft.additional).length > 0) event.AdditionalFields = draft.additional;
    return assemble(event, warnings, ctx);
  } catch (error) {
    warnings.push(`normalizer failed on this ${ctx.kind}: ${describe(error)}`);
    return assemble(base, warnings, ctx);
  }
}

/** Raw, and the text its hash and size are taken over: never throws, whatever the value. */
function captureRaw(entity: unknown, kind: DefenderEntityKind): RawCapture {
  try {
    let raw = entity;
    if (kind === 'incident' && isJsonObject(entity) && Object.hasOwn(entity, 'alerts')) {
      // Spread defines own data properties, so even a `__proto__` key is copied as plain data.
      const { alerts: _alerts, ...incident } = entity;
      raw = incident;
    }
    if (nestsDeeperThan(raw, MAX_DEPTH)) {
      const text = stringifyWithoutRecursion(raw);
      return { raw: text, text, warnings: [`${kind} nests deeper than ${MAX_DEPTH} levels; Raw holds its JSON text`] };
    }
    const text = JSON.stringify(raw);
    if (text === undefined) return { raw: null, text: 'null', warnings: [`${kind} is not a JSON value (${typeof raw})`] };
    return { raw, text, warnings: [] };
  } catch (error) {
    return { raw: null, text: 'null', warnings: [`${kind} cannot be serialized: ${describe(error)}`] };
  }
}

/** Every always-present field, with the values an entity that tells us nothing gets. */
function baseEvent(capture: RawCapture, ctx: DefenderContext): Partial<DefenderEvent> {
  const tenant = ctx.tenantId.toLowerCase();
  const digest = rawDigest(capture.text);
  // Alerts name their own product once their serviceSource is read.
  const product = INCIDENT_PRODUCT;
  return {
    EnvelopeSchema: ENVELOPE_SCHEMA,
    EnvelopeVersion: ENVELOPE_VERSION,
    EventOriginalUid: null,
    TimeGenerated: ctx.processedTime,
    EventStartTime: ctx.processedTime,
    EventEndTime: ctx.processedTime,
    ProcessedTime: ctx.processedTime,
    Source: 'DefenderXDR',
    SourceContentType: STREAM_OF_KIND[ctx.kind],
    SourceContentId: ctx.pageId,
    OrganizationId: tenant,
    EventVendor: 'Microsoft',
    EventProduct: product,
    EventOriginalType: ctx.kind === 'incident' ? 'Incident' : 'Alert',
    EventSchema: 'AlertEvent',
    EventSchemaVersion: '0.1',
    EventType: 'Alert',
    EventSubType: 'Threat',
    EventResult: 'NA',
    EventCount: 1,
    EventSeverity: 'Informational',
    Dvc: product,
    AlertStatus: 'Active',
    AlertVerdict: 'Unknown',
    RawSha256: digest.sha256,
    RawSizeBytes: digest.bytes,
    RawTruncated: false,
    Raw: capture.raw,
  };
}

/** Fields common to incidents and alerts: identity, time, severity, status, verdict. */
function commonFields(draft: Draft, ctx: DefenderContext): Partial<DefenderEvent> {
  const e: Partial<DefenderEvent> = {};
  const tenant = ctx.tenantId.toLowerCase();
  const id = draft.str('id');
  const updated = lastUpdateOf(draft.record);
  if (id !== undefined) e.EventOriginalUid = id;
  if (id !== undefined && updated !== undefined) {
    e.EventId = uuidV5(`DefenderXDR|${tenant}|${ctx.kind}:${id}|${updated}`, EVENT_ID_NAMESPACE);
  } else {
    draft.warn(`${ctx.kind} has no ${id === undefined ? 'id' : 'lastUpdateDateTime'}; EventId derives from RawSha256`);
  }
  const time = updated === undefined ? undefined : toIsoUtc(updated);
  if (time !== undefined) e.TimeGenerated = e.EventStartTime = e.EventEndTime = time;
  else draft.warn('lastUpdateDateTime is missing or not a timestamp; TimeGenerated is ProcessedTime');
  if (updated !== undefined) draft.add('LastUpdateDateTime', updated);

  const severity = draft.str('severity');
  if (severity !== undefined) {
    e.EventOriginalSeverity = severity;
    e.EventSeverity = SEVERITY.get(severity) ?? 'Informational';
  }
  const status = draft.str('status');
  if (status !== undefined) {
    e.AlertOriginalStatus = status;
    e.AlertStatus = CLOSED_STATUSES.has(status) ? 'Closed' : 'Active';
  }
  const classification = draft.str('classification');
  const determination = draft.str('determination');
  e.AlertVerdict = (classification && VERDICT_BY_CLASSIFICATION.get(classification)) || (determination && VERDICT_BY_DETERMINATION.get(determination)) || 'Unknown';
  draft.add('Classification', classification);
  draft.add('Determination', determination);

  const organization = draft.str('tenantId');
  if (organization !== undefined && organization.toLowerCase() !== tenant) {
    draft.add('RecordOrganizationId', organization);
    draft.warn(`the ${ctx.kind} names tenant ${organization}, not the stream's tenant`);
  }
  e.IncidentUrl = url(draft, 'incidentWebUrl');
  const comments = draft.array('comments');
  if (comments) draft.add('CommentCount', comments.length);
  return e;
}

function incidentFields(draft: Draft, ctx: DefenderContext): Partial<DefenderEvent> {
  const e = commonFields(draft, ctx);
  e.IncidentId = e.EventOriginalUid ?? undefined;
  e.AlertName = draft.str('displayName');
  e.AlertDescription = draft.str('description');
  e.EventReportUrl = e.IncidentUrl;

  const alerts = draft.array('alerts');
  let firstActivity: string | undefined;
  let lastActivity: string | undefined;
  if (alerts) {
    const objects = alerts.slice(0, MAX_ENTRIES).filter(isJsonObject);
    draft.noteCap('alerts', alerts.length);
    draft.add('AlertCount', alerts.length);
    const ids = unique(objects.map((a) => draft.text(own(a, 'id'), 'alerts[].id')));
    if (ids.length > 0) e.AlertIds = ids;
    // The incident's tactics, techniques and activity span are those of its alerts.
    const categories = unique(objects.map((a) => draft.text(own(a, 'category'), 'alerts[].category')));
    e.ThreatCategory = joined(categories);
    e.AttackTactics = joined(categories.filter((c) => TACTICS.has(c)));
    e.AttackTechniques = joined(unique(objects.flatMap((a) => techniques(draft, own(a, 'mitreTechniques')))));
    // ISO strings of one format sort as the instants they name.
    const starts = objects.map((a) => time(own(a, 'firstActivityDateTime'))).filter((t): t is string => t !== undefined).sort();
    const ends = objects.map((a) => time(own(a, 'lastActivityDateTime'))).filter((t): t is string => t !== undefined).sort();
    firstActivity = starts[0];
    lastActivity = ends.at(-1);
  }
  const start = firstActivity ?? time(draft.get('createdDateTime'));
  if (start !== undefined) e.EventStartTime = start;
  if (lastActivity !== undefined) e.EventEndTime = lastActivity;
  return e;
}

function alertFields(draft: Draft, ctx: DefenderContext): Partial<DefenderEvent> {
  const e = commonFields(draft, ctx);
  e.AlertId = e.EventOriginalUid ?? undefined;
  e.IncidentId = draft.str('incidentId');
  e.AlertName = draft.str('title');
  e.AlertDescription = draft.str('description');
  e.EventReportUrl = url(draft, 'alertWebUrl');

  const service = draft.str('serviceSource');
  const detection = draft.str('detectionSource');
  e.EventProduct = e.Dvc = service === undefined ? INCIDENT_PRODUCT : (PRODUCT_BY_SERVICE.get(service) ?? service);
  draft.add('ServiceSource', service);
  e.DetectionMethod = detection;
  const category = draft.str('category');
  e.ThreatCategory = category;
  if (category !== undefined && TACTICS.has(category)) e.AttackTactics = category;
  e.AttackTechniques = joined(unique(techniques(draft, draft.get('mitreTechniques'))));
  e.ThreatName = draft.str('threatDisplayName') ?? draft.str('threatFamilyName');
  draft.add('ThreatFamilyName', draft.str('threatFamilyName'));
  if ((service && COMPLIANCE_SOURCES.has(service)) || (detection && COMPLIANCE_SOURCES.has(detection))) e.EventSubType = 'Compliance Violation';
  else if (category === 'SuspiciousActivity') e.EventSubType = 'Suspicious Activity';

  const first = time(draft.get('firstActivityDateTime'));
  const last = time(draft.get('lastActivityDateTime'));
  if (first !== undefined) e.EventStartTime = first;
  if (last !== undefined) e.EventEndTime = last;
  Object.assign(e, evidenceFields(draft));
  return e;
}

/** The first device, user, IP and URL among an alert's evidence, as Microsoft's own ASIM parser maps them. */
function evidenceFields(draft: Draft): Partial<DefenderEvent> {
  const evidence = draft.array('evidence');
  if (!evidence) return {};
  const e: Partial<DefenderEvent> = {};
  const types: string[] = [];
  draft.noteCap('evidence', evidence.length);
  for (const item of evidence.slice(0, MAX_ENTRIES)) {
    if (!isJsonObject(item)) continue;
    const type = draft.text(own(item, '@odata.type'), 'evidence[].@odata.type')?.replace(/^#microsoft\.graph\.security\./, '');
    if (type === undefined) continue;
    types.push(type);
    if (type === 'deviceEvidence' && e.DvcHostname === undefined && e.DvcId === undefined) {
      e.DvcHostname = draft.text(own(item, 'deviceDnsName'), 'deviceEvidence.deviceDnsName');
      e.DvcId = draft.text(own(item, 'mdeDeviceId'), 'deviceEvidence.mdeDeviceId') ?? draft.text(own(item, 'azureAdDeviceId'), 'deviceEvidence.azureAdDeviceId');
      e.DvcOs = draft.text(own(item, 'osPlatform'), 'deviceEvidence.osPlatform');
    } else if (type === 'userEvidence' && e.Username === undefined && e.UserId === undefined) {
      const account = own(item, 'userAccount');
      if (isJsonObject(account)) Object.assign(e, userFields(draft, account));
    } else if (type === 'ipEvidence' && e.IpAddr === undefined) {
      const ip = draft.text(own(item, 'ipAddress'), 'ipEvidence.ipAddress');
      if (ip !== undefined && isIP(ip) !== 0) e.IpAddr = ip.toLowerCase();
      else if (ip !== undefined) draft.warn(`ipEvidence.ipAddress is not an IP address: ${ip.slice(0, 64)}`);
    } else if (type === 'urlEvidence' && e.Url === undefined) {
      e.Url = draft.text(own(item, 'url'), 'urlEvidence.url');
    }
  }
  draft.add('EvidenceCount', evidence.length);
  const distinct = unique(types);
  if (distinct.length > 0) draft.add('EvidenceTypes', distinct);
  return e;
}

function userFields(draft: Draft, account: Record<string, unknown>): Partial<DefenderEvent> {
  const e: Partial<DefenderEvent> = {};
  const upn = draft.text(own(account, 'userPrincipalName'), 'userAccount.userPrincipalName');
  const name = draft.text(own(account, 'accountName'), 'userAccount.accountName');
  const domain = draft.text(own(account, 'domainName'), 'userAccount.domainName');
  e.Username = upn ?? (name !== undefined && domain !== undefined ? `${domain}\\${name}` : name);
  const aadId = draft.text(own(account, 'azureAdUserId'), 'userAccount.azureAdUserId');
  const sid = draft.text(own(account, 'userSid'), 'userAccount.userSid');
  if (aadId !== undefined) [e.UserId, e.UserIdType] = [aadId, 'AADID'];
  else if (sid !== undefined) [e.UserId, e.UserIdType] = [sid, 'SID'];
  return e;
}

/** Every property not mapped above, bounded, under its PascalCase name (the entity keeps them all in Raw). */
function copyRest(draft: Draft): void {
  const keys = Object.keys(draft.record);
  draft.noteCap('properties', keys.length);
  for (const key of keys.slice(0, MAX_ENTRIES)) {
    if (MAPPED.has(key) || key.startsWith('@odata.') || key.length > 128) continue;
    draft.copy(key, key.charAt(0).toUpperCase() + key.slice(1));
  }
}

/** An https URL from the entity; anything else is left to Raw (it may end up as a link in a console). */
function url(draft: Draft, key: string): string | undefined {
  const value = draft.str(key);
  if (value === undefined) return undefined;
  if (/^https:\/\/[^\s]+$/i.test(value)) return value;
  draft.warn(`${key} is not an https URL; left in Raw`);
  return undefined;
}

function techniques(draft: Draft, value: unknown): string[] {
  if (!Array.isArray(value)) return [];
  draft.noteCap('mitreTechniques', value.length);
  return value.slice(0, MAX_ENTRIES).map((t) => draft.text(t, 'mitreTechniques[]')).filter((t): t is string => t !== undefined);
}

function time(value: unknown): string | undefined {
  return typeof value === 'string' ? toIsoUtc(value) : undefined;
}

function unique(values: readonly (string | undefined)[]): string[] {
  return [...new Set(values.filter((v): v is string => v !== undefined))];
}

function joined(values: readonly string[]): string | undefined {
  return values.length > 0 ? values.join(', ') : undefined;
}

/** The event in field order, with the RawSha256-derived EventId when the entity had no id or lastUpdateDateTime. */
function assemble(fields: Partial<DefenderEvent>, warnings: string[], ctx: DefenderContext): DefenderEvent {
  return inOrder(withFallbackEventId(fields, 'DefenderXDR', `${ctx.kind}:`), FIELD_ORDER, warnings);
}
