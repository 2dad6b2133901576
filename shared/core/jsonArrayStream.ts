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
 * (plus one byte per nesting level), never by the blob. Structural faults (anything but whitespace/BOM
 * before `[`, a top-level value that is not an array, unbalanced or mismatched brackets, a missing or extra
 * comma between elements, anything after the closing `]`, or input that ends early) raise a
 * {@link JsonStreamError}: elements completed before the fault are still returned by that `push`, and the
 * fault is thrown by the next `push` or `end` (and by every call after). Whether an element is valid JSON
 * is left to the caller's `JSON.parse`.
 */
export class JsonArraySplitter {
  private state = State.Start;
  private offset = 0;
  /** How many bytes of a leading byte order mark have been seen. */
  private bomBytes = 0;
  private failure: JsonStreamError | undefined;
  /** Open brackets inside the current element (the closing byte each expects). */
  private readonly nesting: number[] = [];
  private inString = false;
  private escaped = false;
  /** A scalar element (number, literal) ends at the first byte it cannot contain (see `endsScalar`). */
  private inScalar = false;
  /** Bytes of the current element from earlier chunks, copied because callers may reuse their buffers. */
  private carried: Uint8Array[] = [];
  private readonly decoder = new TextDecoder('utf-8', { ignoreBOM: true });

  /**
   * Feeds the next chunk (UTF-8; a multi-byte character may be split across chunks) and returns the
   * top-level elements completed by it, in order, each as its exact source text (no surrounding whitespace).
   */
  push(chunk: Uint8Array): string[] {
    if (this.failure) throw this.failure;
    const elements: string[] = [];
    let start = this.state === State.Element ? 0 : -1;
    for (let i = 0; i < chunk.length && !this.failure; i++) {
      const byte = chunk[i]!;
      switch (this.state) {
        case State.Element: {
          if (this.inString) {
            if (this.escaped) this.escaped = false;
            else if (byte === BACKSLASH) this.escaped = true;
            else if (byte === QUOTE) {
              this.inString = false;
              if (this.nesting.length === 0) {
                elements.push(this.take(chunk, start, i + 1));
                this.state = State.AfterElement;
              }
            }
          } else if (this.inScalar) {
            if (endsScalar(byte)) {
              elements.push(this.take(chunk, start, i));
              this.inScalar = false;
              this.state = State.AfterElement;
              i--; // let AfterElement see the terminator
            }
          } else if (byte === QUOTE) this.inString = true;
          else if (byte === OPEN_ARRAY) this.nesting.push(CLOSE_ARRAY);
          else if (byte === OPEN_OBJECT) this.nesting.push(CLOSE_OBJECT);
          else if (byte === CLOSE_ARRAY || byte === CLOSE_OBJECT) {
            if (this.nesting.pop() !== byte) this.fail('unbalanced brackets', i);
            else if (this.nesting.length === 0) {
              elements.push(this.take(chunk, start, i + 1));
              this.state = State.AfterElement;
            }
          }
          break;
        }
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
          this.state = State.Element;
          if (byte === QUOTE) this.inString = true;
          else if (byte === OPEN_ARRAY) this.nesting.push(CLOSE_ARRAY);
          else if (byte === OPEN_OBJECT) this.nesting.push(CLOSE_OBJECT);
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
    }
    if (this.failure) {
      this.carried = [];
      return elements;
    }
    if (this.state === State.Element) this.carried.push(chunk.slice(start));
    this.offset += chunk.length;
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
 * Yields the source text of each top-level element of the JSON array carried by `chunks`, in order, as
 * soon as each is complete. Throws a {@link JsonStreamError} when the input is not a well-formed array.
 */
export async function* splitJsonArray(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<string> {
  const splitter = new JsonArraySplitter();
  for await (const chunk of chunks) yield* splitter.push(chunk);
  yield* splitter.end();
}
