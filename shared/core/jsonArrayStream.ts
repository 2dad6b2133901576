import { isAscii } from 'node:buffer';

/**
 * Incremental splitting of a content blob (one JSON array of audit records, up to ~100 MB) into the
 * source text of its top-level elements, without building values and without holding the blob.
 */

/** The blob is not a well-formed JSON array at the structural level; `offset` is the byte where that became clear. */
export class JsonStreamError extends Error {
  override readonly name = 'JsonStreamError';

  constructor(
    message: string,
    /** Zero-based byte offset into the whole input of the byte that broke the structure (input length at end of input). */
    readonly offset: number,
  ) {
    super(`${message} at byte ${offset}`);
  }
}

/**
 * Deepest bracket nesting inside one element. Real audit records nest a handful of levels; the normalizer
 * carries anything deeper than 512 as text. Past this limit the blob is refused, so a body of nothing but
 * `[` costs a few kilobytes, not memory in proportion to its size.
 */
export const MAX_NESTING = 10_000;

/** The largest nesting limit a splitter takes (its bit set then holds 128 MiB at most). */
const MAX_NESTING_LIMIT = 2 ** 30;

export interface JsonArraySplitterOptions {
  /** Deepest nesting accepted inside an element (default {@link MAX_NESTING}); an integer from 0 to 2^30. */
  readonly maxNesting?: number;
}

/** One element of the array with its value, from {@link JsonArraySplitter.pushParsed}. */
export interface SplitElement {
  /** The element's exact source text. */
  readonly text: string;
  /** `JSON.parse(text)` when `parsed`; undefined when the text is not valid JSON. */
  readonly value: unknown;
  readonly parsed: boolean;
}

const enum State {
  /** Before `[`: whitespace and a UTF-8 byte order mark only. */
  Start,
  /** After `[`: an element or `]`. */
  FirstElement,
  /** After `,`: an element (not `]`). */
  NextElement,
  /** Inside a top-level element. */
  Element,
  /** After an element: `,` or `]`. */
  AfterElement,
  /** After the closing `]`: whitespace only. */
  Done,
}

const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const BOM = [0xef, 0xbb, 0xbf] as const;
/** `scan` returns this when the chunk ended inside the element. */
const MORE = -1;

function isWhitespace(byte: number): boolean {
  return byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;
}

/** A number or literal cannot contain these; a stray bracket or quote then fails at its own offset. */
function endsScalar(byte: number): boolean {
  return (
    isWhitespace(byte) ||
    byte === COMMA ||
    byte === CLOSE_ARRAY ||
    byte === CLOSE_OBJECT ||
    byte === OPEN_ARRAY ||
    byte === OPEN_OBJECT ||
    byte === QUOTE
  );
}

/**
 * Splits a JSON array fed in arbitrary byte chunks into the exact source text of each top-level element.
 *
 * It tracks only strings, escapes and bracket nesting, so memory is bounded by the largest single element
 * plus one bit per nesting level (at most {@link MAX_NESTING} levels), never by the blob. String contents
 * are skipped with a native search (over the chunk's bytes as a one-byte string) rather than examined
 * byte by byte. Structural faults (anything but
 * whitespace/BOM before `[`, a top-level value that is not an array, unbalanced or mismatched brackets,
 * nesting past the limit, a missing or extra comma between elements, anything after the closing `]`, or
 * input that ends early) raise a {@link JsonStreamError}: elements completed before the fault are still
 * returned by that `push`, and the fault is thrown by the next `push` or `end` (and by every call after).
 * Whether an element is valid JSON is left to the caller's `JSON.parse` (`push`) or told with the element
 * (`pushParsed`).
 */
export class JsonArraySplitter {
  private state = State.Start;
  private offset = 0;
  /** How many bytes of a leading byte order mark have been seen. */
  private bomBytes = 0;
  private failure: JsonStreamError | undefined;
  private readonly maxNesting: number;
  /** Open brackets inside the current element. */
  private depth = 0;
  /** One bit per open bracket, set for `{` (expects `}`), clear for `[`; grown on demand up to the limit. */
  private kinds = new Uint8Array(64);
  private inString = false;
  /** Inside a string, the previous chunk ended with an unpaired backslash: this chunk's first byte is escaped. */
  private escaped = false;
  /** A scalar element (number, literal) ends at the first byte it cannot contain (see `endsScalar`). */
  private inScalar = false;
  /** Bytes of the current element from earlier chunks, copied because callers may reuse their buffers. */
  private carried: Uint8Array[] = [];
  private readonly decoder = new TextDecoder('utf-8', { ignoreBOM: true });
  /** Where the element {@link byBraces} last found ends in its chunk (the index just past its `}`). */
  private braceEnd = 0;

  constructor(options: JsonArraySplitterOptions = {}) {
    const maxNesting = options.maxNesting ?? MAX_NESTING;
    // The bit set is sized from it, and the brace path of pushParsed bounds an element's length by it.
    if (!Number.isSafeInteger(maxNesting) || maxNesting < 0 || maxNesting > MAX_NESTING_LIMIT) {
      throw new RangeError(`maxNesting must be an integer from 0 to ${MAX_NESTING_LIMIT}`);
    }
    this.maxNesting = maxNesting;
  }

  /**
   * Feeds the next chunk (UTF-8; a multi-byte character may be split across chunks) and returns the
   * top-level elements completed by it, in order, each as its exact source text (no surrounding whitespace).
   */
  push(input: Uint8Array): string[] {
    return this.feed(input, false) as string[];
  }

  /**
   * {@link push}, with each element parsed: its exact source text and `JSON.parse` of it (or `parsed: false`
   * when it is not valid JSON). An object element is first looked for without following its strings: it
   * ends, at the earliest, at the `}` that balances its braces, counted with native searches (strings
   * included). When `JSON.parse` accepts that text, it is the element: a cut inside a string or inside a
   * nested container leaves an unterminated string or an unclosed bracket, which JSON.parse refuses, and a
   * valid JSON object ends where the exact scan ends it. Otherwise (a brace inside a string, a text that is
   * not JSON, an element running past the chunk or longer than the nesting limit in characters, so never
   * deeper than it) the exact scan decides, as in `push`, for that element and the rest of the chunk. The
   * elements, faults and offsets are those of `push`; the caller is spared parsing each element again.
   */
  pushParsed(input: Uint8Array): SplitElement[] {
    return this.feed(input, true) as SplitElement[];
  }

  private feed(input: Uint8Array, parsing: boolean): (string | SplitElement)[] {
    if (this.failure) throw this.failure;
    const chunk = Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
    const elements: (string | SplitElement)[] = [];
    // Whether object elements are first looked for by their braces (see pushParsed); off after a miss.
    let tryBraces = parsing;
    const length = chunk.length;
    // The chunk's bytes as a one-byte string (a plain copy): character i is byte i, so positions are byte
    // offsets, and String.prototype.indexOf is a cheaper call than Buffer's. Only scanning reads it; an
    // element's text is decoded from the bytes as UTF-8.
    let bytes: string | undefined;
    // For an all-ASCII chunk (the usual case) that string is also the UTF-8 text: elements are slices of it.
    let ascii: boolean | undefined;
    let start = this.state === State.Element ? 0 : -1;
    let i = 0;
    while (i < length && !this.failure) {
      if (this.state === State.Element) {
        bytes ??= chunk.toString('latin1');
        const end = this.inScalar ? this.scanScalar(chunk, i) : this.scan(bytes, i);
        if (end === MORE) break;
        if (this.failure) break;
        const text = this.carried.length === 0 && (ascii ??= isAscii(chunk)) ? bytes.slice(start, end) : this.take(chunk, start, end);
        elements.push(parsing ? parsedElement(text) : text);
        this.state = State.AfterElement;
        i = end;
        continue;
      }
      const byte = chunk[i]!;
      switch (this.state) {
        case State.Start: {
          if (this.offset + i === this.bomBytes && byte === BOM[this.bomBytes]) {
            this.bomBytes++;
            break;
          }
          if (this.bomBytes % BOM.length !== 0) this.fail('incomplete byte order mark', i);
          else if (isWhitespace(byte)) break;
          else if (byte !== OPEN_ARRAY) this.fail('expected a JSON array', i);
          else this.state = State.FirstElement;
          break;
        }
        case State.FirstElement:
        case State.NextElement: {
          if (isWhitespace(byte)) break;
          if (byte === CLOSE_ARRAY && this.state === State.FirstElement) {
            this.state = State.Done;
            break;
          }
          if (byte === CLOSE_ARRAY || byte === COMMA || byte === CLOSE_OBJECT) {
            this.fail(byte === CLOSE_OBJECT ? 'unbalanced brackets' : 'expected an array element', i);
            break;
          }
          start = i;
          if (tryBraces && byte === OPEN_OBJECT) {
            bytes ??= chunk.toString('latin1');
            const found = this.byBraces(bytes, chunk, i, (ascii ??= isAscii(chunk)));
            if (found !== undefined) {
              elements.push(found);
              this.state = State.AfterElement;
              i = this.braceEnd;
              continue;
            }
            tryBraces = false;
          }
          this.state = State.Element;
          if (byte === QUOTE) {
            this.inString = true;
            this.escaped = false;
          } else if (byte === OPEN_ARRAY || byte === OPEN_OBJECT) this.open(byte, i);
          else this.inScalar = true;
          break;
        }
        case State.AfterElement: {
          if (isWhitespace(byte)) break;
          if (byte === COMMA) this.state = State.NextElement;
          else if (byte === CLOSE_ARRAY) this.state = State.Done;
          else this.fail("expected ',' or ']' after an array element", i);
          break;
        }
        case State.Done: {
          if (!isWhitespace(byte)) this.fail('unexpected data after the end of the array', i);
          break;
        }
      }
      i++;
    }
    if (this.failure) {
      this.carried = [];
      return elements;
    }
    // A copy (Buffer's slice would be a view): the caller may reuse its chunk.
    if (this.state === State.Element) this.carried.push(Uint8Array.prototype.slice.call(chunk, start));
    this.offset += length;
    return elements;
  }

  /** Signals the end of input; throws a {@link JsonStreamError} unless a complete array was read. */
  end(): string[] {
    if (this.failure) throw this.failure;
    if (this.state !== State.Done) {
      this.failure = new JsonStreamError(
        this.state === State.Start ? 'expected a JSON array, got no data' : 'unexpected end of input inside the array',
        this.offset,
      );
      throw this.failure;
    }
    return [];
  }

  /**
   * Scans a bracketed element or a string element from `i`: the index just past its last byte, or
   * {@link MORE} when the chunk ends first. Strings are skipped with `indexOf`.
   */
  private scan(chunk: string, i: number): number {
    const length = chunk.length;
    if (this.inString) {
      const close = this.closingQuote(chunk, i);
      if (close === MORE) return MORE;
      this.inString = false;
      i = close + 1;
      if (this.depth === 0) return i;
    }
    while (i < length) {
      const byte = chunk.charCodeAt(i);
      if (byte === QUOTE) {
        // The usual string: its next quote closes it (no backslash right before it).
        const next = chunk.indexOf('"', i + 1);
        if (next !== -1 && chunk.charCodeAt(next - 1) !== BACKSLASH) {
          i = next + 1;
          continue;
        }
        this.escaped = false;
        const close = this.closingQuote(chunk, i + 1);
        if (close === MORE) {
          this.inString = true;
          return MORE;
        }
        i = close + 1;
      } else if (byte === OPEN_OBJECT || byte === OPEN_ARRAY) {
        if (!this.open(byte, i)) return i;
        i++;
      } else if (byte === CLOSE_OBJECT || byte === CLOSE_ARRAY) {
        const depth = --this.depth;
        const expected = (this.kinds[depth >> 3]! >> (depth & 7)) & 1 ? CLOSE_OBJECT : CLOSE_ARRAY;
        if (byte !== expected) {
          this.fail('unbalanced brackets', i);
          return i;
        }
        i++;
        if (depth === 0) return i;
      } else i++;
    }
    return MORE;
  }

  /**
   * The index of the quote that closes the string whose contents continue at `from`, or {@link MORE}
   * (remembering a trailing unpaired backslash for the next chunk). A quote preceded by an odd run of
   * backslashes is escaped.
   */
  private closingQuote(chunk: string, from: number): number {
    const length = chunk.length;
    if (this.escaped) {
      if (from >= length) return MORE;
      from++;
      this.escaped = false;
    }
    for (let quote = chunk.indexOf('"', from); ; quote = chunk.indexOf('"', quote + 1)) {
      const end = quote === -1 ? length : quote;
      let k = end - 1;
      while (k >= from && chunk.charCodeAt(k) === BACKSLASH) k--;
      const unpaired = ((end - 1 - k) & 1) === 1;
      if (quote === -1) {
        this.escaped = unpaired;
        return MORE;
      }
      if (!unpaired) return quote;
    }
  }

  /** A number or literal element: ends before the first byte it cannot contain. */
  private scanScalar(chunk: Buffer, i: number): number {
    for (; i < chunk.length; i++) {
      if (endsScalar(chunk[i]!)) {
        this.inScalar = false;
        return i;
      }
    }
    return MORE;
  }

  /** Records an opening bracket; false (with the failure set) past the nesting limit. */
  private open(byte: number, index: number): boolean {
    const depth = this.depth;
    if (depth >= this.maxNesting) {
      this.fail(`an element nests deeper than ${this.maxNesting} levels`, index);
      return false;
    }
    const at = depth >> 3;
    if (at >= this.kinds.length) {
      const grown = new Uint8Array(Math.min(this.kinds.length * 2, Math.floor(this.maxNesting / 8) + 1));
      grown.set(this.kinds);
      this.kinds = grown;
    }
    const bit = 1 << (depth & 7);
    this.kinds[at] = byte === OPEN_OBJECT ? this.kinds[at]! | bit : this.kinds[at]! & ~bit;
    this.depth = depth + 1;
    return true;
  }

  /**
   * The object element starting at `start` (its `{`), ended at the first `}` that balances the braces
   * counted from there and confirmed by JSON.parse (see {@link pushParsed}), its end left in `braceEnd`;
   * undefined when that does not give it.
   */
  private byBraces(bytes: string, chunk: Buffer, start: number, ascii: boolean): SplitElement | undefined {
    // An element of at most maxNesting characters cannot nest deeper than maxNesting.
    const limit = Math.min(bytes.length, start + this.maxNesting);
    let depth = 1;
    let open = bytes.indexOf('{', start + 1);
    let close = bytes.indexOf('}', start + 1);
    for (;;) {
      if (close === -1 || close >= limit) return undefined;
      if (open !== -1 && open < close) {
        depth++;
        open = bytes.indexOf('{', open + 1);
      } else if (--depth === 0) break;
      else close = bytes.indexOf('}', close + 1);
    }
    const end = close + 1;
    const text = ascii ? bytes.slice(start, end) : this.decoder.decode(chunk.subarray(start, end));
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      return undefined;
    }
    this.braceEnd = end;
    return { text, value, parsed: true };
  }

  /** The element's text: carried bytes from earlier chunks plus `chunk[start, end)`. */
  private take(chunk: Uint8Array, start: number, end: number): string {
    const tail = chunk.subarray(start, end);
    if (this.carried.length === 0) return this.decoder.decode(tail);
    let length = tail.length;
    for (const part of this.carried) length += part.length;
    const whole = new Uint8Array(length);
    let at = 0;
    for (const part of this.carried) {
      whole.set(part, at);
      at += part.length;
    }
    whole.set(tail, at);
    this.carried = [];
    return this.decoder.decode(whole);
  }

  /** Records the fault; `push` stops and returns what was complete before it, the next call throws. */
  private fail(message: string, index: number): void {
    this.failure = new JsonStreamError(message, this.offset + index);
  }
}

/**
 * Yields each top-level element of the JSON array carried by `chunks`, its source text and its value
 * ({@link JsonArraySplitter.pushParsed}), in order, as soon as each is complete. Throws a
 * {@link JsonStreamError} when the input is not a well-formed array.
 */
export async function* splitParsedJsonArray(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<SplitElement> {
  const splitter = new JsonArraySplitter();
  for await (const chunk of chunks) yield* splitter.pushParsed(chunk);
  splitter.end();
}

/** An element's text with JSON.parse of it, or `parsed: false` when it is not valid JSON. */
export function parsedElement(text: string): SplitElement {
  try {
    return { text, value: JSON.parse(text), parsed: true };
  } catch {
    return { text, value: undefined, parsed: false };
  }
}
