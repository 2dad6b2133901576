import { createHmac, timingSafeEqual } from 'node:crypto';

/** A shared access policy: the key name and the key the broker verifies SAS tokens against. */
export interface SasKey {
  keyName: string;
  key: string;
}

/** Outcome of checking a put-token SAS token; `reason` never contains the token or the key. */
export type SasVerdict =
  | { ok: true; expiresAtMs: number }
  | { ok: false; reason: string };

const PREFIX = 'SharedAccessSignature ';

/**
 * Verifies a `SharedAccessSignature sr=..&sig=..&se=..&skn=..` token the way Event Hubs does: the key name
 * must match, the HMAC-SHA256 of `<sr as sent>\n<se>` under the key must equal `sig`, `se` must lie in the
 * future, and the signed resource must cover `audience` (equal to it or a path prefix of it, so a namespace
 * token covers every entity). On success it returns the token's expiry.
 */
export function verifySasToken(token: string, audience: string, policy: SasKey, nowMs: number): SasVerdict {
  if (!token.startsWith(PREFIX)) return { ok: false, reason: 'not a SharedAccessSignature token' };
  const fields = new Map<string, string>();
  for (const pair of token.slice(PREFIX.length).split('&')) {
    const eq = pair.indexOf('=');
    if (eq > 0) fields.set(pair.slice(0, eq), pair.slice(eq + 1));
  }
  const sr = fields.get('sr');
  const sig = fields.get('sig');
  const se = fields.get('se');
  const skn = fields.get('skn');
  if (sr === undefined || sig === undefined || se === undefined || skn === undefined) {
    return { ok: false, reason: 'token lacks one of sr, sig, se, skn' };
  }
  if (safeDecode(skn) !== policy.keyName) return { ok: false, reason: 'unknown shared access key name' };
  const expiresAtSeconds = Number(se);
  if (!Number.isInteger(expiresAtSeconds)) return { ok: false, reason: 'se is not an integer' };
  if (expiresAtSeconds * 1000 <= nowMs) return { ok: false, reason: 'token expired' };
  // The signature covers sr exactly as it appears in the token (the SDK URI-encodes it before signing).
  const expected = createHmac('sha256', policy.key).update(`${sr}\n${se}`).digest();
  const given = Buffer.from(safeDecode(sig) ?? '', 'base64');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return { ok: false, reason: 'signature does not match the shared access key' };
  }
  const resource = safeDecode(sr);
  if (resource === undefined || !covers(entityPath(resource), entityPath(audience))) {
    return { ok: false, reason: 'token resource does not cover the requested audience' };
  }
  return { ok: true, expiresAtMs: expiresAtSeconds * 1000 };
}

/**
 * The entity part of an audience or address, lower-cased and without scheme, host or surrounding slashes:
 * `sb://127.0.0.1:5672/Audit/Partitions/0` and `audit/Partitions/0` both give `audit/partitions/0`; a
 * namespace audience gives the empty string.
 */
export function entityPath(audienceOrAddress: string): string {
  return audienceOrAddress
    .replace(/^[a-z][a-z0-9+.-]*:\/\/[^/]*/i, '')
    .replace(/^\/+|\/+$/g, '')
    .toLowerCase();
}

/** Whether a grant for entity path `resource` (from {@link entityPath}) authorizes entity path `target`. */
export function covers(resource: string, target: string): boolean {
  return resource === '' || target === resource || target.startsWith(`${resource}/`);
}

function safeDecode(value: string): string | undefined {
  try {
    return decodeURIComponent(value);
  } catch {
    return undefined;
  }
}
