import { hash } from 'node:crypto';
import { mapRecord } from './mapRecord.js';
import { Draft, MAX_DEPTH } from './draft.js';
import { assemble as inOrder, describe, withFallbackEventId, type RawCapture } from './envelope.js';
import {
  AUDIT_RECORD_IDENTITY,
  ENVELOPE_SCHEMA,
  ENVELOPE_VERSION,
  FIELD_ORDER,
  type NormalizeContext,
  type NormalizedEvent,
  type NormalizeOptions,
} from './event.js';
import { isJsonObject, nestsDeeperThan, stringifyWithoutRecursion } from './json.js';
import { toIsoUtc } from './time.js';
import { productOf } from './vocabulary.js';

const JSON_KINDS: ReadonlySet<string> = new Set(['object', 'string', 'number', 'boolean']);

/**
 * Turns one audit record into one normalized event (envelope v1.0.0, reference/normalized-event.md §5).
 *
 * Total: it returns an event for every input value and never throws. A value that is not a JSON object
 * (`42`, `null`, a string, an array) gets the envelope with `Raw` = the value and a `ParseWarnings` entry;
 * whatever cannot be read from a record is reported in `ParseWarnings`, never by an exception. Hostile
 * records are bounded: objects built from record keys have no prototype, copied strings and lists are
 * capped, and nothing recurses over the record. `RawSha256`/`RawSizeBytes` are taken over
 * `options.rawText` when given, else over `JSON.stringify(record)`; `EventId` is UUIDv5 of
 * `Source|tenant|Id` (lower-cased), or of `Source|tenant|sha256:<RawSha256>` for a record without an `Id`.
 */
export function normalizeRecord(record: unknown, ctx: NormalizeContext, options: NormalizeOptions = {}): NormalizedEvent {
  const capture = captureRaw(record, options.rawText);
  const warnings = capture.warnings;
  try {
    const base = baseEvent(capture, ctx);
    if (!isJsonObject(record)) {
      // captureRaw has already said so for values that are not JSON at all.
      if (JSON_KINDS.has(typeof record)) warnings.push(`record is not a JSON object (${kindOf(record)})`);
      return assemble(base, warnings, ctx);
    }
    const draft = new Draft(record, warnings);
    Object.assign(draft.event, base);
    mapRecord(draft, ctx);
    const additional = draft.additional;
    for (const pairs of draft.flattened.values()) for (const name of Object.keys(pairs)) draft.add(name, pairs[name]);
    if (Object.keys(additional).length > 0) draft.event.AdditionalFields = additional;
    return assemble(draft.event, warnings, ctx);
  } catch (error) {
    warnings.push(`normalizer failed on this record: ${describe(error)}`);
    return assemble(baseEvent(capture, ctx), warnings, ctx);
  }
}

/** Raw, and the text to hash: never throws, whatever the value. */
function captureRaw(record: unknown, rawText: string | undefined): RawCapture {
  const kind = typeof record;
  if (kind === 'undefined' || kind === 'function' || kind === 'symbol' || kind === 'bigint') {
    return { raw: null, text: rawText ?? 'null', warnings: [`record is not a JSON value (${kind})`] };
  }
  try {
    if (nestsDeeperThan(record, MAX_DEPTH)) {
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

/** Every always-present field, with the values a record that tells us nothing gets. */
function baseEvent(capture: RawCapture, ctx: NormalizeContext): Partial<NormalizedEvent> {
  const tenant = ctx.tenantId.toLowerCase();
  const rawSha256 = hash('sha256', capture.text, 'hex');
  const contentCreated = ctx.contentCreated === undefined ? undefined : toIsoUtc(ctx.contentCreated);
  const time = contentCreated ?? ctx.processedTime;
  const product = productOf(undefined);
  return {
    EnvelopeSchema: ENVELOPE_SCHEMA,
    EnvelopeVersion: ENVELOPE_VERSION,
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
    EventResult: 'NA',
    EventCount: 1,
    EventSeverity: 'Informational',
    Dvc: product,
    SrcIpAddr: null,
    SrcIpAddrOriginal: null,
    RawSha256: rawSha256,
    RawSizeBytes: Buffer.byteLength(capture.text, 'utf8'),
    RawTruncated: false,
    Raw: capture.raw,
  };
}

/** The event in field order, with the RawSha256-derived EventId when the record had no usable Id. */
function assemble(fields: Partial<NormalizedEvent>, warnings: string[], _ctx: NormalizeContext): NormalizedEvent {
  return inOrder(withFallbackEventId(fields, `${AUDIT_RECORD_IDENTITY}|${fields.OrganizationId}|`), FIELD_ORDER, warnings);
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  return Array.isArray(value) ? 'array' : typeof value;
}
