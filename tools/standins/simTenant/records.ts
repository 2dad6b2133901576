/**
 * Synthetic audit records, one content type at a time, in the shapes of the published schema (common
 * schema + the workload's fields) and with the quirks real feeds have: zone-less CreationTime lagging the
 * blob by minutes to days, IP fields in every observed notation, JSON documents inside strings, numbers
 * sent as strings, unknown RecordTypes, Exchange's "HOST (a.b.c.d)\r\n" OriginatingServer.
 */
import { Rng } from './rng.js';
import { DAY, HOUR, MINUTE, zoneless } from './time.js';
import type { ContentType } from './types.js';

type Rec = Record<string, unknown>;

/** What a record is generated from; the same inputs always give the same record. */
export interface RecordSeed {
  tenantId: string;
  contentType: ContentType;
  /** contentCreated of the blob the record is served in; CreationTime lags it. */
  contentCreated: number;
  /** Keyed by (seed, tenant, content id, record index). */
  rng: Rng;
  /** Position in the IP-notation rotation. */
  ipSlot: number;
}

/** Sensitive information types shared by DLP records and `/resources/dlpSensitiveTypes`. */
export const DLP_SENSITIVE_TYPES: readonly { id: string; name: string }[] = [
  { id: '50842eb7-edc8-4019-85dd-5a5c1f2bb085', name: 'CreditCardNumber' },
  { id: '0e9b3178-9678-47dd-a509-37222ca96b42', name: 'EUDebitCardNumber' },
  { id: 'a44669fe-0d48-453d-a9b1-2cc83f2cba77', name: 'USSocialSecurityNumber' },
  { id: 'cb353f78-2b72-4c3c-8827-92ebe4f69fdf', name: 'ABARoutingNumber' },
  { id: 'e55e2a32-f92d-4985-a35d-a0b269eb687b', name: 'InternationalBankingAccountNumber' },
  { id: '178ec42a-18b4-47cc-85c7-d62c92fd67f8', name: 'USBankAccountNumber' },
];

/** Generates one audit record of the seed's content type. */
export function generateRecord(seed: RecordSeed): Rec {
  const { rng } = seed;
  const lag = rng.weighted<[number, number]>([
    [85, [MINUTE, 90 * MINUTE]],
    [12, [2 * HOUR, DAY]],
    [3, [DAY, 6 * DAY]],
  ]);
  const ctx: Ctx = {
    r: rng,
    tenantId: seed.tenantId,
    domain: tenantDomain(seed.tenantId),
    time: zoneless(seed.contentCreated - rng.int(lag[0], lag[1])),
    ip: IP_FORMS[seed.ipSlot % IP_FORMS.length]!(rng),
  };
  const record = BUILDERS[seed.contentType](ctx);
  if (rng.chance(0.01)) record.RecordType = rng.pick([9999, 5000]);
  // Some pipelines (and some tenants' feeds) stringify the integer enums.
  if (rng.chance(0.05)) {
    for (const key of ['RecordType', 'UserType', 'Version']) {
      if (typeof record[key] === 'number') record[key] = String(record[key]);
    }
  }
  return record;
}

interface Ctx {
  r: Rng;
  tenantId: string;
  domain: string;
  time: string;
  ip: string | null;
}

interface Person {
  upn: string;
  displayName: string;
  objectId: string;
  puid: string;
  sid: string;
}

const FIRST = ['adele', 'alex', 'allan', 'christie', 'debra', 'diego', 'emily', 'enrico', 'grady', 'henrietta', 'irvin', 'isaiah', 'johanna', 'joni', 'lee', 'lidia', 'lynne', 'megan', 'miriam', 'nestor', 'patti', 'pradeep', 'raul', 'sameer', 'tomoko', 'zrinka'];
const LAST = ['vance', 'wilber', 'deyoung', 'cline', 'berger', 'siciliani', 'braun', 'cattaneo', 'archie', 'mueller', 'sayers', 'langer', 'lambert', 'sherman', 'gu', 'holloway', 'robbins', 'bowen', 'graham', 'wilke', 'fernandez', 'gupta', 'okafor', 'nakamura'];

const people = new Map<string, Person>();

const domains = new Map<string, string>();

function tenantDomain(tenantId: string): string {
  let domain = domains.get(tenantId);
  if (!domain) domains.set(tenantId, (domain = `sim${tenantId.replace(/-/g, '').slice(0, 8)}.onmicrosoft.com`));
  return domain;
}

/** A tenant member; the same person always has the same ids, whichever record mentions them. */
function person(c: Ctx): Person {
  const index = c.r.int(0, FIRST.length * LAST.length - 1);
  const key = `${c.tenantId}|${index}`;
  let p = people.get(key);
  if (!p) {
    const first = FIRST[index % FIRST.length]!;
    const last = LAST[Math.floor(index / FIRST.length)]!;
    const r = new Rng(`person|${key}`);
    const cap = (s: string) => s[0]!.toUpperCase() + s.slice(1);
    p = {
      upn: `${first}.${last}@${c.domain}`,
      displayName: `${cap(first)} ${cap(last)}`,
      objectId: r.guid(),
      puid: `1003${r.hex(12).toUpperCase()}`,
      sid: `S-1-5-21-${r.int(1e9, 4e9)}-${r.int(1e9, 4e9)}-${r.int(1e9, 4e9)}-${r.int(1000, 99999)}`,
    };
    people.set(key, p);
  }
  return p;
}

const v4 = (r: Rng) => `${r.pick([13, 20, 40, 52, 81, 86, 92, 104, 145, 188])}.${r.int(0, 255)}.${r.int(0, 255)}.${r.int(1, 254)}`;
const v6 = (r: Rng) => `2001:db8:${r.hex(4)}:${r.int(1, 0xffff).toString(16)}::${r.hex(4).replace(/^0+/, '') || '1'}`;
const port = (r: Rng) => r.int(1024, 65535);

/** Every IP notation seen in real feeds, used in rotation so each blob of ≥16 records holds all of them. */
const IP_FORMS: readonly ((r: Rng) => string | null)[] = [
  (r) => v4(r),
  (r) => `${v4(r)}:${port(r)}`,
  (r) => `[${v4(r)}]:${port(r)}`,
  (r) => `[${v4(r)}]`,
  (r) => `::ffff:${v4(r)}`,
  (r) => `[::ffff:${v4(r)}]:${port(r)}`,
  (r) => v6(r),
  (r) => `[${v6(r)}]`,
  (r) => `[${v6(r)}]:${port(r)}`,
  () => '::1',
  () => 'localhost',
  (r) => `client${r.int(1, 99)}.corp.local`,
  (r) => `client${r.int(1, 99)}.corp.local:${port(r)}`,
  (r) => `NOTANIPV4 (10.${r.int(256, 9999)}.0.1)`,
  () => '',
  () => null,
];

const USER_AGENTS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15',
  'Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17726; Pro)',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Teams/6.12.1',
  'OneDriveMpc-Transform_Thumbnail/1.0',
  'Microsoft SkyDriveSync 24.101.0519.0010 ship; Windows NT 10.0 (22631)',
];

/** First-party apps by their well-known public application ids. */
const APPS = [
  { id: '00000002-0000-0ff1-ce00-000000000000', name: 'Office 365 Exchange Online' },
  { id: '00000003-0000-0ff1-ce00-000000000000', name: 'Office 365 SharePoint Online' },
  { id: '1fec8e78-bce4-4aaf-ab1b-5451cc387264', name: 'Microsoft Teams' },
  { id: '4765445b-32c6-49b0-83e6-1d93765276ca', name: 'OfficeHome' },
  { id: '27922004-5251-4030-b22d-91ecd9a37ea4', name: 'Outlook Mobile' },
  { id: 'c44b4083-3bb0-49c1-b47d-974e53cbdf3c', name: 'Azure Portal' },
  { id: 'd3590ed6-52b3-4102-aeff-aad2292ab01c', name: 'Microsoft Office' },
];

function base(c: Ctx, recordType: number, operation: string, workload: string, who: { id: string; key: string; type: number }, resultStatus?: string): Rec {
  return {
    CreationTime: c.time,
    Id: c.r.guid(),
    Operation: operation,
    OrganizationId: c.tenantId,
    RecordType: recordType,
    ...(resultStatus === undefined ? {} : { ResultStatus: resultStatus }),
    UserKey: who.key,
    UserType: who.type,
    Version: 1,
    Workload: workload,
    UserId: who.id,
  };
}

function appAccessContext(c: Ctx, app = c.r.pick(APPS)): Rec {
  return {
    AADSessionId: c.r.guid(),
    ClientAppId: app.id,
    ClientAppName: app.name,
    CorrelationId: c.r.guid(),
    IssuedAtTime: c.time,
    UniqueTokenId: c.r.hex(22),
  };
}

const exchangeServer = (c: Ctx) =>
  `${c.r.pick(['AM6PR01MB', 'DM6PR11MB', 'SN6PR04MB', 'BN8PR15MB', 'PH0PR07MB'])}${c.r.int(1000, 9999)} (15.20.${c.r.int(7000, 8000)}.${String(c.r.int(0, 40)).padStart(3, '0')})\r\n`;

const mailboxServer = (c: Ctx) => `${c.r.pick(['NAMPR', 'EURPR', 'APCPR'])}0${c.r.int(1, 9)}A00${c.r.int(1, 9)}.prod.outlook.com`;

// ── Microsoft Entra ID ────────────────────────────────────────────────────────────────────────────

function entra(c: Ctx): Rec {
  return c.r.weighted<(c: Ctx) => Rec>([
    [60, stsLogon],
    [35, directoryAudit],
    [5, accountLogon],
  ])(c);
}

const LOGON_FAILURES: readonly [string, string][] = [
  ['50126', 'InvalidUserNameOrPassword'],
  ['50074', 'UserStrongAuthClientAuthNRequiredInterrupt'],
  ['50053', 'IdsLocked'],
  ['50057', 'UserDisabled'],
  ['53003', 'BlockedByConditionalAccess'],
];

function stsLogon(c: Ctx): Rec {
  const u = person(c);
  const app = c.r.pick(APPS);
  const failure = c.r.chance(0.2) ? c.r.pick(LOGON_FAILURES) : undefined;
  return {
    ...base(c, 15, failure ? 'UserLoginFailed' : 'UserLoggedIn', 'AzureActiveDirectory', { id: u.upn, key: `${u.puid}@${c.domain}`, type: 0 }, failure ? 'Failed' : 'Success'),
    ClientIP: c.ip,
    ObjectId: app.id,
    AzureActiveDirectoryEventType: 1,
    ExtendedProperties: [
      { Name: 'ResultStatusDetail', Value: failure ? 'UserError' : 'Redirect' },
      { Name: 'UserAgent', Value: c.r.pick(USER_AGENTS) },
      { Name: 'UserAuthenticationMethod', Value: String(c.r.int(1, 12)) },
      { Name: 'RequestType', Value: c.r.pick(['OAuth2:Authorize', 'OAuth2:Token', 'Login:login', 'SAS:ProcessAuth', 'Kmsi:kmsi']) },
      { Name: 'KeepMeSignedIn', Value: c.r.pick(['True', 'False']) },
    ],
    ModifiedProperties: [],
    Actor: [
      { ID: u.objectId, Type: 0 },
      { ID: u.upn, Type: 5 },
      { ID: u.puid, Type: 3 },
    ],
    ActorContextId: c.tenantId,
    ActorIpAddress: c.ip,
    InterSystemsId: c.r.guid(),
    IntraSystemId: c.r.guid(),
    SupportTicketId: '',
    Target: [{ ID: app.id, Type: 0 }],
    TargetContextId: c.tenantId,
    ApplicationId: app.id,
    DeviceProperties: [
      { Name: 'OS', Value: c.r.pick(['Windows 10', 'Windows11', 'MacOs', 'Ios', 'Android']) },
      { Name: 'BrowserType', Value: c.r.pick(['Edge', 'Chrome', 'Safari', 'Firefox']) },
      { Name: 'IsCompliant', Value: c.r.pick(['True', 'False']) },
      { Name: 'IsCompliantAndManaged', Value: 'False' },
      { Name: 'SessionId', Value: c.r.guid() },
    ],
    ErrorCode: failure ? failure[0] : '0',
    ...(failure ? { LogonError: failure[1] } : {}),
  };
}

const DIRECTORY_OPS = ['Add user.', 'Update user.', 'Add member to role.', 'Add member to group.', 'Consent to application.', 'Add service principal credentials.', 'Reset user password.', 'Delete user.'];

function directoryAudit(c: Ctx): Rec {
  const actor = person(c);
  const target = person(c);
  const op = c.r.pick(DIRECTORY_OPS);
  return {
    ...base(c, 8, op, 'AzureActiveDirectory', { id: actor.upn, key: `${actor.puid}@${c.domain}`, type: 0 }, 'Success'),
    ClientIP: c.ip,
    ObjectId: target.upn,
    AzureActiveDirectoryEventType: 1,
    ExtendedProperties: [
      { Name: 'additionalDetails', Value: JSON.stringify({ UserType: 'Member', 'User-Agent': c.r.pick(USER_AGENTS) }) },
      { Name: 'extendedAuditEventCategory', Value: 'User' },
    ],
    ModifiedProperties: [
      { Name: 'AccountEnabled', NewValue: '[\r\n  true\r\n]', OldValue: '[]' },
      { Name: 'DisplayName', NewValue: `[\r\n  "${target.displayName}"\r\n]`, OldValue: '[]' },
      { Name: 'UserPrincipalName', NewValue: `[\r\n  "${target.upn}"\r\n]`, OldValue: '[]' },
      { Name: 'StsRefreshTokensValidFrom', NewValue: `[\r\n  "${c.time}Z"\r\n]`, OldValue: '[]' },
      { Name: 'Included Updated Properties', NewValue: 'AccountEnabled, DisplayName, UserPrincipalName, StsRefreshTokensValidFrom', OldValue: '' },
    ],
    Actor: [
      { ID: actor.upn, Type: 5 },
      { ID: actor.puid, Type: 3 },
      { ID: `User_${actor.objectId}`, Type: 2 },
      { ID: actor.objectId, Type: 2 },
      { ID: 'User', Type: 2 },
    ],
    ActorContextId: c.tenantId,
    ActorIpAddress: c.ip,
    InterSystemsId: c.r.guid(),
    IntraSystemId: c.r.guid(),
    SupportTicketId: '',
    Target: [
      { ID: `User_${target.objectId}`, Type: 2 },
      { ID: target.objectId, Type: 2 },
      { ID: 'User', Type: 2 },
      { ID: target.upn, Type: 5 },
      { ID: target.puid, Type: 3 },
    ],
    TargetContextId: c.tenantId,
  };
}

function accountLogon(c: Ctx): Rec {
  const u = person(c);
  const failed = c.r.chance(0.5);
  return {
    ...base(c, 9, 'PasswordLogonInitialAuthUsingPassword', 'AzureActiveDirectory', { id: u.upn, key: `${u.puid}@${c.domain}`, type: 0 }, failed ? 'failed' : 'success'),
    ClientIP: c.ip,
    ObjectId: u.upn,
    AzureActiveDirectoryEventType: 0,
    ExtendedProperties: failed
      ? [{ Name: 'LoginError', Value: '-2147217390;PP_E_BAD_PASSWORD;The entered and stored passwords do not match.' }]
      : [{ Name: 'UserAgent', Value: c.r.pick(USER_AGENTS) }],
    Client: c.r.pick(['Exchange', 'SharePoint', 'Unknown']),
    LoginStatus: failed ? -2147217390 : 0,
    UserDomain: c.domain,
  };
}

// ── Exchange ──────────────────────────────────────────────────────────────────────────────────────

function exchange(c: Ctx): Rec {
  return c.r.weighted<(c: Ctx) => Rec>([
    [30, exchangeAdmin],
    [25, mailboxItem],
    [15, mailboxItemGroup],
    [30, mailItemsAccessed],
  ])(c);
}

function exchangeAdmin(c: Ctx): Rec {
  const admin = person(c);
  const subject = person(c);
  const identity = `${mailboxServer(c)}/Microsoft Exchange Hosted Organizations/${c.domain}/${subject.displayName}`;
  const [op, parameters] = c.r.pick<[string, { Name: string; Value: string }[]]>([
    ['Set-Mailbox', [{ Name: 'Identity', Value: identity }, { Name: 'ForwardingSmtpAddress', Value: `smtp:${subject.upn.replace(c.domain, 'example.net')}` }, { Name: 'DeliverToMailboxAndForward', Value: 'True' }]],
    ['New-InboxRule', [{ Name: 'Mailbox', Value: identity }, { Name: 'Name', Value: '..' }, { Name: 'MoveToFolder', Value: 'RSS Subscriptions' }, { Name: 'SubjectContainsWords', Value: 'invoice;payment' }, { Name: 'StopProcessingRules', Value: 'True' }]],
    ['Add-MailboxPermission', [{ Name: 'Identity', Value: identity }, { Name: 'User', Value: admin.upn }, { Name: 'AccessRights', Value: 'FullAccess' }, { Name: 'InheritanceType', Value: 'All' }]],
    ['Set-OwaMailboxPolicy', [{ Name: 'Identity', Value: 'OwaMailboxPolicy-Default' }, { Name: 'AdditionalStorageProvidersAvailable', Value: 'False' }]],
    ['Add-RoleGroupMember', [{ Name: 'Identity', Value: 'Organization Management' }, { Name: 'Member', Value: subject.upn }]],
  ]);
  return {
    ...base(c, 1, op, 'Exchange', { id: admin.upn, key: admin.puid, type: 2 }, c.r.chance(0.95) ? 'True' : 'False'),
    ClientIP: c.ip,
    ObjectId: identity,
    AppId: '',
    ClientAppId: '',
    ExternalAccess: false,
    OrganizationName: c.domain,
    OriginatingServer: exchangeServer(c),
    Parameters: parameters,
    ModifiedObjectResolvedName: subject.displayName,
    RequestId: c.r.guid(),
    SessionId: c.r.guid(),
    TokenObjectId: admin.objectId,
    TokenTenantId: c.tenantId,
    AppAccessContext: appAccessContext(c, APPS[0]),
  };
}

function mailboxCommon(c: Ctx, owner: Person, logonType: number): Rec {
  return {
    ClientIP: c.ip,
    ClientIPAddress: c.ip,
    ClientInfoString: c.r.pick(['Client=OWA;Action=ViaProxy', 'Client=MSExchangeRPC', 'Client=REST;Client=RESTSystem;', 'Client=WebServices;ExchangeServicesClient/15.20.7000.0;']),
    ClientProcessName: c.r.pick(['OUTLOOK.EXE', '', 'w3wp.exe']),
    ClientVersion: `16.0.${c.r.int(10000, 18000)}.${c.r.int(10000, 20000)}`,
    ExternalAccess: false,
    InternalLogonType: 0,
    LogonType: logonType,
    LogonUserSid: owner.sid,
    MailboxGuid: c.r.guid(),
    MailboxOwnerSid: owner.sid,
    MailboxOwnerUPN: owner.upn,
    OrganizationName: c.domain,
    OriginatingServer: exchangeServer(c),
    SessionId: c.r.guid(),
    AppId: APPS[4]!.id,
    ClientAppId: APPS[4]!.id,
    TokenObjectId: owner.objectId,
    TokenTenantId: c.tenantId,
    AppAccessContext: appAccessContext(c, APPS[4]),
  };
}

function item(c: Ctx, owner: Person): Rec {
  return {
    Id: `RgAAAAD${c.r.hex(40)}AAAJ`,
    InternetMessageId: `<${c.r.hex(16).toUpperCase()}@${mailboxServer(c)}>`,
    IsRecord: false,
    ParentFolder: { Id: `LgAAAAD${c.r.hex(40)}AAAB`, Name: c.r.pick(['Inbox', 'Sent Items', 'Drafts']), Path: c.r.pick(['\\Inbox', '\\Sent Items', '\\Drafts']) },
    SizeInBytes: c.r.int(2_000, 4_000_000),
    Subject: c.r.pick(['Quarterly results', 'Re: Invoice 4471', 'Team offsite', `Meeting with ${owner.displayName}`, 'Password expiry notice']),
    Attachments: c.r.chance(0.3) ? `report.xlsx (${c.r.int(10_000, 900_000)}b)` : undefined,
  };
}

function mailboxItem(c: Ctx): Rec {
  const owner = person(c);
  const op = c.r.pick(['Send', 'SendAs', 'SendOnBehalf', 'Create', 'Update', 'MailboxLogin']);
  return {
    ...base(c, 2, op, 'Exchange', { id: owner.upn, key: owner.puid, type: 0 }, 'Succeeded'),
    ObjectId: `${mailboxServer(c)}/Microsoft Exchange Hosted Organizations/${c.domain}/${owner.displayName}`,
    ...mailboxCommon(c, owner, c.r.pick([0, 0, 0, 1, 2])),
    Item: item(c, owner),
    ...(op === 'Update' ? { ModifiedProperties: ['Body', 'Subject', 'RecipientCollection'] } : {}),
  };
}

function mailboxItemGroup(c: Ctx): Rec {
  const owner = person(c);
  const op = c.r.pick(['MoveToDeletedItems', 'SoftDelete', 'HardDelete', 'Move']);
  const affected = Array.from({ length: c.r.int(1, 4) }, () => {
    const it = item(c, owner);
    return { Id: it.Id, InternetMessageId: it.InternetMessageId, ParentFolder: it.ParentFolder, Subject: it.Subject };
  });
  return {
    ...base(c, 3, op, 'Exchange', { id: owner.upn, key: owner.puid, type: 0 }, 'Succeeded'),
    ObjectId: `${mailboxServer(c)}/Microsoft Exchange Hosted Organizations/${c.domain}/${owner.displayName}`,
    ...mailboxCommon(c, owner, 0),
    AffectedItems: affected,
    CrossMailboxOperation: false,
    Folder: { Id: `LgAAAAD${c.r.hex(40)}AAAB`, Path: '\\Inbox' },
    ...(op === 'Move' ? { DestFolder: { Id: `LgAAAAD${c.r.hex(40)}AAAB`, Path: '\\Archive' } } : {}),
  };
}

function mailItemsAccessed(c: Ctx): Rec {
  const owner = person(c);
  const folders = Array.from({ length: c.r.int(1, 2) }, () => ({
    FolderItems: Array.from({ length: c.r.int(1, 4) }, () => ({
      Id: `RgAAAAD${c.r.hex(40)}AAAJ`,
      InternetMessageId: `<${c.r.hex(16).toUpperCase()}@${mailboxServer(c)}>`,
      SizeInBytes: c.r.int(2_000, 400_000),
    })),
    Id: `LgAAAAD${c.r.hex(40)}AAAB`,
    Path: c.r.pick(['\\Inbox', '\\Sent Items', '\\Archive']),
  }));
  return {
    ...base(c, 50, 'MailItemsAccessed', 'Exchange', { id: owner.upn, key: owner.puid, type: 0 }, 'Succeeded'),
    ObjectId: `${mailboxServer(c)}/Microsoft Exchange Hosted Organizations/${c.domain}/${owner.displayName}`,
    ...mailboxCommon(c, owner, 0),
    OperationCount: folders.reduce((n, f) => n + f.FolderItems.length, 0),
    OperationProperties: [
      { Name: 'MailAccessType', Value: c.r.pick(['Bind', 'Sync']) },
      { Name: 'IsThrottled', Value: 'False' },
    ],
    Folders: folders,
  };
}

// ── SharePoint / OneDrive ─────────────────────────────────────────────────────────────────────────

function sharePoint(c: Ctx): Rec {
  return c.r.weighted<(c: Ctx) => Rec>([
    [65, fileOperation],
    [25, sharingOperation],
    [10, siteAdministration],
  ])(c);
}

function site(c: Ctx, u: Person): { url: string; workload: string } {
  const oneDrive = c.r.chance(0.4);
  const tenantName = c.domain.split('.')[0]!;
  return oneDrive
    ? { url: `https://${tenantName}-my.sharepoint.com/personal/${u.upn.replace(/[@.]/g, '_')}/`, workload: 'OneDrive' }
    : { url: `https://${tenantName}.sharepoint.com/sites/${c.r.pick(['Finance', 'Marketing', 'Engineering', 'HR', 'Legal'])}/`, workload: 'SharePoint' };
}

function spCommon(c: Ctx): Rec {
  return {
    ClientIP: c.ip,
    CorrelationId: c.r.guid(),
    EventSource: 'SharePoint',
    ListId: c.r.guid(),
    ListItemUniqueId: c.r.guid(),
    Site: c.r.guid(),
    WebId: c.r.guid(),
    UserAgent: c.r.pick(USER_AGENTS),
    Platform: c.r.pick(['WinDesktop', 'MacDesktop', 'iOS', 'Android', 'NotSpecified']),
    GeoLocation: c.r.pick(['NAM', 'EUR', 'APC']),
    IsManagedDevice: c.r.chance(0.5),
    AppAccessContext: appAccessContext(c, APPS[1]),
  };
}

function fileOperation(c: Ctx): Rec {
  const u = person(c);
  const s = site(c, u);
  const op = c.r.pick(['FileAccessed', 'FileModified', 'FileDownloaded', 'FileUploaded', 'FileDeleted', 'FileRecycled', 'FilePreviewed', 'FileCopied', 'FileMoved']);
  const ext = c.r.pick(['docx', 'xlsx', 'pptx', 'pdf', 'png', 'csv']);
  const name = `${c.r.pick(['Budget', 'Roadmap', 'Customers', 'Contract', 'Screenshot', 'Minutes'])} ${c.r.int(2019, 2026)}.${ext}`;
  const folder = c.r.pick(['Shared Documents', 'Documents', 'Shared Documents/Archive']);
  const moved = op === 'FileCopied' || op === 'FileMoved';
  return {
    ...base(c, 6, op, s.workload, { id: u.upn, key: `i:0h.f|membership|${u.puid.toLowerCase()}@live.com`, type: 0 }),
    ObjectId: `${s.url}${folder}/${name}`,
    ...spCommon(c),
    ItemType: 'File',
    SiteUrl: s.url,
    SourceRelativeUrl: folder,
    SourceFileName: name,
    SourceFileExtension: ext,
    FileSizeBytes: c.r.int(1_000, 50_000_000),
    ...(moved ? { DestinationRelativeUrl: 'Shared Documents/Moved', DestinationFileName: name, DestinationFileExtension: ext } : {}),
  };
}

function sharingOperation(c: Ctx): Rec {
  const u = person(c);
  const other = person(c);
  const s = site(c, u);
  const [op, eventData, targetType] = c.r.pick<[string, string, string]>([
    ['SharingSet', '<Permissions granted>Contribute</Permissions granted>', 'Member'],
    ['SharingInvitationCreated', '<Type>Edit</Type>', 'Guest'],
    ['AnonymousLinkCreated', '<Type>View</Type><MembersCanShare>Yes</MembersCanShare>', 'Member'],
    ['AddedToSecureLink', '<Type>Edit</Type>', 'Guest'],
    ['AddedToGroup', '<Group>Site Owners</Group>', 'SecurityGroup'],
  ]);
  return {
    ...base(c, 14, op, s.workload, { id: u.upn, key: `i:0h.f|membership|${u.puid.toLowerCase()}@live.com`, type: 0 }),
    ObjectId: `${s.url}Shared Documents/Plan.docx`,
    ...spCommon(c),
    ItemType: c.r.pick(['File', 'Folder', 'Web']),
    SiteUrl: s.url,
    TargetUserOrGroupName: targetType === 'Guest' ? other.upn.replace(c.domain, 'partner.example') : other.upn,
    TargetUserOrGroupType: targetType,
    EventData: eventData,
    UniqueSharingId: c.r.guid(),
  };
}

function siteAdministration(c: Ctx): Rec {
  const u = person(c);
  const s = site(c, u);
  const op = c.r.pick(['SiteCollectionAdminAdded', 'SiteCollectionCreated', 'SharingPolicyChanged']);
  return {
    ...base(c, 4, op, 'SharePoint', { id: u.upn, key: `i:0h.f|membership|${u.puid.toLowerCase()}@live.com`, type: 2 }),
    ObjectId: s.url,
    ...spCommon(c),
    ItemType: 'Site',
    SiteUrl: s.url,
    ModifiedProperties: [{ Name: 'SharingCapability', NewValue: 'ExternalUserAndGuestSharing', OldValue: 'ExistingExternalUserSharingOnly' }],
  };
}

// ── DLP ───────────────────────────────────────────────────────────────────────────────────────────

function policyDetails(c: Ctx): Rec[] {
  const high = c.r.chance(0.3);
  return [
    {
      PolicyId: c.r.guid(),
      PolicyName: c.r.pick(['U.S. Financial Data', 'GDPR Enhanced', 'PCI DSS']),
      Rules: [
        {
          RuleId: c.r.guid(),
          RuleName: high ? 'High volume of content detected' : 'Low volume of content detected',
          Actions: high ? ['BlockAccess', 'NotifyUser', 'GenerateIncidentReport'] : ['NotifyUser'],
          OverriddenActions: [],
          Severity: high ? 'High' : 'Low',
          RuleMode: 'Enable',
          ConditionsMatched: {
            SensitiveInformation: Array.from({ length: c.r.int(1, 2) }, () => {
              const type = c.r.pick(DLP_SENSITIVE_TYPES);
              return { Confidence: c.r.pick([75, 85, 95]), Count: c.r.int(1, 40), SensitiveType: type.id, SensitiveInformationTypeName: type.name, UniqueCount: c.r.int(1, 10), Location: null };
            }),
            DocumentProperties: [],
            OtherConditions: [],
          },
        },
      ],
    },
  ];
}

function dlp(c: Ctx): Rec {
  const u = person(c);
  const op = c.r.weighted([[80, 'DlpRuleMatch'], [10, 'DlpRuleUndo'], [10, 'DlpInfo']] as const);
  if (c.r.chance(0.45)) {
    const other = person(c);
    return {
      ...base(c, 13, 'DlpRuleMatch', 'Exchange', { id: 'DlpAgent', key: 'DlpAgent', type: 4 }),
      ClientIP: c.ip,
      ObjectId: `<${c.r.hex(16).toUpperCase()}@${mailboxServer(c)}>`,
      IncidentId: c.r.guid(),
      SensitiveInfoDetectionIsIncluded: false,
      ExchangeMetaData: {
        BCC: [],
        CC: c.r.chance(0.3) ? [other.upn] : [],
        FileSize: c.r.int(10_000, 3_000_000),
        From: u.upn,
        MessageID: `<${c.r.hex(16).toUpperCase()}@${mailboxServer(c)}>`,
        RecipientCount: 1,
        Sent: c.time,
        Subject: c.r.pick(['Card details', 'Payroll export', 'Customer list']),
        To: [other.upn.replace(c.domain, 'example.net')],
        UniqueID: c.r.guid(),
      },
      PolicyDetails: policyDetails(c),
      ExceptionInfo: c.r.chance(0.5) ? '' : { Reason: 'Override', FalsePositive: false, Justification: 'Business need', Rules: [c.r.guid()] },
    };
  }
  const s = site(c, u);
  const fileName = `${c.r.pick(['Customers Financial Data', 'Payroll', 'Cards'])}.${c.r.pick(['docx', 'xlsx'])}`;
  return {
    ...base(c, 11, op, s.workload, { id: 'DlpAgent', key: 'DlpAgent', type: 4 }),
    ClientIP: c.ip,
    ObjectId: `${s.url}Documents/${fileName}`,
    IncidentId: c.r.guid(),
    SensitiveInfoDetectionIsIncluded: false,
    SharePointMetaData: {
      From: u.upn.toUpperCase(),
      itemCreationTime: c.time,
      SiteCollectionGuid: c.r.guid(),
      SiteCollectionUrl: s.url,
      FileName: fileName,
      FileOwner: u.displayName,
      FilePathUrl: `${s.url}Documents/${encodeURIComponent(fileName)}`,
      DocumentLastModifier: u.upn,
      DocumentSharer: u.upn,
      UniqueId: c.r.guid(),
      LastModifiedTime: c.time,
      IsViewableByExternalUsers: c.r.chance(0.2),
    },
    PolicyDetails: op === 'DlpInfo' ? [] : policyDetails(c),
  };
}

// ── General: Teams, Power BI, S&C alerts, Viva Engage, Copilot, Defender for Office ───────────────

function general(c: Ctx): Rec {
  return c.r.weighted<(c: Ctx) => Rec>([
    [30, teams],
    [20, powerBi],
    [10, securityAlert],
    [10, vivaEngage],
    [20, copilot],
    [10, threatIntelligence],
  ])(c);
}

function teams(c: Ctx): Rec {
  const u = person(c);
  const member = person(c);
  const team = c.r.pick(['Finance', 'Project Falcon', 'Support', 'Leadership']);
  const op = c.r.pick(['MemberAdded', 'TeamCreated', 'ChannelAdded', 'TeamsSessionStarted', 'MessageEditedHasLink']);
  return {
    ...base(c, 25, op, 'MicrosoftTeams', { id: u.upn, key: u.objectId, type: 0 }),
    ClientIP: c.ip,
    ObjectId: team,
    AADGroupId: c.r.guid(),
    TeamName: team,
    TeamGuid: `19:${c.r.hex(32)}@thread.tacv2`,
    ChannelName: 'General',
    ChannelGuid: `19:${c.r.hex(32)}@thread.tacv2`,
    ChannelType: 'Standard',
    CommunicationType: 'Team',
    Members: [{ DisplayName: member.displayName, Role: 1, UPN: member.upn }],
    ExtraProperties: [
      { Key: 'TimeZone', Value: 'UTC' },
      { Key: 'OsName', Value: 'Windows' },
      { Key: 'ClientName', Value: 'TeamsDesktop' },
    ],
    ItemName: team,
    AppAccessContext: appAccessContext(c, APPS[2]),
  };
}

function powerBi(c: Ctx): Rec {
  const u = person(c);
  const op = c.r.pick(['ViewReport', 'ExportReport', 'ViewDashboard', 'CreateArtifact']);
  const workspace = c.r.pick(['Sales Analytics', 'Finance', 'My workspace']);
  const report = c.r.pick(['Pipeline', 'Churn', 'Revenue by region']);
  return {
    ...base(c, 20, op, 'PowerBI', { id: u.upn, key: u.puid, type: 0 }, c.r.pick(['Succeeded', 'InProgress'])),
    ClientIP: c.ip,
    ObjectId: report,
    UserAgent: c.r.pick(USER_AGENTS),
    Activity: op,
    ItemName: report,
    WorkSpaceName: workspace,
    WorkspaceId: c.r.guid(),
    ReportName: report,
    ReportId: c.r.guid(),
    DatasetName: report,
    DatasetId: c.r.guid(),
    CapacityId: c.r.guid(),
    RequestId: c.r.guid(),
    ActivityId: c.r.guid(),
    IsSuccess: true,
    DistributionMethod: 'Workspace',
    ConsumptionMethod: 'Power BI Web',
    // Power BI sends this collection as a JSON document inside a string.
    OperationProperties: JSON.stringify([
      { Name: 'SystemArtifactType', Value: 'None' },
      { Name: 'ExportFormat', Value: c.r.pick(['PDF', 'PPTX', 'None']) },
    ]),
  };
}

function securityAlert(c: Ctx): Rec {
  const u = person(c);
  const name = c.r.pick(['Elevation of Exchange admin privilege', 'Suspicious email sending patterns detected', 'Creation of forwarding/redirect rule', 'Unusual external user file activity']);
  const alertId = c.r.guid();
  return {
    ...base(c, 40, c.r.pick(['AlertTriggered', 'AlertEntityGenerated', 'AlertUpdated']), 'SecurityComplianceCenter', { id: 'SecurityComplianceAlerts', key: 'SecurityComplianceAlerts', type: 4 }, 'Succeeded'),
    ObjectId: alertId,
    AlertId: alertId,
    AlertType: 'System',
    Name: name,
    PolicyId: c.r.guid(),
    Status: 'Active',
    Severity: c.r.pick(['Low', 'Medium', 'High']),
    Category: c.r.pick(['ThreatManagement', 'AccessGovernance', 'DataLossPrevention']),
    Source: 'Office 365 Security & Compliance',
    Comments: 'New alert',
    // The alert payload is a JSON document encoded as a string.
    Data: JSON.stringify({ etype: 'User', eid: u.upn, tid: c.tenantId, ts: `${c.time}.0000000Z`, te: `${c.time}.0000000Z`, op: 'GrantAdminPermission', tdc: '1', suid: u.upn, ut: 'Admin', lon: 'GrantAdminPermission' }),
    AlertEntityId: u.upn,
    EntityType: 'User',
    AlertLinks: [{ AlertLinkHref: `https://security.microsoft.com/alerts/${alertId}` }],
  };
}

function vivaEngage(c: Ctx): Rec {
  const u = person(c);
  const group = c.r.pick(['All Company', 'Sales', 'Announcements']);
  return {
    ...base(c, 22, c.r.pick(['GroupCreation', 'MessageCreated', 'FileDownloaded', 'MessageUpdated']), 'Yammer', { id: u.upn, key: u.puid.toLowerCase(), type: 0 }, 'TRUE'),
    ClientIP: c.ip,
    ObjectId: group,
    ActorUserId: u.upn,
    ActorYammerUserId: c.r.int(1e10, 9e10),
    YammerNetworkId: c.r.int(1e9, 9e9),
    GroupName: group,
    MessageId: c.r.int(1e12, 9e12),
    ThreadId: c.r.int(1e12, 9e12),
  };
}

function copilot(c: Ctx): Rec {
  const u = person(c);
  const host = c.r.pick(['Word', 'Teams', 'Outlook', 'BizChat', 'Excel']);
  const tenantName = c.domain.split('.')[0]!;
  const file = `https://${tenantName}.sharepoint.com/sites/Finance/Shared Documents/Forecast ${c.r.int(2020, 2026)}.docx`;
  return {
    ...base(c, 261, 'CopilotInteraction', 'Copilot', { id: u.upn, key: u.objectId, type: 0 }),
    ClientIP: c.ip,
    ObjectId: file,
    AppIdentity: `Copilot.MicrosoftCopilot.${host}`,
    CopilotEventData: {
      AppHost: host,
      Contexts: [{ Id: file, Type: 'DocumentEditing' }],
      ThreadId: `19:${c.r.hex(32)}@thread.v2`,
      AccessedResources: [
        { Id: c.r.guid(), Name: file.split('/').pop(), Type: 'File', SiteUrl: file, Action: 'Read', SensitivityLabelId: c.r.chance(0.3) ? c.r.guid() : undefined },
      ],
      Messages: [
        { Id: String(c.r.int(1e12, 9e12)), isPrompt: true },
        { Id: String(c.r.int(1e12, 9e12)), isPrompt: false },
      ],
      ModelTransparencyDetails: [{ ModelName: 'gpt' }],
    },
  };
}

function threatIntelligence(c: Ctx): Rec {
  const u = person(c);
  const sender = `billing@${c.r.pick(['invoices-portal.example', 'secure-docs.example', 'payments.example'])}`;
  return {
    ...base(c, 28, 'TIMailData', 'ThreatIntelligence', { id: 'ThreatIntelligence', key: 'ThreatIntelligence', type: 4 }),
    ObjectId: c.r.guid(),
    SenderIp: c.ip,
    P1Sender: sender,
    P2Sender: sender,
    Recipients: [u.upn],
    Subject: c.r.pick(['Overdue invoice', 'Shared document', 'Action required: password']),
    Verdict: c.r.pick(['Phish', 'Malware', 'Spam']),
    DeliveryAction: c.r.pick(['Blocked', 'Junked', 'Delivered']),
    DetectionMethod: c.r.pick(['URL detonation reputation', 'File detonation', 'General filter']),
    NetworkMessageId: c.r.guid(),
    InternetMessageId: `<${c.r.hex(20)}@mail.example>`,
    MessageTime: `${c.time}Z`,
    AttachmentData: c.r.chance(0.5) ? [{ FileName: 'invoice.html', FileType: 'html', FileVerdict: 1, SHA256: c.r.hex(64) }] : [],
  };
}

const BUILDERS: Record<ContentType, (c: Ctx) => Rec> = {
  'Audit.AzureActiveDirectory': entra,
  'Audit.Exchange': exchange,
  'Audit.SharePoint': sharePoint,
  'Audit.General': general,
  'DLP.All': dlp,
};
