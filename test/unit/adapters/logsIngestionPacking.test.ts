import { describe, expect, it } from 'vitest';
import { MAX_CALL_BYTES, packCalls } from '../../../shared/adapters/logsIngestion/logsIngestionClient.js';

describe('packCalls (Logs Ingestion calls within the 1 MB limit)', () => {
  /** A row whose JSON is exactly `bytes` long. */
  const rowOf = (bytes: number) => ({ p: 'x'.repeat(bytes - '{"p":""}'.length) });

  it('counts the brackets and commas of the JSON array, not only the rows', () => {
    // 500 rows of 1999 bytes sum to 999,500 bytes, under the limit, but their array is 1,000,001 bytes.
    const rows = Array.from({ length: 2000 }, () => rowOf(1999));
    const calls = packCalls(rows, MAX_CALL_BYTES);
    for (const call of calls) {
      const body = JSON.stringify(call.map((i) => rows[i]));
      expect(Buffer.byteLength(body)).toBeLessThanOrEqual(MAX_CALL_BYTES);
    }
    expect(calls.flat()).toEqual(rows.map((_, i) => i));
    expect(calls[0]!.length).toBe(499);
  });

  it('fills calls up to the limit and gives a row over it a call of its own', () => {
    const rows = [rowOf(400), rowOf(400), rowOf(1200), rowOf(100)];
    expect(packCalls(rows, 1000)).toEqual([[0, 1], [2], [3]]);
    expect(packCalls([], 1000)).toEqual([]);
  });
});
