import { type Draft, MAX_ENTRIES, take, toInteger } from './draft.js';
import { isJsonObject, own } from './json.js';
import { isGuidText, isPuid, logonFailureDetails, userIdTypeOf, usernameTypeOf } from './vocabulary.js';

/** What an Entra `Actor` or `Target` list says about one principal. */
interface Principal {
  upn?: string;
  puid?: string;
  /** The principal's object id (a GUID). */
  objectId?: string;
  /** `User`, `ServicePrincipal`, … from an `<Kind>_<guid>` entry. */
  kind?: string;
  /** A display name (IdentityType 1, e.g. the application acting). */
  name?: string;
  /** The id that goes with `name` when the list names an application besides the principal. */
  appId?: string;
}

// `User_21119711-1517-43d4-8138-b537dafad016`: the object's kind and id in one entry.
const KIND_AND_ID = /^([A-Za-z]+)_([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/i;
// IdentityType numbers (observed; Microsoft's schema lists the members without numbers, docs/event-schema.md): 1 Name, 3 PUID, 5 UPN;
// 0 and 2 carry object ids, kinds and other identifiers.
const NAME = 1;
const PUID_TYPE = 3;
const UPN = 5;

/**
 * Reads an Entra `[{ID, Type}]` list (Type may be a string). The object id is the GUID of a
 * `<Kind>_<guid>` entry, else the first GUID, unless a display name is present: then the first GUID is
 * that application's and the object id needs the `<Kind>_` form.
 */
export function principalOf(d: Draft, key: 'Actor' | 'Target'): Principal {
  const list = d.array(key);
  const principal: Principal = {};
  if (!list) return principal;
  const guids: string[] = [];
  d.noteCap(key, list.length);
  for (const entry of list.slice(0, MAX_ENTRIES)) {
    if (!isJsonObject(entry)) continue;
    const id = d.text(own(entry, 'ID'), key, 'ID');
    const type = toInteger(own(entry, 'Type'));
    if (id === undefined || type === undefined) continue;
    if (type === UPN) principal.upn ??= id;
    else if (type === PUID_TYPE) principal.puid ??= id;
    else if (type === NAME) principal.name ??= id;
    else {
      const kindAndId = KIND_AND_ID.exec(id);
      if (kindAndId && principal.kind === undefined) {
        principal.kind = kindAndId[1]!;
        principal.objectId = kindAndId[2]!.toLowerCase();
      } else if (isGuidText(id)) guids.push(id.toLowerCase());
    }
  }
  const others = guids.filter((guid) => guid !== principal.objectId);
  if (principal.name !== undefined) principal.appId = others[0];
  else principal.objectId ??= others[0];
  return principal;
}

/**
 * Entra sign-ins (AzureActiveDirectoryStsLogon 15, legacy AccountLogon 9): the signing-in user is the
 * *target* of an ASIM Authentication event. The result comes from Operation and ErrorCode, because for
 * these records ResultStatus only reports the HTTP call.
 */
export function mapLogon(d: Draft): void {
  const e = d.event;
  const actor = principalOf(d, 'Actor');
  const username = actor.upn ?? e.ActorUsername;
  if (username !== undefined) {
    e.TargetUsername = username;
    e.TargetUsernameType = usernameTypeOf(username);
  }
  if (actor.objectId !== undefined) {
    e.TargetUserId = e.TargetUserAadId = actor.objectId;
    e.TargetUserIdType = 'AADID';
  } else if (e.ActorUserId !== undefined) {
    e.TargetUserId = e.ActorUserId;
    e.TargetUserIdType = userIdTypeOf(e.ActorUserId);
  }
  e.TargetUserPuid = actor.puid ?? puidOfUserKey(e.ActorUserId);
  e.TargetUserType = e.ActorUserType;
  e.TargetOriginalUserType = e.ActorOriginalUserType;
  e.TargetUserScopeId = d.str('ActorContextId')?.toLowerCase() ?? e.OrganizationId;
  e.ActorUsername = e.ActorUsernameType = e.ActorUserId = e.ActorUserIdType = undefined;
  e.ActorUserType = e.ActorOriginalUserType = e.ActorScope = e.ActorScopeId = undefined;

  const extended = d.flattened.get('ExtendedProperties');
  const device = d.flattened.get('DeviceProperties');
  e.HttpUserAgent ??= d.text(take(extended, 'UserAgent'), 'ExtendedProperties.UserAgent');
  e.LogonProtocol = d.text(take(extended, 'RequestType'), 'ExtendedProperties.RequestType');
  e.SrcDvcOs = d.text(take(device, 'OS'), 'DeviceProperties.OS');
  e.TargetSessionId = d.text(take(device, 'SessionId'), 'DeviceProperties.SessionId') ?? e.ActorSessionId;
  e.ActorSessionId = undefined;
  e.TargetAppId = d.str('ApplicationId');
  e.TargetAppName = undefined; // an application id is not resolved to a name here
  if (e.Object !== undefined) {
    e.OriginalObjectType = 'ResourceApplication';
    d.add('ResourceAppId', e.Object);
  }

  const errorCode = d.str('ErrorCode');
  const logonError = d.str('LogonError');
  const statusDetail = extended?.get('ResultStatusDetail');
  const failed = e.Operation === 'UserLoginFailed' || (errorCode !== undefined && errorCode !== '0');
  if (failed) {
    e.EventResult = 'Failure';
    e.EventResultDetails = logonFailureDetails(errorCode);
  } else if (e.Operation === 'UserLoggedIn') e.EventResult = 'Success';
  const details = [
    errorCode === undefined ? undefined : `ErrorCode=${errorCode}`,
    logonError === undefined ? undefined : `LogonError=${logonError}`,
    typeof statusDetail === 'string' ? `ResultStatusDetail=${statusDetail}` : undefined,
  ].filter((part) => part !== undefined);
  if (details.length > 0) e.EventOriginalResultDetails = details.join('; ');
  d.add('ErrorCode', errorCode);
  d.add('LogonError', logonError);
  d.copy('InterSystemsId');
  d.copy('IntraSystemId');
}

/**
 * Entra directory audit (RecordType 8 and other AzureActiveDirectory records): who changed which
 * directory object, from the `Actor` and `Target` lists.
 */
export function mapDirectoryAudit(d: Draft): void {
  const e = d.event;
  const actor = principalOf(d, 'Actor');
  if (actor.upn !== undefined) {
    e.ActorUsername = actor.upn;
    e.ActorUsernameType = usernameTypeOf(actor.upn);
  }
  if (actor.objectId !== undefined) {
    e.ActorUserId = e.ActorUserAadId = actor.objectId;
    e.ActorUserIdType = 'AADID';
  }
  e.ActorUserPuid = actor.puid;
  e.ActingAppName = actor.name ?? e.ActingAppName;
  e.ActingAppId = actor.appId ?? e.ActingAppId;
  e.ActorScopeId = d.str('ActorContextId')?.toLowerCase() ?? e.ActorScopeId;

  const target = principalOf(d, 'Target');
  e.Object = target.upn ?? target.name ?? e.Object;
  e.ObjectId = target.objectId;
  e.ObjectType = 'Directory Service Object';
  const category = d.flattened.get('ExtendedProperties')?.get('extendedAuditEventCategory');
  e.OriginalObjectType = target.kind ?? (typeof category === 'string' ? category : undefined) ?? e.OriginalObjectType;
  if (target.upn !== undefined) {
    e.TargetUsername = target.upn;
    e.TargetUsernameType = usernameTypeOf(target.upn);
    if (target.objectId !== undefined) {
      e.TargetUserId = e.TargetUserAadId = target.objectId;
      e.TargetUserIdType = 'AADID';
    }
    e.TargetUserPuid = target.puid;
  }
  d.copy('InterSystemsId');
  d.copy('IntraSystemId');
  d.copy('SupportTicketId');
}

/** `1003200096971F55` of the UserKey `1003200096971F55@contoso.com`. */
function puidOfUserKey(userKey: string | undefined): string | undefined {
  const local = userKey?.split('@', 1)[0];
  return local !== undefined && isPuid(local) ? local : undefined;
}
