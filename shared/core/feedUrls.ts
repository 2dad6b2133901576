/**
 * Pure URL rules for the Management Activity API. A bearer token may only ever be sent to the
 * stream's management host over https, under `/api/v1.0/{tenantId}/activity/feed/`;
 * these functions decide whether a URL that came from a response (NextPageUri, contentUri) qualifies,
 * and rebuild a content URI from its id when it does not.
 */

/** `https://host[:port]/api/v1.0/{tenant}/activity/feed` (no trailing slash). */
export function feedRoot(managementEndpoint: string, tenantId: string): string {
  return `${managementEndpoint}/api/v1.0/${tenantId}/activity/feed`;
}

// Real content ids look like `20201212000045238027763$20201212002126942044256$audit_exchange$Audit_Exchange$na0017`.
// They are opaque, but never contain `/`, `?`, `#`, `%` or whitespace; anything that does is refused
// rather than encoded, so a hostile id can never change the path it is appended to.
const CONTENT_ID = /^[A-Za-z0-9$_.\-~]{1,512}$/;

export function isValidContentId(contentId: unknown): contentId is string {
  return typeof contentId === 'string' && CONTENT_ID.test(contentId) && contentId !== '.' && contentId !== '..';
}

/** The canonical content URI for a content id; the `$` separators stay unescaped, as the API serves them. */
export function contentUriFor(managementEndpoint: string, tenantId: string, contentId: string): string {
  if (!isValidContentId(contentId)) throw new RangeError('invalid content id');
  return `${feedRoot(managementEndpoint, tenantId)}/audit/${contentId}`;
}

export type FeedUrlVerdict =
  | { readonly ok: true; readonly url: URL }
  | { readonly ok: false; readonly problem: 'unparseable' | 'not-https' | 'foreign-host' | 'foreign-path' | 'credentials-in-url' };

/**
 * Whether `candidate` may receive the tenant's bearer token: https, exactly the management origin
 * (host and port), and a path under the tenant's feed root. The API's own NextPageUri samples use
 * `/api/v1/` instead of `/api/v1.0/`, so both prefixes are accepted.
 */
export function checkFeedUrl(candidate: string, managementEndpoint: string, tenantId: string): FeedUrlVerdict {
  let url: URL;
  try {
    url = new URL(candidate);
  } catch {
    return { ok: false, problem: 'unparseable' };
  }
  if (url.protocol !== 'https:') return { ok: false, problem: 'not-https' };
  if (url.username || url.password) return { ok: false, problem: 'credentials-in-url' };
  if (url.origin !== new URL(managementEndpoint).origin) return { ok: false, problem: 'foreign-host' };
  const tenant = tenantId.toLowerCase();
  const path = url.pathname.toLowerCase();
  // URL parsing has already resolved any `..` segments, so a prefix check on the normalized path is sound.
  const underFeed = [`/api/v1.0/${tenant}/activity/feed/`, `/api/v1/${tenant}/activity/feed/`].some((p) => path.startsWith(p));
  return underFeed ? { ok: true, url } : { ok: false, problem: 'foreign-path' };
}

/**
 * Formats an instant for `startTime`/`endTime`: `YYYY-MM-DDTHH:MM:SS`, UTC, the most precise form
 * the API documents. Milliseconds are dropped, so callers plan whole-second windows.
 */
export function formatApiTime(epochMs: number): string {
  return new Date(epochMs).toISOString().slice(0, 19);
}
