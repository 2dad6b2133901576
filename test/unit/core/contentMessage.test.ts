import { describe, expect, it } from 'vitest';
import { parseContentMessage, serializeContentMessage, toContentMessage } from '../../../shared/core/contentMessage.js';

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
