/**
 * The lookup tables of the normalizer: service enums to names, and names to the ASIM vocabulary
 * (docs/event-schema.md, "Rules"). Data only, plus the small functions that read it.
 */
import type { EventResult, EventSeverity } from './event.js';

/** EventProduct (and Dvc, TargetAppName) by Workload; other workloads are used as they are. */
const PRODUCT_BY_WORKLOAD: ReadonlyMap<string, string> = new Map([
  ['Exchange', 'Exchange 365'],
  ['SharePoint', 'SharePoint'],
  ['OneDrive', 'OneDrive'],
  ['AzureActiveDirectory', 'Microsoft Entra ID'],
  ['MicrosoftTeams', 'Teams'],
]);
/** A record without a Workload still needs a product. */
const UNKNOWN_PRODUCT = 'Microsoft 365';

/** EventProduct of a Workload (always a value: `Microsoft 365` when there is no Workload). */
export function productOf(workload: string | undefined): string {
  if (workload === undefined) return UNKNOWN_PRODUCT;
  return PRODUCT_BY_WORKLOAD.get(workload) ?? workload;
}

/** The UserType enum in order, and what ASIM calls each member (docs/event-schema.md, "UserType"). */
const USER_TYPES: readonly { name: string; asim: string }[] = [
  { name: 'Regular', asim: 'Regular' },
  { name: 'Reserved', asim: 'Other' },
  { name: 'Admin', asim: 'Admin' },
  { name: 'DCAdmin', asim: 'Admin' },
  { name: 'System', asim: 'System' },
  { name: 'Application', asim: 'Application' },
  { name: 'ServicePrincipal', asim: 'Service Principal' },
  { name: 'CustomPolicy', asim: 'Other' },
  { name: 'SystemPolicy', asim: 'Other' },
  { name: 'PartnerTechnician', asim: 'Other' },
  { name: 'Guest', asim: 'Guest' },
];
const USER_TYPE_BY_NAME: ReadonlyMap<string, { name: string; asim: string }> = new Map(
  USER_TYPES.map((type) => [type.name.toLowerCase(), type]),
);

/**
 * The UserType of a record, from its number (or numeric string) or member name: `original` is the enum
 * member (the raw value when unknown), `asim` the ASIM user type.
 */
export function userTypeOf(value: number | string): { original: string; asim: string } {
  const known = typeof value === 'number' ? USER_TYPES[value] : USER_TYPE_BY_NAME.get(value.toLowerCase());
  return known ? { original: known.name, asim: known.asim } : { original: String(value), asim: 'Other' };
}

/** Exchange mailbox LogonType enum, in order (docs/event-schema.md, "AdditionalFields"). */
export const LOGON_TYPES: readonly string[] = [
  'Owner',
  'Admin',
  'Delegated',
  'Transport',
  'SystemService',
  'BestAccess',
  'DelegatedAdmin',
];

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const PUID = /^[0-9a-f]{16}$/i;
const SID = /^S-1-\d+(?:-\d+)+$/i;

/** Whether `value` is a GUID in its 8-4-4-4-12 text form, any case. */
export function isGuidText(value: string): boolean {
  return GUID.test(value);
}

/** Whether `value` is a passport unique ID: 16 hex digits. */
export function isPuid(value: string): boolean {
  return PUID.test(value);
}

/** ASIM `*UsernameType`: UPN for `user@domain`, Windows for `DOMAIN\user`, Simple otherwise. */
export function usernameTypeOf(username: string): string {
  const at = username.indexOf('@');
  if (at > 0 && at < username.length - 1 && !username.includes(' ')) return 'UPN';
  if (username.indexOf('\\') > 0) return 'Windows';
  return 'Simple';
}

/** ASIM `*UserIdType` of a UserKey-style id: PUID, AADID (object id GUID), SID, or Other (claims, names). */
export function userIdTypeOf(id: string): string {
  if (PUID.test(id)) return 'PUID';
  if (GUID.test(id)) return 'AADID';
  if (SID.test(id)) return 'SID';
  return 'Other';
}

/** ResultStatus values, lower-cased, that map to an EventResult; anything else (e.g. InProgress) is NA. */
const RESULT_BY_STATUS: ReadonlyMap<string, EventResult> = new Map([
  ['succeeded', 'Success'],
  ['success', 'Success'],
  ['true', 'Success'],
  ['partiallysucceeded', 'Partial'],
  ['failed', 'Failure'],
  ['failure', 'Failure'],
  ['false', 'Failure'],
]);

/** EventResult of a ResultStatus value, any case; unknown values (e.g. InProgress) are NA. */
export function resultOfStatus(status: string): EventResult {
  return RESULT_BY_STATUS.get(status.toLowerCase()) ?? 'NA';
}

/**
 * AADSTS error codes → ASIM EventResultDetails: our own best judgement from general Entra ID knowledge, not
 * verified code by code against Microsoft's AADSTS list (docs/event-schema.md, "Sign-in failures"); unlisted codes are `Other`.
 */
const LOGON_FAILURE_DETAILS: ReadonlyMap<string, string> = new Map([
  ['50126', 'No such user or password'],
  ['50034', 'No such user'],
  ['50053', 'User locked'],
  ['50057', 'User disabled'],
  ['50055', 'Password expired'],
  ['50074', 'Logon violates policy'],
  ['50076', 'Logon violates policy'],
  ['53003', 'Logon violates policy'],
]);

/** ASIM EventResultDetails of a failed sign-in's AADSTS ErrorCode (`Other` when unlisted or absent). */
export function logonFailureDetails(errorCode: string | undefined): string {
  return (errorCode && LOGON_FAILURE_DETAILS.get(errorCode)) || 'Other';
}

const SEVERITIES: ReadonlyMap<string, EventSeverity> = new Map([
  ['informational', 'Informational'],
  ['info', 'Informational'],
  ['low', 'Low'],
  ['medium', 'Medium'],
  ['high', 'High'],
]);
const SEVERITY_RANK: readonly EventSeverity[] = ['Informational', 'Low', 'Medium', 'High'];

/** An alert/DLP severity string as an ASIM EventSeverity, or undefined when it is not one. */
export function severityOf(value: string): EventSeverity | undefined {
  return SEVERITIES.get(value.toLowerCase());
}

/** The higher of two severities. */
export function maxSeverity(a: EventSeverity, b: EventSeverity): EventSeverity {
  return SEVERITY_RANK.indexOf(a) >= SEVERITY_RANK.indexOf(b) ? a : b;
}

/**
 * AuditEvent EventType by the operation's verb: the leading word (`Add-MailboxPermission`, `Add user.`,
 * `AddedToGroup`) is looked up first, then the trailing one (`MailItemsAccessed`, `TeamCreated`).
 */
const VERBS: ReadonlyMap<string, string> = new Map([
  ...['New', 'Add', 'Added', 'Create', 'Created', 'Creation'].map((w) => [w, 'Create'] as const),
  ...['Set', 'Update', 'Updated', 'Modify', 'Modified', 'Change', 'Changed', 'Reset', 'Edit', 'Edited'].map(
    (w) => [w, 'Set'] as const,
  ),
  ...['Remove', 'Removed', 'Delete', 'Deleted'].map((w) => [w, 'Delete'] as const),
  ...['Enable', 'Enabled'].map((w) => [w, 'Enable'] as const),
  ...['Disable', 'Disabled'].map((w) => [w, 'Disable'] as const),
  ...['Install', 'Installed'].map((w) => [w, 'Install'] as const),
  ...['Start', 'Started'].map((w) => [w, 'Start'] as const),
  ...['Stop', 'Stopped'].map((w) => [w, 'Stop'] as const),
  ...['Clear', 'Cleared'].map((w) => [w, 'Clear'] as const),
  ...[
    'Get',
    'Search',
    'Searched',
    'Read',
    'Preview',
    'Previewed',
    'Download',
    'Downloaded',
    'View',
    'Viewed',
    'Access',
    'Accessed',
    'Export',
    'Exported',
  ].map((w) => [w, 'Read'] as const),
]);

/** ASIM AuditEvent EventType of an Operation by its verb; `Other` when no verb is recognized. */
export function auditEventTypeOf(operation: string | undefined): string {
  if (operation === undefined) return 'Other';
  return VERBS.get(leadingWord(operation)) ?? VERBS.get(trailingWord(operation)) ?? 'Other';
}

/** `Add` of `Add-MailboxPermission`, `Add user.` and `AddedToGroup` → `Added`; scanned, not matched by regex. */
function leadingWord(operation: string): string {
  let end = 0;
  if (end < operation.length && isUpper(operation.charCodeAt(end))) end++;
  while (end < operation.length && isLower(operation.charCodeAt(end))) end++;
  return operation.slice(0, end);
}

/** `Accessed` of `MailItemsAccessed`, `user` of `Add user.` (ignoring trailing dots). */
function trailingWord(operation: string): string {
  let end = operation.length;
  while (end > 0 && operation.charCodeAt(end - 1) === 0x2e) end--;
  let start = end;
  while (start > 0 && isLower(operation.charCodeAt(start - 1))) start--;
  if (start > 0 && isUpper(operation.charCodeAt(start - 1))) start--;
  return operation.slice(start, end);
}

function isUpper(code: number): boolean {
  return code >= 0x41 && code <= 0x5a;
}

function isLower(code: number): boolean {
  return code >= 0x61 && code <= 0x7a;
}

/**
 * SharePoint/OneDrive file operations → ASIM FileEvent EventType and EventSubType, after Microsoft's own
 * SharePoint parser (vimFileEventMicrosoftSharePoint), with its `FileModified → FolderModified` slip fixed.
 */
const FILE_OPERATIONS: ReadonlyMap<string, { type: string; subType?: string }> = new Map([
  ['FileAccessed', { type: 'FileAccessed' }],
  ['FileAccessedExtended', { type: 'FileAccessed', subType: 'Extended' }],
  ['FileDownloaded', { type: 'FileAccessed', subType: 'Download' }],
  ['FileSyncDownloadedFull', { type: 'FileAccessed', subType: 'Download' }],
  ['FileSyncDownloadedPartial', { type: 'FileAccessed', subType: 'Download' }],
  ['FilePreviewed', { type: 'FileAccessed', subType: 'Preview' }],
  ['FileCheckedOut', { type: 'FileAccessed', subType: 'Checkout' }],
  ['FileUploaded', { type: 'FileCreated', subType: 'Upload' }],
  ['FileSyncUploadedFull', { type: 'FileCreated', subType: 'Upload' }],
  ['FileSyncUploadedPartial', { type: 'FileCreated', subType: 'Upload' }],
  ['FileCheckedIn', { type: 'FileCreatedOrModified', subType: 'Checkin' }],
  ['FileModified', { type: 'FileModified' }],
  ['FileModifiedExtended', { type: 'FileModified' }],
  ['FileRestored', { type: 'FileCreated' }],
  ['FileDeleted', { type: 'FileDeleted' }],
  ['FileDeletedFirstStageRecycleBin', { type: 'FileDeleted', subType: 'Recycled' }],
  ['FileDeletedSecondStageRecycleBin', { type: 'FileDeleted' }],
  ['FileRecycled', { type: 'FileDeleted', subType: 'Recycled' }],
  ['FileVersionsAllDeleted', { type: 'FileDeleted', subType: 'Versions' }],
  ['FileVersionRecycled', { type: 'FileDeleted', subType: 'Versions' }],
  ['FileRenamed', { type: 'FileRenamed' }],
  ['FileMoved', { type: 'FileMoved' }],
  ['FileCopied', { type: 'FileCopied' }],
  ['FolderCreated', { type: 'FolderCreated' }],
  ['FolderModified', { type: 'FolderModified' }],
  ['FolderRenamed', { type: 'FolderModified' }],
  ['FolderDeleted', { type: 'FolderDeleted' }],
  ['FolderRecycled', { type: 'FolderDeleted', subType: 'Recycled' }],
  ['FolderMoved', { type: 'FolderMoved' }],
  ['SiteDeleted', { type: 'FolderDeleted', subType: 'Site' }],
]);
/** Operations that have a source and a destination file (Destination* fields). */
export const FILE_TRANSFERS: ReadonlySet<string> = new Set(['FileCopied', 'FileMoved', 'FileRenamed', 'FolderMoved', 'FolderCopied', 'FolderRenamed']);
const FILE_EVENT_BY_VERB: ReadonlyMap<string, string> = new Map([
  ['Create', 'FileCreated'],
  ['Set', 'FileModified'],
  ['Delete', 'FileDeleted'],
  ['Read', 'FileAccessed'],
]);

/** FileEvent type of a SharePoint file operation; unlisted ones by their verb, else FileAccessed. */
export function fileEventTypeOf(operation: string | undefined): { type: string; subType?: string } {
  if (operation === undefined) return { type: 'FileAccessed' };
  if (operation.startsWith('FileSensitivityLabel')) return { type: 'FileAttributesUpdated' };
  return (
    FILE_OPERATIONS.get(operation) ?? { type: FILE_EVENT_BY_VERB.get(auditEventTypeOf(operation)) ?? 'FileAccessed' }
  );
}
