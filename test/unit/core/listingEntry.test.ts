import { describe, expect, it } from 'vitest';
import { checkListingEntry, synthesizedId } from '../../../shared/core/listingEntry.js';

const context = { contentType: 'Audit.Exchange', canonicalUri: (id: string) => `https://manage.office.com/api/v1.0/t/activity/feed/audit/${id}` };
const good = {
  contentType: 'Audit.Exchange',
  contentId: '20201212000045238027763$20201212002126942044256$audit_exchange$Audit_Exchange$na0017',
  contentUri: 'https://manage.office.com/api/v1.0/t/activity/feed/audit/20201212000045238027763$20201212002126942044256$audit_exchange$Audit_Exchange$na0017',
  contentCreated: '2020-12-12T00:21:26.942Z',
  contentExpiration: '2020-12-19T00:21:26.942Z',
};

describe('checkListingEntry', () => {
  it('accepts a documented entry as it is', () => {
    expect(checkListingEntry(good, context)).toEqual({ ok: true, listing: good, repairs: [] });
  });

  it('normalizes the times to ISO with milliseconds, and a content type spelled in another case to the stream\'s', () => {
    const verdict = checkListingEntry({ ...good, contentType: 'audit.exchange', contentCreated: '2020-12-12T00:21:26Z' }, context);
    expect(verdict).toMatchObject({ ok: true, listing: { contentType: 'Audit.Exchange', contentCreated: '2020-12-12T00:21:26.000Z' } });
  });

  it('repairs what it can: a missing contentUri is rebuilt from the id, a missing contentExpiration is contentCreated + 7 days, a missing contentType is the stream\'s', () => {
    const { contentUri: _u, contentExpiration: _e, contentType: _t, ...rest } = good;
    const verdict = checkListingEntry(rest, context);
    expect(verdict.ok).toBe(true);
    if (!verdict.ok) return;
    expect(verdict.listing).toEqual({ ...good, contentUri: context.canonicalUri(good.contentId), contentExpiration: '2020-12-19T00:21:26.942Z' });
    expect(verdict.repairs).toHaveLength(3);
  });

  it('keeps a foreign contentUri (delivery rebuilds it from the id and counts the anomaly)', () => {
    const verdict = checkListingEntry({ ...good, contentUri: 'http://localhost/x/activity/feed/audit/abc' }, context);
    expect(verdict).toMatchObject({ ok: true, listing: { contentUri: 'http://localhost/x/activity/feed/audit/abc' }, repairs: [] });
  });

  it.each([
    ['a contentId with a space', { ...good, contentId: `${good.contentId} copy` }, /contentId .* cannot name a blob/],
    ['a contentId with a slash', { ...good, contentId: 'a/../b' }, /cannot name a blob/],
    ['a contentId with a character a row key refuses', { ...good, contentId: 'a#b' }, /cannot name a blob/],
    ['no contentId', { ...good, contentId: undefined }, /contentId is missing/],
    ['a numeric contentId', { ...good, contentId: 42 }, /contentId is missing or not a string/],
    ['another stream\'s contentType', { ...good, contentType: 'Audit.SharePoint' }, /contentType "Audit.SharePoint" is not this stream's/],
    ['an unreadable contentCreated', { ...good, contentCreated: 'yesterday' }, /contentCreated "yesterday" is not a time/],
    ['no contentCreated', { ...good, contentCreated: undefined }, /contentCreated is missing/],
    ['a number', 42, /not a JSON object/],
    ['null', null, /not a JSON object/],
    ['an array', [good], /not a JSON object/],
  ])('rejects %s with a reason, the entry kept as served', (_what, value, reason) => {
    const verdict = checkListingEntry(value, context);
    expect(verdict.ok).toBe(false);
    if (verdict.ok) return;
    expect(verdict.rejected.reason).toMatch(reason);
    expect(verdict.rejected.entry).toBe(JSON.stringify(value));
    expect(verdict.rejected.contentId).toMatch(/^[A-Za-z0-9$_.\-~]{1,512}$/);
  });

  it('gives an unusable id a stable synthesized one, and keeps a usable id of an otherwise bad entry', () => {
    const spaced = { ...good, contentId: 'a b' };
    const first = checkListingEntry(spaced, context);
    const again = checkListingEntry({ ...spaced, contentCreated: '2020-12-13T00:00:00Z' }, context);
    expect(first.ok || again.ok).toBe(false);
    if (first.ok || again.ok) return;
    expect(first.rejected.contentId).toBe(synthesizedId('a b'));
    expect(again.rejected.contentId).toBe(first.rejected.contentId); // the same raw id, the same row
    const foreign = checkListingEntry({ ...good, contentType: 'DLP.All' }, context);
    expect(foreign.ok ? undefined : foreign.rejected).toMatchObject({ contentId: good.contentId, contentCreated: good.contentCreated });
  });

  it('caps the kept JSON at 64 KiB', () => {
    const verdict = checkListingEntry({ ...good, contentId: 'x '.repeat(50_000) }, context);
    expect(verdict.ok ? 0 : verdict.rejected.entry.length).toBe(64 * 1024);
  });
});
