import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GraphSecurityClient } from '../../../../shared/adapters/graphSecurity/client.js';
import { RateLimiter } from '../../../../shared/adapters/http/rateLimiter.js';
import { backoffDelay, parseRetryAfter } from '../../../../shared/adapters/http/request.js';
import { ManagementActivityClient } from '../../../../shared/adapters/managementApi/client.js';

const now = Date.parse('2026-11-24T10:00:00Z');

describe('parseRetryAfter', () => {
  it('reads delta-seconds and HTTP dates in the future', () => {
    expect(parseRetryAfter('5', now)).toBe(5000);
    expect(parseRetryAfter(' 120 ', now)).toBe(120_000);
    expect(parseRetryAfter('0.5', now)).toBe(500);
    expect(parseRetryAfter('Tue, 24 Nov 2026 10:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Tuesday, 24-Nov-26 10:01:00 GMT', now)).toBe(60_000);
    expect(parseRetryAfter('Tue Nov 24 10:00:05 2026', now)).toBe(5_000);
  });

  it.each([
    ['a negative number', '-5'],
    ['zero', '0'],
    ['a fraction that rounds to no wait', '0.0001'],
    ['an HTTP date in the past', 'Tue, 24 Nov 2026 09:00:00 GMT'],
    ['an HTTP date that is now', 'Tue, 24 Nov 2026 10:00:00 GMT'],
    ['a signed number', '+5'],
    ['a partial date Date.parse would read leniently', 'Dec 25'],
    ['a date that is not an HTTP date', '2026-11-24T10:00:30Z'],
    ['a word', 'soon'],
    ['an exponent', '1e3'],
    ['an empty value', '   '],
  ])('treats %s (%j) as no hint', (_what, value) => {
    expect(parseRetryAfter(value, now)).toBeUndefined();
  });

  it('treats an absent header as no hint', () => {
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });

  it('caps a wait longer than a day at a day', () => {
    expect(parseRetryAfter('99999999999999', now)).toBe(86_400_000);
    // A number past what a double holds (Infinity), so a caller adding it to the clock still has a date.
    expect(parseRetryAfter('9'.repeat(400), now)).toBe(86_400_000);
    expect(parseRetryAfter('Fri, 24 Nov 2028 10:00:00 GMT', now)).toBe(86_400_000);
  });
});

describe('backoffDelay', () => {
  const options = { baseDelayInMs: 500, maxDelayInMs: 20_000, maxRetryAfterInMs: 60_000 };
  const half = () => 0.5;

  it('waits what the service asked for, and gives up on a wait too long for in-process', () => {
    expect(backoffDelay(1, 7_000, options, half)).toBe(7_000);
    expect(backoffDelay(1, 61_000, options, half)).toBeUndefined();
  });

  it.each([0, -5_000, Number.NaN, Number.POSITIVE_INFINITY])('applies the jittered backoff for a hint of %s ms', (hint) => {
    expect(backoffDelay(1, hint, options, half)).toBe(375);
    expect(backoffDelay(3, hint, options, half)).toBe(1_500);
  });
});

describe('the API clients on a Retry-After that asks for no wait', () => {
  let server: Server;
  let base = '';
  /** Retry-After of the next failing answer; each request after it succeeds. */
  let retryAfter: string | undefined;
  let failNext = false;
  beforeAll(async () => {
    server = createServer((req, res) => {
      if (failNext) {
        failNext = false;
        res.writeHead(503, { 'content-type': 'application/json', ...(retryAfter === undefined ? {} : { 'retry-after': retryAfter }) }).end('{}');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(req.url?.includes('/security/') ? '{"value":[]}' : '[]');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const tokens = { getToken: async () => 'token' };
  const rateLimiter = () => new RateLimiter({ requestsPerMinute: 6_000, burst: 100 });
  const tenantId = '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';
  const since = '2026-11-24T00:00:00Z';

  it.each(['-5', '0', 'Tue, 24 Nov 2026 09:00:00 GMT'])('Graph: Retry-After %j on a 503 gets the jittered backoff, not an immediate retry', async (value) => {
    const sleeps: number[] = [];
    const client = new GraphSecurityClient({
      tenantId, graphEndpoint: base, tokens, rateLimiter: rateLimiter(), now: () => now, random: () => 0.5,
      retry: { baseDelayInMs: 500 }, sleep: async (ms) => void sleeps.push(ms),
    });
    retryAfter = value;
    failNext = true;
    for await (const page of client.listUpdatedSince('alerts', since)) expect(page.items).toEqual([]);
    expect(sleeps).toEqual([375]);
  });

  it.each(['-5', '0'])('Management API: Retry-After %j on a 503 gets the jittered backoff', async (value) => {
    const sleeps: number[] = [];
    const client = new ManagementActivityClient({
      tenantId, managementEndpoint: base, publisherIdentifier: tenantId, tokens, rateLimiter: rateLimiter(), now: () => now, random: () => 0.5,
      retry: { baseDelayInMs: 500 }, sleep: async (ms) => void sleeps.push(ms),
    });
    retryAfter = value;
    failNext = true;
    expect(await client.listSubscriptions()).toEqual([]);
    expect(sleeps).toEqual([375]);
  });
});
