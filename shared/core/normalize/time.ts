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
  let offsetMs = 0;
  if (sign) {
    const oh = Number(offsetHours);
    const om = Number(offsetMinutes);
    if (oh > 23 || om > 59) return undefined;
    offsetMs = (sign === '-' ? -1 : 1) * (oh * 60 + om) * 60_000;
  }
  const ms = Number(fraction.slice(0, 3).padEnd(3, '0'));
  const instant = Date.UTC(y, mo - 1, d, h, mi, s, ms) - offsetMs;
  const iso = new Date(instant).toISOString();
  // An offset can push 9999-12-31 into year 10000, which toISOString writes in the expanded form.
  return iso.length === 24 ? iso : undefined;
}
