import { describe, expect, it } from 'vitest';
import { checkFeedUrl, contentUriFor, formatApiTime, isValidContentId } from '../../../shared/core/feedUrls.js';

const endpoint = 'https://manage.office.com';
const tenant = 'f28ab78a-d401-4060-8012-736e373933eb';
const contentId = '20201212000045238027763$20201212002126942044256$audit_exchange$Audit_Exchange$na0017';

describe('checkFeedUrl', () => {
  it('accepts the tenant feed on the management origin, v1.0 and the v1 form of NextPageUri samples', () => {
    expect(checkFeedUrl(`https://manage.office.com/api/v1.0/${tenant}/activity/feed/audit/${contentId}`, endpoint, tenant).ok).toBe(true);
    expect(checkFeedUrl(`https://manage.office.com/api/v1/${tenant.toUpperCase()}/activity/feed/subscriptions/content?nextPage=x`, endpoint, tenant).ok).toBe(true);
  });

  it.each([
    ['http://manage.office.com/api/v1.0/T/activity/feed/audit/x', 'not-https'],
    ['https://manage.office.com.evil.example/api/v1.0/T/activity/feed/audit/x', 'foreign-host'],
    ['https://evil.example/api/v1.0/T/activity/feed/audit/x', 'foreign-host'],
    ['https://manage.office.com:8443/api/v1.0/T/activity/feed/audit/x', 'foreign-host'],
    ['https://user:pw@manage.office.com/api/v1.0/T/activity/feed/audit/x', 'credentials-in-url'],
    ['https://manage.office.com/api/v1.0/00000000-0000-0000-0000-000000000000/activity/feed/audit/x', 'foreign-path'],
    ['https://manage.office.com/api/v1.0/T/activity/feed/../../../other', 'foreign-path'],
    ['https://manage.office.com/api/v1.0/T/activity/feedx/audit/x', 'foreign-path'],
    ['http://localhost/celbroken1/activity/feed/audit/celid$aad$1', 'not-https'],
    ['not a url', 'unparseable'],
  ])('refuses %s (%s)', (candidate, problem) => {
    const verdict = checkFeedUrl(candidate.replace('/T/', `/${tenant}/`), endpoint, tenant);
    expect(verdict).toEqual({ ok: false, problem });
  });

  it('compares the whole origin, so an overridden endpoint with a port works', () => {
    const local = 'https://127.0.0.1:8443';
    expect(checkFeedUrl(`${local}/api/v1.0/${tenant}/activity/feed/audit/x`, local, tenant).ok).toBe(true);
    expect(checkFeedUrl(`https://127.0.0.1:9443/api/v1.0/${tenant}/activity/feed/audit/x`, local, tenant)).toEqual({ ok: false, problem: 'foreign-host' });
  });
});

describe('content ids and URIs', () => {
  it('rebuilds the canonical URI with unescaped $ separators', () => {
    expect(contentUriFor(endpoint, tenant, contentId)).toBe(`https://manage.office.com/api/v1.0/${tenant}/activity/feed/audit/${contentId}`);
  });

  it.each(['a/b', '../x', '..', 'x?y=1', 'x#y', 'a%2Fb', 'with space', '', 'x'.repeat(513)])('refuses the hostile id %j', (id) => {
    expect(isValidContentId(id)).toBe(false);
    expect(() => contentUriFor(endpoint, tenant, id)).toThrow(RangeError);
  });

  it('accepts real-shaped ids', () => {
    expect(isValidContentId(contentId)).toBe(true);
    expect(isValidContentId('492638008028$492638008028$f28ab78ad40140608012736e373933ebspo2015043022$4a81a7c326fc4aed89c62e6039ab833b$04')).toBe(true);
  });
});

describe('formatApiTime', () => {
  it('writes the documented YYYY-MM-DDTHH:MM:SS form in UTC', () => {
    expect(formatApiTime(Date.parse('2026-11-24T09:05:07.999Z'))).toBe('2026-11-24T09:05:07');
  });
});
