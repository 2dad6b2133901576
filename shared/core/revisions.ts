import { createHash } from 'node:crypto';
import { compareGraphTimestamps } from './model.js';

/**
 * The Defender XDR revisions a stream has published in the overlap before its cursor, kept on the cursor
 * row (`recentRevisions`) so a rescan of a quiet stream does not send them again. A revision is
 * `id|lastUpdateDateTime`, kept as 12 base64url characters of its SHA-256 (72 bits: a collision, which
 * would skip one revision, is not a practical concern at a few thousand revisions per stream).
 */

/** Most revisions kept: 13 characters each, well under a Table string property's 32K characters. */
export const MAX_RECENT_REVISIONS = 2000;

export function revisionHash(id: string, lastUpdateDateTime: string): string {
  return createHash('sha256').update(`${id}|${lastUpdateDateTime}`).digest('base64url').slice(0, 12);
}

export function parseRevisions(text: string | undefined): Set<string> {
  return new Set(text ? text.split(',').filter((h) => h.length === 12) : []);
}

/**
 * The revisions to keep: those seen at or after `since` (the next scan's start), newest first, then (when
 * the scan did not finish, so `since` is undefined and the range is scanned again) the ones kept before.
 */
export function keepRevisions(seen: ReadonlyMap<string, string>, since: string | undefined, previous: ReadonlySet<string>): string {
  const inRange = [...seen].filter(([, at]) => since === undefined || compareGraphTimestamps(at, since) >= 0).sort(([, a], [, b]) => compareGraphTimestamps(b, a)).map(([hash]) => hash);
  const kept = new Set(inRange);
  if (since === undefined) for (const hash of previous) kept.add(hash);
  return [...kept].slice(0, MAX_RECENT_REVISIONS).join(',');
}
