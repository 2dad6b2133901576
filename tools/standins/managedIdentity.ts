/**
 * A stand-in for the managed identity endpoint of App Service and Azure Functions (`IDENTITY_ENDPOINT`,
 * protocol version 2019-08-01), over plain loopback http as in production, so the real
 * `ManagedIdentityCredential` of @azure/identity can be pointed at it.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { signHs256Jwt, type AccessTokenClaims } from './jwt.js';

/** A managed identity as the endpoint knows it: the app registration's client id and its service principal. */
export interface ManagedIdentity {
  readonly clientId: string;
  readonly principalId: string;
}

/** A token request the endpoint accepted (right identity header), in arrival order. */
export interface ManagedIdentityRequest {
  readonly resource: string;
  readonly clientId?: string;
}

/** A running managed identity endpoint. */
export interface ManagedIdentityStandIn {
  /** `http://127.0.0.1:<port>/msi/token`: the value for `IDENTITY_ENDPOINT`. */
  readonly endpoint: string;
  /** Random per start: the value for `IDENTITY_HEADER`. A request without it gets 400, with another value 401. */
  readonly header: string;
  /** The HS256 key of every token issued; relying stand-ins verify with it, so foreign tokens fail. */
  readonly signingKey: Buffer;
  /** The tenant the tokens are issued in (`tid`, and the `iss` https://sts.windows.net/<tenant>/). */
  readonly tenantId: string;
  /** The app's system-assigned identity, used when a request names no `client_id`. */
  readonly systemIdentity: ManagedIdentity;
  /** Every token request that carried the right identity header, including refused ones. */
  requests(): readonly ManagedIdentityRequest[];
  /** 'unavailable' answers every token request with 503 until set back to 'none'. */
  setFailure(next: 'none' | 'unavailable'): void;
  /** Stops listening and drops open connections. */
  close(): Promise<void>;
}

/** Options of {@link startManagedIdentityStandIn}. */
export interface ManagedIdentityStandInOptions {
  /** Loopback port; default 0 (a free one). */
  readonly port?: number;
  /** User-assigned identities attached to the app, selectable with `client_id`. */
  readonly identities?: readonly ManagedIdentity[];
  /** Default: a random tenant id. */
  readonly tenantId?: string;
}

const API_VERSION = '2019-08-01';
/** App Service hands out tokens that live about a day. */
const TOKEN_LIFETIME_S = 24 * 3600;
/** Query parameters that pick a user-assigned identity by something other than its client id. */
const OTHER_SELECTORS = ['object_id', 'principal_id', 'mi_res_id', 'msi_res_id'];

/**
 * Starts the endpoint on 127.0.0.1. It answers `GET /msi/token?api-version=2019-08-01&resource=<uri>[&client_id=<id>]`
 * with header `x-identity-header` exactly like App Service: `{ access_token, expires_on: "<epoch s>", resource,
 * token_type: "Bearer", client_id }`, where the access token is an HS256 JWT (`aud` = resource, `iss`, `tid`,
 * `oid`, `appid`, `iat`/`nbf`/`exp`). An unknown `client_id` gets App Service's
 * 400 `{"statusCode":400,"message":"Unable to load the proper Managed Identity."}`.
 *
 * How the real `ManagedIdentityCredential` (@azure/identity 4.13.1, msal-node 5.6.0) finds this endpoint:
 * MSAL reads `IDENTITY_ENDPOINT` and `IDENTITY_HEADER` from `process.env` when the process makes its
 * **first managed identity token request** (not at construction), and then keeps that endpoint, the HTTP
 * pipeline (retry options) of the credential that made the request, and every token it got in
 * module-level state for all later credential instances, whatever the environment says by then. Callers
 * must therefore set both variables before the first `getToken` of the process, use one such endpoint per
 * process (vitest runs each test file in its own process), build credentials with the same options, and
 * not expect a new credential to ask again for an identity and resource the process already holds a
 * token for.
 */
export async function startManagedIdentityStandIn(options: ManagedIdentityStandInOptions = {}): Promise<ManagedIdentityStandIn> {
  const tenantId = options.tenantId ?? randomUUID();
  const header = randomBytes(16).toString('hex');
  const signingKey = randomBytes(32);
  const systemIdentity: ManagedIdentity = { clientId: randomUUID(), principalId: randomUUID() };
  const userAssigned = new Map((options.identities ?? []).map((id) => [id.clientId.toLowerCase(), id]));
  const seen: ManagedIdentityRequest[] = [];
  let failure: 'none' | 'unavailable' = 'none';

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname !== '/msi/token') return reply(res, 404, { statusCode: 404, message: `No route for ${url.pathname}.` });
    if (req.method !== 'GET') return reply(res, 405, { statusCode: 405, message: `Method ${req.method ?? ''} is not allowed.` });

    const given = req.headers['x-identity-header'];
    if (given === undefined) return reply(res, 400, { statusCode: 400, message: 'The X-IDENTITY-HEADER header is missing.' });
    if (given !== header) return reply(res, 401, { statusCode: 401, message: 'The X-IDENTITY-HEADER header is invalid.' });

    const resource = url.searchParams.get('resource') ?? '';
    const clientId = url.searchParams.get('client_id') ?? undefined;
    seen.push(clientId === undefined ? { resource } : { resource, clientId });

    if (failure === 'unavailable') return reply(res, 503, { statusCode: 503, message: 'The managed identity endpoint is temporarily unavailable.' });
    if (url.searchParams.get('api-version') !== API_VERSION) {
      return reply(res, 400, { statusCode: 400, message: `Unsupported api-version '${url.searchParams.get('api-version') ?? ''}'; expected ${API_VERSION}.` });
    }
    if (!resource) return reply(res, 400, { statusCode: 400, message: "The 'resource' query parameter is required." });

    // This endpoint knows identities by client id only; any other selector cannot resolve to one.
    const unresolvable = OTHER_SELECTORS.some((name) => url.searchParams.has(name));
    const identity = clientId === undefined ? (unresolvable ? undefined : systemIdentity) : userAssigned.get(clientId.toLowerCase());
    if (!identity) return reply(res, 400, { statusCode: 400, message: 'Unable to load the proper Managed Identity.', correlationId: randomUUID() });

    const now = Math.floor(Date.now() / 1000);
    const claims: AccessTokenClaims = {
      aud: resource,
      iss: `https://sts.windows.net/${tenantId}/`,
      iat: now,
      nbf: now,
      exp: now + TOKEN_LIFETIME_S,
      tid: tenantId,
      oid: identity.principalId,
      sub: identity.principalId,
      appid: identity.clientId,
      // 2: the client authenticated with a certificate, which is how Entra ID labels managed identities.
      appidacr: '2',
      idtyp: 'app',
      ver: '1.0',
    };
    reply(res, 200, {
      access_token: signHs256Jwt(claims, signingKey),
      // The 2019-08-01 protocol sends expires_on as a string of epoch seconds.
      expires_on: String(claims.exp),
      resource,
      token_type: 'Bearer',
      client_id: identity.clientId,
    });
  };

  const server = createServer(handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${port}/msi/token`,
    header,
    signingKey,
    tenantId,
    systemIdentity,
    requests: () => [...seen],
    setFailure: (next) => {
      failure = next;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}
