import { describe, expect, it } from 'vitest';
import { nextFire } from '../../../tools/local/ncrontab.js';

const at = (iso: string) => Date.parse(iso);

describe('nextFire', () => {
  it.each([
    ['0 */5 * * * *', '2026-11-24T10:02:13Z', '2026-11-24T10:05:00Z'],
    ['0 */5 * * * *', '2026-11-24T10:05:00Z', '2026-11-24T10:10:00Z'],
    ['*/30 * * * * *', '2026-11-24T10:02:13Z', '2026-11-24T10:02:30Z'],
    ['0 0 */6 * * *', '2026-11-24T10:02:13Z', '2026-11-24T12:00:00Z'],
    ['0 30 9 * * 1-5', '2026-11-28T10:00:00Z', '2026-11-30T09:30:00Z'], // Saturday → Monday
    ['0 0 0 1 1 *', '2026-11-24T10:00:00Z', '2027-01-01T00:00:00Z'],
    ['15,45 * * * * *', '2026-11-24T10:00:20Z', '2026-11-24T10:00:45Z'],
  ])('%s after %s is %s', (expression, after, expected) => {
    expect(new Date(nextFire(expression, at(after))).toISOString()).toBe(new Date(expected).toISOString());
  });

  // What Azure's NCRONTAB accepts beyond numbers: day and month names, ranges and lists of them.
  it.each([
    ['0 30 9 * * Mon-Fri', '2026-11-28T10:00:00Z', '2026-11-30T09:30:00Z'], // Saturday → Monday
    ['0 0 8 * * MON,WED,FRI', '2026-11-24T10:00:00Z', '2026-11-25T08:00:00Z'], // Tuesday → Wednesday
    ['0 0 0 1 Jan,Jul *', '2026-11-24T10:00:00Z', '2027-01-01T00:00:00Z'],
    ['0 0 12 * Dec Sun', '2026-11-24T10:00:00Z', '2026-12-06T12:00:00Z'],
    ['0 15-17/1 * * * *', '2026-11-24T10:16:30Z', '2026-11-24T10:17:00Z'],
    ['5/15 * * * * *', '2026-11-24T10:00:06Z', '2026-11-24T10:00:20Z'],
    ['0 0 9 1-7 * Mon', '2026-11-24T10:00:00Z', '2026-12-07T09:00:00Z'], // the first Monday: day and weekday both match
  ])('%s after %s is %s', (expression, after, expected) => {
    expect(new Date(nextFire(expression, at(after))).toISOString()).toBe(new Date(expected).toISOString());
  });

  it('rejects malformed expressions', () => {
    expect(() => nextFire('*/5 * * * *', 0)).toThrow(/6 NCRONTAB fields/);
    expect(() => nextFire('0 61 * * * *', 0)).toThrow(/bad NCRONTAB expression/);
    expect(() => nextFire('0 x * * * *', 0)).toThrow(/bad NCRONTAB expression/);
    expect(() => nextFire('0 0 9 * * Funday', 0)).toThrow(/bad NCRONTAB expression/);
    expect(() => nextFire('0 0 0 31 2 *', 0)).toThrow(/never fires/);
  });
});
