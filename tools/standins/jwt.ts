/**
 * HS256 JSON Web Tokens for the stand-ins: the managed identity stand-in signs its access tokens with a
 * random key, and the stand-ins that accept them (Key Vault) verify them with the same key, so a token
 * minted anywhere else fails the signature check.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** The claims of an app access token as Entra ID issues them for a managed identity (v1 format). */
export interface AccessTokenClaims {
  readonly aud: string;
  readonly iss: string;
  readonly iat: number;
  readonly nbf: number;
  readonly exp: number;
  readonly tid: string;
  readonly oid: string;
  readonly sub: string;
  readonly appid: string;
  readonly appidacr: string;
  readonly idtyp: 'app';
  readonly ver: '1.0';
}

/** The outcome of {@link verifyHs256Jwt}: the decoded claims, or why the token is not genuine. */
export type JwtVerification =
  | { readonly ok: true; readonly claims: Readonly<Record<string, unknown>> }
  | { readonly ok: false; readonly reason: string };

const HEADER = Buffer.from(JSON.stringify({ typ: 'JWT', alg: 'HS256' })).toString('base64url');

/** Signs `claims` as a compact HS256 JWT with `key`. */
export function signHs256Jwt(claims: object, key: Buffer): string {
  const input = `${HEADER}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
  return `${input}.${createHmac('sha256', key).update(input).digest('base64url')}`;
}

/**
 * Checks the form, the `alg` and the HS256 signature of a compact JWT against `key` (constant-time) and
 * returns its claims. Audience, issuer and lifetime are the relying party's business, not this function's.
 */
export function verifyHs256Jwt(token: string, key: Buffer): JwtVerification {
  const parts = token.split('.');
  if (parts.length !== 3) return { ok: false, reason: 'the token is not a compact JWT' };
  const [header, payload, signature] = parts as [string, string, string];
  let alg: unknown;
  let claims: unknown;
  try {
    alg = (JSON.parse(Buffer.from(header, 'base64url').toString('utf8')) as { alg?: unknown }).alg;
    claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    return { ok: false, reason: 'the token is not valid base64url JSON' };
  }
  // Accepting whatever `alg` the token names is the classic JWT forgery; only HS256 is issued here.
  if (alg !== 'HS256') return { ok: false, reason: `unexpected signing algorithm ${String(alg)}` };
  const expected = createHmac('sha256', key).update(`${header}.${payload}`).digest();
  const given = Buffer.from(signature, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'the signature is invalid' };
  if (typeof claims !== 'object' || claims === null || Array.isArray(claims)) return { ok: false, reason: 'the claims are not a JSON object' };
  return { ok: true, claims: claims as Record<string, unknown> };
}
