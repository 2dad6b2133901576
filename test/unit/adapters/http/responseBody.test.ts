import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { GraphAuditSearchClient } from '../../../../shared/adapters/graphSecurity/auditLogQueries.js';
import { GraphSecurityClient } from '../../../../shared/adapters/graphSecurity/client.js';
import { RateLimiter } from '../../../../shared/adapters/http/rateLimiter.js';
import { MAX_ERROR_BODY_BYTES, MAX_PAGE_BYTES } from '../../../../shared/adapters/http/responseBody.js';
import { ManagementActivityClient } from '../../../../shared/adapters/managementApi/client.js';
import { TransientError } from '../../../../shared/core/errors.js';
import { closeLocal, ingestErrorOf, listenLocal } from '../../../fakes/localServer.js';

const MiB = 1024 * 1024;
const HUGE = 200 * MiB;
const tenantId = '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';

/** What the server saw of the last streamed answer. */
interface Streamed {
  sent: number;
  /** The client closed the connection before the whole body was sent. */
  closedEarly: boolean;
  closed: Promise<void>;
}

interface Answer {
  readonly status: number;
  /** The body starts with this, then the server streams spaces up to `total` bytes. */
  readonly head: string;
  readonly total: number;
  /** Announce the length up front. */
  readonly contentLength?: boolean;
}

/** Streams `answer` with backpressure, counting the bytes the socket took, until done or closed. */
function stream(req: IncomingMessage, res: ServerResponse, answer: Answer): Streamed {
  const filler = Buffer.alloc(64 * 1024, 0x20);
  let resolve!: () => void;
  const state: Streamed = { sent: 0, closedEarly: false, closed: new Promise<void>((r) => (resolve = r)) };
  res.on('close', () => {
    state.closedEarly = state.sent < answer.total || !res.writableFinished;
    resolve();
  });
  res.writeHead(answer.status, { 'content-type': 'application/json', ...(answer.contentLength ? { 'content-length': String(answer.total) } : {}) });
  const head = Buffer.from(answer.head);
  res.write(head);
  state.sent = head.length;
  const pump = (): void => {
    while (state.sent < answer.total && !res.destroyed) {
      const chunk = filler.subarray(0, Math.min(filler.length, answer.total - state.sent));
      state.sent += chunk.length;
      if (!res.write(chunk)) {
        res.once('drain', pump);
        return;
      }
    }
    if (!res.destroyed) res.end();
  };
  pump();
  req.resume();
  return state;
}

let server: Server;
let base = '';
let answer: Answer;
let last: Streamed | undefined;

beforeAll(async () => {
  server = createServer((req, res) => {
    last = stream(req, res, answer);
  });
  base = await listenLocal(server, 'http');
});
afterAll(() => closeLocal(server));
beforeEach(() => {
  last = undefined;
});

const tokens = { getToken: async () => 'token' };
const common = () => ({ tenantId, tokens, rateLimiter: new RateLimiter({ requestsPerMinute: 6_000, burst: 100 }), retry: { maxAttempts: 1 } });
const management = () => new ManagementActivityClient({ ...common(), managementEndpoint: base, publisherIdentifier: tenantId });
const graph = () => new GraphSecurityClient({ ...common(), graphEndpoint: base });
const audit = () => new GraphAuditSearchClient({ ...common(), graphEndpoint: base, apiVersion: 'v1.0' });
const window = { start: Date.parse('2026-11-24T00:00:00Z'), end: Date.parse('2026-11-24T01:00:00Z') };


/** The server stopped well short of the whole body because the client closed the connection. */
async function stoppedEarly(limit: number): Promise<void> {
  expect(last).toBeDefined();
  await last!.closed;
  expect(last!.closedEarly).toBe(true);
  // The limit plus what socket buffers on both sides held when the client let go.
  expect(last!.sent).toBeLessThan(limit + 32 * MiB);
  expect(last!.sent).toBeLessThan(HUGE);
}

const pages: [string, () => Promise<unknown>][] = [
  ['a Management API subscription list', () => management().listSubscriptions()],
  ['a Management API content listing page', async () => {
    for await (const _page of management().listContent('Audit.Exchange', window)) {
      /* the first page fails */
    }
  }],
  ['a Graph security page', async () => {
    for await (const _page of graph().listUpdatedSince('alerts', '2026-11-24T00:00:00Z')) {
      /* the first page fails */
    }
  }],
  ['a Graph audit log query answer', () => audit().getQuery('3b0f4c42-5a6b-4c7d-8e9f-0a1b2c3d4e5f')],
];

describe('a 200 MB response body', () => {
  it.each(pages)('fails %s at the page limit, retryable, and closes the connection', async (_what, call) => {
    answer = { status: 200, head: '[', total: HUGE };
    const error = await ingestErrorOf(call);
    expect(error).toBeInstanceOf(TransientError);
    expect(error.code).toBe('ServiceUnavailable');
    expect(error.message).toMatch(/the response body is over 16 MiB \(16777216 bytes\); it was not read further/);
    expect(error.message).toContain(tenantId);
    await stoppedEarly(MAX_PAGE_BYTES);
  });

  it.each(pages)('fails %s without reading when Content-Length already says it is too large', async (_what, call) => {
    answer = { status: 200, head: '[', total: HUGE, contentLength: true };
    const error = await ingestErrorOf(call);
    expect(error.message).toMatch(/the response body is over 16 MiB/);
    await stoppedEarly(0);
  });

  it.each(pages)('reads only the first 64 KiB of an error body on %s and fails with the status', async (_what, call) => {
    answer = { status: 503, head: '{"error":{"code":"Busy","message":"try later"}}', total: HUGE };
    const error = await ingestErrorOf(call);
    expect(error).toBeInstanceOf(TransientError);
    expect(error.httpStatus).toBe(503);
    expect(error.code).toBe('ServiceUnavailable');
    await stoppedEarly(MAX_ERROR_BODY_BYTES);
  });
});

describe('a page under the limit', () => {
  it('is read whole across many chunks (a 12 MB listing page)', async () => {
    const entry = (i: number) => ({
      contentType: 'Audit.Exchange',
      contentId: `20261124000000000000000$20261124000000000000000$audit_exchange$Audit_Exchange$na${String(i).padStart(6, '0')}`,
      contentUri: `${base}/api/v1.0/${tenantId}/activity/feed/audit/20261124000000000000000$20261124000000000000000$audit_exchange$Audit_Exchange$na${String(i).padStart(6, '0')}`,
      contentCreated: '2026-11-24T00:10:00.000Z',
      contentExpiration: '2026-12-01T00:10:00.000Z',
    });
    const text = JSON.stringify(Array.from({ length: 40_000 }, (_, i) => entry(i)));
    expect(text.length).toBeGreaterThan(12 * MiB);
    expect(text.length).toBeLessThan(MAX_PAGE_BYTES);
    answer = { status: 200, head: text, total: text.length };
    const items: string[] = [];
    for await (const page of management().listContent('Audit.Exchange', window)) items.push(...page.items.map((item) => item.contentId));
    expect(items).toHaveLength(40_000);
    expect(items[39_999]).toBe(entry(39_999).contentId);
  });
});
