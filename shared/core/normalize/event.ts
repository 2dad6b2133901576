/**
 * The normalized event, envelope v1.0.0 (docs/architecture.md, "The normalized event"): flat ASIM-named fields, the
 * provenance of the record, and the record itself in `Raw`.
 */

/**
 * Where a record came from: the Management Activity API (a content blob) or Purview audit search (a
 * record healed from an audit log query). Both carry the same unified audit records.
 */
export type AuditRecordSource = 'O365ManagementActivity' | 'PurviewAuditSearch';

/**
 * The name an audit record's `EventId` is derived under, whichever way it arrived: the same record `Id`
 * gives the same `EventId` from the Management API and from audit search, so consumers dedupe the two.
 */
export const AUDIT_RECORD_IDENTITY = 'O365ManagementActivity';

/** Where a record came from; the caller knows it, the record does not. */
export interface NormalizeContext {
  source: AuditRecordSource;
  /** The stream's tenant GUID (any case; the envelope lower-cases it). */
  tenantId: string;
  /** e.g. `Audit.Exchange`. */
  contentType: string;
  contentId: string;
  /** ISO 8601, from the content listing. */
  contentCreated?: string;
  /** ISO 8601 with `Z`, supplied by the caller: the core has no clock. */
  processedTime: string;
}

/**
 * What an event carries besides the normalized fields: `full` adds the record verbatim in `Raw`; `compact`
 * has no `Raw` and puts every field of the record that no normalized field carries in `AdditionalFields`
 * (see `compactAdditionalFields`). A record that is not a JSON object, or nests too deeply, keeps `Raw`
 * in both.
 */
export type EventProfile = 'full' | 'compact';

/** Options for `normalizeRecord`. */
export interface NormalizeOptions {
  /** Default `full`. */
  profile?: EventProfile;
  /**
   * The record's exact source text (the array element or NDJSON line it was parsed from). When given,
   * `RawSha256`/`RawSizeBytes` are computed over this text instead of `JSON.stringify(record)`, which saves
   * a serialization per record. The two differ where the source has insignificant whitespace or escapes,
   * and so does the EventId of a record without an `Id` (it derives from RawSha256): pass it consistently.
   */
  rawText?: string;
}

/** The ASIM schema an event follows. */
export type EventSchema = 'AuditEvent' | 'Authentication' | 'FileEvent';
/** ASIM EventResult; NA when the record does not say. */
export type EventResult = 'Success' | 'Partial' | 'Failure' | 'NA';
/** ASIM EventSeverity. */
export type EventSeverity = 'Informational' | 'Low' | 'Medium' | 'High';

/**
 * The fields every event on the hub starts with, audit record or Defender XDR entity alike: the envelope,
 * identity, time, provenance and product. Each event type narrows `Source` and says what its uid is.
 */
export interface EnvelopeHeader {
  EnvelopeSchema: typeof ENVELOPE_SCHEMA;
  EnvelopeVersion: typeof ENVELOPE_VERSION;
  EventId: string;
  EventOriginalUid: string | null;
  TimeGenerated: string;
  EventStartTime: string;
  EventEndTime: string;
  ProcessedTime: string;
  Source: string;
  SourceContentType: string;
  SourceContentId: string;
  /** The stream's tenant, lower-cased. */
  OrganizationId: string;
  EventVendor: 'Microsoft';
  EventProduct: string;
}

/** The fields every event ends with: what the mapping set aside, its warnings, and the source itself. */
export interface EnvelopeTrailer {
  AdditionalFields?: Record<string, unknown>;
  ParseWarnings?: string[];
  RawSha256: string;
  RawSizeBytes: number;
  /** Always false from the normalizer; the publisher sets it when it moves `Raw` to a claim-check blob. */
  RawTruncated: boolean;
  Raw: unknown;
}

/**
 * One normalized audit record. Fields without `?` are always present (null only where the type says so);
 * optional fields are omitted rather than null or empty. `AdditionalFields` is a null-prototype object.
 */
export interface NormalizedEvent extends EnvelopeHeader, EnvelopeTrailer {
  /** The record's `Id`, or null when it had none usable. */
  EventOriginalUid: string | null;
  Source: NormalizeContext['source'];
  SourceContentCreated?: string;
  Workload: string | null;
  RecordType: number | null;
  RecordTypeName: string;
  Operation: string | null;
  EventOriginalType: string | null;
  EventSchema: EventSchema;
  EventSchemaVersion: string;
  EventType: string;
  EventSubType?: string;
  EventResult: EventResult;
  EventResultDetails?: string;
  EventOriginalResultDetails?: string;
  EventCount: number;
  EventSeverity: EventSeverity;
  Dvc: string;
  ActorUsername?: string;
  ActorUsernameType?: string;
  ActorUserId?: string;
  ActorUserIdType?: string;
  ActorUserAadId?: string;
  ActorUserPuid?: string;
  ActorUserSid?: string;
  ActorUserType?: string;
  ActorOriginalUserType?: string;
  ActorScope?: string;
  ActorScopeId?: string;
  ActorSessionId?: string;
  ActingAppId?: string;
  ActingAppName?: string;
  SrcIpAddr: string | null;
  SrcPortNumber?: number;
  SrcIpAddrOriginal: string | null;
  SrcHostname?: string;
  SrcDvcOs?: string;
  HttpUserAgent?: string;
  TargetUsername?: string;
  TargetUsernameType?: string;
  TargetUserId?: string;
  TargetUserIdType?: string;
  TargetUserAadId?: string;
  TargetUserPuid?: string;
  TargetUserType?: string;
  TargetOriginalUserType?: string;
  TargetUserScopeId?: string;
  TargetSessionId?: string;
  TargetAppName?: string;
  TargetAppId?: string;
  TargetAppType?: string;
  TargetUrl?: string;
  LogonProtocol?: string;
  TargetFilePath?: string;
  TargetFilePathType?: string;
  TargetFileName?: string;
  TargetFileExtension?: string;
  TargetFileDirectory?: string;
  SrcFilePath?: string;
  SrcFileName?: string;
  SrcFileExtension?: string;
  SrcFileDirectory?: string;
  Object?: string;
  ObjectId?: string;
  ObjectType?: string;
  OriginalObjectType?: string;
  OldValue?: string;
  NewValue?: string;
  /** The record as parsed; its JSON text instead when it is nested too deeply to serialize safely. */
  Raw: unknown;
}

/** `EnvelopeSchema` of every event: names this envelope among other JSON on the same hub. */
export const ENVELOPE_SCHEMA = 'm365.audit.normalized';
/** `EnvelopeVersion`: semver of this envelope (not of the ASIM schema); a breaking change bumps the major. */
export const ENVELOPE_VERSION = '1.0.0';
/** The project's fixed UUIDv5 namespace for `EventId`; changing it changes every EventId. */
export const EVENT_ID_NAMESPACE = '38bfef10-aa5d-474c-b3fe-189a3383b14f';

/** Field order of the serialized event (readability only; consumers must not depend on it). */
export const FIELD_ORDER = [
  'EnvelopeSchema',
  'EnvelopeVersion',
  'EventId',
  'EventOriginalUid',
  'TimeGenerated',
  'EventStartTime',
  'EventEndTime',
  'ProcessedTime',
  'Source',
  'SourceContentType',
  'SourceContentId',
  'SourceContentCreated',
  'OrganizationId',
  'EventVendor',
  'EventProduct',
  'Workload',
  'RecordType',
  'RecordTypeName',
  'Operation',
  'EventOriginalType',
  'EventSchema',
  'EventSchemaVersion',
  'EventType',
  'EventSubType',
  'EventResult',
  'EventResultDetails',
  'EventOriginalResultDetails',
  'EventCount',
  'EventSeverity',
  'Dvc',
  'ActorUsername',
  'ActorUsernameType',
  'ActorUserId',
  'ActorUserIdType',
  'ActorUserAadId',
  'ActorUserPuid',
  'ActorUserSid',
  'ActorUserType',
  'ActorOriginalUserType',
  'ActorScope',
  'ActorScopeId',
  'ActorSessionId',
  'ActingAppId',
  'ActingAppName',
  'SrcIpAddr',
  'SrcPortNumber',
  'SrcIpAddrOriginal',
  'SrcHostname',
  'SrcDvcOs',
  'HttpUserAgent',
  'TargetUsername',
  'TargetUsernameType',
  'TargetUserId',
  'TargetUserIdType',
  'TargetUserAadId',
  'TargetUserPuid',
  'TargetUserType',
  'TargetOriginalUserType',
  'TargetUserScopeId',
  'TargetSessionId',
  'TargetAppName',
  'TargetAppId',
  'TargetAppType',
  'TargetUrl',
  'LogonProtocol',
  'TargetFilePath',
  'TargetFilePathType',
  'TargetFileName',
  'TargetFileExtension',
  'TargetFileDirectory',
  'SrcFilePath',
  'SrcFileName',
  'SrcFileExtension',
  'SrcFileDirectory',
  'Object',
  'ObjectId',
  'ObjectType',
  'OriginalObjectType',
  'OldValue',
  'NewValue',
  'AdditionalFields',
  'ParseWarnings',
  'RawSha256',
  'RawSizeBytes',
  'RawTruncated',
  'Raw',
] as const satisfies readonly (keyof NormalizedEvent)[];

// Compile-time proof that FIELD_ORDER names every field: a field missing from it would be dropped silently.
type Unordered = Exclude<keyof NormalizedEvent, (typeof FIELD_ORDER)[number]>;
const _everyFieldOrdered: [Unordered] extends [never] ? true : Unordered = true;
