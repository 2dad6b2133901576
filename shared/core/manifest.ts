import { createHash } from 'node:crypto';
import { ENVELOPE_VERSION, EVENT_ID_NAMESPACE } from './normalize/event.js';
import { uuidV5 } from './uuid.js';

/**
 * The blob manifest: when a content blob is done, one in-band event tells every reader of the hub how
 * many events the blob produced and which, as an order-independent digest of their EventIds, so a
 * consumer can prove from its own side that nothing of the blob is missing.
 */

const MOD = 1n << 128n;

/** Name of the digest, carried in the manifest so the algorithm can change without ambiguity. */
export const DIGEST_ALGORITHM = 'sum128-sha256';

/**
 * Order-independent digest of a set of EventIds: the sum, modulo 2^128, of the first 16 bytes (big-endian)
 * of each distinct EventId's SHA-256. Duplicates (redeliveries, repeated records) count once, so the
 * consumer may see events in any order and any number of times.
 */
export class EventIdDigest {
  private readonly seen = new Set<string>();
  private sum = 0n;

  add(eventId: string): void {
    if (this.seen.has(eventId)) return;
    this.seen.add(eventId);
    this.sum = (this.sum + BigInt(`0x${createHash('sha256').update(eventId).digest('hex').slice(0, 32)}`)) % MOD;
  }

  /** Distinct EventIds added. */
  get distinct(): number {
    return this.seen.size;
  }

  /** 32 lowercase hex digits. */
  get value(): string {
    return this.sum.toString(16).padStart(32, '0');
  }
}

/** The digest of a whole list of EventIds (the consumer's side). */
export function digestOf(eventIds: Iterable<string>): { distinct: number; value: string } {
  const digest = new EventIdDigest();
  for (const id of eventIds) digest.add(id);
  return { distinct: digest.distinct, value: digest.value };
}

export interface BlobManifestEvent {
  readonly EnvelopeSchema: 'm365.audit.pipeline';
  readonly EnvelopeVersion: string;
  readonly EventId: string;
  readonly TimeGenerated: string;
  readonly Source: 'm365-audit-ingest';
  readonly EventSchema: 'BlobManifest';
  readonly EventType: 'ContentDelivered';
  readonly EventResult: 'Success';
  readonly OrganizationId: string;
  readonly SourceContentType: string;
  readonly SourceContentId: string;
  readonly SourceContentCreated?: string;
  /** Records read from the blob. */
  readonly RecordCount: number;
  /** Events the hub acknowledged for those records (one per record). */
  readonly EventCount: number;
  /** Distinct EventIds among them (a blob may repeat a record). */
  readonly DistinctEventIds: number;
  readonly EventIdDigest: string;
  readonly DigestAlgorithm: typeof DIGEST_ALGORITHM;
}

export function blobManifestEvent(input: {
  tenantId: string;
  contentType: string;
  contentId: string;
  contentCreated?: string;
  records: number;
  events: number;
  digest: { readonly distinct: number; readonly value: string };
  now: number;
}): BlobManifestEvent {
  const tenant = input.tenantId.toLowerCase();
  return {
    EnvelopeSchema: 'm365.audit.pipeline',
    EnvelopeVersion: ENVELOPE_VERSION,
    // One manifest per blob: a redelivery that completes the blob again repeats the same EventId.
    EventId: uuidV5(`manifest|${tenant}|${input.contentId}`, EVENT_ID_NAMESPACE),
    TimeGenerated: new Date(input.now).toISOString(),
    Source: 'm365-audit-ingest',
    EventSchema: 'BlobManifest',
    EventType: 'ContentDelivered',
    EventResult: 'Success',
    OrganizationId: tenant,
    SourceContentType: input.contentType,
    SourceContentId: input.contentId,
    SourceContentCreated: input.contentCreated,
    RecordCount: input.records,
    EventCount: input.events,
    DistinctEventIds: input.digest.distinct,
    EventIdDigest: input.digest.value,
    DigestAlgorithm: DIGEST_ALGORITHM,
  };
}
