import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { RECORD_TYPE_NAMES, recordTypeName } from '../../../shared/core/recordTypes.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const tsvPath = path.resolve(repoRoot, '..', 'shared', 'reference', 'recordtypes.tsv');

describe('record type table', () => {
  it('equals the reference recordtypes.tsv row for row (drift check)', () => {
    const rows = readFileSync(tsvPath, 'utf8')
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => {
        const [number, name, ...rest] = line.split('\t');
        expect(rest).toEqual([]);
        return [Number(number), name] as const;
      });
    expect(rows).toHaveLength(268);
    expect([...RECORD_TYPE_NAMES.entries()]).toEqual(rows);
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
