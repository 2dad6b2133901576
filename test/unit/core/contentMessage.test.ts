import { describe, expect, it } from 'vitest';
import { describeMessageForQuarantine, parseContentMessage, serializeContentMessage, toContentMessage } from '../../../shared/core/contentMessage.js';

const tenantId = 'f28ab78a-d401-4060-8012-736e373933eb';
const contentId = '20201212000045238027763$20201212002126942044256$audit_exchange$Audit_Exchange$na0017';
const listing = {
  contentType: 'Audit.Exchange',
  contentId,
  contentUri: `https://manage.office.com/api/v1.0/${tenantId}/activity/feed/audit/${contentId}`,
  contentCreated: '2020-12-12T00:21:26.942Z',
  contentExpiration: '2020-12-19T00:21:26.942Z',
};

describe('content queue message', () => {
  const message = toContentMessage({ tenantId, contentType: 'Audit.Exchange' }, listing, Date.parse('2020-12-12T01:00:00Z'));

  it('round-trips through its text form and stays small', () => {
    const text = serializeContentMessage(message);
    expect(Buffer.from(text).toString('base64').length).toBeLessThan(1024);
    expect(parseContentMessage(text)).toEqual({ ok: true, message });
    // The Functions host may hand the handler an already-parsed object, or bytes.
    expect(parseContentMessage(JSON.parse(text))).toEqual({ ok: true, message });
    expect(parseContentMessage(Buffer.from(text))).toEqual({ ok: true, message });
  });

  it.each([
    ['not JSON', '{nope', /not JSON/],
    ['an array', '[1]', /not a JSON object/],
    ['a number', 42, /not a JSON object/],
    ['null', null, /not a JSON object/],
    ['a huge string', 'x'.repeat(100_000), /over the .* limit/],
  ])('quarantines %s with a reason', (_name, input, reason) => {
    const parsed = parseContentMessage(input);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.reason).toMatch(reason);
  });

  it('lists every problem of a malformed message and keeps what could be read', () => {
    const parsed = parseContentMessage({ v: 2, tenantId: 'contoso', contentType: 'Audit.All', contentId: '../../etc', contentUri: 5, contentCreated: 'yesterday', listedAt: listing.contentCreated });
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.reason).toBe(
      'unsupported version 2 (expected 1); tenantId is not a GUID; contentType is not one of the five content types; contentId is missing or has characters a content id never has; contentUri is missing or too long; contentCreated is not a timestamp; contentExpiration is not a timestamp',
    );
    expect(parsed.partial).toEqual({ tenantId: 'contoso', contentType: 'Audit.All', contentId: '../../etc', contentCreated: 'yesterday', listedAt: listing.contentCreated });
  });

  it('ignores prototype keys in hostile messages', () => {
    const parsed = parseContentMessage('{"__proto__":{"polluted":true},"v":1}');
    expect(parsed.ok).toBe(false);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

/** `{ a: { a: ... {} } }`, built without recursion. */
function deepObject(depth: number): Record<string, unknown> {
  let value: Record<string, unknown> = {};
  for (let i = 0; i < depth; i++) value = { a: value };
  return value;
}

function deepArray(depth: number): unknown[] {
  let value: unknown[] = [];
  for (let i = 0; i < depth; i++) value = [value];
  return value;
}

function cyclic(): Record<string, unknown> {
  const value: Record<string, unknown> = { v: 1, tenantId };
  value.self = value;
  return value;
}

describe('content queue message handed over already parsed', () => {
  it('refuses an object nested 5,000 levels deep (from a 10 KB message) without overflowing the stack', () => {
    // What the Functions host makes of a 10 KB message: JSON.parse builds it without recursion.
    const text = `{"v":1,"tenantId":"${tenantId}","x":${'['.repeat(5_000)}${']'.repeat(5_000)}}`;
    expect(text.length).toBeLessThan(11_000);
    for (const input of [JSON.parse(text) as unknown, { v: deepObject(5_000) }, deepObject(5_000)]) {
      let parsed: ReturnType<typeof parseContentMessage> | undefined;
      expect(() => (parsed = parseContentMessage(input))).not.toThrow();
      expect(parsed).toEqual({ ok: false, reason: 'message nests deeper than 16 levels', partial: {} });
    }
  });

  it('refuses a 100,000-deep array and a cyclic object', () => {
    expect(parseContentMessage({ v: deepArray(100_000) })).toEqual({ ok: false, reason: 'message nests deeper than 16 levels', partial: {} });
    expect(parseContentMessage(deepArray(100_000))).toEqual({ ok: false, reason: 'message nests deeper than 16 levels', partial: {} });
    expect(parseContentMessage(cyclic())).toEqual({ ok: false, reason: 'message nests deeper than 16 levels', partial: {} });
  });

  it('measures JSON text too: 8 KiB of text can nest 4,000 levels', () => {
    const text = `{"v":${'['.repeat(4_000)}${']'.repeat(4_000)}}`;
    expect(parseContentMessage(text)).toEqual({ ok: false, reason: 'message nests deeper than 16 levels', partial: {} });
    expect(parseContentMessage(Buffer.from(text))).toEqual({ ok: false, reason: 'message nests deeper than 16 levels', partial: {} });
  });

  it('refuses a wide object and one whose strings add up to more than a message may hold', () => {
    const wide = { v: 1, tenantId, list: Array.from({ length: 3_000 }, (_, i) => i) };
    expect(parseContentMessage(wide)).toEqual({ ok: false, reason: 'message has more than 2000 values', partial: {} });
    const long = { v: 1, tenantId, a: 'x'.repeat(5_000), b: 'y'.repeat(5_000) };
    expect(parseContentMessage(long)).toEqual({ ok: false, reason: 'message holds more than 8192 characters of text', partial: {} });
  });

  it('refuses an object it cannot even read (a revoked proxy) instead of throwing', () => {
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    const parsed = parseContentMessage(proxy);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.reason).toBe('message could not be read as an object');
  });

  it('refuses bytes far over the size limit without decoding them', () => {
    const parsed = parseContentMessage(new Uint8Array(1024 * 1024).fill(0x20));
    expect(parsed).toEqual({ ok: false, reason: 'message is 1048576 bytes, over the 32768 limit', partial: {} });
  });
});

describe('describeMessageForQuarantine', () => {
  const LIMIT = 64 * 1024;
  const bytes = (text: string): number => Buffer.byteLength(text, 'utf8');
  const message = toContentMessage({ tenantId, contentType: 'Audit.Exchange' }, listing, Date.parse('2020-12-12T01:00:00Z'));

  it('keeps an ordinary message as its JSON text, and text and bytes as they are', () => {
    expect(describeMessageForQuarantine(message)).toBe(JSON.stringify(message));
    expect(describeMessageForQuarantine(serializeContentMessage(message))).toBe(serializeContentMessage(message));
    expect(describeMessageForQuarantine(Buffer.from('{"v":1}'))).toBe('{"v":1}');
    expect(describeMessageForQuarantine(new Uint8Array([0x7b, 0x7d]))).toBe('{}');
    expect(describeMessageForQuarantine(42)).toBe('42');
    expect(describeMessageForQuarantine(undefined)).toBe('undefined');
  });

  it('renders a 5,000-deep object and a 100,000-deep array boundedly instead of throwing', () => {
    for (const input of [deepObject(5_000), deepArray(100_000), { v: deepArray(100_000) }]) {
      let text = '';
      expect(() => (text = describeMessageForQuarantine(input))).not.toThrow();
      expect(bytes(text)).toBeLessThanOrEqual(LIMIT);
      expect(text).toContain('"[nested deeper than 32 levels]"');
    }
    expect(describeMessageForQuarantine(deepArray(40))).toBe(`${'['.repeat(32)}"[nested deeper than 32 levels]"${']'.repeat(32)}`);
  });

  it('marks a cycle instead of following it', () => {
    expect(describeMessageForQuarantine(cyclic())).toBe(`{"v":1,"tenantId":"${tenantId}","self":"[circular]"}`);
  });

  it('cuts a 1 MB string, and 1 MB of bytes, to 64 KiB with a note of the whole size', () => {
    const text = describeMessageForQuarantine('é'.repeat(1024 * 1024));
    expect(bytes(text)).toBeLessThanOrEqual(LIMIT);
    expect(text.startsWith('éééé')).toBe(true);
    expect(text.endsWith('…[cut; 1048576 characters in all]')).toBe(true);
    const fromBytes = describeMessageForQuarantine(new Uint8Array(1024 * 1024).fill(0x41));
    expect(bytes(fromBytes)).toBeLessThanOrEqual(LIMIT);
    expect(fromBytes.startsWith('AAAA')).toBe(true);
    expect(fromBytes.endsWith('…[cut; 1048576 bytes in all]')).toBe(true);
  });

  it('cuts a huge object to 64 KiB', () => {
    const huge = { v: 1, list: Array.from({ length: 200_000 }, (_, i) => `entry-${i}`) };
    const text = describeMessageForQuarantine(huge);
    expect(bytes(text)).toBeLessThanOrEqual(LIMIT);
    expect(text.startsWith('{"v":1,"list":["entry-0","entry-1"')).toBe(true);
    expect(text).toMatch(/…\[cut; over 65536 bytes in all\]$/);
  });

  it('never throws, whatever it is handed', () => {
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    const hostile = { get boom(): never { throw new Error('getter'); }, n: 10n, toJSON: undefined };
    const throwingToJson = { toJSON(): never { throw new Error('toJSON'); }, v: 1 };
    for (const input of [proxy, hostile, throwingToJson, 10n, Symbol('s'), () => 1, new Map([[1, 2]]), Object.create(null) as object]) {
      let text: unknown;
      expect(() => (text = describeMessageForQuarantine(input))).not.toThrow();
      expect(typeof text).toBe('string');
      expect(bytes(text as string)).toBeLessThanOrEqual(LIMIT);
    }
    expect(describeMessageForQuarantine(hostile)).toBe('{"boom":"[unreadable]","n":"10"}');
  });
});
