import { uuidV5 } from '../uuid.js';
import { EVENT_ID_NAMESPACE } from './event.js';

/**
 * Pieces both normalizers (audit records and Defender entities) share: the raw capture, field
 * ordering, the RawSha256-derived EventId of an entity without a usable id, and error text.
 */

/** The value as it goes into `Raw`, and the text its hash and size are taken over. */
export interface RawCapture {
  raw: unknown;
  text: string;
  warnings: string[];
}

/** The event with its fields in `order`; undefined fields are left out, warnings only when there are any. */
export function assemble<E>(fields: Partial<E>, order: readonly (keyof E)[], warnings: string[]): E {
  if (warnings.length > 0) (fields as { ParseWarnings?: string[] }).ParseWarnings = warnings;
  const event: Partial<E> = {};
  for (const key of order) {
    const value = fields[key];
    if (value !== undefined) event[key] = value;
  }
  return event as E;
}

/**
 * Sets `EventId` from `RawSha256` unless the mapping found the entity's own id: the UUIDv5 of
 * `<identity>|<tenant>|<kind>sha256:<RawSha256>`. Composed and hashed only when needed: most records
 * have an id, and a UUIDv5 per record is not free.
 */
export function withFallbackEventId<E extends { EventId?: string; RawSha256?: string; OrganizationId?: string }>(fields: E, identity: string, kind = ''): E {
  if (fields.EventId === undefined) fields.EventId = uuidV5(`${identity}|${fields.OrganizationId}|${kind}sha256:${fields.RawSha256}`, EVENT_ID_NAMESPACE);
  return fields;
}

/** An error's message, defensively and briefly: a hostile record can throw anything from a getter. */
export function describe(error: unknown): string {
  try {
    return error instanceof Error ? String(error.message).slice(0, 200) : typeof error;
  } catch {
    return 'unknown error';
  }
}
