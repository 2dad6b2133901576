/**
 * The benchmark's records: the simulated tenant's generated records (all five content types, every
 * quirk it produces), grown to realistic sizes and frozen as text, so the measured runs serve the same
 * bytes every time and the generator's own cost stays out of the ingest figures.
 */
import { performance } from 'node:perf_hooks';
import { Rng } from '../standins/simTenant/rng.js';
import { CONTENT_TYPES, type SimTenant } from '../standins/simTenant/index.js';

/** Record sizes are drawn log-uniformly from this range: most records are small, some are large. */
export const RECORD_BYTES = { min: 1024, max: 5 * 1024 } as const;

/** Names the padding entries take; the normalizer flattens ExtendedProperties by Name, as for real Entra records. */
const EXTRA_NAMES = [
  'ClientRequestId', 'SessionId', 'DeviceId', 'TokenIssuerType', 'ResultStatusDetail', 'RequestType',
  'UserAuthenticationMethod', 'KeepMeSignedIn', 'ApplicationDisplayName', 'ResourceDisplayName',
  'ConditionalAccessStatus', 'AuthenticationProcessingDetails',
];
/** Length of `{"Name":"","Value":""},` without the name and value. */
const ENTRY_OVERHEAD = 23;
/** Length of `,"ExtendedProperties":[]` when the record has no such list yet. */
const LIST_OVERHEAD = 24;

export interface Corpus {
  /** Each record's JSON text, in the order blobs use them. */
  readonly records: readonly string[];
  /** How fast the simulator generated the underlying records (records/s, one core). */
  readonly simRecordsPerSecond: number;
}

/**
 * Generates `count` records through the simulator (`addBlob` + `recordsOf`, timed), interleaves the
 * five content types, and pads each record with ExtendedProperties name/value pairs up to a size drawn
 * from {@link RECORD_BYTES}; a record already at least that large is kept as generated.
 */
export function buildCorpus(sim: SimTenant, tenantId: string, count: number, seed: string): Corpus {
  const perType = Math.ceil(count / CONTENT_TYPES.length);
  const byType: unknown[][] = [];
  const started = performance.now();
  for (const contentType of CONTENT_TYPES) {
    const blob = sim.addBlob(tenantId, contentType, { contentCreated: Date.now() - 3_600_000, recordCount: perType });
    byType.push(sim.recordsOf(tenantId, blob.contentId));
  }
  const simRecordsPerSecond = (perType * CONTENT_TYPES.length) / ((performance.now() - started) / 1000);

  const rng = new Rng(`bench|corpus|${seed}`);
  const records: string[] = [];
  for (let i = 0; records.length < count; i++) {
    const record = byType[i % CONTENT_TYPES.length]![Math.floor(i / CONTENT_TYPES.length)] as Record<string, unknown>;
    const target = Math.round(RECORD_BYTES.min * (RECORD_BYTES.max / RECORD_BYTES.min) ** rng.next());
    records.push(padRecord(record, target, rng));
  }
  return { records, simRecordsPerSecond };
}

/** The record's JSON text, grown with ExtendedProperties entries to about `targetBytes` (never shrunk). */
export function padRecord(record: Record<string, unknown>, targetBytes: number, rng: Rng): string {
  const text = JSON.stringify(record);
  let missing = targetBytes - Buffer.byteLength(text);
  if (missing <= 0) return text;
  const existing = Array.isArray(record.ExtendedProperties) ? (record.ExtendedProperties as unknown[]) : undefined;
  if (!existing) missing -= LIST_OVERHEAD;
  // The first entry of an empty list has no comma before it.
  if (!existing?.length) missing += 1;
  const extra: { Name: string; Value: string }[] = [];
  for (let n = 0; missing > 0; n++) {
    const name = `${EXTRA_NAMES[n % EXTRA_NAMES.length]}${n < EXTRA_NAMES.length ? '' : Math.floor(n / EXTRA_NAMES.length)}`;
    const value = rng.hex(Math.max(8, Math.min(160, missing - ENTRY_OVERHEAD - name.length)));
    extra.push({ Name: name, Value: value });
    missing -= ENTRY_OVERHEAD + name.length + value.length;
  }
  return JSON.stringify({ ...record, ExtendedProperties: [...(existing ?? []), ...extra] });
}

/** A content blob body: the records as one JSON array, as the API serves it. */
export function blobBody(records: readonly string[]): string {
  return `[${records.join(',')}]`;
}

/** The first records of `records` (repeated from the start when needed) whose blob body reaches `bytes`. */
export function recordsForBytes(records: readonly string[], bytes: number): string[] {
  if (records.length === 0) throw new RangeError('no records to repeat');
  const out: string[] = [];
  let size = 2; // the brackets
  for (let i = 0; size < bytes; i++) {
    const record = records[i % records.length]!;
    size += Buffer.byteLength(record) + (out.length > 0 ? 1 : 0);
    out.push(record);
  }
  return out;
}
