/**
 * A fake Entra ID authority: the v2 metadata document MSAL reads, the v1 and v2 client-credentials token
 * endpoints (secret or certificate assertion), and the access tokens the activity API and Graph verify.
 */
import { constants, createHash, createHmac, randomUUID, timingSafeEqual, verify } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { AppState, TenantState } from './tenants.js';

/** A reply of the token endpoint: status and JSON body. */
export interface EntraReply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

/** Claims the simulator puts in an access token. */
export interface AccessTokenClaims {
  aud: string;
  iss: string;
  iat: number;
  nbf: number;
  exp: number;
  tid: string;
  appid: string;
  appidacr: string;
  idtyp: 'app';
  oid: string;
  sub: string;
  roles?: string[];
  ver: '1.0';
}

const TOKEN_LIFETIME_S = 3600;
const EXPIRES_IN_S = 3599;
const CLOCK_SKEW_S = 300;
const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const NO_CACHE = { 'Cache-Control': 'no-store, no-cache', Pragma: 'no-cache' };

/** What a trusted managed identity holds in each resource (its app-role grants). */
const MANAGED_IDENTITY_ROLES = { management: ['ActivityFeed.Read'], graph: ['SecurityIncident.Read.All', 'SecurityAlert.Read.All', 'AuditLogsQuery.Read.All'] };

const b64url = (value: string | Buffer) => Buffer.from(value).toString('base64url');
const normalizeAudience = (aud: string) => aud.trim().replace(/\/+$/, '').toLowerCase();

/** Token endpoint and access-token verifier for the simulated tenants. */
export class Entra {
  constructor(
    private readonly tenants: ReadonlyMap<string, TenantState>,
    /** HMAC key of the access tokens; random per server, so tokens of another server are rejected. */
    private readonly signingKey: Buffer,
    /** Audiences of the activity API and of Graph; tokens for each carry the app's roles in that resource. */
    private readonly audiences: { readonly management: string; readonly graph: string },
    /**
     * Keys of other token issuers the API trusts: a managed identity stand-in whose identity has been
     * granted ActivityFeed.Read and the Graph security read roles. Its tokens carry no roles claim, so
     * the grants are applied here.
     */
    private readonly managedIdentityKeys: readonly Buffer[] = [],
  ) {}

  /** `GET /{tenant}/v2.0/.well-known/openid-configuration` — MSAL requires all four endpoint fields. */
  openIdConfiguration(origin: string, tenantSegment: string, headers: IncomingHttpHeaders): EntraReply {
    const tenant = this.tenants.get(tenantSegment.toLowerCase());
    if (!tenant) return this.unknownTenant(tenantSegment, headers);
    const base = `${origin}/${tenant.tenantId}`;
    return {
      status: 200,
      headers: NO_CACHE,
      body: {
        token_endpoint: `${base}/oauth2/v2.0/token`,
        token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
        jwks_uri: `${base}/discovery/v2.0/keys`,
        response_modes_supported: ['query', 'fragment', 'form_post'],
        subject_types_supported: ['pairwise'],
        id_token_signing_alg_values_supported: ['RS256'],
        response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
        scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
        issuer: `${base}/v2.0`,
        request_uri_parameter_supported: false,
        authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
        device_authorization_endpoint: `${base}/oauth2/v2.0/devicecode`,
        end_session_endpoint: `${base}/oauth2/v2.0/logout`,
        tenant_region_scope: 'NA',
        cloud_instance_name: 'microsoftonline.com',
      },
    };
  }

  /**
   * `POST /{tenant}/oauth2/v2.0/token` (scope) or `/{tenant}/oauth2/token` (resource): the client-credentials
   * grant with a secret (form or HTTP Basic) or a certificate assertion (RS256 + x5t, PS256 + x5t#S256).
   * `origins` are the URLs a client may have addressed this server by (for the assertion's `aud`).
   */
  token(version: 'v1' | 'v2', tenantSegment: string, form: URLSearchParams, headers: IncomingHttpHeaders, origins: readonly string[]): EntraReply {
    const tenant = this.tenants.get(tenantSegment.toLowerCase());
    if (!tenant) return this.unknownTenant(tenantSegment, headers);
    const basic = parseBasic(headers.authorization);
    const clientId = form.get('client_id') ?? basic?.clientId;
    const grant = form.get('grant_type');
    if (grant !== 'client_credentials') {
      return this.error(headers, 400, 'unsupported_grant_type', 70003, `The app requested an unsupported grant type '${grant ?? ''}'.`);
    }
    if (!clientId) return this.error(headers, 400, 'invalid_request', 900144, "The request body must contain the following parameter: 'client_id'.");

    const requested = version === 'v2' ? form.get('scope') : form.get('resource');
    if (!requested) {
      return this.error(headers, 400, 'invalid_request', 900144, `The request body must contain the following parameter: '${version === 'v2' ? 'scope' : 'resource'}'.`);
    }
    let resource = requested.trim();
    if (version === 'v2') {
      const scope = resource.split(/\s+/).find((s) => s.endsWith('/.default'));
      if (!scope) {
        return this.error(headers, 400, 'invalid_scope', 1002012, `The provided value for scope ${requested} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`);
      }
      resource = scope.slice(0, -'/.default'.length);
    }
    resource = resource.replace(/\/+$/, '');

    const app = tenant.apps.get(clientId.toLowerCase());
    if (!app) {
      return this.error(headers, 400, 'unauthorized_client', 700016,
        `Application with identifier '${clientId}' was not found in the directory '${tenant.tenantId}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`);
    }

    const assertion = form.get('client_assertion');
    const secret = form.get('client_secret') ?? basic?.secret;
    let appidacr: string;
    if (assertion !== null) {
      if (form.get('client_assertion_type') !== ASSERTION_TYPE) {
        return this.error(headers, 401, 'invalid_client', 700027, `The client_assertion_type must be '${ASSERTION_TYPE}'.`);
      }
      const audiences = new Set(origins.flatMap((o) => [tenantSegment, tenant.tenantId].flatMap((t) => [`${o}/${t}/oauth2/v2.0/token`, `${o}/${t}/oauth2/token`].map(normalizeAudience))));
      const problem = checkAssertion(assertion, app, audiences);
      if (problem) return this.error(headers, 401, 'invalid_client', 700027, problem);
      appidacr = '2';
    } else if (secret !== undefined) {
      if (app.secret === undefined || !sameText(secret, app.secret)) {
        return this.error(headers, 401, 'invalid_client', 7000215,
          `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${app.clientId}'.`);
      }
      appidacr = '1';
    } else {
      return this.error(headers, 401, 'invalid_client', 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.");
    }

    const now = Math.floor(Date.now() / 1000);
    const oid = guidFrom(`${tenant.tenantId}|${app.clientId}`);
    const claims: AccessTokenClaims = {
      aud: resource,
      iss: `https://sts.windows.net/${tenant.tenantId}/`,
      iat: now,
      nbf: now,
      exp: now + TOKEN_LIFETIME_S,
      tid: tenant.tenantId,
      appid: app.clientId,
      appidacr,
      idtyp: 'app',
      oid,
      sub: oid,
      // Roles belong to the resource that defines them; other audiences get none.
      ...(normalizeAudience(resource) === normalizeAudience(this.audiences.management) ? { roles: [...app.roles] } : {}),
      ...(normalizeAudience(resource) === normalizeAudience(this.audiences.graph) ? { roles: [...app.graphRoles] } : {}),
      ver: '1.0',
    };
    const accessToken = this.sign(claims);
    const body =
      version === 'v2'
        ? { token_type: 'Bearer', expires_in: EXPIRES_IN_S, ext_expires_in: EXPIRES_IN_S, access_token: accessToken }
        : {
            // The v1 endpoint sends its numbers as strings.
            token_type: 'Bearer',
            expires_in: String(EXPIRES_IN_S),
            ext_expires_in: String(EXPIRES_IN_S),
            expires_on: String(now + EXPIRES_IN_S),
            not_before: String(now),
            resource: requested,
            access_token: accessToken,
          };
    return { status: 200, headers: NO_CACHE, body };
  }

  /**
   * The claims of an access token this server (or a trusted managed identity) issued for `resource`
   * (default the activity API), or undefined if it is forged, expired or for another audience.
   */
  verifyAccessToken(token: string, resource: 'management' | 'graph' = 'management'): AccessTokenClaims | undefined {
    const parts = token.split('.');
    if (parts.length !== 3) return undefined;
    const [header, payload, signature] = parts as [string, string, string];
    const given = Buffer.from(signature, 'base64url');
    const signedBy = (key: Buffer) => {
      const expected = createHmac('sha256', key).update(`${header}.${payload}`).digest();
      return given.length === expected.length && timingSafeEqual(given, expected);
    };
    const external = !signedBy(this.signingKey);
    if (external && !this.managedIdentityKeys.some(signedBy)) return undefined;
    let claims: AccessTokenClaims;
    try {
      claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as AccessTokenClaims;
    } catch {
      return undefined;
    }
    const now = Date.now() / 1000;
    if (!(claims.exp > now) || claims.nbf > now + CLOCK_SKEW_S) return undefined;
    if (normalizeAudience(String(claims.aud)) !== normalizeAudience(this.audiences[resource])) return undefined;
    if (claims.iss !== `https://sts.windows.net/${claims.tid}/`) return undefined;
    return external ? { ...claims, roles: MANAGED_IDENTITY_ROLES[resource] } : claims;
  }

  private sign(claims: AccessTokenClaims): string {
    const input = `${b64url(JSON.stringify({ typ: 'JWT', alg: 'HS256' }))}.${b64url(JSON.stringify(claims))}`;
    return `${input}.${createHmac('sha256', this.signingKey).update(input).digest('base64url')}`;
  }

  private unknownTenant(tenantSegment: string, headers: IncomingHttpHeaders): EntraReply {
    return this.error(headers, 400, 'invalid_request', 90002,
      `Tenant '${tenantSegment}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.`);
  }

  /** An Entra-style error body; the correlation id echoes the client's `client-request-id`. */
  private error(headers: IncomingHttpHeaders, status: number, error: string, code: number, text: string): EntraReply {
    const traceId = randomUUID();
    const requestId = headers['client-request-id'];
    const correlationId = typeof requestId === 'string' && requestId ? requestId : randomUUID();
    const timestamp = new Date().toISOString().replace('T', ' ').slice(0, 19) + 'Z';
    return {
      status,
      headers: NO_CACHE,
      body: {
        error,
        error_description: `AADSTS${code}: ${text} Trace ID: ${traceId} Correlation ID: ${correlationId} Timestamp: ${timestamp}`,
        error_codes: [code],
        timestamp,
        trace_id: traceId,
        correlation_id: correlationId,
        error_uri: `https://login.microsoftonline.com/error?code=${code}`,
      },
    };
  }
}

/** Why a client assertion is refused, or undefined when it is valid for `app`. */
function checkAssertion(assertion: string, app: AppState, audiences: ReadonlySet<string>): string | undefined {
  const parts = assertion.split('.');
  if (parts.length !== 3) return 'Client assertion is not a valid JWT.';
  const [headerPart, payloadPart, signaturePart] = parts as [string, string, string];
  let header: Record<string, unknown>;
  let payload: Record<string, unknown>;
  try {
    header = JSON.parse(Buffer.from(headerPart, 'base64url').toString('utf8')) as Record<string, unknown>;
    payload = JSON.parse(Buffer.from(payloadPart, 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch {
    return 'Client assertion is not a valid JWT.';
  }
  const cert = app.certificate;
  const notRegistered = 'The certificate with identifier used to sign the client assertion is not registered on application.';
  if (!cert) return notRegistered;
  const der = cert.raw;
  const input = Buffer.from(`${headerPart}.${payloadPart}`);
  const signature = Buffer.from(signaturePart, 'base64url');
  const unpadded = (v: unknown) => (typeof v === 'string' ? v.replace(/=+$/, '') : undefined);
  let valid: boolean;
  if (header.alg === 'RS256') {
    if (unpadded(header.x5t) !== b64url(createHash('sha1').update(der).digest())) return notRegistered;
    valid = verify('sha256', input, cert.publicKey, signature);
  } else if (header.alg === 'PS256') {
    if (unpadded(header['x5t#S256']) !== b64url(createHash('sha256').update(der).digest())) return notRegistered;
    valid = verify('sha256', input, { key: cert.publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST }, signature);
  } else {
    return `Client assertion uses an unsupported signing algorithm '${String(header.alg)}'.`;
  }
  if (!valid) return 'Client assertion failed signature validation.';
  if (typeof payload.aud !== 'string' || !audiences.has(normalizeAudience(payload.aud))) return 'Client assertion audience claim does not match the token endpoint.';
  if (payload.iss !== app.clientId || payload.sub !== app.clientId) return 'Client assertion issuer and subject must both be the client id.';
  const now = Date.now() / 1000;
  if (typeof payload.exp !== 'number' || payload.exp <= now) return 'Client assertion is expired.';
  if (typeof payload.nbf === 'number' && payload.nbf > now + CLOCK_SKEW_S) return 'Client assertion is not yet valid.';
  return undefined;
}

/** `Authorization: Basic base64(urlencode(id):urlencode(secret))` (RFC 6749 §2.3.1). */
function parseBasic(authorization: string | undefined): { clientId: string; secret: string } | undefined {
  const m = /^Basic\s+(\S+)$/i.exec(authorization ?? '');
  if (!m) return undefined;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  try {
    return { clientId: decodeURIComponent(decoded.slice(0, colon)), secret: decodeURIComponent(decoded.slice(colon + 1)) };
  } catch {
    return undefined;
  }
}

function sameText(a: string, b: string): boolean {
  const x = createHash('sha256').update(a).digest();
  const y = createHash('sha256').update(b).digest();
  return timingSafeEqual(x, y);
}

function guidFrom(key: string): string {
  const h = createHash('sha256').update(key).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}
