import type { Draft } from './draft.js';
import { FILE_TRANSFERS, fileEventTypeOf, usernameTypeOf } from './vocabulary.js';

/**
 * SharePoint/OneDrive file operations (RecordType 6) as ASIM FileEvents, following Microsoft's SharePoint
 * parser: the file is `ObjectId` (a URL); copies, moves and renames have a source and a destination.
 * Such records usually carry no ResultStatus; the operation happened, so the result is Success.
 */
export function mapFileOperation(d: Draft): void {
  const e = d.event;
  const { type, subType } = fileEventTypeOf(e.Operation ?? undefined);
  e.EventType = type;
  e.EventSubType = subType;
  if (d.str('ResultStatus') === undefined) e.EventResult = 'Success';
  mapSite(d);

  const path = d.str('ObjectId');
  const name = d.str('SourceFileName');
  const extension = d.str('SourceFileExtension');
  const directory = d.str('SourceRelativeUrl');
  const destinationName = d.str('DestinationFileName');
  if (e.Operation && FILE_TRANSFERS.has(e.Operation) && destinationName !== undefined) {
    const destinationDirectory = d.str('DestinationRelativeUrl');
    e.SrcFilePath = path;
    e.SrcFileName = name;
    e.SrcFileExtension = extension;
    e.SrcFileDirectory = directory;
    e.TargetFilePath = joinUrl(e.TargetUrl, destinationDirectory, destinationName);
    e.TargetFileName = destinationName;
    e.TargetFileExtension = d.str('DestinationFileExtension');
    e.TargetFileDirectory = destinationDirectory;
  } else {
    e.TargetFilePath = path;
    e.TargetFileName = name;
    e.TargetFileExtension = extension;
    e.TargetFileDirectory = directory;
  }
  if (e.TargetFilePath !== undefined) e.TargetFilePathType = 'URL';
  e.Object = e.TargetFilePath ?? e.Object;
  d.copy('SharingType');
  d.copy('UserSharedWith');
  d.copy('SensitivityLabelId');
}

/**
 * SharePoint sharing and access requests (RecordType 14): the user or group granted access is the
 * target; `EventData` says what was granted.
 */
export function mapSharing(d: Draft): void {
  const e = d.event;
  mapSite(d);
  const grantee = d.str('TargetUserOrGroupName');
  if (grantee !== undefined) {
    e.TargetUsername = grantee;
    e.TargetUsernameType = usernameTypeOf(grantee);
  }
  e.NewValue = d.str('EventData');
  d.copy('TargetUserOrGroupType');
  d.copy('UniqueSharingId');
  d.copy('SourceFileName');
}

/** Other SharePoint/OneDrive records (pages, lists, sites, fields): the site context and the object URL. */
export function mapSharePoint(d: Draft): void {
  mapSite(d);
  d.copy('EventData');
}

/** Fields SharePoint and OneDrive records share: site URL, the acting application, list and web ids. */
function mapSite(d: Draft): void {
  const e = d.event;
  e.TargetUrl = d.str('SiteUrl');
  e.ActingAppId = d.str('ApplicationId') ?? e.ActingAppId;
  e.ActingAppName = d.str('ApplicationDisplayName') ?? e.ActingAppName;
  e.OriginalObjectType = d.str('ItemType') ?? e.OriginalObjectType;
  d.copy('Site', 'SiteId');
  d.copy('WebId');
  d.copy('ListId');
  d.copy('ListItemUniqueId');
  d.copy('CorrelationId');
  d.copy('EventSource');
  d.copy('ItemType');
  d.copy('MachineId');
  d.copy('MachineDomainInfo');
  d.copy('IsManagedDevice');
}

/** `https://site/` + `Shared Documents/Q2` + `file.xlsx`, without doubled slashes at the joins. */
function joinUrl(site: string | undefined, directory: string | undefined, name: string): string {
  const parts: string[] = [];
  if (site !== undefined) parts.push(trimSlashes(site, false));
  if (directory !== undefined) parts.push(trimSlashes(directory, true));
  parts.push(trimSlashes(name, true));
  return parts.filter((part) => part !== '').join('/');
}

function trimSlashes(text: string, leading: boolean): string {
  let start = 0;
  let end = text.length;
  if (leading) while (start < end && text[start] === '/') start++;
  while (end > start && text[end - 1] === '/') end--;
  return text.slice(start, end);
}
