import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { AUDIT_DEFAULTS, AuditSearchApi, type AuditOperation } from './auditSearch.js';
import { localServerTls } from '../../local/localPki.js';
import { Entra, type AccessTokenClaims } from './entra.js';
import { GRAPH_PRE_FAULTS, PRE_FAULTS, REJECTING_FAULTS, Faults } from './faults.js';
import { Feed, afError, feedRoute, listingEntry, type FeedRequest, type JsonReply } from './feed.js';
import { BlobCatalog, type Blob } from './generator.js';
import { GraphSecurityApi, graphCodeFor, graphError, type GraphOperation } from './graph.js';
import { Rng } from './rng.js';
import { SecurityCatalog } from './security.js';
import { RequestLog, StatsRecorder } from './stats.js';
import { Subscriptions } from './subscriptions.js';
import { resolveTenants, type TenantState } from './tenants.js';
import { Throttle } from './throttle.js';
import { DAY, MINUTE } from './time.js';
import { CONTENT_TYPES, type ContentType, type Fault, type FaultRule, type SimOperation, type SimTenant, type SimTenantOptions } from './types.js';

type Route =
  | { kind: 'feed'; op: FeedRequest['op']; tenant: string; rawContentId?: string }
  | { kind: 'metadata'; op: 'metadata'; tenant: string }
  | { kind: 'token'; op: 'token'; tenant: string; version: 'v1' | 'v2' }
  /** Graph has no tenant in its path: the token's `tid` names it. */
  | { kind: 'graph'; op: GraphOperation }
  | { kind: 'audit'; op: AuditOperation; version: string; queryId?: string };

/** Headers the activity API answers with; never a Retry-After. */
const FEED_HEADERS = {
  'Cache-Control': 'no-cache',
  Pragma: 'no-cache',
  Expires: '-1',
  Server: 'Microsoft-IIS/10.0',
  'X-AspNet-Version': '4.0.30319',
  'X-Powered-By': 'ASP.NET',
};
const JSON_TYPE = 'application/json; charset=utf-8';
const STREAM_CHUNK = 64 * 1024;
const MAX_REQUEST_BODY = 1024 * 1024;
const STALE_NEXT_PAGE: ReadonlySet<Fault['kind']> = new Set([...PRE_FAULTS, 'stale-next-page']);

/**
 * Starts a simulated tenant: one https origin serving the Entra ID token endpoint, the Management Activity
 * API, Microsoft Graph security (Defender XDR incidents and alerts) and the `/_sim/*` admin surface.
 * Everything generated is a pure function of the seed and the options, and nothing is materialized ahead
 * of a request, so a week of backlog costs no memory.
 */
export async function startSimTenant(options: SimTenantOptions): Promise<SimTenant> {
  const clock = options.now ?? Date.now;
  let clockOffset = 0;
  const now = () => clock() + clockOffset;
  const seed = options.seed ?? 1;
  const tenants = resolveTenants(options.tenants, now());
  const settings = resolveSettings(options);

  const catalog = new BlobCatalog({
    seed,
    streams: new Map([...tenants].map(([id, t]) => [id, t.stream])),
    visibilityDelayInMs: settings.visibilityDelayInMs,
    expiryInMs: settings.expiryInMs,
    duplicateRate: settings.duplicateRate,
    ...(settings.lateBlobs && { lateBlobs: settings.lateBlobs }),
  });
  const subscriptions = new Subscriptions();
  const faults = new Faults(new Rng(`${seed}|faults`), now);
  const stats = new StatsRecorder();
  const log = new RequestLog();
  const entra = new Entra(tenants, randomBytes(32), { management: settings.tokenAudience, graph: settings.graphAudience }, options.trustedManagedIdentityKeys);
  const feed = new Feed(
    { tenants, catalog, subscriptions, entra, throttle: new Throttle(settings.requestsPerMinute), faults, stats },
    {
      now,
      pageSize: settings.pageSize,
      headerName: options.headerName ?? 'NextPageUri',
      lowerCaseNextPageParams: options.lowerCaseNextPageParams ?? false,
      allowExactly24h: options.allowExactly24h ?? true,
      startCooldown: options.startCooldown ?? 'accept',
      throttleStatus: options.throttleStatus ?? 429,
      pageKey: randomBytes(32),
    },
  );
  const security = new SecurityCatalog(seed, tenants);
  const graph = new GraphSecurityApi(
    { tenants, catalog: security, throttle: new Throttle(settings.graphRequestsPerMinute), faults, stats },
    { now, maxPageSize: settings.graphMaxPageSize, pageKey: randomBytes(32) },
  );
  const audit = new AuditSearchApi(
    { tenants, catalog, throttle: new Throttle(settings.graphRequestsPerMinute), faults, stats },
    { now, ...AUDIT_DEFAULTS, ...options.auditSearch, pageKey: randomBytes(32) },
  );
  const adminKey = options.adminKey ?? randomBytes(16).toString('hex');
  const host = options.host ?? '127.0.0.1';
  const tls = options.tls ?? localServerTls();

  const server = createServer(tls, (req, res) => {
    handle(req, res).catch((err: unknown) => {
      // A bug in the simulator must surface, but never as a hung request.
      console.error(`simTenant: internal error on ${req.method} ${req.url?.split('?')[0]}: ${(err as Error).stack ?? String(err)}`);
      if (res.headersSent) res.destroy();
      else sendJson(res, afError(500, 'AF50000', 'An internal error occurred. Retry the request.'), FEED_HEADERS, false);
    });
  });
  // IIS keeps idle connections for 120 s; Node's 5 s default races clients that reuse a pooled socket.
  server.keepAliveTimeout = 120_000;
  server.headersTimeout = 125_000;
  server.on('clientError', (_err, socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const url = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const parsed = new URL(req.url ?? '/', 'https://sim.invalid');
    if (parsed.pathname.startsWith('/_sim/')) return admin(req, res, method, parsed.pathname);
    const route = resolveRoute(method, parsed.pathname);
    if (!route) {
      res.writeHead(404, { 'Content-Length': '0' }).end();
      return;
    }
    let graphClaims: AccessTokenClaims | undefined;
    if (route.kind === 'graph' || route.kind === 'audit') {
      const bearer = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
      graphClaims = bearer ? entra.verifyAccessToken(bearer[1]!, 'graph') : undefined;
    }
    const tenantKey = route.kind === 'graph' || route.kind === 'audit' ? (graphClaims?.tid ?? '-') : route.tenant.toLowerCase();
    res.on('close', () => {
      const outcome = res.writableFinished ? String(res.statusCode) : 'reset';
      stats.request(tenantKey, route.op, outcome);
      log.record({
        method,
        op: route.op,
        path: parsed.pathname,
        query: Object.fromEntries(parsed.searchParams),
        // Only the scheme: the log must never hold a credential.
        authorization: req.headers.authorization?.split(' ')[0],
        outcome,
      });
    });
    const params = new Map<string, string>();
    for (const [name, value] of parsed.searchParams) if (!params.has(name.toLowerCase())) params.set(name.toLowerCase(), value);

    const kinds = route.kind === 'graph' || route.kind === 'audit' ? GRAPH_PRE_FAULTS : route.op === 'content' && params.has('nextpage') ? STALE_NEXT_PAGE : PRE_FAULTS;
    const fault = faults.take(route.op, tenantKey, kinds);
    if (fault) stats.fault(fault.kind, REJECTING_FAULTS.has(fault.kind));
    const baseHeaders = route.kind === 'feed' ? FEED_HEADERS : {};
    switch (fault?.kind) {
      case 'status': {
        const retryAfter: Record<string, string> = fault.retryAfterSeconds === undefined ? {} : { 'Retry-After': String(fault.retryAfterSeconds) };
        if (route.kind === 'graph' || route.kind === 'audit') return sendJson(res, graphError(fault.status, graphCodeFor(fault.status), 'Injected failure (simulator fault rule).', req.headers, retryAfter), {}, false);
        if (fault.code === 'AF429') stats.af429();
        const reply: JsonReply = fault.code ? afError(fault.status, fault.code, faultMessage(fault.code, method, route.op, params)) : { status: fault.status };
        return sendJson(res, { ...reply, headers: retryAfter }, baseHeaders, false);
      }
      case 'af429-403':
        stats.af429();
        return sendJson(res, afError(403, 'AF429', faultMessage('AF429', method, route.op, params)), baseHeaders, false);
      case 'non-json-error':
        return sendHtmlError(res, fault.status);
      case 'stale-next-page':
        return sendJson(res, afError(400, 'AF20031', `Invalid nextPage Input: ${params.get('nextpage')}.`), baseHeaders, false);
      case 'reset':
        // A blob is cut mid-body once its stream starts; anything else loses the connection at once.
        if (route.op !== 'blob') {
          req.socket.destroy();
          return;
        }
        break;
      case 'slow':
        await sleep(fault.delayInMs);
        break;
    }
    const malformed = fault?.kind === 'malformed-json';
    const reset = fault?.kind === 'reset';
    const origin = originOf(req);

    if (route.kind === 'audit') {
      const body = method === 'POST' ? await readBody(req) : undefined;
      const reply = audit.handle({ op: route.op, version: route.version, queryId: route.queryId, query: parsed.searchParams, body, headers: req.headers, origin, claims: graphClaims });
      return sendJson(res, reply, {}, malformed);
    }
    if (route.kind === 'graph') {
      const reply = graph.handle({ op: route.op, query: parsed.searchParams, headers: req.headers, origin, claims: graphClaims });
      sendJson(res, reply, {}, malformed);
      if (!malformed && reply.revisions) stats.servedRevisions(route.op, reply.revisions);
      return;
    }
    if (route.kind === 'metadata') return sendJson(res, entra.openIdConfiguration(origin, route.tenant, req.headers), {}, malformed);
    if (route.kind === 'token') {
      const form = new URLSearchParams(await readBody(req));
      const origins = [...new Set([origin, url, `https://localhost:${port}`, `https://127.0.0.1:${port}`])];
      return sendJson(res, entra.token(route.version, route.tenant, form, req.headers, origins), {}, malformed);
    }

    // /start may carry a webhook body; webhooks are not simulated, but the body must be consumed.
    if (method === 'POST') await readBody(req);
    const reply = feed.handle({
      op: route.op,
      method,
      tenantSegment: route.tenant,
      contentId: route.rawContentId === undefined ? undefined : safeDecode(route.rawContentId),
      params,
      headers: req.headers,
      origin,
    });
    if ('blob' in reply) {
      if (await streamBlob(res, reply.blob, reset ? 'reset' : malformed ? 'malformed' : 'intact')) stats.servedBlob(reply.blob.contentId);
      return;
    }
    if (reset) {
      req.socket.destroy();
      return;
    }
    sendJson(res, reply, FEED_HEADERS, malformed);
  }

  /** Streams `[record,record,…]` in chunks, waiting for the socket to drain; true when served intact. */
  async function streamBlob(res: ServerResponse, blob: Blob, mode: 'intact' | 'malformed' | 'reset'): Promise<boolean> {
    res.writeHead(200, { ...FEED_HEADERS, 'Content-Type': JSON_TYPE });
    if (blob.body.kind === 'raw') {
      const bytes = Buffer.from(blob.body.text, 'utf8');
      const end = mode === 'intact' ? bytes.length : Math.floor(bytes.length / 2);
      for (let at = 0; at < end; at += STREAM_CHUNK) {
        if (!(await write(res, bytes.subarray(at, Math.min(end, at + STREAM_CHUNK))))) return false;
      }
      return finish(res, '', mode);
    }
    const count = catalog.recordCount(blob);
    const limit = mode === 'intact' ? count : Math.floor(count / 2);
    let chunk = '[';
    for (let i = 0; i < limit; i++) {
      chunk += (i > 0 ? ',' : '') + (JSON.stringify(catalog.record(blob, i)) ?? 'null');
      if (chunk.length >= STREAM_CHUNK) {
        if (!(await write(res, chunk))) return false;
        chunk = '';
      }
    }
    if (mode === 'intact') return finish(res, `${chunk}]`, mode);
    if (mode === 'malformed') {
      // Cut the next record in half: the body can never parse.
      const next = JSON.stringify(catalog.record(blob, limit)) ?? 'null';
      chunk += (limit > 0 ? ',' : '') + next.slice(0, Math.ceil(next.length / 2));
    }
    return finish(res, chunk, mode);
  }

  async function admin(req: IncomingMessage, res: ServerResponse, method: string, pathname: string): Promise<void> {
    const key = req.headers['x-sim-admin'];
    if (!isLoopback(req.socket.remoteAddress) || typeof key !== 'string' || !sameText(key, adminKey)) {
      return sendJson(res, { status: 403, body: { error: 'forbidden' } }, {}, false);
    }
    try {
      if (method === 'POST' && pathname === '/_sim/faults') {
        faults.inject(JSON.parse(await readBody(req)) as FaultRule);
        return sendJson(res, { status: 200, body: { pending: faults.pending().length } }, {}, false);
      }
      if (method === 'DELETE' && pathname === '/_sim/faults') {
        faults.clear();
        return sendJson(res, { status: 200, body: { pending: 0 } }, {}, false);
      }
      if (method === 'GET' && pathname === '/_sim/stats') return sendJson(res, { status: 200, body: stats.snapshot() }, {}, false);
      if (method === 'POST' && pathname === '/_sim/now') {
        const { offsetInMs } = JSON.parse(await readBody(req)) as { offsetInMs?: unknown };
        if (typeof offsetInMs !== 'number' || !Number.isFinite(offsetInMs)) throw new Error('offsetInMs must be a finite number');
        clockOffset = offsetInMs;
        return sendJson(res, { status: 200, body: { now: now(), offsetInMs } }, {}, false);
      }
      return sendJson(res, { status: 404, body: { error: 'not found' } }, {}, false);
    } catch (err) {
      return sendJson(res, { status: 400, body: { error: (err as Error).message } }, {}, false);
    }
  }

  function originOf(req: IncomingMessage): string {
    const host = req.headers.host;
    return host && /^[A-Za-z0-9.\-[\]:]+$/.test(host) ? `https://${host}` : url;
  }

  function tenantOf(tenantId: string): TenantState {
    const tenant = tenants.get(tenantId.toLowerCase());
    if (!tenant) throw new Error(`Unknown simulated tenant ${tenantId}`);
    return tenant;
  }

  function streamOf(tenantId: string, contentType: ContentType): [TenantState, ContentType] {
    if (!CONTENT_TYPES.includes(contentType)) throw new Error(`Unknown content type ${contentType}`);
    return [tenantOf(tenantId), contentType];
  }

  let closing: Promise<void> | undefined;
  return {
    url,
    port,
    adminKey,
    faults,
    addBlob(tenantId, contentType, blob) {
      const [tenant] = streamOf(tenantId, contentType);
      return listingEntry(url, catalog.add(tenant.tenantId, contentType, blob));
    },
    recordsOf(tenantId, contentId) {
      const blob = catalog.find(tenantOf(tenantId).tenantId, contentId);
      if (!blob) throw new Error(`Unknown content id ${contentId}`);
      return catalog.records(blob);
    },
    blobs(tenantId, contentType, from, to) {
      const [tenant] = streamOf(tenantId, contentType);
      return feed.listable(tenant.tenantId, contentType, from, to, now()).map((b) => listingEntry(url, b));
    },
    subscription(tenantId, contentType) {
      const [tenant] = streamOf(tenantId, contentType);
      const sub = subscriptions.get(tenant.tenantId, contentType);
      return { status: sub.status, startCalls: sub.startCalls, ...(sub.lastStartAt === undefined ? {} : { lastStartAt: sub.lastStartAt }) };
    },
    setSubscription(tenantId, contentType, status, opts) {
      const [tenant] = streamOf(tenantId, contentType);
      subscriptions.set(tenant.tenantId, contentType, status, now(), opts?.adminLocked ?? false);
    },
    setAuditing(tenantId, enabled) {
      tenantOf(tenantId).auditingEnabled = enabled;
    },
    rotateSecret(tenantId, clientId, newSecret) {
      const app = tenantOf(tenantId).apps.get(clientId.toLowerCase());
      if (!app) throw new Error(`App ${clientId} is not registered in tenant ${tenantId}`);
      app.secret = newSecret;
    },
    incidents(tenantId) {
      return security.incidents(tenantOf(tenantId).tenantId, now()).map((s) => structuredClone(s.incident));
    },
    alerts(tenantId) {
      return structuredClone(security.alerts(tenantOf(tenantId).tenantId, now()));
    },
    addIncident(tenantId, spec = {}) {
      return security.addIncident(tenantOf(tenantId).tenantId, now(), spec);
    },
    updateIncident(tenantId, incidentId, change) {
      return security.updateIncident(tenantOf(tenantId).tenantId, now(), incidentId, change);
    },
    updateAlert(tenantId, alertId, change) {
      return security.updateAlert(tenantOf(tenantId).tenantId, now(), alertId, change);
    },
    blobsCreated(tenantId, contentType, from, to) {
      const [tenant] = streamOf(tenantId, contentType);
      return catalog.inRange(tenant.tenantId, contentType, from, Math.min(to, now() + 1)).sort((a, b) => a.contentCreated - b.contentCreated).map((b) => listingEntry(url, b));
    },
    auditQueries(tenantId) {
      const tenant = tenantOf(tenantId).tenantId;
      return audit.list(tenant).map((q) => {
        const view = JSON.parse(JSON.stringify({ id: q.id, appId: q.appId, createdAt: q.createdAt, from: q.from, to: q.to, recordTypeFilters: q.recordTypeFilters })) as ReturnType<SimTenant['auditQueries']>[number];
        return { ...view, status: audit.statusOf(q) };
      });
    },
    auditRecords(tenantId, from, to) {
      return structuredClone(audit.records(tenantOf(tenantId).tenantId, from, to));
    },
    stats: () => stats.snapshot(),
    resetStats: () => {
      stats.reset();
      log.clear();
    },
    requestLog: () => log.entries(),
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

function resolveSettings(o: SimTenantOptions) {
  const s = {
    pageSize: o.pageSize ?? 100,
    tokenAudience: o.tokenAudience ?? 'https://manage.office.com',
    visibilityDelayInMs: o.visibilityDelayInMs ?? { min: MINUTE, max: 20 * MINUTE },
    expiryInMs: o.expiryInMs ?? 7 * DAY,
    duplicateRate: o.duplicateRate ?? 0.05,
    requestsPerMinute: o.requestsPerMinute ?? 2000,
    graphAudience: o.graphAudience ?? 'https://graph.microsoft.com',
    graphMaxPageSize: o.graphMaxPageSize ?? 1000,
    graphRequestsPerMinute: o.graphRequestsPerMinute ?? 150,
    lateBlobs: o.lateBlobs,
  };
  const problems = [
    !(Number.isInteger(s.pageSize) && s.pageSize > 0) && 'pageSize must be a positive integer',
    !(s.visibilityDelayInMs.min >= 0 && s.visibilityDelayInMs.max >= s.visibilityDelayInMs.min) && 'visibilityDelayInMs needs 0 ≤ min ≤ max',
    !(s.expiryInMs > 0) && 'expiryInMs must be positive',
    !(s.duplicateRate >= 0 && s.duplicateRate <= 1) && 'duplicateRate must be in [0, 1]',
    !(s.requestsPerMinute > 0) && 'requestsPerMinute must be positive',
    !(Number.isInteger(s.graphMaxPageSize) && s.graphMaxPageSize > 0) && 'graphMaxPageSize must be a positive integer',
    !(s.graphRequestsPerMinute > 0) && 'graphRequestsPerMinute must be positive',
    s.lateBlobs !== undefined &&
      !(s.lateBlobs.fraction >= 0 && s.lateBlobs.fraction <= 1 && s.lateBlobs.delayInMs.min >= 0 && s.lateBlobs.delayInMs.max >= s.lateBlobs.delayInMs.min) &&
      'lateBlobs needs a fraction in [0, 1] and 0 ≤ delayInMs.min ≤ delayInMs.max',
  ].filter((p): p is string => typeof p === 'string');
  if (problems.length > 0) throw new Error(`Invalid simulated tenant options:\n- ${problems.join('\n- ')}`);
  return s;
}

function resolveRoute(method: string, pathname: string): Route | undefined {
  const feed = /^\/api\/v1(?:\.0)?\/([^/]+)\/activity\/feed\/(.+)$/i.exec(pathname);
  if (feed) {
    const r = feedRoute(method, feed[2]!);
    return r && { kind: 'feed', op: r.op, tenant: feed[1]!, ...(r.rawContentId === undefined ? {} : { rawContentId: r.rawContentId }) };
  }
  const audit = /^\/(v1\.0|beta)\/security\/auditLog\/queries(?:\/([^/]+)(\/records)?)?$/i.exec(pathname);
  if (audit) {
    const [, version, queryId, records] = audit;
    if (method === 'POST' && queryId === undefined) return { kind: 'audit', op: 'auditQuery', version: version!.toLowerCase() };
    if (method === 'GET' && queryId !== undefined) return { kind: 'audit', op: records ? 'auditRecords' : 'auditQueryStatus', version: version!.toLowerCase(), queryId: safeDecode(queryId) ?? queryId };
    return undefined;
  }
  const graph = /^\/v1\.0\/security\/(incidents|alerts_v2)$/i.exec(pathname);
  if (graph && method === 'GET') return { kind: 'graph', op: graph[1]!.toLowerCase() === 'incidents' ? 'incidents' : 'alerts' };
  const metadata = /^\/([^/]+)\/(?:v2\.0\/)?\.well-known\/openid-configuration$/i.exec(pathname);
  if (metadata && method === 'GET') return { kind: 'metadata', op: 'metadata', tenant: metadata[1]! };
  const token = /^\/([^/]+)\/oauth2\/(v2\.0\/)?token$/i.exec(pathname);
  if (token && method === 'POST') return { kind: 'token', op: 'token', tenant: token[1]!, version: token[2] ? 'v2' : 'v1' };
  return undefined;
}

function faultMessage(code: string, method: string, op: SimOperation, params: ReadonlyMap<string, string>): string {
  if (code !== 'AF429') return 'An internal error occurred. Retry the request.';
  return `Too many requests. Method=${op === 'blob' ? 'GetBlob' : method}, PublisherId=${params.get('publisheridentifier') || '00000000-0000-0000-0000-000000000000'}`;
}

function sendJson(res: ServerResponse, reply: JsonReply, baseHeaders: Record<string, string>, malformed: boolean): void {
  let text = reply.body === undefined ? '' : JSON.stringify(reply.body);
  // Any proper prefix of a JSON object or array is invalid JSON.
  if (malformed) text = text.length >= 2 ? text.slice(0, Math.ceil(text.length / 2)) : '{';
  res.writeHead(reply.status, {
    ...baseHeaders,
    ...(text ? { 'Content-Type': JSON_TYPE } : {}),
    'Content-Length': String(Buffer.byteLength(text)),
    ...reply.headers,
  });
  res.end(text);
}

/** What a proxy or gateway in front of the service answers: HTML, not the API's JSON error. */
function sendHtmlError(res: ServerResponse, status: number): void {
  const html = `<!DOCTYPE html><html><head><title>${status} Service Unavailable</title></head><body><h1>Service Unavailable</h1><p>The service is temporarily unavailable. Please retry the request again in an hour.</p></body></html>`;
  res.writeHead(status, { 'Content-Type': 'text/html; charset=utf-8', 'Content-Length': String(Buffer.byteLength(html)), Server: 'Microsoft-IIS/10.0' });
  res.end(html);
}

/** Writes with backpressure; false once the client has gone. */
async function write(res: ServerResponse, chunk: string | Buffer): Promise<boolean> {
  if (res.destroyed) return false;
  if (!res.write(chunk)) {
    await new Promise<void>((resolve) => {
      const done = () => {
        res.off('drain', done);
        res.off('close', done);
        resolve();
      };
      res.on('drain', done);
      res.on('close', done);
    });
  }
  return !res.destroyed;
}

/** Ends an intact or malformed body; for 'reset', flushes what was written and drops the connection mid-body. */
async function finish(res: ServerResponse, last: string, mode: 'intact' | 'malformed' | 'reset'): Promise<boolean> {
  if (res.destroyed) return false;
  if (mode === 'reset') {
    await new Promise<void>((resolve) => {
      res.once('close', resolve);
      res.write(last, () => resolve());
    });
    res.destroy();
    return false;
  }
  res.end(last);
  return mode === 'intact';
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_REQUEST_BODY) throw new Error('request body too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function safeDecode(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

function isLoopback(address: string | undefined): boolean {
  return address !== undefined && (address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.'));
}

function sameText(a: string, b: string): boolean {
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}

