import { describe, expect, it } from 'vitest';
import { blobBody, padRecord, recordsForBytes } from '../../../tools/bench/corpus.js';
import { formatCount, formatFixed, formatMiB, markdownTable, median, replaceBlock } from '../../../tools/common/stats.js';
import { Rng } from '../../../tools/standins/simTenant/rng.js';

describe('median', () => {
  it('takes the middle value of an odd count, whatever the order', () => {
    expect(median([9, 1, 5])).toBe(5);
    expect(median([7])).toBe(7);
  });

  it('averages the middle two of an even count', () => {
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  it('ignores one slow outlier', () => {
    expect(median([1.0, 1.1, 0.9, 1.05, 30])).toBe(1.05);
  });

  it('leaves the input untouched', () => {
    const values = [3, 1, 2];
    median(values);
    expect(values).toEqual([3, 1, 2]);
  });

  it('refuses an empty list', () => {
    expect(() => median([])).toThrow(RangeError);
  });
});

describe('number formatting', () => {
  it('groups thousands and rounds counts', () => {
    expect(formatCount(1234567.6)).toBe('1,234,568');
    expect(formatCount(0)).toBe('0');
  });

  it('keeps a fixed number of decimals', () => {
    expect(formatFixed(2.5, 2)).toBe('2.50');
    expect(formatFixed(12345.678, 1)).toBe('12,345.7');
  });

  it('shows bytes as MiB with one decimal', () => {
    expect(formatMiB(100 * 2 ** 20)).toBe('100.0');
    expect(formatMiB(1.5 * 2 ** 20)).toBe('1.5');
  });
});

describe('markdownTable', () => {
  it('renders a header, a separator and one line per row', () => {
    expect(markdownTable(['a', 'b'], [['1', '2'], ['3', '4']])).toBe('| a | b |\n| --- | --- |\n| 1 | 2 |\n| 3 | 4 |');
  });

  it('escapes pipes inside cells so columns stay aligned', () => {
    expect(markdownTable(['key'], [['blob|Id']])).toContain('| blob\\|Id |');
  });

  it('refuses a row with the wrong number of cells', () => {
    expect(() => markdownTable(['a', 'b'], [['only one']])).toThrow(/1 cells for 2 headers/);
  });
});

describe('replaceBlock', () => {
  const doc = '# Title\n\nProse before.\n\n<!-- results:start -->\nold figures\n<!-- results:end -->\n\nProse after.\n';

  it('replaces only what is between the markers', () => {
    const next = replaceBlock(doc, 'results', 'new figures');
    expect(next).toBe('# Title\n\nProse before.\n\n<!-- results:start -->\nnew figures\n<!-- results:end -->\n\nProse after.\n');
  });

  it('gives the same document when run twice with the same content', () => {
    const once = replaceBlock(doc, 'results', '| a |\n| --- |');
    expect(replaceBlock(once, 'results', '| a |\n| --- |')).toBe(once);
  });

  it('refuses a document without the block, or with the markers out of order', () => {
    expect(() => replaceBlock('# nothing here', 'results', 'x')).toThrow(/no "<!-- results:start -->"/);
    expect(() => replaceBlock('<!-- results:end -->\n<!-- results:start -->', 'results', 'x')).toThrow();
  });
});

describe('padRecord', () => {
  const record = { Id: 'a1', RecordType: 15, Operation: 'UserLoggedIn', UserId: 'user@contoso.example' };

  it('grows a record to about the target size with ExtendedProperties name/value pairs, keeping its fields', () => {
    for (const target of [1024, 2500, 5120]) {
      const text = padRecord(record, target, new Rng(`pad|${target}`));
      const parsed = JSON.parse(text) as Record<string, unknown> & { ExtendedProperties: { Name: string; Value: string }[] };
      expect(parsed).toMatchObject(record);
      expect(parsed.ExtendedProperties.length).toBeGreaterThan(0);
      for (const entry of parsed.ExtendedProperties) expect(entry).toEqual({ Name: expect.any(String), Value: expect.stringMatching(/^[0-9a-f]+$/) });
      const size = Buffer.byteLength(text);
      expect(size).toBeGreaterThanOrEqual(target);
      expect(size).toBeLessThan(target + 64);
    }
  });

  it('appends after ExtendedProperties the record already has', () => {
    const withList = { ...record, ExtendedProperties: [{ Name: 'UserAgent', Value: 'Mozilla/5.0' }] };
    const parsed = JSON.parse(padRecord(withList, 2048, new Rng('pad'))) as { ExtendedProperties: { Name: string }[] };
    expect(parsed.ExtendedProperties[0]).toEqual({ Name: 'UserAgent', Value: 'Mozilla/5.0' });
    expect(parsed.ExtendedProperties.length).toBeGreaterThan(1);
  });

  it('keeps a record that is already large enough exactly as it was', () => {
    expect(padRecord(record, 10, new Rng('pad'))).toBe(JSON.stringify(record));
  });

  it('is deterministic for a seed', () => {
    expect(padRecord(record, 3000, new Rng('same'))).toBe(padRecord(record, 3000, new Rng('same')));
  });
});

describe('blob bodies', () => {
  it('joins record texts into one JSON array', () => {
    expect(JSON.parse(blobBody(['{"Id":"1"}', '{"Id":"2"}']))).toEqual([{ Id: '1' }, { Id: '2' }]);
    expect(blobBody([])).toBe('[]');
  });

  it('takes records, repeating from the start, until the body reaches the size', () => {
    const records = ['{"Id":"1"}', '{"Id":"22"}'];
    const picked = recordsForBytes(records, 40);
    expect(picked).toEqual(['{"Id":"1"}', '{"Id":"22"}', '{"Id":"1"}', '{"Id":"22"}']);
    expect(Buffer.byteLength(blobBody(picked))).toBeGreaterThanOrEqual(40);
    expect(Buffer.byteLength(blobBody(picked.slice(0, -1)))).toBeLessThan(40);
  });

  it('refuses to repeat nothing', () => {
    expect(() => recordsForBytes([], 10)).toThrow(RangeError);
  });
});
