import { createHash } from 'node:crypto';
import { isValidContentId } from './feedUrls.js';
import type { ContentListing } from './model.js';
import { DAY_MS } from './windows.js';

/**
 * Checks one entry of a `/subscriptions/content` page. An entry a poller cannot use is rejected with a
 * reason (it is recorded, never skipped silently, and never fails the page); an entry with a gap it can
 * fill is repaired with a note. What is usable and what is not:
 *
 * - `contentId` must be a string that can name the blob in a URL path and a Table row key (the same rule
 *   the delivery side applies: letters, digits and `$ _ . - ~`, up to 512 characters). Otherwise the entry
 *   is unusable; its ledger row gets a stable synthesized id (`unusable-` + a hash of what was served).
 * - `contentType` must be this stream's (compared without case); a missing one is taken to be the stream's.
 * - `contentCreated` must be a time: it places the blob in its window and hour.
 * - `contentUri` may be missing or foreign: the blob is fetched by its id from the configured host anyway
 *   (a missing one is rebuilt here, a foreign one is rebuilt and counted by the delivery side).
 * - `contentExpiration` may be missing or unreadable: it is taken to be `contentCreated` + 7 days, the
 *   documented retention, with a note (an early guess only makes delivery give up on the blob sooner).
 */

/** An entry that cannot be used, as recorded in the ledger (`failed`), the quarantine and a pipeline event. */
export interface RejectedListing {
  /** The entry's contentId when it can be a row key, else `unusable-<hash>` (stable: the same entry gets the same id). */
  readonly contentId: string;
  readonly reason: string;
  /** The entry's JSON as served (at most 64 KiB). */
  readonly entry: string;
  /** `contentCreated` when it parsed (ISO). */
  readonly contentCreated?: string;
  readonly contentUri?: string;
  readonly contentExpiration?: string;
}

/** A usable entry that needed a field filled in. */
export interface RepairedListing {
  readonly contentId: string;
  readonly repairs: readonly string[];
}

export type ListingEntryVerdict =
  | { readonly ok: true; readonly listing: ContentListing; readonly repairs: readonly string[] }
  | { readonly ok: false; readonly rejected: RejectedListing };

export interface ListingEntryContext {
  /** The stream's content type. */
  readonly contentType: string;
  /** The canonical content URI of a content id on the tenant's configured host. */
  readonly canonicalUri: (contentId: string) => string;
}

const MAX_ENTRY_CHARS = 64 * 1024;
/** The documented lifetime of a blob, used when an entry does not say when it expires. */
export const ASSUMED_RETENTION_MS = 7 * DAY_MS;

export function checkListingEntry(value: unknown, context: ListingEntryContext): ListingEntryVerdict {
  const entry = (JSON.stringify(value) ?? String(value)).slice(0, MAX_ENTRY_CHARS);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, rejected: { contentId: synthesizedId(entry), reason: 'the listing entry is not a JSON object', entry } };
  }
  const v = value as Record<string, unknown>;
  const problems: string[] = [];
  const repairs: string[] = [];

  const idUsable = isValidContentId(v.contentId);
  if (!idUsable) {
    problems.push(typeof v.contentId === 'string' ? `contentId ${quote(v.contentId)} cannot name a blob (whitespace, a character outside letters, digits and $ _ . - ~, or over 512 characters)` : 'contentId is missing or not a string');
  }
  if (typeof v.contentType === 'string') {
    if (v.contentType.toLowerCase() !== context.contentType.toLowerCase()) problems.push(`contentType ${quote(v.contentType)} is not this stream's (${context.contentType})`);
  } else {
    repairs.push('contentType missing; taken to be the stream\'s');
  }
  // The stream's spelling: a case variant of it is the same content type.
  const contentType = context.contentType;
  const created = typeof v.contentCreated === 'string' ? Date.parse(v.contentCreated) : NaN;
  if (Number.isNaN(created)) problems.push(typeof v.contentCreated === 'string' ? `contentCreated ${quote(v.contentCreated)} is not a time` : 'contentCreated is missing');
  const contentCreated = Number.isNaN(created) ? undefined : new Date(created).toISOString();
  const expires = typeof v.contentExpiration === 'string' ? Date.parse(v.contentExpiration) : NaN;
  const contentUri = typeof v.contentUri === 'string' && v.contentUri.length <= 2048 ? v.contentUri : undefined;

  if (problems.length > 0) {
    const rawId = typeof v.contentId === 'string' ? v.contentId : entry;
    return {
      ok: false,
      rejected: {
        contentId: idUsable ? (v.contentId as string) : synthesizedId(rawId),
        reason: `unusable listing entry: ${problems.join('; ')}`,
        entry,
        contentCreated,
        contentUri,
        contentExpiration: Number.isNaN(expires) ? undefined : new Date(expires).toISOString(),
      },
    };
  }

  const contentId = v.contentId as string;
  let contentExpiration: string;
  if (Number.isNaN(expires)) {
    contentExpiration = new Date(created + ASSUMED_RETENTION_MS).toISOString();
    repairs.push('contentExpiration missing or unreadable; taken to be contentCreated + 7 days');
  } else {
    contentExpiration = new Date(expires).toISOString();
  }
  let uri = contentUri;
  if (uri === undefined) {
    uri = context.canonicalUri(contentId);
    repairs.push('contentUri missing; rebuilt from the contentId');
  }
  return { ok: true, listing: { contentType, contentId, contentUri: uri, contentCreated: contentCreated!, contentExpiration }, repairs };
}

/** `unusable-` + 32 hex digits of SHA-256: a valid content id and row key, the same for the same input. */
export function synthesizedId(text: string): string {
  return `unusable-${createHash('sha256').update(text).digest('hex').slice(0, 32)}`;
}

function quote(text: string): string {
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text);
}
