import { describe, expect, it } from 'vitest';
import { compareGraphTimestamps, graphTimestampMinus, isGraphTimestamp } from '../../../shared/core/model.js';

describe('Graph timestamps', () => {
  it.each([
    '2026-11-20T10:00:00Z',
    '2026-11-20T10:00:00.5Z',
    '2026-11-20T10:00:00.1234567Z',
    '2026-11-20T10:00:00.123456789Z',
    '2026-11-20T10:00:00.1234567+02:00',
    '2024-02-29T23:59:59.9999999Z',
  ])('accepts %s', (text) => expect(isGraphTimestamp(text)).toBe(true));

  it.each([
    '2026-11-20T10:00:00',
    '2026-11-20T10:00:00.1234567',
    '2026-02-30T10:00:00Z',
    '2026-11-20T24:00:00Z',
    '2026-11-20T10:00:00.1234567890Z',
    '2026-11-20 10:00:00Z',
    'yesterday',
    '',
    42,
    null,
  ])('refuses %s', (value) => expect(isGraphTimestamp(value)).toBe(false));

  it('orders by every fraction digit, and treats trimmed trailing zeros and offsets as the instants they are', () => {
    expect(compareGraphTimestamps('2026-11-20T10:00:00.1234567Z', '2026-11-20T10:00:00.1234568Z')).toBeLessThan(0);
    expect(compareGraphTimestamps('2026-11-20T10:00:00.1234568Z', '2026-11-20T10:00:00.123Z')).toBeGreaterThan(0);
    expect(compareGraphTimestamps('2026-11-20T10:00:00.5Z', '2026-11-20T10:00:00.5000000Z')).toBe(0);
    expect(compareGraphTimestamps('2026-11-20T10:00:00Z', '2026-11-20T10:00:00.0000001Z')).toBeLessThan(0);
    expect(compareGraphTimestamps('2026-11-20T12:00:00.1+02:00', '2026-11-20T10:00:00.1Z')).toBe(0);
    // String order would get this one wrong ('Z' sorts after '.').
    expect(compareGraphTimestamps('2026-11-20T10:00:00Z', '2026-11-20T10:00:00.9Z')).toBeLessThan(0);
    expect(() => compareGraphTimestamps('2026-11-20T10:00:00Z', 'soon')).toThrow(RangeError);
  });

  it('moves a timestamp back by whole minutes without losing a digit, across midnight and into UTC', () => {
    expect(graphTimestampMinus('2026-11-20T10:00:00.1234567Z', 10 * 60_000)).toBe('2026-11-20T09:50:00.1234567Z');
    expect(graphTimestampMinus('2026-11-20T00:05:00.0000001Z', 10 * 60_000)).toBe('2026-11-19T23:55:00.0000001Z');
    expect(graphTimestampMinus('2026-11-20T10:00:00Z', 10 * 60_000)).toBe('2026-11-20T09:50:00Z');
    expect(graphTimestampMinus('2026-11-20T12:00:00.25+02:00', 60_000)).toBe('2026-11-20T09:59:00.25Z');
  });

  it('keeps at least millisecond digits when the shift is not whole seconds', () => {
    expect(graphTimestampMinus('2026-11-20T10:00:00Z', 1)).toBe('2026-11-20T09:59:59.999Z');
    expect(graphTimestampMinus('2026-11-20T10:00:00.0000005Z', 1)).toBe('2026-11-20T09:59:59.9990005Z');
  });
});
