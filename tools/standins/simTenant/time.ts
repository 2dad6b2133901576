/** Time formats of the Management Activity API and of Microsoft Graph. */

/** Durations in milliseconds. */
export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

// YYYY-MM-DD, YYYY-MM-DDTHH:MM, YYYY-MM-DDTHH:MM:SS (documented, UTC) plus RFC 3339 fractions and zones.
// A '+' in an unencoded query string arrives as a space, so a space is accepted as the offset sign.
const API_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?(Z|[+\- ]\d{2}:?\d{2})?$/i;

/** Parses a `startTime`/`endTime` value; zone-less means UTC. Returns undefined when it is not a valid time. */
export function parseApiTime(value: string): number | undefined {
  const m = API_TIME.exec(value.trim());
  if (!m) return undefined;
  const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '', zone] = m;
  const ms = Number(frac.padEnd(3, '0').slice(0, 3));
  const t = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), ms);
  const back = new Date(t);
  // Date.UTC rolls 2024-02-31 over to March; a real calendar date must survive the round trip.
  if (back.getUTCMonth() !== Number(mo) - 1 || back.getUTCDate() !== Number(d) || back.getUTCHours() !== Number(h) || back.getUTCMinutes() !== Number(mi) || Number(s) > 59) {
    return undefined;
  }
  if (!zone || zone.toUpperCase() === 'Z') return t;
  const sign = zone[0] === '-' ? -1 : 1;
  const digits = zone.slice(1).replace(':', '');
  const offset = (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2))) * MINUTE;
  return t - sign * offset;
}

/** Listing timestamp: millisecond precision with Z, e.g. 2015-05-23T17:35:00.000Z. */
export function isoMs(ms: number): string {
  return new Date(ms).toISOString();
}

/** Audit record CreationTime: no zone designator, no fraction, e.g. 2015-06-29T20:03:19. */
export function zoneless(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19);
}

/** Content id timestamp: yyyyMMddHHmmss followed by 7 fraction digits (ms + 4 more). */
export function contentIdStamp(ms: number, extraDigits: string): string {
  const iso = new Date(ms).toISOString();
  return iso.slice(0, 19).replace(/[-T:]/g, '') + iso.slice(20, 23) + extraDigits;
}

/** Reads the epoch ms back from a {@link contentIdStamp}; undefined when malformed. */
export function parseContentIdStamp(stamp: string): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{3})\d{4}$/.exec(stamp);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, ms] = m;
  return Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), Number(ms));
}

/** A Graph timestamp: 7 fraction digits and Z (`2026-11-20T10:00:00.1234567Z`), the ms followed by 4 more digits. */
export function graphStamp(ms: number, extraDigits: string): string {
  return `${new Date(ms).toISOString().slice(0, 23)}${extraDigits}Z`;
}

const GRAPH_TIME = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/i;

/**
 * A key that orders Graph timestamps as the instants they name, to the nanosecond, whatever their
 * fraction digits or zone (`YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ`); undefined when `text` is not a timestamp.
 */
export function graphTimeKey(text: string): string | undefined {
  const m = GRAPH_TIME.exec(text.trim());
  if (!m) return undefined;
  const [, dateTime, fraction = '', zone] = m;
  const asUtc = Date.parse(`${dateTime}Z`);
  if (Number.isNaN(asUtc) || new Date(asUtc).toISOString().slice(0, 19) !== dateTime) return undefined;
  const seconds = Date.parse(`${dateTime}${zone!.toUpperCase()}`);
  return `${new Date(seconds).toISOString().slice(0, 19)}.${fraction.padEnd(9, '0')}Z`;
}
