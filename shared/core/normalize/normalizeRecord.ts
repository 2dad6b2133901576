import { compactAdditionalFields } from './compact.js';
import { mapRecord } from './mapRecord.js';
import { Draft, MAX_DEPTH } from './draft.js';
import { describe, withFallbackEventId, type RawCapture } from './envelope.js';
import { rawDigest } from './rawDigest.js';
import {
  AUDIT_RECORD_IDENTITY,
  ENVELOPE_SCHEMA,
  ENVELOPE_VERSION,
  FIELD_ORDER,
  type NormalizeContext,
  type NormalizedEvent,
  type NormalizeOptions,
} from './event.js';
import { isJsonObject, nestsDeeperThan, stringifyWithoutRecursion, textNestsAtMost } from './json.js';
import { toIsoUtc } from './time.js';
import { productOf } from './vocabulary.js';

const JSON_KINDS: ReadonlySet<string> = new Set(['object', 'string', 'number', 'boolean']);

/**
 * Turns one audit record into one normalized event (envelope v1.0.0).
 *
 * Total: it returns an event for every input value and never throws. A value that is not a JSON object
 * (`42`, `null`, a string, an array) gets the envelope with `Raw` = the value and a `ParseWarnings` entry;
 * whatever cannot be read from a record is reported in `ParseWarnings`, never by an exception. Hostile
 * records are bounded: objects built from record keys have no prototype, copied strings and lists are
 * capped, and nothing recurses over the record. `RawSha256`/`RawSizeBytes` are taken over
 * `options.rawText` when given, else over `JSON.stringify(record)`; `EventId` is UUIDv5 of
 * `Source|tenant|Id` (lower-cased), or of `Source|tenant|sha256:<RawSha256>` for a record without an `Id`.
 * Fields the event does not have are absent (never `undefined`); for the event as the hub gets it, see
 * `serializeRecord`.
 */
export function normalizeRecord(record: unknown, ctx: NormalizeContext, options: NormalizeOptions = {}): NormalizedEvent {
  const event = buildEvent(record, ctx, options);
  const defined: Partial<NormalizedEvent> = {};
  for (const key of FIELD_ORDER) {
    const value = event[key];
    if (value !== undefined) (defined as Record<string, unknown>)[key] = value;
  }
  return defined as NormalizedEvent;
}

/**
 * The event of {@link normalizeRecord} as built: every envelope field is a property in serialization
 * order, `undefined` where the event does not have it (JSON.stringify leaves those out). One object shape
 * for every event keeps the mappers' field writes and the serializer on V8's fast paths.
 */
export function buildEvent(record: unknown, ctx: NormalizeContext, options: NormalizeOptions = {}): NormalizedEvent {
  const capture = captureRaw(record, options.rawText);
  const warnings = capture.warnings;
  try {
    const event = newEvent(capture, ctx);
    if (!isJsonObject(record)) {
      // captureRaw has already said so for values that are not JSON at all.
      if (JSON_KINDS.has(typeof record)) warnings.push(`record is not a JSON object (${kindOf(record)})`);
      return finish(event, warnings);
    }
    const compact = options.profile === 'compact' && capture.raw === record;
    const draft = new Draft(record, warnings, event, !compact);
    mapRecord(draft, ctx);
    if (compact) {
      // The record's own fields replace Raw and what the mapping would have put in AdditionalFields (derived from them).
      event.AdditionalFields = compactAdditionalFields(record, event);
      event.Raw = undefined;
      return finish(event, warnings);
    }
    const additional = draft.additional;
    for (const pairs of draft.flattened.values()) for (const [name, value] of pairs) draft.add(name, value);
    if (draft.hasAdditional()) event.AdditionalFields = additional;
    return finish(event, warnings);
  } catch (error) {
    warnings.push(`normalizer failed on this record: ${describe(error)}`);
    return finish(newEvent(capture, ctx), warnings);
  }
}

/** Raw, and the text to hash: never throws, whatever the value. */
function captureRaw(record: unknown, rawText: string | undefined): RawCapture {
  const kind = typeof record;
  if (kind === 'undefined' || kind === 'function' || kind === 'symbol' || kind === 'bigint') {
    return { raw: null, text: rawText ?? 'null', warnings: [`record is not a JSON value (${kind})`] };
  }
  try {
    // The record's own text answers for most records without walking the parsed value.
    if ((rawText === undefined || !textNestsAtMost(rawText, MAX_DEPTH)) && nestsDeeperThan(record, MAX_DEPTH)) {
      // JSON.stringify would overflow the stack on this value somewhere downstream; its text is safe to carry.
      const text = rawText ?? stringifyWithoutRecursion(record);
      return {
        raw: text,
        text,
        warnings: [`record nests deeper than ${MAX_DEPTH} levels; Raw holds its JSON text`],
      };
    }
    return { raw: record, text: rawText ?? JSON.stringify(record), warnings: [] };
  } catch (error) {
    return { raw: null, text: rawText ?? 'null', warnings: [`record cannot be serialized: ${describe(error)}`] };
  }
}

/** `ctx.contentCreated` as UTC ISO, computed once per context (a blob's records share one). */
let createdOf: { ctx: NormalizeContext; created: string | undefined } | undefined;

function contentCreatedOf(ctx: NormalizeContext): string | undefined {
  if (createdOf?.ctx !== ctx) createdOf = { ctx, created: ctx.contentCreated === undefined ? undefined : toIsoUtc(ctx.contentCreated) };
  return createdOf.created;
}

/**
 * Every field in serialization order (FIELD_ORDER; a unit test holds the two together), with the values
 * a record that tells us nothing gets.
 */
function newEvent(capture: RawCapture, ctx: NormalizeContext): NormalizedEvent {
  const tenant = ctx.tenantId.toLowerCase();
  const contentCreated = contentCreatedOf(ctx);
  const time = contentCreated ?? ctx.processedTime;
  const product = productOf(undefined);
  const digest = rawDigest(capture.text);
  return {
    EnvelopeSchema: ENVELOPE_SCHEMA,
    EnvelopeVersion: ENVELOPE_VERSION,
    EventId: undefined as unknown as string,
    EventOriginalUid: null,
    TimeGenerated: time,
    EventStartTime: time,
    EventEndTime: time,
    ProcessedTime: ctx.processedTime,
    Source: ctx.source,
    SourceContentType: ctx.contentType,
    SourceContentId: ctx.contentId,
    SourceContentCreated: contentCreated ?? ctx.contentCreated,
    OrganizationId: tenant,
    EventVendor: 'Microsoft',
    EventProduct: product,
    Workload: null,
    RecordType: null,
    RecordTypeName: 'Unknown',
    Operation: null,
    EventOriginalType: null,
    EventSchema: 'AuditEvent',
    EventSchemaVersion: '0.1.2',
    EventType: 'Other',
    EventSubType: undefined,
    EventResult: 'NA',
    EventResultDetails: undefined,
    EventOriginalResultDetails: undefined,
    EventCount: 1,
    EventSeverity: 'Informational',
    Dvc: product,
    ActorUsername: undefined,
    ActorUsernameType: undefined,
    ActorUserId: undefined,
    ActorUserIdType: undefined,
    ActorUserAadId: undefined,
    ActorUserPuid: undefined,
    ActorUserSid: undefined,
    ActorUserType: undefined,
    ActorOriginalUserType: undefined,
    ActorScope: undefined,
    ActorScopeId: undefined,
    ActorSessionId: undefined,
    ActingAppId: undefined,
    ActingAppName: undefined,
    SrcIpAddr: null,
    SrcPortNumber: undefined,
    SrcIpAddrOriginal: null,
    SrcHostname: undefined,
    SrcDvcOs: undefined,
    HttpUserAgent: undefined,
    TargetUsername: undefined,
    TargetUsernameType: undefined,
    TargetUserId: undefined,
    TargetUserIdType: undefined,
    TargetUserAadId: undefined,
    TargetUserPuid: undefined,
    TargetUserType: undefined,
    TargetOriginalUserType: undefined,
    TargetUserScopeId: undefined,
    TargetSessionId: undefined,
    TargetAppName: undefined,
    TargetAppId: undefined,
    TargetAppType: undefined,
    TargetUrl: undefined,
    LogonProtocol: undefined,
    TargetFilePath: undefined,
    TargetFilePathType: undefined,
    TargetFileName: undefined,
    TargetFileExtension: undefined,
    TargetFileDirectory: undefined,
    SrcFilePath: undefined,
    SrcFileName: undefined,
    SrcFileExtension: undefined,
    SrcFileDirectory: undefined,
    Object: undefined,
    ObjectId: undefined,
    ObjectType: undefined,
    OriginalObjectType: undefined,
    OldValue: undefined,
    NewValue: undefined,
    AdditionalFields: undefined,
    ParseWarnings: undefined,
    RawSha256: digest.sha256,
    RawSizeBytes: digest.bytes,
    RawTruncated: false,
    Raw: capture.raw,
  };
}

/** Warnings when there are any, and the RawSha256-derived EventId when the record had no usable Id. */
function finish(event: NormalizedEvent, warnings: string[]): NormalizedEvent {
  if (warnings.length > 0) event.ParseWarnings = warnings;
  return withFallbackEventId(event, AUDIT_RECORD_IDENTITY);
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  return Array.isArray(value) ? 'array' : typeof value;
}

/** For tests: the field order `newEvent` builds. */
export function newEventFieldOrder(): string[] {
  return Object.keys(newEvent({ raw: null, text: 'null', warnings: [] }, { source: 'O365ManagementActivity', tenantId: 't', contentType: 'c', contentId: 'i', processedTime: 'p' }));
}
