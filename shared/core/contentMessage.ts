import { isValidContentId } from './feedUrls.js';
import { isContentType, isGuid, type ContentListing, type ContentType, type StreamKey } from './model.js';

/**
 * The queue message for one content blob: small, versioned, never the content itself.
 * It names the blob; it does not say where to fetch it from — the worker takes the management host
 * from its own configuration for the tenant, so a forged message cannot steer the token elsewhere.
 */
export interface ContentMessage {
  readonly v: 1;
  readonly tenantId: string;
  readonly contentType: ContentType;
  readonly contentId: string;
  /** As listed; the worker checks it against the tenant's feed and rebuilds it from contentId if it must. */
  readonly contentUri: string;
  readonly contentCreated: string;
  readonly contentExpiration: string;
  readonly listedAt: string;
}

/** Storage queue messages are capped at 64 KiB after base64; ours are a few hundred bytes. */
export const MAX_MESSAGE_CHARS = 8 * 1024;

export function toContentMessage(stream: StreamKey, listing: ContentListing, listedAt: number): ContentMessage {
  return {
    v: 1,
    tenantId: stream.tenantId,
    contentType: stream.contentType,
    contentId: listing.contentId,
    contentUri: listing.contentUri,
    contentCreated: listing.contentCreated,
    contentExpiration: listing.contentExpiration,
    listedAt: new Date(listedAt).toISOString(),
  };
}

export function serializeContentMessage(message: ContentMessage): string {
  return JSON.stringify(message);
}

export type ParsedMessage =
  | { readonly ok: true; readonly message: ContentMessage }
  | { readonly ok: false; readonly reason: string; /** What could be read, for quarantine and the ledger. */ readonly partial: Partial<ContentMessage> };

/** Deepest nesting of an already-parsed message (ours is flat: one object of strings and a number). */
export const MAX_MESSAGE_DEPTH = 16;
/** Most values (objects, arrays, strings, numbers, ...) in an already-parsed message (ours has nine). */
export const MAX_MESSAGE_VALUES = 2_000;

interface ShapeLimits {
  readonly depth: number;
  readonly values: number;
  /** Characters of text in all: string values and keys. */
  readonly chars: number;
}

/**
 * Why `root` is past `limits`, or undefined when it is within them. Walks with an explicit stack (no
 * recursion, so no depth can overflow the call stack) and stops at the first limit passed, so the work
 * is bounded by the limits, not by the value; a cycle is cut off by the depth limit. Throws only what
 * reading the value throws (a revoked proxy, a getter).
 */
function shapeProblem(root: unknown, limits: ShapeLimits): string | undefined {
  const values: unknown[] = [root];
  const depths: number[] = [0];
  let seen = 0;
  let chars = 0;
  const tooMany = () => `message has more than ${limits.values} values`;
  const tooLong = () => `message holds more than ${limits.chars} characters of text`;
  while (values.length > 0) {
    const value = values.pop();
    const depth = depths.pop()!;
    if (++seen > limits.values) return tooMany();
    if (typeof value === 'string') {
      chars += value.length;
      if (chars > limits.chars) return tooLong();
      continue;
    }
    if (typeof value !== 'object' || value === null) continue;
    if (depth >= limits.depth) return `message nests deeper than ${limits.depth} levels`;
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        if (seen + values.length >= limits.values) return tooMany();
        values.push(value[i]);
        depths.push(depth + 1);
      }
      continue;
    }
    for (const key in value) {
      if (!Object.hasOwn(value, key)) continue;
      chars += key.length;
      if (chars > limits.chars) return tooLong();
      if (seen + values.length >= limits.values) return tooMany();
      values.push((value as Record<string, unknown>)[key]);
      depths.push(depth + 1);
    }
  }
  return undefined;
}

const MESSAGE_SHAPE: ShapeLimits = { depth: MAX_MESSAGE_DEPTH, values: MAX_MESSAGE_VALUES, chars: MAX_MESSAGE_CHARS };
/** UTF-8 takes at most 4 bytes per character of MAX_MESSAGE_CHARS; more bytes cannot be a message. */
const MAX_MESSAGE_BYTES = 4 * MAX_MESSAGE_CHARS;
const UNREADABLE: ParsedMessage = { ok: false, reason: 'message could not be read as an object', partial: {} };

/**
 * Validates a queue message. Accepts the JSON text, its bytes, or the object the Functions host already
 * parsed; such an object is measured first (depth, number of values, characters of text, without
 * recursion), so a deeply nested, cyclic or huge one is refused before anything else reads it.
 * Never throws: anything it cannot make sense of comes back with a reason for quarantine.
 */
export function parseContentMessage(input: unknown): ParsedMessage {
  try {
    return parse(input);
  } catch {
    // Only a hostile object (a revoked proxy, a getter that throws) gets here; a queue message never does.
    return UNREADABLE;
  }
}

function parse(input: unknown): ParsedMessage {
  let value: unknown = input;
  if (typeof input === 'string') {
    if (input.length > MAX_MESSAGE_CHARS) return { ok: false, reason: `message is ${input.length} characters, over the ${MAX_MESSAGE_CHARS} limit`, partial: {} };
    try {
      value = JSON.parse(input);
    } catch {
      return { ok: false, reason: 'message is not JSON', partial: {} };
    }
  } else if (input instanceof Uint8Array) {
    if (input.byteLength > MAX_MESSAGE_BYTES) return { ok: false, reason: `message is ${input.byteLength} bytes, over the ${MAX_MESSAGE_BYTES} limit`, partial: {} };
    return parse(Buffer.from(input.buffer, input.byteOffset, input.byteLength).toString('utf8'));
  }
  // Before anything else reads it: 8 KiB of JSON text can still nest thousands of levels.
  const problem = shapeProblem(value, MESSAGE_SHAPE);
  if (problem) return { ok: false, reason: problem, partial: {} };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { ok: false, reason: 'message is not a JSON object', partial: {} };
  return validate(value as Record<string, unknown>);
}

function validate(m: Record<string, unknown>): ParsedMessage {
  const partial: Record<string, unknown> = {};
  for (const key of ['tenantId', 'contentType', 'contentId', 'contentUri', 'contentCreated', 'contentExpiration', 'listedAt'] as const) {
    if (typeof m[key] === 'string' && (m[key] as string).length <= 2048) partial[key] = m[key];
  }
  const problems: string[] = [];
  if (m.v !== 1) problems.push(`unsupported version ${(JSON.stringify(m.v) ?? 'undefined').slice(0, 64)} (expected 1)`);
  if (!isGuid(m.tenantId)) problems.push('tenantId is not a GUID');
  if (!isContentType(m.contentType)) problems.push('contentType is not one of the five content types');
  if (!isValidContentId(m.contentId)) problems.push('contentId is missing or has characters a content id never has');
  if (typeof m.contentUri !== 'string' || m.contentUri.length > 2048) problems.push('contentUri is missing or too long');
  for (const key of ['contentCreated', 'contentExpiration', 'listedAt'] as const) {
    if (typeof m[key] !== 'string' || Number.isNaN(Date.parse(m[key] as string))) problems.push(`${key} is not a timestamp`);
  }
  if (problems.length > 0) return { ok: false, reason: problems.join('; '), partial: partial as Partial<ContentMessage> };
  return {
    ok: true,
    message: {
      v: 1,
      tenantId: (m.tenantId as string).toLowerCase(),
      contentType: m.contentType as ContentType,
      contentId: m.contentId as string,
      contentUri: m.contentUri as string,
      contentCreated: m.contentCreated as string,
      contentExpiration: m.contentExpiration as string,
      listedAt: m.listedAt as string,
    },
  };
}

/** Most UTF-8 bytes {@link describeMessageForQuarantine} returns. */
export const QUARANTINE_TEXT_BYTES = 64 * 1024;
/** Nesting rendered by {@link describeMessageForQuarantine}; anything deeper is named, not rendered. */
const QUARANTINE_DEPTH = 32;
/** Within these, JSON.stringify has bounded work and stack; past them the bounded rendering takes over. */
const STRINGIFY_SHAPE: ShapeLimits = { depth: QUARANTINE_DEPTH, values: 10_000, chars: QUARANTINE_TEXT_BYTES };
const DEEPER = `"[nested deeper than ${QUARANTINE_DEPTH} levels]"`;
const CIRCULAR = '"[circular]"';
const UNREADABLE_VALUE = '"[unreadable]"';

/**
 * The text of any queue message for a quarantine blob, at most {@link QUARANTINE_TEXT_BYTES} bytes of
 * UTF-8: a string as it is, bytes decoded, an object as its JSON text. An object too deep, too large,
 * cyclic or hostile for JSON.stringify is rendered without recursion as JSON-like text in which anything
 * past 32 levels, a cycle and a value that cannot be read are named in place. Text past the limit is cut,
 * ending with a note of how much there was. Never throws.
 */
export function describeMessageForQuarantine(input: unknown): string {
  try {
    if (typeof input === 'string') return fitted(input, `${input.length} characters`);
    if (input instanceof Uint8Array) {
      const head = input.subarray(0, QUARANTINE_TEXT_BYTES + 1);
      return fitted(new TextDecoder('utf-8', { ignoreBOM: true }).decode(head), `${input.byteLength} bytes`);
    }
    try {
      if (shapeProblem(input, STRINGIFY_SHAPE) === undefined) {
        const text = JSON.stringify(input) ?? String(input);
        return fitted(text, `${Buffer.byteLength(text)} bytes`);
      }
    } catch {
      // A BigInt, a throwing toJSON or getter: rendered below, value by value.
    }
    return fitted(render(input), `over ${QUARANTINE_TEXT_BYTES} bytes`);
  } catch {
    return `[unreadable ${typeof input}]`;
  }
}

/** `text` if it fits in {@link QUARANTINE_TEXT_BYTES}; else its head, cut on a character boundary, and a note. */
function fitted(text: string, whole: string): string {
  if (text.length * 3 <= QUARANTINE_TEXT_BYTES || Buffer.byteLength(text) <= QUARANTINE_TEXT_BYTES) return text;
  const note = `…[cut; ${whole} in all]`;
  const room = new Uint8Array(QUARANTINE_TEXT_BYTES - Buffer.byteLength(note));
  // encodeInto writes whole characters only; `read` is how many UTF-16 units fit.
  const { read } = new TextEncoder().encodeInto(text, room);
  return text.slice(0, read) + note;
}

type Frame =
  | { readonly array: true; readonly value: readonly unknown[]; index: number }
  | { readonly array: false; readonly value: object; readonly keys: readonly string[]; index: number; wrote: boolean };

/**
 * JSON-like text of `root` without recursion, stopping a little past the byte limit (the caller cuts):
 * values past {@link QUARANTINE_DEPTH} levels, cycles and unreadable values are named as strings, a BigInt
 * is written as a string, and `toJSON` is honoured where it does not throw.
 */
function render(root: unknown): string {
  const out: string[] = [];
  let length = 0;
  const write = (text: string) => {
    out.push(text);
    length += text.length;
  };
  const stack: Frame[] = [];
  /** The objects on the path from the root, to tell a cycle. */
  const path = new Set<object>();

  /** Writes a scalar, or opens a frame for an object or array; writes nothing for undefined in an object (as JSON does). */
  const visit = (raw: unknown, key: string, inArray: boolean, before: string): void => {
    let value: unknown;
    try {
      const toJSON = (raw as { toJSON?: unknown } | null | undefined)?.toJSON;
      value = typeof toJSON === 'function' ? (toJSON as (key: string) => unknown).call(raw, key) : raw;
    } catch {
      write(before + UNREADABLE_VALUE);
      return;
    }
    if (value === undefined || typeof value === 'function' || typeof value === 'symbol') {
      if (inArray) write(`${before}null`);
      return;
    }
    if (typeof value === 'string') {
      // Only as much of a long string as could still fit.
      write(before + JSON.stringify(value.length > QUARANTINE_TEXT_BYTES ? value.slice(0, QUARANTINE_TEXT_BYTES) : value));
      return;
    }
    if (typeof value === 'bigint') return write(`${before}"${value}"`);
    if (typeof value !== 'object' || value === null) return write(before + String(JSON.stringify(value) ?? null));
    if (path.has(value)) return write(before + CIRCULAR);
    if (stack.length >= QUARANTINE_DEPTH) return write(before + DEEPER);
    if (Array.isArray(value)) {
      write(`${before}[`);
      stack.push({ array: true, value, index: 0 });
    } else {
      write(`${before}{`);
      stack.push({ array: false, value, keys: Object.keys(value), index: 0, wrote: false });
    }
    path.add(value);
  };

  visit(root, '', true, '');
  while (stack.length > 0 && length <= QUARANTINE_TEXT_BYTES) {
    const frame = stack[stack.length - 1]!;
    if (frame.array) {
      if (frame.index >= frame.value.length) {
        write(']');
        path.delete(frame.value);
        stack.pop();
        continue;
      }
      const index = frame.index++;
      let item: unknown;
      try {
        item = frame.value[index];
      } catch {
        write(`${index > 0 ? ',' : ''}${UNREADABLE_VALUE}`);
        continue;
      }
      visit(item, String(index), true, index > 0 ? ',' : '');
      continue;
    }
    if (frame.index >= frame.keys.length) {
      write('}');
      path.delete(frame.value);
      stack.pop();
      continue;
    }
    const key = frame.keys[frame.index++]!;
    const before = `${frame.wrote ? ',' : ''}${JSON.stringify(key)}:`;
    let item: unknown;
    try {
      item = (frame.value as Record<string, unknown>)[key];
    } catch {
      write(before + UNREADABLE_VALUE);
      frame.wrote = true;
      continue;
    }
    const was = out.length;
    visit(item, key, false, before);
    if (out.length > was) frame.wrote = true;
  }
  return out.join('');
}
