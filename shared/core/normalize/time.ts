// Date, time, optional fraction (any precision), optional zone. The API writes CreationTime without a zone
// and documents it as UTC; listings and Graph use `Z`; offsets are accepted for anything else.
const TIMESTAMP =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(?:([Zz])|([+-])(\d{2}):?(\d{2}))?$/;
const MAX_TIMESTAMP_CHARS = 40;

/**
 * Parses an ISO 8601 date-time and returns it as `YYYY-MM-DDTHH:mm:ss.sssZ`; a time without a zone is UTC
 * and fractions beyond milliseconds are truncated. Returns undefined for anything that is not a real
 * date-time in years 1000–9999 (no lenient Date parsing: `2024-02-30` and `24:00` are rejected).
 */
export function toIsoUtc(text: string): string | undefined {
  return plainUtc(text) ?? parseIsoUtc(text);
}

/** {@link toIsoUtc} by the general parser alone (exported so a test can hold the fast path to it). */
export function parseIsoUtc(text: string): string | undefined {
  if (text.length > MAX_TIMESTAMP_CHARS) return undefined;
  const match = TIMESTAMP.exec(text.trim());
  if (!match) return undefined;
  const [, year, month, day, hour, minute, second = '0', fraction = '', , sign, offsetHours, offsetMinutes] = match;
  const y = Number(year);
  const mo = Number(month);
  const d = Number(day);
  const h = Number(hour);
  const mi = Number(minute);
  const s = Number(second);
  if (y < 1000 || mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 59) return undefined;
  if (d > new Date(Date.UTC(y, mo, 0)).getUTCDate()) return undefined;
  let offsetInMs = 0;
  if (sign) {
    const oh = Number(offsetHours);
    const om = Number(offsetMinutes);
    if (oh > 23 || om > 59) return undefined;
    offsetInMs = (sign === '-' ? -1 : 1) * (oh * 60 + om) * 60_000;
  }
  const ms = Number(fraction.slice(0, 3).padEnd(3, '0'));
  const instant = Date.UTC(y, mo - 1, d, h, mi, s, ms) - offsetInMs;
  const iso = new Date(instant).toISOString();
  // An offset can push 9999-12-31 into year 10000, which toISOString writes in the expanded form.
  return iso.length === 24 ? iso : undefined;
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * The common shapes, without a regex or a Date: `YYYY-MM-DDTHH:mm:ss`, then nothing, `Z`, or a `.` and
 * 1–9 fraction digits with an optional `Z` (CreationTime, listings, Graph). Undefined for anything else,
 * which the general parser then decides; for these shapes both give the same answer.
 */
function plainUtc(text: string): string | undefined {
  const length = text.length;
  if (length < 19 || length > 30) return undefined;
  if (text.charCodeAt(4) !== 0x2d || text.charCodeAt(7) !== 0x2d || text.charCodeAt(10) !== 0x54) return undefined;
  if (text.charCodeAt(13) !== 0x3a || text.charCodeAt(16) !== 0x3a) return undefined;
  const year = digits(text, 0, 4);
  const month = digits(text, 5, 2);
  const day = digits(text, 8, 2);
  const hour = digits(text, 11, 2);
  const minute = digits(text, 14, 2);
  const second = digits(text, 17, 2);
  if ((hour | minute | second) < 0) return undefined;
  if (year < 1000 || month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return undefined;
  const leap = month === 2 && year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  if (day > DAYS_IN_MONTH[month - 1]! + (leap ? 1 : 0)) return undefined;
  const head = text.slice(0, 19);
  if (length === 19) return `${head}.000Z`;
  let end = length;
  if (text.charCodeAt(length - 1) === 0x5a) end--;
  if (end === 19) return `${head}.000Z`;
  if (text.charCodeAt(19) !== 0x2e || end - 20 < 1 || end - 20 > 9 || digits(text, 20, end - 20) < 0) return undefined;
  const fraction = end - 20 >= 3 ? text.slice(20, 23) : text.slice(20, end).padEnd(3, '0');
  return `${head}.${fraction}Z`;
}

/** The decimal value of `count` ASCII digits at `from`, or -1 if one is not a digit. */
function digits(text: string, from: number, count: number): number {
  let value = 0;
  for (let i = from; i < from + count; i++) {
    const digit = text.charCodeAt(i) - 0x30;
    if (digit < 0 || digit > 9) return -1;
    value = value * 10 + digit;
  }
  return value;
}
