/**
 * A stand-in for the Key Vault secrets data plane over https, with the service's challenge-based
 * authentication, so the real `SecretClient` of @azure/keyvault-secrets (and the project's
 * KeyVaultSecretProvider on top of it) can be tested end to end with a real credential.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { verifyHs256Jwt } from './jwt.js';

/** A running vault. */
export interface KeyVaultStandIn {
  /** `https://127.0.0.1:<port>`: the vault URL for `SecretClient`. */
  readonly url: string;
  /** Adds a new version of a secret (creating it if needed) and returns the version id (32 hex digits). */
  setSecret(name: string, value: string, options?: { contentType?: string; enabled?: boolean }): string;
  /** How many GETs of this secret (or of any secret) were answered with 200. */
  reads(name?: string): number;
  /**
   * How the vault behaves from now on. 'down' destroys open connections and every new one; 'slow' holds
   * each request 5 s before answering it; 'forbidden' answers authenticated requests with 403
   * `ForbiddenByRbac`, as the service does for an identity without a role assignment.
   */
  setAvailability(mode: 'up' | 'down' | 'slow' | 'forbidden'): void;
  /** Stops listening and drops open connections and held requests. */
  close(): Promise<void>;
}

/** Options of {@link startKeyVaultStandIn}. */
export interface KeyVaultStandInOptions {
  /** Server certificate and key (usually `localServerTls()` from tools/local/localPki.ts; its CA must be trusted). */
  readonly tls: { readonly cert: string | Buffer; readonly key: string | Buffer };
  /** The vault's tenant: the challenge names it and tokens must be issued in it. */
  readonly tenantId: string;
  /** Authority host named in the challenge, e.g. the simulated tenant's URL. */
  readonly authorityHost: string;
  /**
   * Verifies a bearer token: an HS256 JWT signed with this key (the managed identity stand-in's
   * `signingKey`), audience https://vault.azure.net, issuer https://sts.windows.net/<tenantId>/, in its lifetime.
   */
  readonly signingKey: Buffer;
  /** Loopback port; default 0 (a free one). */
  readonly port?: number;
}

interface SecretVersion {
  readonly version: string;
  readonly value: string;
  readonly contentType?: string;
  readonly tags: Readonly<Record<string, string>>;
  readonly enabled: boolean;
  readonly nbf?: number;
  readonly exp?: number;
  readonly created: number;
}

interface StoredSecret {
  /** The name as first written; the service keeps its casing while matching names case-insensitively. */
  readonly name: string;
  readonly versions: SecretVersion[];
}

interface Caller {
  readonly appid: string;
  readonly oid: string;
  readonly iss: string;
}

const RESOURCE = 'https://vault.azure.net';
/** The audiences Key Vault accepts: its resource URI (with or without slash) and its application id. */
const AUDIENCES = new Set([RESOURCE, `${RESOURCE}/`, 'cfa8b339-82a2-471a-a3c9-0fc0be7a4093']);
const CLOCK_SKEW_S = 300;
const SLOW_DELAY_MS = 5_000;
const SECRET_NAME = /^[0-9a-zA-Z-]{1,127}$/;

/**
 * Starts the vault on 127.0.0.1. It serves `GET /secrets/{name}/[{version}]` and `PUT /secrets/{name}`
 * (an `api-version` query parameter is required, percent-encoded or not) with the service's JSON shapes:
 * ids `<url>/secrets/<name>/<version>`, epoch-second timestamps, versions kept so the version-less GET
 * returns the newest, 404 `SecretNotFound`, 403 `Forbidden`/`SecretDisabled` for a disabled secret.
 * A request without a token is answered 401 with the challenge
 * `Bearer authorization="<authorityHost>/<tenantId>", resource="https://vault.azure.net"`, and so is a
 * request whose token fails verification (with the reason in the error body).
 */
export async function startKeyVaultStandIn(options: KeyVaultStandInOptions): Promise<KeyVaultStandIn> {
  const secrets = new Map<string, StoredSecret>();
  const readCounts = new Map<string, number>();
  const sockets = new Set<Socket>();
  const held = new Set<NodeJS.Timeout>();
  let mode: 'up' | 'down' | 'slow' | 'forbidden' = 'up';
  let url = '';

  const challenge = `Bearer authorization="${options.authorityHost.replace(/\/+$/, '')}/${options.tenantId}", resource="${RESOURCE}"`;
  const issuer = `https://sts.windows.net/${options.tenantId}/`;

  const addVersion = (name: string, value: string, fields: Omit<SecretVersion, 'version' | 'value' | 'created'>) => {
    const key = name.toLowerCase();
    const stored = secrets.get(key) ?? { name, versions: [] };
    secrets.set(key, stored);
    const written: SecretVersion = { version: randomBytes(16).toString('hex'), value, created: Math.floor(Date.now() / 1000), ...fields };
    stored.versions.push(written);
    return { stored, written };
  };

  const bundle = (stored: StoredSecret, v: SecretVersion) => ({
    value: v.value,
    id: `${url}/secrets/${stored.name}/${v.version}`,
    ...(v.contentType === undefined ? {} : { contentType: v.contentType }),
    tags: v.tags,
    attributes: {
      enabled: v.enabled,
      ...(v.nbf === undefined ? {} : { nbf: v.nbf }),
      ...(v.exp === undefined ? {} : { exp: v.exp }),
      created: v.created,
      // Every version is written once and never updated here.
      updated: v.created,
      recoveryLevel: 'Recoverable+Purgeable',
      recoverableDays: 90,
    },
  });

  /** Why a bearer token is refused, or the caller it identifies. */
  const authenticate = (authorization: string | undefined): { caller: Caller } | { refusal: string } => {
    const match = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
    if (!match) return { refusal: 'AKV10000: Request is missing a Bearer or PoP token.' };
    const verified = verifyHs256Jwt(match[1]!, options.signingKey);
    if (!verified.ok) return { refusal: `The bearer token could not be validated: ${verified.reason}.` };
    const { aud, iss, exp, nbf, appid, oid } = verified.claims;
    if (typeof aud !== 'string' || !AUDIENCES.has(aud)) return { refusal: `AKV10022: Invalid audience. Expected ${RESOURCE}, found: ${String(aud)}.` };
    if (iss !== issuer) return { refusal: `AKV10032: Invalid issuer. Expected ${issuer}, found: ${String(iss)}.` };
    const now = Date.now() / 1000;
    if (typeof exp !== 'number' || exp <= now) return { refusal: 'The bearer token has expired.' };
    if (typeof nbf === 'number' && nbf > now + CLOCK_SKEW_S) return { refusal: 'The bearer token is not valid yet.' };
    return { caller: { appid: String(appid), oid: String(oid), iss } };
  };

  const route = (req: IncomingMessage, body: string, res: ServerResponse): void => {
    const requestUrl = new URL(req.url ?? '/', url);
    const auth = authenticate(req.headers.authorization);
    if ('refusal' in auth) {
      res.setHeader('WWW-Authenticate', challenge);
      return fail(res, 401, 'Unauthorized', auth.refusal);
    }
    // URLSearchParams decodes the SDK's `api%2Dversion` to `api-version`.
    if (!requestUrl.searchParams.get('api-version')) return fail(res, 400, 'BadParameter', "The 'api-version' query parameter is missing.");

    const segments = requestUrl.pathname.split('/').slice(1);
    if (segments[0] !== 'secrets' || segments.length < 2 || segments.length > 3) {
      return fail(res, 404, 'NotFound', `No operation matches ${req.method ?? ''} ${requestUrl.pathname}.`);
    }
    const name = decodeURIComponent(segments[1]!);
    const version = segments[2] ?? '';
    const operation = req.method === 'GET' ? 'get' : req.method === 'PUT' && version === '' ? 'set' : undefined;
    if (!operation) return fail(res, 405, 'MethodNotAllowed', `${req.method ?? ''} is not supported on ${requestUrl.pathname}.`);
    if (!SECRET_NAME.test(name)) {
      return fail(res, 400, 'BadParameter', `The request URI contains an invalid name: ${name}. Secret names may contain only 0-9, a-z, A-Z and -.`);
    }

    if (mode === 'forbidden') {
      return fail(res, 403, 'Forbidden',
        `Caller is not authorized to perform action on resource.\r\nCaller: appid=${auth.caller.appid};oid=${auth.caller.oid};iss=${auth.caller.iss}\r\n` +
        `Action: 'Microsoft.KeyVault/vaults/secrets/${operation === 'get' ? 'getSecret' : 'setSecret'}/action'\r\nAssignment: (not found)\r\nDecisionReason: 'DeniedWithNoValidRBAC'\r\n`,
        'ForbiddenByRbac');
    }

    if (operation === 'set') {
      let parsed: unknown;
      try {
        parsed = JSON.parse(body);
      } catch {
        return fail(res, 400, 'BadParameter', 'The request body is not valid JSON.');
      }
      const input = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as {
        value?: unknown; contentType?: unknown; tags?: unknown; attributes?: { enabled?: unknown; nbf?: unknown; exp?: unknown };
      };
      if (typeof input.value !== 'string') return fail(res, 400, 'BadParameter', "The property 'value' is required.");
      const { stored, written } = addVersion(name, input.value, {
        ...(typeof input.contentType === 'string' ? { contentType: input.contentType } : {}),
        tags: isStringRecord(input.tags) ? input.tags : {},
        enabled: input.attributes?.enabled !== false,
        ...(typeof input.attributes?.nbf === 'number' ? { nbf: input.attributes.nbf } : {}),
        ...(typeof input.attributes?.exp === 'number' ? { exp: input.attributes.exp } : {}),
      });
      return send(res, 200, bundle(stored, written));
    }

    const stored = secrets.get(name.toLowerCase());
    const found = version === '' ? stored?.versions.at(-1) : stored?.versions.find((v) => v.version === version.toLowerCase());
    if (!stored || !found) {
      return fail(res, 404, 'SecretNotFound',
        `A secret with (name/id) ${version === '' ? name : `${name}/${version}`} was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command.`);
    }
    if (!found.enabled) return fail(res, 403, 'Forbidden', 'Operation get is not allowed on a disabled secret.', 'SecretDisabled');
    readCounts.set(name.toLowerCase(), (readCounts.get(name.toLowerCase()) ?? 0) + 1);
    send(res, 200, bundle(stored, found));
  };

  /** A defect in the stand-in must show up as a 500 in the failing test, not as a hung request. */
  const answer = (req: IncomingMessage, body: string, res: ServerResponse): void => {
    try {
      route(req, body, res);
    } catch (err) {
      if (!res.headersSent) fail(res, 500, 'InternalServerError', `The Key Vault stand-in failed: ${(err as Error).message}`);
    }
  };

  const server: Server = createServer({ cert: options.tls.cert, key: options.tls.key }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      if (mode !== 'slow') return answer(req, body, res);
      const timer = setTimeout(() => {
        held.delete(timer);
        if (!res.destroyed) answer(req, body, res);
      }, SLOW_DELAY_MS);
      held.add(timer);
    });
  });
  server.on('connection', (socket: Socket) => {
    if (mode === 'down') return void socket.destroy();
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    setSecret(name, value, secretOptions = {}) {
      if (!SECRET_NAME.test(name)) throw new Error(`invalid Key Vault secret name ${JSON.stringify(name)}`);
      return addVersion(name, value, {
        ...(secretOptions.contentType === undefined ? {} : { contentType: secretOptions.contentType }),
        tags: {},
        enabled: secretOptions.enabled ?? true,
      }).written.version;
    },
    reads: (name) => (name === undefined ? [...readCounts.values()].reduce((a, b) => a + b, 0) : (readCounts.get(name.toLowerCase()) ?? 0)),
    setAvailability(next) {
      mode = next;
      if (next === 'down') for (const socket of sockets) socket.destroy();
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        for (const timer of held) clearTimeout(timer);
        held.clear();
        server.close((err) => (err ? reject(err) : resolve()));
        for (const socket of sockets) socket.destroy();
      }),
  };
}

function isStringRecord(value: unknown): value is Record<string, string> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.values(value).every((v) => typeof v === 'string');
}

function fail(res: ServerResponse, status: number, code: string, message: string, innerCode?: string): void {
  send(res, status, { error: { code, message, ...(innerCode === undefined ? {} : { innererror: { code: innerCode } }) } });
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    'x-ms-request-id': randomUUID(),
  });
  res.end(text);
}
