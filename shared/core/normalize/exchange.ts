import { type Draft, MAX_ENTRIES, toInteger } from './draft.js';
import { isJsonObject, own } from './json.js';
import { LOGON_TYPES, usernameTypeOf } from './vocabulary.js';

/**
 * Exchange admin (RecordType 1): the cmdlet run, on what, by whom. `UserId` may be `user (App)`, the
 * object carries the organization's path prefix, and `ResultStatus` is True/False.
 */
export function mapExchangeAdmin(d: Draft): void {
  const e = d.event;
  if (e.ActorUsername !== undefined) {
    const actor = splitTrailingParenthesis(e.ActorUsername);
    if (actor) {
      e.ActorUsername = actor.head;
      e.ActorUsernameType = usernameTypeOf(actor.head);
      e.ActingAppName = actor.inner;
    }
  }
  e.ActingAppId = d.str('ClientAppId') ?? d.str('AppId') ?? e.ActingAppId;
  const organization = d.str('OrganizationName');
  if (e.Object !== undefined && organization !== undefined) {
    const marker = `/${organization}/`;
    const at = e.Object.indexOf(marker);
    if (at >= 0 && at + marker.length < e.Object.length) e.Object = e.Object.slice(at + marker.length);
  }
  const noun = cmdletNoun(e.Operation ?? undefined);
  if (noun !== undefined) {
    e.OriginalObjectType = noun;
    e.ObjectType = objectTypeOfNoun(noun);
  }
  // Microsoft's own Exchange admin parser rates a failed cmdlet Low.
  if (e.EventResult === 'Failure') e.EventSeverity = 'Low';
  d.copy('ModifiedObjectResolvedName');
  d.copy('ExternalAccess');
}

/**
 * Exchange mailbox records (ExchangeItem 2, ExchangeItemGroup 3, ExchangeItemAggregated 50, e.g.
 * MailItemsAccessed): the mailbox owner is the target, the folder or item the object, `ClientInfoString`
 * the acting client; aggregated records count `OperationCount` operations.
 */
export function mapExchangeMailbox(d: Draft): void {
  const e = d.event;
  const owner = d.str('MailboxOwnerUPN');
  if (owner !== undefined) {
    e.TargetUsername = owner;
    e.TargetUsernameType = usernameTypeOf(owner);
  }
  e.ActorUserSid = d.str('LogonUserSid');
  e.ActorSessionId = d.str('SessionId') ?? e.ActorSessionId;
  e.ActingAppId = d.str('ClientAppId') ?? e.ActingAppId;
  e.ActingAppName = d.str('ClientInfoString') ?? e.ActingAppName;
  e.TargetAppId = d.str('AppId');

  const { paths, messageIds } = mailboxContents(d);
  const folderOperation = e.Operation?.includes('Folder') === true;
  if (paths.length === 1) {
    const path = paths[0]!;
    e.Object = owner === undefined ? path : `${owner}${path.startsWith('\\') ? '' : '\\'}${path}`;
    e.OriginalObjectType = d.get('Item') !== undefined && !folderOperation ? 'MailboxItem' : 'MailboxFolder';
  } else {
    e.Object = owner ?? e.Object;
    e.OriginalObjectType = 'Mailbox';
  }

  const operations = d.int('OperationCount');
  if (operations !== undefined && operations > 0) e.EventCount = operations;
  if (e.Operation === 'MailItemsAccessed') {
    const access = d.flattened.get('OperationProperties')?.get('MailAccessType');
    if (typeof access === 'string' && access !== '') e.EventSubType = access;
  }

  d.add('MailboxOwnerUPN', owner);
  d.copy('MailboxGuid');
  const logonType = toInteger(d.get('LogonType'));
  d.add('LogonType', logonType === undefined ? d.str('LogonType') : (LOGON_TYPES[logonType] ?? String(logonType)));
  d.copy('ExternalAccess');
  d.copy('ClientInfoString');
  d.copy('ClientProcessName');
  d.copy('ClientVersion');
  d.add('FolderPaths', paths.length > 0 ? paths : undefined);
  d.add('InternetMessageIds', messageIds.length > 0 ? messageIds : undefined);
  d.copy('OperationCount');
}

/** The folder paths and message ids a mailbox record names, in order, each list de-duplicated and capped. */
function mailboxContents(d: Draft): { paths: string[]; messageIds: string[] } {
  const paths = new Set<string>();
  const messageIds = new Set<string>();
  const addPath = (folder: unknown): void => {
    const path = isJsonObject(folder) ? d.text(own(folder, 'Path'), 'Folder.Path') : undefined;
    if (path !== undefined && paths.size < MAX_ENTRIES) paths.add(path);
  };
  const addMessage = (item: unknown): void => {
    const id = isJsonObject(item) ? d.text(own(item, 'InternetMessageId'), 'InternetMessageId') : undefined;
    if (id !== undefined && messageIds.size < MAX_ENTRIES) messageIds.add(id);
  };
  const item = d.object('Item');
  if (item) {
    addPath(own(item, 'ParentFolder'));
    addMessage(item);
  }
  addPath(d.object('Folder'));
  const folders = d.array('Folders') ?? [];
  d.noteCap('Folders', folders.length);
  let items = 0;
  for (const folder of folders.slice(0, MAX_ENTRIES)) {
    addPath(folder);
    const folderItems = isJsonObject(folder) ? own(folder, 'FolderItems') : undefined;
    if (!Array.isArray(folderItems)) continue;
    items += folderItems.length;
    for (const folderItem of folderItems.slice(0, MAX_ENTRIES)) addMessage(folderItem);
  }
  const affected = d.array('AffectedItems') ?? [];
  items += affected.length;
  for (const affectedItem of affected.slice(0, MAX_ENTRIES)) {
    addMessage(affectedItem);
    if (isJsonObject(affectedItem)) addPath(own(affectedItem, 'ParentFolder'));
  }
  d.noteCap('InternetMessageIds', items);
  return { paths: [...paths], messageIds: [...messageIds] };
}

/** `NT AUTHORITY\SYSTEM (Microsoft.Exchange.ServiceHost)` → head and inner text; scanned, no regex. */
function splitTrailingParenthesis(text: string): { head: string; inner: string } | undefined {
  if (!text.endsWith(')')) return undefined;
  const open = text.lastIndexOf(' (');
  if (open <= 0) return undefined;
  const inner = text.slice(open + 2, -1).trim();
  if (inner === '' || inner.includes('(')) return undefined;
  return { head: text.slice(0, open).trim(), inner };
}

/** `Mailbox` of `Set-Mailbox`. */
function cmdletNoun(operation: string | undefined): string | undefined {
  const dash = operation?.indexOf('-') ?? -1;
  return dash > 0 && dash < operation!.length - 1 ? operation!.slice(dash + 1) : undefined;
}

function objectTypeOfNoun(noun: string): string {
  if (noun.endsWith('Policy') || noun.endsWith('Rule')) return 'Policy Rule';
  if (noun.endsWith('Config') || noun.endsWith('Configuration') || noun.endsWith('Settings')) return 'Configuration Atom';
  return 'Other';
}
