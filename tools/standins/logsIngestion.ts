/**
 * A stand-in for Azure Monitor's Logs Ingestion API over https, so the real `LogsIngestionClient` of
 * @azure/monitor-ingestion (and the forwarder on top of it) can be tested end to end:
 * `POST /dataCollectionRules/{immutableId}/streams/{stream}?api-version=2023-01-01` with a bearer token for
 * the Azure Monitor audience, `Content-Type: application/json`, optionally `Content-Encoding: gzip`, and a
 * JSON array of rows as the body. It answers 204 when it takes the rows, and like the service otherwise:
 * 401 without a valid token, 404 for an unknown rule or stream, 413 for a body over the 1 MB call limit
 * (compressed or not), 400 for a body that is not a JSON array of objects, 429 with Retry-After when told to
 * throttle. Error bodies are `{"error":{"code","message"}}`.
 */
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { verifyHs256Jwt } from './jwt.js';

/** The API's limit per call, in bytes, for the body as sent and as decompressed. */
export const CALL_LIMIT_BYTES = 1_000_000;
const API_VERSION = '2023-01-01';

/** One request the endpoint answered, in arrival order. */
export interface IngestionCall {
  readonly status: number;
  /** When the request arrived (epoch ms). */
  readonly at: number;
  readonly stream?: string;
  /** Body bytes as sent, and after decompression. */
  readonly wireBytes: number;
  readonly bodyBytes: number;
  readonly gzip: boolean;
  /** Rows in the body (0 when it was not readable). */
  readonly rows: number;
  /** The error code of a refusal. */
  readonly code?: string;
}

/** A running endpoint. */
export interface LogsIngestionStandIn {
  /** `https://127.0.0.1:<port>`: the logs ingestion endpoint. */
  readonly url: string;
  readonly ruleId: string;
  /** Rows taken into `stream`, in arrival order. */
  rows(stream: string): readonly Record<string, unknown>[];
  calls(): readonly IngestionCall[];
  /** The next `count` authenticated requests get 429 with `Retry-After: <seconds>`. */
  throttle(count: number, retryAfterSeconds: number): void;
  /** The next `count` authenticated requests get `status` (e.g. 500, 503). */
  failNext(count: number, status: number): void;
  /** A call with a row for which `refuse` returns true is refused whole with 400 `InvalidRow`, as for a row the stream cannot take. */
  refuseRows(refuse: ((row: Record<string, unknown>) => boolean) | undefined): void;
  close(): Promise<void>;
}

export interface LogsIngestionStandInOptions {
  readonly tls: { readonly cert: string | Buffer; readonly key: string | Buffer };
  /** Verifies bearer tokens: HS256 JWTs signed with this key (the managed identity stand-in's, or a test's). */
  readonly signingKey: Buffer;
  /** Token audience; default https://monitor.azure.com. */
  readonly audience?: string;
  /** The rule's immutable id and its stream names. */
  readonly ruleId: string;
  readonly streams: readonly string[];
  readonly port?: number;
}

export async function startLogsIngestionStandIn(options: LogsIngestionStandInOptions): Promise<LogsIngestionStandIn> {
  const audience = options.audience ?? 'https://monitor.azure.com';
  const accepted = new Map<string, Record<string, unknown>[]>(options.streams.map((s) => [s, []]));
  const calls: IngestionCall[] = [];
  let throttled = { count: 0, retryAfter: 0 };
  let failing = { count: 0, status: 500 };
  let refuse: ((row: Record<string, unknown>) => boolean) | undefined;
  const sockets = new Set<Socket>();

  const send = (res: ServerResponse, status: number, code?: string, message?: string, headers: Record<string, string> = {}) => {
    if (code === undefined) {
      res.writeHead(status, headers).end();
      return;
    }
    const body = JSON.stringify({ error: { code, message } });
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers }).end(body);
  };

  const authorized = (req: IncomingMessage): string | undefined => {
    const header = req.headers.authorization ?? '';
    if (!header.startsWith('Bearer ')) return 'no bearer token';
    const verified = verifyHs256Jwt(header.slice('Bearer '.length), options.signingKey);
    if (!verified.ok) return verified.reason;
    const { aud, exp, nbf } = verified.claims;
    if (aud !== audience && aud !== `${audience}/`) return `the token is for ${String(aud)}, not ${audience}`;
    const now = Date.now() / 1000;
    if (typeof exp !== 'number' || exp < now || (typeof nbf === 'number' && nbf > now + 300)) return 'the token is outside its lifetime';
    return undefined;
  };

  const handle = (req: IncomingMessage, res: ServerResponse, body: Buffer, arrived: number) => {
    const url = new URL(req.url ?? '/', 'https://stand-in');
    const match = /^\/dataCollectionRules\/([^/]+)\/streams\/([^/]+)$/.exec(url.pathname);
    const gzip = (req.headers['content-encoding'] ?? '').toLowerCase() === 'gzip';
    const record = (status: number, extra: Partial<IngestionCall> = {}) =>
      calls.push({ status, at: arrived, wireBytes: body.length, bodyBytes: body.length, gzip, rows: 0, ...extra });
    const refuseWith = (status: number, code: string, message: string, extra: Partial<IngestionCall> = {}, headers?: Record<string, string>) => {
      record(status, { code, ...extra });
      send(res, status, code, message, headers);
    };

    if (req.method !== 'POST' || !match) return refuseWith(404, 'NotFound', 'unknown path');
    const problem = authorized(req);
    if (problem) return refuseWith(401, 'InvalidToken', `the bearer token is not accepted: ${problem}`);
    const [ruleId, stream] = [decodeURIComponent(match[1]!), decodeURIComponent(match[2]!)];
    if (url.searchParams.get('api-version') !== API_VERSION) return refuseWith(400, 'InvalidApiVersion', `api-version must be ${API_VERSION}`);
    if (ruleId !== options.ruleId) return refuseWith(404, 'DcrNotFound', 'no data collection rule with this immutable id');
    if (!accepted.has(stream)) return refuseWith(404, 'InvalidStream', 'the rule declares no such stream', { stream });
    if (throttled.count > 0) {
      throttled.count--;
      return refuseWith(429, 'TooManyRequests', 'request rate is over the limit', { stream }, { 'retry-after': String(throttled.retryAfter) });
    }
    if (failing.count > 0) {
      failing.count--;
      return refuseWith(failing.status, 'ServiceError', 'the service failed', { stream });
    }
    if (body.length > CALL_LIMIT_BYTES) return refuseWith(413, 'ContentLengthLimitExceeded', `the body is over ${CALL_LIMIT_BYTES} bytes`, { stream });
    let text: Buffer;
    try {
      text = gzip ? gunzipSync(body, { maxOutputLength: CALL_LIMIT_BYTES + 1 }) : body;
    } catch {
      return refuseWith(gzip ? 413 : 400, gzip ? 'ContentLengthLimitExceeded' : 'InvalidContent', 'the body cannot be decompressed within the limit', { stream });
    }
    if (text.length > CALL_LIMIT_BYTES) return refuseWith(413, 'ContentLengthLimitExceeded', `the body is over ${CALL_LIMIT_BYTES} bytes uncompressed`, { stream, bodyBytes: text.length });
    if (!(req.headers['content-type'] ?? '').toLowerCase().startsWith('application/json')) return refuseWith(415, 'UnsupportedMediaType', 'expected application/json', { stream });
    let rows: unknown;
    try {
      rows = JSON.parse(text.toString('utf8'));
    } catch {
      return refuseWith(400, 'InvalidJson', 'the body is not JSON', { stream, bodyBytes: text.length });
    }
    if (!Array.isArray(rows) || rows.some((r) => typeof r !== 'object' || r === null || Array.isArray(r))) {
      return refuseWith(400, 'InvalidContent', 'the body must be a JSON array of objects', { stream, bodyBytes: text.length });
    }
    const objects = rows as Record<string, unknown>[];
    if (refuse && objects.some((r) => refuse!(r))) return refuseWith(400, 'InvalidRow', 'a row does not match the stream', { stream, bodyBytes: text.length, rows: objects.length });
    accepted.get(stream)!.push(...objects);
    record(204, { stream, bodyBytes: text.length, rows: objects.length });
    send(res, 204);
  };

  const server: Server = createServer({ cert: options.tls.cert, key: options.tls.key }, (req, res) => {
    const arrived = Date.now();
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      // Keep a little over the limit: enough to know the body is too large, without holding any amount.
      if (size <= CALL_LIMIT_BYTES + 1) chunks.push(chunk);
    });
    req.on('end', () => handle(req, res, Buffer.concat(chunks), arrived));
  });
  server.on('secureConnection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `https://127.0.0.1:${port}`,
    ruleId: options.ruleId,
    rows: (stream) => accepted.get(stream) ?? [],
    calls: () => calls,
    throttle(count, retryAfterSeconds) {
      throttled = { count, retryAfter: retryAfterSeconds };
    },
    failNext(count, status) {
      failing = { count, status };
    },
    refuseRows(next) {
      refuse = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
