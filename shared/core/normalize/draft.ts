import type { NormalizedEvent } from './event.js';
import { isJsonObject, nestsDeeperThan, nullObject, own } from './json.js';

/** Longest string copied out of a record into a field or AdditionalFields (Raw keeps the whole value). */
export const MAX_VALUE_CHARS = 8192;
/** Most entries copied from one Name/Value list or summarized from one array. */
export const MAX_ENTRIES = 256;
/** Deepest container nesting kept in an event; far beyond any real record, far below JSON.stringify's limit. */
export const MAX_DEPTH = 512;
/** Longest "stringly JSON" value that is decoded. */
const MAX_DECODE_CHARS = 1 << 20;
const MAX_NAME_CHARS = 256;

/** Decoded Name/Value pairs: a null-prototype object, so any Name (even `__proto__`) is plain data. */
export type NameValues = Record<string, unknown>;
/** Decoded Name/Value pairs of a list to be flattened, in the order of {@link NameValues}. */
export type NameValueMap = Map<string, unknown>;

/**
 * The event under construction for one JSON-object record: typed envelope fields, AdditionalFields, the
 * warnings so far, and readers that turn untrusted values into bounded, typed ones.
 */
export class Draft {
  readonly additional: NameValues = nullObject<NameValues>();
  /** Name/Value lists by field, flattened into AdditionalFields at the end minus the entries a mapper took. */
  readonly flattened = new Map<string, NameValueMap>();
  private additionalCount = 0;
  /** The record's values by slot (see SLOT_OF), or undefined when the record is not a plain JSON object. */
  private readonly values: unknown[] | undefined;
  private readonly slots: number;

  constructor(
    readonly record: Record<string, unknown>,
    readonly warnings: string[],
    /** The event being filled (for audit records, with every envelope field already a property). */
    readonly event: NormalizedEvent = {} as NormalizedEvent,
    /**
     * False when the event's AdditionalFields will not come from the mapping (a compact event takes the
     * record's own fields): entries are then worked out as usual, warnings included, but not stored.
     */
    private readonly keepsAdditional = true,
  ) {
    // One pass over the record's own fields (for-in over a JSON.parse object reads them through V8's enum
    // cache) instead of a lookup per field a mapper asks for: records have many different shapes, which
    // makes each of those lookups slow. Only for plain objects: for-in would also list enumerable
    // inherited properties, and a plain object has none unless Object.prototype was tampered with.
    if (isPlainRecord(record)) {
      this.slots = SLOT_OF.size;
      const values: unknown[] = new Array(this.slots);
      for (const key in record) {
        const slot = SLOT_OF.get(key);
        if (slot !== undefined) values[slot] = record[key];
      }
      this.values = values;
    } else {
      this.slots = 0;
      this.values = undefined;
    }
  }

  /** Whether anything was added to AdditionalFields. */
  hasAdditional(): boolean {
    return this.additionalCount > 0;
  }

  warn(message: string): void {
    if (!this.warnings.includes(message)) this.warnings.push(message);
  }

  /** The record's own property `key`. */
  get(key: string): unknown {
    const slot = SLOT_OF.get(key);
    if (slot !== undefined && slot < this.slots) return this.values![slot];
    // A name no earlier record was asked for: give it a slot for the next records, read this one directly.
    if (slot === undefined && SLOT_OF.size < MAX_SLOTS) SLOT_OF.set(key, SLOT_OF.size);
    return own(this.record, key);
  }

  /** `record[key]` as a trimmed, non-empty, bounded string (numbers and booleans are converted). */
  str(key: string): string | undefined {
    return this.text(this.get(key), key);
  }

  /** `value` as a trimmed, non-empty, bounded string; `label` (and `entry`, as `label.entry`) names it in warnings. */
  text(value: unknown, label: string, entry?: string): string | undefined {
    if (typeof value === 'string') {
      if (value.length <= MAX_VALUE_CHARS && value.length > 0 && isPrintableAscii(value.charCodeAt(0)) && isPrintableAscii(value.charCodeAt(value.length - 1))) {
        // Nothing to trim or cut (the usual value): trim() would give it back unchanged.
        return value;
      }
      const bounded = value.length > MAX_VALUE_CHARS ? value.slice(0, MAX_VALUE_CHARS + 1) : value;
      const trimmed = bounded.trim();
      if (trimmed.length > MAX_VALUE_CHARS) {
        this.warn(`${labelOf(label, entry)} cut to ${MAX_VALUE_CHARS} characters (Raw has it whole)`);
        return trimmed.slice(0, MAX_VALUE_CHARS);
      }
      return trimmed === '' ? undefined : trimmed;
    }
    if ((typeof value === 'number' && Number.isFinite(value)) || typeof value === 'boolean') return String(value);
    if (typeof value === 'object' && value !== null) this.warn(`${labelOf(label, entry)} is not a string`);
    return undefined;
  }

  /** `record[key]` as a safe integer: a JSON number or a decimal string (`"15"`). */
  int(key: string): number | undefined {
    return toInteger(this.get(key));
  }

  /** `record[key]` if it is a JSON object. */
  object(key: string): Record<string, unknown> | undefined {
    const value = this.get(key);
    return isJsonObject(value) ? value : undefined;
  }

  /** `record[key]` if it is an array. */
  array(key: string): unknown[] | undefined {
    const value = this.get(key);
    return Array.isArray(value) ? value : undefined;
  }

  /** Sets an AdditionalFields entry unless the value is empty or already set. */
  add(key: string, value: unknown): void {
    // No prototype, and undefined is never stored: a defined entry is an own one.
    if (!this.keepsAdditional || value === undefined || value === null || value === '' || this.additional[key] !== undefined) return;
    this.additional[key] = value;
    this.additionalCount++;
  }

  /** Copies `record[key]` into AdditionalFields as a bounded scalar, or as a value of bounded depth. */
  copy(key: string, as: string = key): void {
    this.add(as, this.bounded(this.get(key), key));
  }

  /**
   * A value fit for AdditionalFields: strings bounded, booleans-as-strings decoded, containers depth-checked.
   * `label` (and `entry`, as `label.entry`) names it in warnings.
   */
  bounded(value: unknown, label: string, entry?: string): unknown {
    if (typeof value === 'string') return toBoolean(value) ?? this.text(value, label, entry);
    if (typeof value === 'object' && value !== null) {
      if (!nestsDeeperThan(value, MAX_DEPTH)) return value;
      this.warn(`${labelOf(label, entry)} nests deeper than ${MAX_DEPTH} levels; left in Raw only`);
      return undefined;
    }
    return typeof value === 'number' && !Number.isFinite(value) ? undefined : value;
  }

  /**
   * Decodes a JSON string such as an alert's `Data`; a string that is not JSON is kept as text with a
   * warning when it looks like JSON (starts with `{` or `[`), silently otherwise.
   */
  decoded(key: string): unknown {
    const value = this.get(key);
    if (typeof value !== 'string') return this.bounded(value, key);
    const parsed = this.parseJson(value, key);
    return parsed === NOT_JSON ? this.text(value, key) : this.bounded(parsed, key);
  }

  /**
   * Decodes the Name/Value list `record[key]` (`[{Name, Value}]`, a JSON string of one, or a plain object)
   * into a null-prototype object, copying at most {@link MAX_ENTRIES} entries. A value that is none of
   * these is kept as-is in AdditionalFields with a warning.
   */
  nameValues(key: string): NameValues | undefined {
    const pairs = this.nameValueMap(key);
    if (pairs === undefined) return undefined;
    const object = nullObject<NameValues>();
    for (const [name, value] of pairs) object[name] = value;
    return object;
  }

  /**
   * {@link nameValues} as a Map in the order the object would list (a repeated Name keeps its first place
   * and its last value, as an assignment does): entries are looked up, taken out and walked without
   * building an object per list.
   */
  private nameValueMap(key: string): NameValueMap | undefined {
    const value = this.container(key);
    if (value === undefined) return undefined;
    const pairs: NameValueMap = new Map();
    if (Array.isArray(value)) {
      let skipped = 0;
      const count = Math.min(value.length, MAX_ENTRIES);
      for (let i = 0; i < count; i++) {
        const entry: unknown = value[i];
        const name = isJsonObject(entry) ? own(entry, 'Name') : undefined;
        if (typeof name !== 'string' || name === '' || name.length > MAX_NAME_CHARS) {
          skipped++;
          continue;
        }
        const item = own(entry as Record<string, unknown>, 'Value');
        pairs.set(name, item === undefined ? null : this.bounded(item, key, name) ?? null);
      }
      this.noteCap(key, value.length);
      if (skipped > 0) this.warn(`${key}: skipped ${skipped} entries without a usable Name`);
    } else if (isJsonObject(value)) {
      const names = Object.keys(value);
      for (const name of names.slice(0, MAX_ENTRIES)) pairs.set(name, this.bounded(value[name], key, name) ?? null);
      this.noteCap(key, names.length);
    } else {
      this.warn(`${key} is not a Name/Value list`);
      this.add(key, this.bounded(value, key));
      return undefined;
    }
    return pairs;
  }

  /** `record[key]` as an array, decoding a JSON string; anything else is kept as-is in AdditionalFields with a warning. */
  list(key: string): unknown[] | undefined {
    const value = this.container(key);
    if (value === undefined || Array.isArray(value)) return value;
    this.warn(`${key} is not a list`);
    this.add(key, this.bounded(value, key));
    return undefined;
  }

  /** `record[key]`, with a JSON string decoded; a string that is not JSON is kept as text with a warning. */
  private container(key: string): unknown {
    const value = this.get(key);
    if (value === undefined || value === null || value === '') return undefined;
    if (typeof value !== 'string') return value;
    const parsed = this.parseJson(value, key);
    if (parsed !== NOT_JSON) return parsed;
    this.warn(`${key} is a string that is not JSON; kept as text`);
    this.add(key, this.text(value, key));
    return undefined;
  }

  /** Decodes a Name/Value list and queues its remaining entries to be flattened into AdditionalFields. */
  flatten(key: string): void {
    const pairs = this.nameValueMap(key);
    if (pairs) this.flattened.set(key, pairs);
  }

  /** Warns when an array was longer than what was copied from it. */
  noteCap(label: string, length: number): void {
    if (length > MAX_ENTRIES) this.warn(`${label}: kept the first ${MAX_ENTRIES} of ${length} entries`);
  }

  private parseJson(text: string, label: string): unknown {
    const first = text.trimStart()[0];
    if (first !== '{' && first !== '[') return NOT_JSON;
    if (text.length > MAX_DECODE_CHARS) {
      this.warn(`${label} is too long to decode (${text.length} characters)`);
      return NOT_JSON;
    }
    try {
      return JSON.parse(text);
    } catch {
      this.warn(`${label} looks like JSON but does not parse; kept as text`);
      return NOT_JSON;
    }
  }
}

const NOT_JSON = Symbol('not JSON');

/** A value's name in warnings: `label`, or `label.entry` for an entry of a list or object. */
function labelOf(label: string, entry: string | undefined): string {
  return entry === undefined ? label : `${label}.${entry}`;
}

/** A printable ASCII character other than the space: never white space to String.prototype.trim. */
function isPrintableAscii(code: number): boolean {
  return code > 0x20 && code < 0x7f;
}

/** The record field names mappers have asked for, each with its slot in a Draft's values. */
const SLOT_OF = new Map<string, number>();
/** The mappers read a fixed set of names; this only bounds the table should that ever change. */
const MAX_SLOTS = 1024;

/** An object whose for-in lists exactly its own enumerable string keys: its prototype is Object.prototype, unchanged. */
export function isPlainRecord(record: object): boolean {
  if (Object.getPrototypeOf(record) !== Object.prototype) return false;
  for (const _key in Object.prototype) return false;
  return true;
}
const DECIMAL = /^-?\d+$/;

/** Removes and returns one entry of decoded Name/Value pairs. */
export function take(pairs: NameValueMap | undefined, name: string): unknown {
  // A missing Value is stored as null, never undefined.
  const value = pairs?.get(name);
  if (value !== undefined) pairs!.delete(name);
  return value;
}

/** A safe integer from a JSON number or a decimal string; undefined otherwise. */
export function toInteger(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) ? value : undefined;
  if (typeof value !== 'string' || value.length > 20) return undefined;
  const trimmed = value.trim();
  if (!DECIMAL.test(trimmed)) return undefined;
  const parsed = Number(trimmed);
  return Number.isSafeInteger(parsed) ? parsed : undefined;
}

/** JSON true/false, or the strings `true`/`false` in any case (the service writes `True`/`False`). */
export function toBoolean(value: unknown): boolean | undefined {
  if (typeof value === 'boolean') return value;
  // Only `true` and `false` (4 and 5 characters) can be one: no lower-cased copy of any other short value.
  if (typeof value !== 'string' || (value.length !== 4 && value.length !== 5)) return undefined;
  const lower = value.toLowerCase();
  return lower === 'true' ? true : lower === 'false' ? false : undefined;
}
