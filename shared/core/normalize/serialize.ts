import { parsedElement, type SplitElement } from '../jsonArrayStream.js';
import { buildEvent } from './normalizeRecord.js';
import type { EventProfile, NormalizeContext, NormalizedEvent } from './event.js';

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
  return { event, body: serializeEvent(event, record, options.rawText) };
}

/**
 * The event of one element of a content blob, built but not serialized (delivery needs no more than its
 * EventId for an element an earlier attempt already published). An element that is not valid JSON is not
 * dropped: its text becomes `Raw` (in either profile) with a warning naming `index`; `parsed` says which.
 * The element is its source text, or that text already parsed by the splitter.
 */
export function buildElement(
  element: string | SplitElement,
  ctx: NormalizeContext,
  options: { readonly profile?: EventProfile; readonly index: number },
): { readonly event: NormalizedEvent; readonly record: unknown; readonly parsed: boolean } {
  const { text, value, parsed } = typeof element === 'string' ? parsedElement(element) : element;
  if (!parsed) {
    const event = buildEvent(text, ctx, { rawText: text, profile: options.profile });
    event.ParseWarnings = [...(event.ParseWarnings ?? []), `record ${options.index} is not valid JSON; Raw holds its text`];
    return { event, record: text, parsed: false };
  }
  return { event: buildEvent(value, ctx, { rawText: text, profile: options.profile }), record: value, parsed: true };
}

/** {@link serializeRecord} for one element of a content blob, parsing it first unless it is parsed ({@link buildElement}). */
export function serializeElement(
  element: string | SplitElement,
  ctx: NormalizeContext,
  options: { readonly profile?: EventProfile; readonly index: number },
): SerializedEvent {
  const split = typeof element === 'string' ? parsedElement(element) : element;
  const { event, record, parsed } = buildElement(split, ctx, options);
  return { event, body: parsed ? serializeEvent(event, record, split.text) : JSON.stringify(event) };
}

/**
 * The body of an event built from `record` (parsed from `rawText`): `JSON.stringify(event)`, except that
 * when Raw is the record itself, its source text is spliced in as the last field instead of serializing
 * the record a second time.
 */
export function serializeEvent(event: NormalizedEvent, record: unknown, rawText: string): string {
  if (event.Raw !== record || record === undefined) return JSON.stringify(event);
  event.Raw = undefined;
  // Raw is the last field (FIELD_ORDER), and EnvelopeSchema is always there before it.
  const envelope = JSON.stringify(event);
  event.Raw = record;
  return `${envelope.slice(0, -1)},"Raw":${rawText}}`;
}
