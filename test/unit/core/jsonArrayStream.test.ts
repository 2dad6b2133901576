import { describe, expect, it } from 'vitest';
import {
  JsonArraySplitter,
  JsonStreamError,
  MAX_NESTING,
  splitParsedJsonArray,
  type JsonArraySplitterOptions,
  type SplitElement,
} from '../../../shared/core/jsonArrayStream.js';

const encoder = new TextEncoder();

/** Feeds `bytes` cut at `cuts` (ascending offsets) and returns every element, end() included. */
function split(bytes: Uint8Array, cuts: number[] = []): string[] {
  const splitter = new JsonArraySplitter();
  const elements: string[] = [];
  let start = 0;
  for (const cut of [...cuts, bytes.length]) {
    elements.push(...splitter.push(bytes.subarray(start, cut)));
    start = cut;
  }
  elements.push(...splitter.end());
  return elements;
}

function failure(bytes: Uint8Array, cuts: number[] = []): JsonStreamError {
  try {
    split(bytes, cuts);
  } catch (error) {
    expect(error).toBeInstanceOf(JsonStreamError);
    return error as JsonStreamError;
  }
  throw new Error('expected a JsonStreamError');
}

/** A small deterministic PRNG (mulberry32), so the property test is reproducible. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const TRICKY_STRINGS = ['', 'plain', 'quote " inside', 'back\\slash', 'ends with \\', '\\"', 'é café', '😀 emoji', '[{]}', ',', '\u0000\n\t', '\u2028'];

function generate(next: () => number, depth: number): unknown {
  const pick = Math.floor(next() * (depth > 3 ? 6 : 8));
  switch (pick) {
    case 0:
      return null;
    case 1:
      return next() < 0.5;
    case 2:
      return Math.round((next() - 0.5) * 1e6) / (next() < 0.5 ? 1 : 1000);
    case 3:
    case 4:
    case 5:
      return TRICKY_STRINGS[Math.floor(next() * TRICKY_STRINGS.length)];
    case 6:
      return Array.from({ length: Math.floor(next() * 4) }, () => generate(next, depth + 1));
    default: {
      const object: Record<string, unknown> = {};
      for (let i = Math.floor(next() * 4); i > 0; i--) object[`k${i}${TRICKY_STRINGS[i]}`] = generate(next, depth + 1);
      return object;
    }
  }
}

/** JSON text of `value` with random insignificant whitespace between tokens. */
function serialize(value: unknown, next: () => number): string {
  const space = (): string => [' ', '\n', '\r\n', '\t', ''][Math.floor(next() * 5)]!;
  if (Array.isArray(value)) return `[${space()}${value.map((item) => serialize(item, next)).join(`${space()},${space()}`)}${space()}]`;
  if (typeof value === 'object' && value !== null) {
    const members = Object.entries(value).map(([key, item]) => `${JSON.stringify(key)}${space()}:${space()}${serialize(item, next)}`);
    return `{${space()}${members.join(`,${space()}`)}${space()}}`;
  }
  return JSON.stringify(value);
}

describe('JsonArraySplitter', () => {
  const elementTexts = [
    '{"a":"x\\"y","b":"back\\\\","c":[1,{"d":"]}"}]}',
    '"caf\u00e9 \ud83d\ude00 \\u00e9"',
    '-12.5e3',
    'true',
    'null',
    '[]',
    '{}',
    '"\\\\"',
    '[[["deep"]]]',
  ];
  const blob = encoder.encode(` \n[ ${elementTexts.join(' ,\n\t')} ]\n`);

  it('returns each element as its exact source text, in order', () => {
    expect(split(blob)).toEqual(elementTexts);
  });

  it('gives the same result for a cut at every byte position (inside strings, escapes and UTF-8 sequences)', () => {
    for (let cut = 0; cut <= blob.length; cut++) expect(split(blob, [cut])).toEqual(elementTexts);
  });

  it('pairs runs of backslashes before quotes correctly, however the chunks fall (Buffer or Uint8Array)', () => {
    const texts = [1, 2, 3, 4, 5, 6].map((run) => JSON.stringify({ [`k${'\\'.repeat(run)}`]: `${'\\'.repeat(run)}"${'\\'.repeat(run)}`, q: '"' }));
    const bytes = encoder.encode(`[${texts.join(',')}]`);
    for (let cut = 0; cut <= bytes.length; cut++) {
      expect(split(bytes, [cut])).toEqual(texts);
      const splitter = new JsonArraySplitter();
      const buffer = Buffer.from(bytes);
      expect([...splitter.push(buffer.subarray(0, cut)), ...splitter.push(buffer.subarray(cut)), ...splitter.end()]).toEqual(texts);
    }
  });

  it('gives the same result when fed one byte at a time', () => {
    expect(split(blob, Array.from({ length: blob.length - 1 }, (_, i) => i + 1))).toEqual(elementTexts);
  });

  it('agrees with JSON.parse on generated arrays cut at random places (property test)', () => {
    const next = random(20240607);
    for (let round = 0; round < 300; round++) {
      const value = Array.from({ length: Math.floor(next() * 6) }, () => generate(next, 0));
      const bytes = encoder.encode(serialize(value, next));
      const cuts = Array.from({ length: Math.floor(next() * 5) }, () => Math.floor(next() * bytes.length)).sort((a, b) => a - b);
      const elements = split(bytes, cuts);
      expect(elements.map((text) => JSON.parse(text) as unknown)).toEqual(value);
      expect(JSON.parse(`[${elements.join(',')}]`)).toEqual(JSON.parse(new TextDecoder().decode(bytes)));
    }
  });

  it('accepts an empty array, surrounding whitespace and a byte order mark, even when the mark is split', () => {
    expect(split(encoder.encode('[]'))).toEqual([]);
    expect(split(encoder.encode('\r\n [ \t ] \n'))).toEqual([]);
    const withBom = new Uint8Array([0xef, 0xbb, 0xbf, ...encoder.encode('[1]')]);
    expect(split(withBom)).toEqual(['1']);
    expect(split(withBom, [1, 2])).toEqual(['1']);
  });

  it('returns elements as soon as they are complete, before the array ends', () => {
    const splitter = new JsonArraySplitter();
    expect(splitter.push(encoder.encode('[{"n":1},{"n":2},{"n"'))).toEqual(['{"n":1}', '{"n":2}']);
    expect(splitter.push(encoder.encode(':3}'))).toEqual(['{"n":3}']);
    expect(splitter.push(encoder.encode(']'))).toEqual([]);
    expect(splitter.end()).toEqual([]);
  });

  it('copies a partial element, so a caller may reuse its chunk buffer', () => {
    const splitter = new JsonArraySplitter();
    const chunk = encoder.encode('["abc');
    expect(splitter.push(chunk)).toEqual([]);
    chunk.fill(0x78);
    expect(splitter.push(encoder.encode('def"]'))).toEqual(['"abcdef"']);
  });

  it.each([
    ['garbage before the array', 'x[1]', 0],
    ['garbage after leading whitespace', '  x', 2],
    ['a top-level object', '{"a":1}', 0],
    ['a top-level string', '"[1]"', 0],
    ['a top-level number', '42', 0],
    ['mismatched brackets', '[{]', 2],
    ['a stray closing brace', '[1}', 2],
    ['a closing brace as an element', '[}]', 1],
    ['an extra closing bracket', '[[1]]]', 5],
    ['a leading comma', '[,1]', 1],
    ['a trailing comma', '[1,]', 3],
    ['a missing comma', '[1 2]', 3],
    ['trailing garbage', '[1] x', 4],
    ['a second array', '[1][2]', 3],
  ])('reports %s with its byte offset', (_case, text, offset) => {
    expect(failure(encoder.encode(text)).offset).toBe(offset);
  });

  it('reports an incomplete byte order mark', () => {
    expect(failure(new Uint8Array([0xef, 0xbb, ...encoder.encode('[1]')])).offset).toBe(2);
  });

  it.each([
    ['empty input', '', 0],
    ['whitespace only', '  \n', 3],
    ['an unclosed array', '[1,2', 4],
    ['an unclosed string', '["abc', 5],
    ['an unclosed object', '[{"a":1', 7],
  ])('reports %s at end of input', (_case, text, offset) => {
    const error = failure(encoder.encode(text));
    expect(error.offset).toBe(offset);
    expect(error.message).toMatch(/at byte \d+$/);
  });

  it('reports an offset counted across chunks', () => {
    expect(failure(encoder.encode('[1, 2]   x'), [3, 7]).offset).toBe(9);
  });

  it('still returns the elements completed before a fault, and throws on the next call', () => {
    const splitter = new JsonArraySplitter();
    expect(splitter.push(encoder.encode('[1,2] trailing'))).toEqual(['1', '2']);
    expect(() => splitter.end()).toThrow(JsonStreamError);
    expect(() => splitter.push(encoder.encode(' '))).toThrow(JsonStreamError);
  });
});

describe('JsonArraySplitter on deep nesting', () => {
  const open = (count: number): Uint8Array => new Uint8Array(count).fill(0x5b);

  it('refuses a body of nothing but opening brackets at the nesting limit, with its byte offset', () => {
    // 100 MB of `[` once took one JS number per bracket (GBs of heap); 4 MiB here, fed in 64 KiB chunks.
    const splitter = new JsonArraySplitter();
    const body = open(4 * 2 ** 20);
    let error: unknown;
    let fed = 0;
    try {
      for (; fed < body.length; fed += 65_536) expect(splitter.push(body.subarray(fed, fed + 65_536))).toEqual([]);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(JsonStreamError);
    // Byte 0 opens the array, byte 1 the element; the bracket at MAX_NESTING + 1 is one level too many.
    expect((error as JsonStreamError).offset).toBe(MAX_NESTING + 1);
    expect((error as JsonStreamError).message).toBe(`an element nests deeper than ${MAX_NESTING} levels at byte ${MAX_NESTING + 1}`);
    // It stopped at the first chunk past the limit instead of reading the rest.
    expect(fed).toBe(65_536);
    expect(() => splitter.end()).toThrow(JsonStreamError);
  });

  it('still splits an element nested exactly to the limit, cut anywhere', () => {
    const deep = `${'['.repeat(MAX_NESTING)}"bottom"${']'.repeat(MAX_NESTING)}`;
    const bytes = encoder.encode(`[{"a":1},${deep},{"b":2}]`);
    expect(split(bytes)).toEqual(['{"a":1}', deep, '{"b":2}']);
    expect(split(bytes, [5_000, 10_009, 10_012, 15_000])).toEqual(['{"a":1}', deep, '{"b":2}']);
    expect(failure(encoder.encode(`[[${deep}]]`)).offset).toBe(MAX_NESTING + 1);
  });

  it('refuses a 10 MB run of `[` pushed as one chunk at the limit, without memory in proportion to it', () => {
    const body = open(10 * 1000 * 1000);
    const before = process.memoryUsage().heapUsed;
    const splitter = new JsonArraySplitter();
    // The push that meets the fault returns what was complete before it (nothing); the next call throws.
    expect(splitter.push(body)).toEqual([]);
    let error: unknown;
    try {
      splitter.end();
    } catch (caught) {
      error = caught;
    }
    // One JS number per bracket (the splitter before the bit set) would be 80 MB of heap for this input.
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(48 * 2 ** 20);
    expect(error).toBeInstanceOf(JsonStreamError);
    expect((error as JsonStreamError).message).toBe(`an element nests deeper than ${MAX_NESTING} levels at byte ${MAX_NESTING + 1}`);
  });

  it('hands out the exact text of an element nested 500 deep, objects and arrays mixed, cut anywhere', () => {
    let deep = '"bottom"';
    for (let level = 0; level < 500; level++) deep = level % 2 === 0 ? `[ ${deep} , 1 ]` : `{ "k${level}" : ${deep} }`;
    const bytes = encoder.encode(`[ ${deep} ,\n{"after":"é"} ]`);
    const cuts = Array.from({ length: 40 }, (_, i) => Math.floor(((i + 1) * bytes.length) / 41));
    expect(split(bytes)).toEqual([deep, '{"after":"é"}']);
    expect(split(bytes, cuts)).toEqual([deep, '{"after":"é"}']);
    expect(JSON.parse(split(bytes)[0]!)).toBeTruthy();
  });

  it('refuses a nesting limit that is not an integer from 0 to 2^30', () => {
    for (const maxNesting of [Number.POSITIVE_INFINITY, Number.NaN, -1, 1.5, 2 ** 31, 2 ** 32 + 100]) {
      expect(() => new JsonArraySplitter({ maxNesting })).toThrow(RangeError);
    }
    expect(new JsonArraySplitter({ maxNesting: 0 }).push(encoder.encode('[1,2]'))).toEqual(['1', '2']);
    const deep = `{"a":${'['.repeat(600)}${']'.repeat(600)}}`;
    expect(new JsonArraySplitter({ maxNesting: 2 ** 30 }).push(encoder.encode(`[${deep}]`))).toEqual([deep]);
  });

  it('takes a lower limit, counting objects and arrays alike, and still matches brackets by kind', () => {
    const splitter = (): JsonArraySplitter => new JsonArraySplitter({ maxNesting: 3 });
    expect(splitter().push(encoder.encode('[{"a":[{"b":1}]}]'))).toEqual(['{"a":[{"b":1}]}']);
    const tooDeep = splitter();
    tooDeep.push(encoder.encode('[{"a":[{"b":[1]}]}]'));
    expect(() => tooDeep.end()).toThrow('an element nests deeper than 3 levels at byte 12');
    const mismatched = splitter();
    mismatched.push(encoder.encode('[{"a":[{"b":1]]}]'));
    expect(() => mismatched.end()).toThrow('unbalanced brackets at byte 13');
  });
});

describe('splitParsedJsonArray', () => {
  async function* chunksOf(text: string, size: number): AsyncGenerator<Uint8Array> {
    const bytes = encoder.encode(text);
    for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
  }

  it('yields every element of a streamed array in order', async () => {
    const records = Array.from({ length: 50 }, (_, i) => ({ Id: `id-${i}`, Note: 'x"y\\z é' }));
    const seen: unknown[] = [];
    for await (const { text } of splitParsedJsonArray(chunksOf(JSON.stringify(records), 7))) seen.push(JSON.parse(text));
    expect(seen).toEqual(records);
  });

  it('throws a JsonStreamError after yielding what was complete when the array is not closed', async () => {
    const seen: string[] = [];
    await expect(async () => {
      for await (const { text } of splitParsedJsonArray(chunksOf('[{"a":1},{"b":', 4))) seen.push(text);
    }).rejects.toThrow(JsonStreamError);
    expect(seen).toEqual(['{"a":1}']);
  });
});

/** What one way of feeding gives: every element's text (and for pushParsed, its value), then the fault if any. */
interface Outcome {
  texts: string[];
  fault?: { message: string; offset: number };
}

function outcomeOf(bytes: Uint8Array, cuts: number[], parsed: boolean, options?: JsonArraySplitterOptions): Outcome {
  const splitter = new JsonArraySplitter(options);
  const texts: string[] = [];
  const take = (elements: (string | SplitElement)[]): void => {
    for (const element of elements) {
      if (typeof element === 'string') {
        texts.push(element);
        continue;
      }
      texts.push(element.text);
      if (element.parsed) expect(element.value).toEqual(JSON.parse(element.text));
      else expect(() => JSON.parse(element.text)).toThrow(SyntaxError);
    }
  };
  let start = 0;
  try {
    for (const cut of [...cuts, bytes.length]) {
      const chunk = bytes.subarray(start, cut);
      take(parsed ? splitter.pushParsed(chunk) : splitter.push(chunk));
      start = cut;
    }
    take(splitter.end());
  } catch (error) {
    expect(error).toBeInstanceOf(JsonStreamError);
    return { texts, fault: { message: (error as JsonStreamError).message, offset: (error as JsonStreamError).offset } };
  }
  return { texts };
}

/** pushParsed gives push's elements and faults, each element with JSON.parse of its text. */
function expectAgreement(bytes: Uint8Array, cuts: number[] = [], options?: JsonArraySplitterOptions): Outcome {
  const exact = outcomeOf(bytes, cuts, false, options);
  expect(outcomeOf(bytes, cuts, true, options)).toEqual(exact);
  return exact;
}

describe('JsonArraySplitter.pushParsed (object elements found by their braces, confirmed by JSON.parse)', () => {
  const BRACE_STRINGS = ['}', '{', '},{', '"}', '\\}', '{"a":1}', '}]},{"x":[{', '\\"}', '{{{', '}}}'];

  it("gives push's elements, values and faults on generated arrays whose strings hold braces and quotes, cut anywhere", () => {
    const next = random(20261203);
    const braceStrings = (value: unknown): unknown => {
      if (typeof value === 'string') return next() < 0.5 ? `${value}${BRACE_STRINGS[Math.floor(next() * BRACE_STRINGS.length)]}` : value;
      if (Array.isArray(value)) return value.map(braceStrings);
      if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([key, item]) => [braceStrings(key) as string, braceStrings(item)]));
      return value;
    };
    let elements = 0;
    for (let round = 0; round < 400; round++) {
      const value = Array.from({ length: Math.floor(next() * 8) }, () => braceStrings({ first: generate(next, 1), second: generate(next, 1) }));
      const bytes = encoder.encode(serialize(value, next));
      const cuts = round % 2 === 0 ? [] : Array.from({ length: Math.floor(next() * 4) }, () => Math.floor(next() * bytes.length)).sort((a, b) => a - b);
      const { texts, fault } = expectAgreement(bytes, cuts);
      expect(fault).toBeUndefined();
      expect(texts.map((text) => JSON.parse(text) as unknown)).toEqual(value);
      elements += texts.length;
    }
    expect(elements).toBeGreaterThan(1000);
  });

  it('falls back to the exact scan when the braces mislead it: a brace in a string, text that is not JSON', () => {
    const cases = [
      '[{"a":"}"},{"b":1}]',
      '[{"a":"{"},{"b":1}]',
      '[{"a":"{"},{"b":"}"},{"c":{"d":"}"}}]',
      '[{"a":tru},{"b":"}"},{"c":1}]',
      '[{"a":1,},{"b":2}]',
      '[{"a" 1},{"b":2}]',
      '[{"a":"x}y"}  ,  {"b":"\\"}"}]',
      '[{"a":1}}]',
      '[{"a":[}]}]',
      '[{"a":1} {"b":2}]',
      '[{"a":1},{"b":2}] x',
      '[{"a":1},{"b":',
      '[{"a":"\u007d"},{"é":"😀}"}]',
      '[{"a":1},"}",{"b":"{"},[{"c":"}"}],{}]',
    ];
    for (const text of cases) {
      const bytes = encoder.encode(text);
      for (let cut = 0; cut <= bytes.length; cut++) expectAgreement(bytes, [cut]);
    }
    expect(expectAgreement(encoder.encode(cases[0]!)).texts).toEqual(['{"a":"}"}', '{"b":1}']);
    expect(expectAgreement(encoder.encode(cases[3]!)).texts).toEqual(['{"a":tru}', '{"b":"}"}', '{"c":1}']);
  });

  it("gives push's result on every input of the tests above: faults and offsets, byte order marks, whitespace", () => {
    const texts = [
      'x[1]', '  x', '{"a":1}', '"[1]"', '42', '[{]', '[1}', '[}]', '[[1]]]', '[,1]', '[1,]', '[1 2]', '[1] x', '[1][2]',
      '', '  \n', '[1,2', '["abc', '[{"a":1', '[]', '\r\n [ \t ] \n', '[{"n":1},{"n":2},{"n":3}]',
    ];
    for (const text of texts) expectAgreement(encoder.encode(text));
    expectAgreement(new Uint8Array([0xef, 0xbb, 0xbf, ...encoder.encode('[{"a":1}]')]), [1, 2]);
    expectAgreement(new Uint8Array([0xef, 0xbb, ...encoder.encode('[{"a":1}]')]));
    expectAgreement(encoder.encode('[{"a":1}, {"b":2}]   x'), [3, 7]);
  });

  it('never lets an element past the nesting limit through: one longer than the limit in characters is scanned exactly', () => {
    const options = { maxNesting: 3 };
    expect(expectAgreement(encoder.encode('[{"a":[{"b":[1]}]}]'), [], options).fault?.message).toBe('an element nests deeper than 3 levels at byte 12');
    expect(expectAgreement(encoder.encode('[{"a":{"b":{"c":{}}}}]'), [], options).fault?.message).toBe('an element nests deeper than 3 levels at byte 16');
    expect(expectAgreement(encoder.encode('[{},{"a":1}]'), [], options).texts).toEqual(['{}', '{"a":1}']);
    // Its first brace is level 1, so the last of its MAX_NESTING brackets is one level too many.
    const deep = `{"a":${'['.repeat(MAX_NESTING)}1${']'.repeat(MAX_NESTING)}}`;
    expect(expectAgreement(encoder.encode(`[{"a":1},${deep}]`)).fault?.offset).toBe(9 + 5 + MAX_NESTING - 1);
  });

  it('decodes elements of a chunk that is not all ASCII as UTF-8, as push does', () => {
    const records = [{ name: 'café', note: '😀 }' }, { name: 'naïve', list: [{ x: '{é' }] }, { plain: 'ascii' }];
    const bytes = encoder.encode(JSON.stringify(records));
    const { texts } = expectAgreement(bytes);
    expect(texts.map((text) => JSON.parse(text) as unknown)).toEqual(records);
    for (let cut = 0; cut <= bytes.length; cut++) expectAgreement(bytes, [cut]);
  });

  it('splitParsedJsonArray yields every element parsed, and the fault after what was complete', async () => {
    async function* chunksOf(text: string, size: number): AsyncGenerator<Uint8Array> {
      const bytes = encoder.encode(text);
      for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
    }
    const records = Array.from({ length: 50 }, (_, i) => ({ Id: `id-${i}`, Note: 'x"y\\z é }' }));
    const seen: unknown[] = [];
    for await (const element of splitParsedJsonArray(chunksOf(JSON.stringify(records), 64))) seen.push(element.value);
    expect(seen).toEqual(records);
    const partial: string[] = [];
    await expect(async () => {
      for await (const element of splitParsedJsonArray(chunksOf('[{"a":1},{"b":', 4))) partial.push(element.text);
    }).rejects.toThrow(JsonStreamError);
    expect(partial).toEqual(['{"a":1}']);
  });
});
