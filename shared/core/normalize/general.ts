import { type Draft, MAX_ENTRIES } from './draft.js';
import type { EventSeverity } from './event.js';
import { isJsonObject, own } from './json.js';
import { maxSeverity, severityOf, usernameTypeOf } from './vocabulary.js';

/**
 * DLP rule matches (DLP.All: SharePoint, OneDrive, Exchange, endpoint): which policies and rules matched
 * what, with the highest rule severity as EventSeverity. The actor stays the record's UserId (often a DLP
 * agent); the sender or file owner is kept in AdditionalFields.
 */
export function mapDlp(d: Draft): void {
  const e = d.event;
  const policies = new Set<string>();
  const rules = new Set<string>();
  const actions = new Set<string>();
  let severity: EventSeverity | undefined;
  const details = d.array('PolicyDetails') ?? [];
  d.noteCap('PolicyDetails', details.length);
  for (const policy of details.slice(0, MAX_ENTRIES)) {
    if (!isJsonObject(policy)) continue;
    addText(d, policies, own(policy, 'PolicyName'), 'PolicyName');
    const policyRules = own(policy, 'Rules');
    if (!Array.isArray(policyRules)) continue;
    for (const rule of policyRules.slice(0, MAX_ENTRIES)) {
      if (!isJsonObject(rule)) continue;
      addText(d, rules, own(rule, 'RuleName'), 'RuleName');
      const ruleSeverity = severityOf(d.text(own(rule, 'Severity'), 'Severity') ?? '');
      if (ruleSeverity) severity = severity ? maxSeverity(severity, ruleSeverity) : ruleSeverity;
      const ruleActions = own(rule, 'Actions');
      if (Array.isArray(ruleActions)) for (const action of ruleActions.slice(0, MAX_ENTRIES)) addText(d, actions, action, 'Actions');
    }
  }
  if (severity) e.EventSeverity = severity;
  d.add('DlpPolicies', listOf(policies));
  d.add('DlpRules', listOf(rules));
  d.add('DlpActions', listOf(actions));

  const sharePoint = d.object('SharePointMetaData');
  if (sharePoint) {
    e.Object = d.text(own(sharePoint, 'FilePathUrl'), 'SharePointMetaData.FilePathUrl') ?? e.Object;
    e.OriginalObjectType = 'File';
    e.TargetUrl = d.text(own(sharePoint, 'SiteCollectionUrl'), 'SharePointMetaData.SiteCollectionUrl');
    d.add('FileName', d.text(own(sharePoint, 'FileName'), 'SharePointMetaData.FileName'));
    d.add('FileOwner', d.text(own(sharePoint, 'FileOwner'), 'SharePointMetaData.FileOwner'));
    d.add('From', d.text(own(sharePoint, 'From'), 'SharePointMetaData.From'));
  }
  const exchange = d.object('ExchangeMetaData');
  if (exchange) {
    e.Object = d.text(own(exchange, 'MessageID'), 'ExchangeMetaData.MessageID') ?? e.Object;
    e.OriginalObjectType = 'Email';
    d.add('Sender', d.text(own(exchange, 'From'), 'ExchangeMetaData.From'));
    const recipients = new Set<string>();
    for (const field of ['To', 'CC', 'BCC']) {
      const list = own(exchange, field);
      if (Array.isArray(list)) for (const recipient of list.slice(0, MAX_ENTRIES)) addText(d, recipients, recipient, field);
    }
    d.add('Recipients', listOf(recipients));
  }
  const endpoint = d.object('EndpointMetaData');
  if (endpoint) {
    d.add('DeviceName', d.text(own(endpoint, 'DeviceName'), 'EndpointMetaData.DeviceName'));
    d.add('EnforcementMode', d.bounded(own(endpoint, 'EnforcementMode'), 'EndpointMetaData.EnforcementMode'));
  }
  d.copy('IncidentId');
  d.copy('SensitiveInfoDetectionIsIncluded');
  d.add('ExceptionInfo', d.decoded('ExceptionInfo'));
}

/**
 * Security & Compliance alerts (RecordType 40): the alert is the object, its severity the event's; `Data`
 * (a JSON document in a string) is decoded by the common mapping.
 */
export function mapAlert(d: Draft): void {
  const e = d.event;
  e.EventSeverity = severityOf(d.str('Severity') ?? '') ?? e.EventSeverity;
  e.Object = d.str('Name') ?? e.Object;
  e.ObjectId = d.str('AlertId');
  e.OriginalObjectType = 'Alert';
  d.copy('AlertId');
  d.copy('Name', 'AlertName');
  d.copy('AlertType');
  d.copy('Status');
  d.copy('Category');
  d.copy('PolicyId');
  d.copy('Source');
  d.copy('Comments');
  d.copy('AlertEntityId');
  d.copy('EntityType');
  const links = new Set<string>();
  const alertLinks = d.array('AlertLinks') ?? [];
  for (const link of alertLinks.slice(0, MAX_ENTRIES)) {
    if (isJsonObject(link)) addText(d, links, own(link, 'AlertLinkHref'), 'AlertLinks');
  }
  d.add('AlertLinks', listOf(links));
}

/** Microsoft Teams: the team or channel is the object; added or removed members are targets. */
export function mapTeams(d: Draft): void {
  const e = d.event;
  const team = d.str('TeamName');
  const channel = d.str('ChannelName');
  e.Object = team !== undefined && channel !== undefined ? `${team}/${channel}` : (channel ?? team ?? e.Object);
  e.ObjectId = d.str('ChannelGuid') ?? d.str('TeamGuid');
  if (channel !== undefined) e.OriginalObjectType = 'Channel';
  else if (team !== undefined) e.OriginalObjectType = 'Team';
  const members = new Set<string>();
  const list = d.array('Members') ?? [];
  d.noteCap('Members', list.length);
  for (const member of list.slice(0, MAX_ENTRIES)) {
    if (isJsonObject(member)) addText(d, members, own(member, 'UPN'), 'Members.UPN');
  }
  if (members.size === 1) {
    const [only] = members;
    e.TargetUsername = only;
    e.TargetUsernameType = usernameTypeOf(only!);
  }
  d.add('Members', listOf(members));
  // Settings changes carry the setting's Name and its old and new value at the top level.
  e.OldValue = d.str('OldValue');
  e.NewValue = d.str('NewValue');
  d.copy('Name', 'SettingName');
  for (const field of TEAMS_FIELDS) d.copy(field);
}

const TEAMS_FIELDS = [
  'TeamName',
  'TeamGuid',
  'ChannelName',
  'ChannelGuid',
  'ChannelType',
  'CommunicationType',
  'AADGroupId',
  'AddOnName',
  'AddOnType',
  'AddOnGuid',
  'AppDistributionMode',
];

/** Power BI / Fabric: the artifact is the object; workspace and experience go to AdditionalFields. */
export function mapPowerBi(d: Draft): void {
  const e = d.event;
  e.Object = d.str('ItemName') ?? d.str('ObjectDisplayName') ?? d.str('ArtifactName') ?? e.Object;
  for (const field of POWER_BI_FIELDS) d.copy(field);
}

const POWER_BI_FIELDS = ['Activity', 'WorkspaceName', 'WorkspaceId', 'Experience', 'DatasetName', 'ReportName', 'CapacityName', 'RequestId'];

function addText(d: Draft, into: Set<string>, value: unknown, label: string): void {
  const text = d.text(value, label);
  if (text !== undefined && into.size < MAX_ENTRIES) into.add(text);
}

function listOf(values: Set<string>): string[] | undefined {
  return values.size > 0 ? [...values] : undefined;
}
