import { buildEvent } from './normalizeRecord.js';
import { ENVELOPE_SCHEMA, ENVELOPE_VERSION, type EventProfile, type NormalizeContext, type NormalizedEvent } from './event.js';

/** One event as it goes on the hub: the JSON body, and the event it was written from. */
export interface SerializedEvent {
  /**
   * The event as built: every envelope field is a property, `undefined` where the event does not have
   * it, so spread or serialize it rather than comparing its keys.
   */
  readonly event: NormalizedEvent;
  readonly body: string;
}

export interface SerializeOptions {
  /** The record's exact source text (the array element or NDJSON line it was parsed from). */
  readonly rawText: string;
  /** Default `full`. */
  readonly profile?: EventProfile;
}

/**
 * Normalizes a record parsed from `rawText` and writes its event as JSON. The body is what
 * `JSON.stringify(normalizeRecord(record, ctx, options))` gives, except that a `full` event's `Raw` is
 * `rawText` itself, spliced in (verbatim, and one serialization of the record fewer).
 */
export function serializeRecord(record: unknown, ctx: NormalizeContext, options: SerializeOptions): SerializedEvent {
  const event = buildEvent(record, ctx, options);
  return { event, body: serializeEvent(event, record, options.rawText, ctx) };
}

/**
 * {@link serializeRecord} for one element of a content blob, parsing it first. An element that is not
 * valid JSON is not dropped: its text becomes `Raw` (in either profile) with a warning naming `index`.
 */
export function serializeElement(
  text: string,
  ctx: NormalizeContext,
  options: { readonly profile?: EventProfile; readonly index: number },
): SerializedEvent {
  let record: unknown;
  try {
    record = JSON.parse(text);
  } catch {
    const event = buildEvent(text, ctx, { rawText: text, profile: options.profile });
    event.ParseWarnings = [...(event.ParseWarnings ?? []), `record ${options.index} is not valid JSON; Raw holds its text`];
    return { event, body: JSON.stringify(event) };
  }
  return serializeRecord(record, ctx, { rawText: text, profile: options.profile });
}

/**
 * The body of an event built from `record` (parsed from `rawText`) in context `ctx`: `JSON.stringify(event)`,
 * with two shortcuts that give the same text: the fields every event of a context shares are written from
 * a cached piece, and when Raw is the record itself, its text is spliced in as the last field.
 */
export function serializeEvent(event: NormalizedEvent, record: unknown, rawText: string, ctx: NormalizeContext): string {
  const spliceRaw = event.Raw === record && record !== undefined;
  const pieces = piecesOf(ctx);
  if (!sharesContext(event, pieces)) {
    if (!spliceRaw) return JSON.stringify(event);
    event.Raw = undefined;
    const envelope = JSON.stringify(event);
    event.Raw = record;
    return `${envelope.slice(0, -1)},"Raw":${rawText}}`;
  }
  const fields = event as unknown as Record<string, unknown>;
  const { EventId, EventOriginalUid, TimeGenerated, EventStartTime, EventEndTime } = event;
  for (const name of LEADING_FIELDS) fields[name] = undefined;
  if (spliceRaw) event.Raw = undefined;
  // Starts with `{"EventProduct":` (always present) and ends with `}`.
  const rest = JSON.stringify(event);
  const v = pieces.values;
  event.EnvelopeSchema = v.EnvelopeSchema;
  event.EnvelopeVersion = v.EnvelopeVersion;
  event.EventId = EventId;
  event.EventOriginalUid = EventOriginalUid;
  event.TimeGenerated = TimeGenerated;
  event.EventStartTime = EventStartTime;
  event.EventEndTime = EventEndTime;
  event.ProcessedTime = v.ProcessedTime;
  event.Source = v.Source;
  event.SourceContentType = v.SourceContentType;
  event.SourceContentId = v.SourceContentId;
  event.SourceContentCreated = v.SourceContentCreated;
  event.OrganizationId = v.OrganizationId;
  event.EventVendor = v.EventVendor;
  if (spliceRaw) event.Raw = record;
  const time = JSON.stringify(TimeGenerated);
  const head =
    `${pieces.lead}${JSON.stringify(EventId)},"EventOriginalUid":${JSON.stringify(EventOriginalUid)},"TimeGenerated":${time}` +
    `,"EventStartTime":${EventStartTime === TimeGenerated ? time : JSON.stringify(EventStartTime)}` +
    `,"EventEndTime":${EventEndTime === TimeGenerated ? time : JSON.stringify(EventEndTime)}${pieces.middle}`;
  return spliceRaw ? `${head}${rest.slice(1, -1)},"Raw":${rawText}}` : `${head}${rest.slice(1)}`;
}

/** The fields before EventProduct, in order: blanked while the rest is serialized. */
const LEADING_FIELDS = [
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
] as const;

/** The serialized fields every event of a context has alike, and their values. */
interface ContextPieces {
  readonly ctx: NormalizeContext;
  /** `{"EnvelopeSchema":…,"EnvelopeVersion":…,"EventId":` */
  readonly lead: string;
  /** `,"ProcessedTime":…` through `"EventVendor":…,` */
  readonly middle: string;
  readonly values: Pick<
    NormalizedEvent,
    'EnvelopeSchema' | 'EnvelopeVersion' | 'ProcessedTime' | 'Source' | 'SourceContentType' | 'SourceContentId' | 'SourceContentCreated' | 'OrganizationId' | 'EventVendor'
  >;
}

let cached: ContextPieces | undefined;

function piecesOf(ctx: NormalizeContext): ContextPieces {
  if (cached?.ctx === ctx) return cached;
  // What buildEvent set from this context; sharesContext checks each event against it.
  const probe = buildEvent(null, ctx);
  const values = {
    EnvelopeSchema: ENVELOPE_SCHEMA,
    EnvelopeVersion: ENVELOPE_VERSION,
    ProcessedTime: probe.ProcessedTime,
    Source: probe.Source,
    SourceContentType: probe.SourceContentType,
    SourceContentId: probe.SourceContentId,
    SourceContentCreated: probe.SourceContentCreated,
    OrganizationId: probe.OrganizationId,
    EventVendor: probe.EventVendor,
  } as const;
  const json = (name: keyof typeof values): string => (values[name] === undefined ? '' : `,"${name}":${JSON.stringify(values[name])}`);
  cached = {
    ctx,
    lead: `{"EnvelopeSchema":${JSON.stringify(values.EnvelopeSchema)},"EnvelopeVersion":${JSON.stringify(values.EnvelopeVersion)},"EventId":`,
    middle: `${json('ProcessedTime')}${json('Source')}${json('SourceContentType')}${json('SourceContentId')}${json('SourceContentCreated')}${json('OrganizationId')}${json('EventVendor')},`,
    values,
  };
  return cached;
}

/** Whether the event's context fields are the cached ones (they always are; checked, not assumed). */
function sharesContext(event: NormalizedEvent, pieces: ContextPieces): boolean {
  const v = pieces.values;
  return (
    event.EnvelopeSchema === v.EnvelopeSchema &&
    event.EnvelopeVersion === v.EnvelopeVersion &&
    event.ProcessedTime === v.ProcessedTime &&
    event.Source === v.Source &&
    event.SourceContentType === v.SourceContentType &&
    event.SourceContentId === v.SourceContentId &&
    event.SourceContentCreated === v.SourceContentCreated &&
    event.OrganizationId === v.OrganizationId &&
    event.EventVendor === v.EventVendor &&
    typeof event.EventId === 'string' &&
    typeof event.EventProduct === 'string'
  );
}
