import { describe, expect, it } from 'vitest';
import { RECORD_TYPE_NAMES, recordTypeName } from '../../../shared/core/recordTypes.js';

describe('record type table', () => {
  it('holds the 268 documented and retired numbers once each, in order, every one named', () => {
    const entries = [...RECORD_TYPE_NAMES.entries()];
    expect(entries).toHaveLength(268);
    const numbers = entries.map(([n]) => n);
    expect(numbers).toEqual([...numbers].sort((x, y) => x - y));
    expect(new Set(numbers).size).toBe(numbers.length);
    for (const [n, name] of entries) {
      expect(Number.isInteger(n) && n > 0, String(n)).toBe(true);
      expect(name, String(n)).toMatch(/^\S(.*\S)?$/);
    }
  });

  it('names documented types exactly, spaces included, and knows nothing it should not', () => {
    expect(recordTypeName(1)).toBe('ExchangeAdmin');
    expect(recordTypeName(15)).toBe('AzureActiveDirectoryStsLogon');
    expect(recordTypeName(22)).toBe('Viva Engage');
    expect(recordTypeName(216)).toBe('Viva Goals');
    expect(recordTypeName(5)).toBe('SyntheticProbe');
    expect(recordTypeName(-1)).toBeUndefined();
    expect(recordTypeName(0)).toBeUndefined();
    expect(recordTypeName(100_000)).toBeUndefined();
  });
});
