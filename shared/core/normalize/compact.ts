import type { NormalizedEvent } from './event.js';
import type { NameValues } from './draft.js';
import { isPlainRecord } from './draft.js';
import { nullObject } from './json.js';

/**
 * The record fields a normalized field carries unchanged: `Field → column`. In a compact event such a
 * field is left out of `AdditionalFields` when, and only when, the column holds the identical value
 * (same JSON type, same value: `"RecordType": "15"` is not carried by `RecordType: 15`, `" Alice"` not by
 * a trimmed `"Alice"`). docs/architecture.md states this table for readers of compact events.
 */
export const CARRIED_BY: ReadonlyMap<string, keyof NormalizedEvent> = new Map<string, keyof NormalizedEvent>([
  ['Id', 'EventOriginalUid'],
  ['RecordType', 'RecordType'],
  ['Operation', 'Operation'],
  ['Workload', 'Workload'],
  ['OrganizationId', 'OrganizationId'],
  ['UserId', 'ActorUsername'],
  ['UserKey', 'ActorUserId'],
  ['OrganizationName', 'ActorScope'],
  ['ClientIP', 'SrcIpAddrOriginal'],
  ['UserAgent', 'HttpUserAgent'],
  ['ResultStatus', 'EventOriginalResultDetails'],
]);

/**
 * `AdditionalFields` of a compact event: every top-level field of the record, in record order, under its
 * own name and exactly as parsed (nested values whole), except the fields a column carries (see
 * {@link CARRIED_BY}). Undefined when nothing is left. A null-prototype object, so a `__proto__` field is
 * plain data.
 */
export function compactAdditionalFields(record: Record<string, unknown>, event: NormalizedEvent): NameValues | undefined {
  let fields: NameValues | undefined;
  if (isPlainRecord(record)) {
    // for-in over a JSON.parse object walks V8's enum cache: no key array per record. A plain object
    // (Object.prototype, which has no enumerable members) lists exactly its own keys, in Object.keys order.
    for (const name in record) fields = withUncarried(fields, name, record[name], event);
    return fields;
  }
  for (const name of Object.keys(record)) fields = withUncarried(fields, name, record[name], event);
  return fields;
}

/** `fields` with record field `name` added, unless it is undefined or a column carries it unchanged. */
function withUncarried(fields: NameValues | undefined, name: string, value: unknown, event: NormalizedEvent): NameValues | undefined {
  if (value === undefined) return fields;
  const column = CARRIED_BY.get(name);
  if (column !== undefined && event[column] === value) return fields;
  (fields ??= nullObject<NameValues>())[name] = value;
  return fields;
}
