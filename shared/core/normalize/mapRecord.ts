import { recordTypeName } from '../recordTypes.js';
import { uuidV5 } from '../uuid.js';
import { type Draft, MAX_ENTRIES, MAX_VALUE_CHARS } from './draft.js';
import { mapDirectoryAudit, mapLogon } from './entra.js';
import { AUDIT_RECORD_IDENTITY, EVENT_ID_NAMESPACE, type NormalizeContext } from './event.js';
import { mapExchangeAdmin, mapExchangeMailbox } from './exchange.js';
import { mapAlert, mapDlp, mapPowerBi, mapTeams } from './general.js';
import { isNoAddress, parseClientAddress, serverNameOf } from './ip.js';
import { isJsonObject, nullObject, own } from './json.js';
import { mapFileOperation, mapSharePoint, mapSharing } from './sharePoint.js';
import { toIsoUtc } from './time.js';
import {
  auditEventTypeOf,
  productOf,
  resultOfStatus,
  userIdTypeOf,
  usernameTypeOf,
  userTypeOf,
} from './vocabulary.js';

/** Client address fields in order of preference (docs/event-schema.md, "Client address cleaning"), then the sender IP of Defender for Office records. */
const ADDRESS_FIELDS = ['ClientIP', 'ClientIPAddress', 'ActorIpAddress', 'ActorIP', 'SenderIp', 'SenderIP'] as const;
const LOGON_OPERATIONS: ReadonlySet<string> = new Set(['UserLoggedIn', 'UserLoginFailed']);
const LOGON_RECORD_TYPES: ReadonlySet<number> = new Set([9, 15]);
const DLP_RECORD_TYPES: ReadonlySet<number> = new Set([11, 13, 33, 63, 99, 100, 107]);
const EXCHANGE_MAILBOX_RECORD_TYPES: ReadonlySet<number> = new Set([2, 3, 50]);
// DlpRuleMatch, DLPRuleMatch, DlpRuleUndo, DlpInfo: DLP operations whatever record type carries them.
const DLP_OPERATION = /^dlp/i;

/**
 * Fills the draft from a JSON-object record: the fields every record shares, then the schema
 * (Authentication, FileEvent or AuditEvent) and the workload-specific actor, target and object.
 */
export function mapRecord(d: Draft, ctx: NormalizeContext): void {
  mapIdentity(d, ctx);
  mapCommon(d);
  const recordType = d.event.RecordType ?? undefined;
  const operation = d.event.Operation ?? undefined;
  const workload = d.event.Workload ?? undefined;
  if ((recordType !== undefined && LOGON_RECORD_TYPES.has(recordType)) || (operation && LOGON_OPERATIONS.has(operation))) {
    d.event.EventSchema = 'Authentication';
    d.event.EventSchemaVersion = '0.1.3';
    d.event.EventType = 'Logon';
    mapLogon(d);
    return;
  }
  if (recordType === 6) {
    d.event.EventSchema = 'FileEvent';
    d.event.EventSchemaVersion = '0.2.1';
    mapFileOperation(d);
    return;
  }
  d.event.EventType = auditEventTypeOf(operation);
  if ((recordType !== undefined && DLP_RECORD_TYPES.has(recordType)) || DLP_OPERATION.test(operation ?? '')) mapDlp(d);
  else if (recordType === 1) mapExchangeAdmin(d);
  else if (recordType !== undefined && EXCHANGE_MAILBOX_RECORD_TYPES.has(recordType)) mapExchangeMailbox(d);
  else if (recordType === 8 || workload === 'AzureActiveDirectory') mapDirectoryAudit(d);
  else if (recordType === 40) mapAlert(d);
  else if (recordType === 14) mapSharing(d);
  else if (workload === 'SharePoint' || workload === 'OneDrive') mapSharePoint(d);
  else if (workload === 'MicrosoftTeams') mapTeams(d);
  else if (workload === 'PowerBI') mapPowerBi(d);
}

/** EventId, times, record type: what identifies the record and places it in time. */
function mapIdentity(d: Draft, ctx: NormalizeContext): void {
  const e = d.event;
  const tenant = e.OrganizationId!;
  // Only a string Id names the record; a number or an object there is not the service's Id.
  const rawId = d.get('Id');
  const id = typeof rawId === 'string' ? d.text(rawId, 'Id') : undefined;
  if (id !== undefined) {
    e.EventOriginalUid = id;
    e.EventId = uuidV5(`${AUDIT_RECORD_IDENTITY}|${tenant}|${id.toLowerCase()}`, EVENT_ID_NAMESPACE);
  } else d.warn('no usable Id; EventId derived from RawSha256');

  const creationTime = d.get('CreationTime');
  const time = typeof creationTime === 'string' ? toIsoUtc(creationTime) : undefined;
  if (time !== undefined) e.TimeGenerated = e.EventStartTime = e.EventEndTime = time;
  else {
    const from = ctx.contentCreated !== undefined && toIsoUtc(ctx.contentCreated) ? 'SourceContentCreated' : 'ProcessedTime';
    d.warn(`${creationTime === undefined ? 'missing' : 'unparseable'} CreationTime; TimeGenerated from ${from}`);
  }

  const organization = d.str('OrganizationId');
  if (organization !== undefined && organization.toLowerCase() !== tenant) {
    d.warn('OrganizationId differs from the stream tenant');
    d.add('RecordOrganizationId', organization);
  }

  const rawType = d.get('RecordType');
  const recordType = d.int('RecordType');
  if (recordType === undefined) {
    d.warn(rawType === undefined ? 'missing RecordType' : 'RecordType is not an integer');
  } else {
    e.RecordType = recordType;
    const name = recordTypeName(recordType);
    if (name === undefined) d.warn(`unknown RecordType ${recordType}`);
    e.RecordTypeName = name ?? `Unknown(${recordType})`;
  }
}

/** Workload, operation, actor, client, result and the Name/Value lists every workload may carry. */
function mapCommon(d: Draft): void {
  const e = d.event;
  const workload = d.str('Workload');
  e.Workload = workload ?? null;
  e.EventProduct = e.Dvc = productOf(workload);
  const operation = d.str('Operation');
  e.Operation = e.EventOriginalType = operation ?? null;

  const userId = d.str('UserId');
  if (userId !== undefined) {
    e.ActorUsername = userId;
    e.ActorUsernameType = usernameTypeOf(userId);
  }
  const userKey = d.str('UserKey');
  if (userKey !== undefined) {
    e.ActorUserId = userKey;
    e.ActorUserIdType = userIdTypeOf(userKey);
  }
  const userType = d.int('UserType') ?? d.str('UserType');
  if (userType !== undefined) {
    const type = userTypeOf(userType);
    e.ActorUserType = type.asim;
    e.ActorOriginalUserType = type.original;
  }
  e.ActorScope = d.str('OrganizationName');
  e.ActorScopeId = e.OrganizationId;
  const context = appAccessContext(d);
  if (context) {
    e.ActorSessionId = d.text(own(context, 'AADSessionId'), 'AppAccessContext.AADSessionId');
    e.ActingAppId = d.text(own(context, 'ClientAppId'), 'AppAccessContext.ClientAppId');
    e.ActingAppName = d.text(own(context, 'ClientAppName'), 'AppAccessContext.ClientAppName');
  }

  mapClientAddress(d);
  e.HttpUserAgent = d.str('UserAgent');
  e.TargetAppName = e.EventProduct;
  e.TargetAppType = 'SaaS application';
  e.Object = d.str('ObjectId');
  e.ObjectType = 'Other';
  e.OriginalObjectType = d.str('ObjectType') ?? d.str('ItemType');

  const status = d.str('ResultStatus');
  if (status !== undefined) {
    e.EventResult = resultOfStatus(status);
    e.EventOriginalResultDetails = status;
  }

  const server = d.str('OriginatingServer');
  if (server !== undefined) d.add('OriginatingServer', serverNameOf(server));
  d.flatten('ExtendedProperties');
  d.flatten('DeviceProperties');
  d.flatten('OperationProperties');
  d.add('Parameters', d.nameValues('Parameters'));
  mapModifiedProperties(d);
  d.add('AdditionalInfo', d.decoded('AdditionalInfo'));
  d.add('Data', d.decoded('Data'));
}

/** `AppAccessContext` is documented as a collection but arrives as one object; accept both. */
function appAccessContext(d: Draft): Record<string, unknown> | undefined {
  const value = d.get('AppAccessContext');
  const first: unknown = Array.isArray(value) ? value[0] : value;
  return isJsonObject(first) ? first : undefined;
}

/**
 * SrcIpAddr/SrcPortNumber/SrcHostname from the first non-empty address field; SrcIpAddrOriginal keeps the
 * value used. Another address field naming a different address is kept in AdditionalFields.
 */
function mapClientAddress(d: Draft): void {
  let used: { field: string; text: string; ip: string | null } | undefined;
  for (const field of ADDRESS_FIELDS) {
    const value = d.get(field);
    if (typeof value !== 'string') continue;
    const text = d.text(value, field);
    if (text === undefined || isNoAddress(text.toLowerCase())) continue;
    const address = parseClientAddress(text);
    if (used === undefined) {
      used = { field, text, ip: address.ip };
      const e = d.event;
      e.SrcIpAddrOriginal = value.length > MAX_VALUE_CHARS ? text : value;
      e.SrcIpAddr = address.ip;
      e.SrcPortNumber = address.port;
      e.SrcHostname = address.hostname;
      if (address.problem !== undefined) d.warn(`${field} ${address.problem}`);
    } else if ((address.ip ?? text) !== (used.ip ?? used.text)) {
      d.add(field, text);
    }
  }
}

/**
 * ModifiedProperties: `{Name, OldValue, NewValue}` objects (admin, Entra, SharePoint) become a map by Name,
 * plain strings (Exchange mailbox) a list; a single change also fills OldValue/NewValue.
 */
function mapModifiedProperties(d: Draft): void {
  const list = d.list('ModifiedProperties');
  if (list === undefined || list.length === 0) return;
  const entries = list.slice(0, MAX_ENTRIES);
  d.noteCap('ModifiedProperties', list.length);
  if (entries.every((entry) => typeof entry === 'string')) {
    const texts = entries.map((entry) => d.text(entry, 'ModifiedProperties'));
    d.add('ModifiedProperties', texts.filter((text) => text !== undefined));
    return;
  }
  const changes = nullObject<Record<string, { OldValue: unknown; NewValue: unknown }>>();
  let named = 0;
  for (const entry of entries) {
    const name = isJsonObject(entry) ? d.text(own(entry, 'Name'), 'ModifiedProperties.Name') : undefined;
    if (name === undefined) continue;
    named++;
    const change = nullObject<{ OldValue: unknown; NewValue: unknown }>();
    change.OldValue = changeValue(d, own(entry as Record<string, unknown>, 'OldValue'), name);
    change.NewValue = changeValue(d, own(entry as Record<string, unknown>, 'NewValue'), name);
    changes[name] = change;
  }
  if (named < entries.length) d.warn(`ModifiedProperties: skipped ${entries.length - named} entries without a Name`);
  if (named === 0) return;
  d.add('ModifiedProperties', changes);
  const names = Object.keys(changes);
  if (names.length === 1) {
    const only = changes[names[0]!]!;
    d.event.OldValue = d.text(only.OldValue, 'ModifiedProperties.OldValue');
    d.event.NewValue = d.text(only.NewValue, 'ModifiedProperties.NewValue');
  }
}

/** Old and new values are text as the service wrote it (`False` stays `False`); other JSON is depth-checked. */
function changeValue(d: Draft, value: unknown, name: string): unknown {
  return (typeof value === 'string' ? d.text(value, 'ModifiedProperties', name) : d.bounded(value, 'ModifiedProperties', name)) ?? null;
}
