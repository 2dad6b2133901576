/**
 * The blob catalog: generated blobs are a pure function of (seed, tenant, content type, slot), so a listing
 * window or a single content id is resolved without ever materializing a stream; blobs added by tests sit
 * beside them in a map.
 */
import { Rng } from './rng.js';
import { generateRecord } from './records.js';
import { DAY, HOUR, MINUTE, contentIdStamp, parseContentIdStamp } from './time.js';
import { CONTENT_TYPES, type ContentType } from './types.js';

/** Per-tenant generator settings, resolved from the tenant spec. */
export interface StreamSettings {
  contentTypes: ReadonlySet<ContentType>;
  blobsPerHour: number;
  recordsPerBlob: number;
  historyStart: number;
}

/** Settings shared by every stream of a server. */
export interface CatalogSettings {
  seed: number;
  streams: ReadonlyMap<string, StreamSettings>;
  visibilityDelayInMs: { min: number; max: number };
  expiryInMs: number;
  duplicateRate: number;
  /** A fraction of generated blobs listable only hours after their contentCreated (none when absent). */
  lateBlobs?: { fraction: number; delayInMs: { min: number; max: number } };
}

/** How a blob's body is produced. */
export type BlobBody =
  /** Records generated on demand; `slot` is set for generator blobs (which may repeat an earlier record). */
  | { kind: 'generated'; recordCount: number; slot?: number; ipOffset: number }
  | { kind: 'records'; records: unknown[] }
  | { kind: 'raw'; text: string };

/** A content blob as the simulator knows it. */
export interface Blob {
  tenantId: string;
  contentType: ContentType;
  contentId: string;
  contentCreated: number;
  visibleAt: number;
  expiresAt: number;
  body: BlobBody;
}

/** Content ids the API accepts; anything else is AF20052. */
export const CONTENT_ID_PATTERN = /^[A-Za-z0-9_$.-]{1,400}$/;

const REGIONS = ['na0017', 'na0030', 'na0014', 'emea0036', 'emea0021', 'apac0012'];
const LONG_DELAY_RATE = 0.02;

const typeToken = (ct: ContentType) => ct.replace('.', '_');

/** Generated and added blobs of every stream; nothing is stored for generated blobs. */
export class BlobCatalog {
  private readonly added = new Map<string, Map<string, Blob>>();
  private addedCount = 0;

  constructor(private readonly settings: CatalogSettings) {}

  /** Blobs of a stream with contentCreated in [from, to) — generated and added, unordered, visible or not. */
  inRange(tenantId: string, contentType: ContentType, from: number, to: number): Blob[] {
    if (!Number.isFinite(to)) throw new RangeError('inRange needs a finite upper bound');
    const out: Blob[] = [];
    const stream = this.settings.streams.get(tenantId);
    const added = this.added.get(tenantId);
    if (stream && stream.blobsPerHour > 0 && stream.contentTypes.has(contentType)) {
      const lo = Math.max(from, stream.historyStart);
      const slotMs = HOUR / stream.blobsPerHour;
      for (let k = Math.floor(lo / slotMs); k * slotMs < to; k++) {
        const blob = this.slotBlob(tenantId, contentType, k);
        if (blob && blob.contentCreated >= lo && blob.contentCreated < to && !added?.has(blob.contentId)) out.push(blob);
      }
    }
    for (const blob of added?.values() ?? []) {
      if (blob.contentType === contentType && blob.contentCreated >= from && blob.contentCreated < to) out.push(blob);
    }
    return out;
  }

  /** Resolves a content id of a tenant, generated or added; undefined when no such blob exists. */
  find(tenantId: string, contentId: string): Blob | undefined {
    const added = this.added.get(tenantId)?.get(contentId);
    if (added) return added;
    const parts = contentId.split('$');
    const contentType = CONTENT_TYPES.find((ct) => typeToken(ct) === parts[3]);
    const created = parts[1] === undefined ? undefined : parseContentIdStamp(parts[1]);
    const stream = this.settings.streams.get(tenantId);
    if (!contentType || created === undefined || !stream || stream.blobsPerHour <= 0 || !stream.contentTypes.has(contentType)) return undefined;
    const k = Math.floor(created / (HOUR / stream.blobsPerHour));
    // Flooring a fractional slot length can put contentCreated one slot early.
    for (const slot of [k, k + 1]) {
      const blob = this.slotBlob(tenantId, contentType, slot);
      if (blob?.contentId === contentId) return blob;
    }
    return undefined;
  }

  /** Registers a test blob; it overrides a generated blob with the same content id. */
  add(
    tenantId: string,
    contentType: ContentType,
    spec: { contentCreated: number; visibleAt?: number; expiresAt?: number; records?: unknown[]; rawBody?: string; recordCount?: number; contentId?: string },
  ): Blob {
    const n = ++this.addedCount;
    const token = typeToken(contentType);
    const contentId = spec.contentId ?? `${contentIdStamp(spec.contentCreated, '0000')}$${contentIdStamp(spec.contentCreated, String(n % 10_000).padStart(4, '0'))}$${token.toLowerCase()}$${token}$sim${String(n).padStart(4, '0')}`;
    if (!CONTENT_ID_PATTERN.test(contentId)) throw new Error(`addBlob: content id ${JSON.stringify(contentId)} is not a valid content id`);
    const body: BlobBody =
      spec.rawBody !== undefined
        ? { kind: 'raw', text: spec.rawBody }
        : spec.records
          ? { kind: 'records', records: spec.records }
          : { kind: 'generated', recordCount: spec.recordCount ?? this.meanCount(tenantId, new Rng(`${this.settings.seed}|added|${tenantId}|${contentId}`)), ipOffset: 0 };
    const blob: Blob = {
      tenantId,
      contentType,
      contentId,
      contentCreated: spec.contentCreated,
      visibleAt: spec.visibleAt ?? spec.contentCreated,
      expiresAt: spec.expiresAt ?? spec.contentCreated + this.settings.expiryInMs,
      body,
    };
    let byId = this.added.get(tenantId);
    if (!byId) this.added.set(tenantId, (byId = new Map()));
    byId.set(contentId, blob);
    return blob;
  }

  /** Number of records a non-raw blob holds. */
  recordCount(blob: Blob): number {
    if (blob.body.kind === 'raw') throw new Error('a raw blob has no record count');
    return blob.body.kind === 'records' ? blob.body.records.length : blob.body.recordCount;
  }

  /** Record `index` of a non-raw blob, generated on demand. */
  record(blob: Blob, index: number): unknown {
    const body = blob.body;
    if (body.kind === 'raw') throw new Error('a raw blob has no records');
    if (body.kind === 'records') return body.records[index];
    if (index === 0) {
      const dup = this.duplicateSource(blob);
      if (dup) return this.record(dup.blob, dup.index);
    }
    return generateRecord({
      tenantId: blob.tenantId,
      contentType: blob.contentType,
      contentCreated: blob.contentCreated,
      rng: new Rng(`${this.settings.seed}|record|${blob.tenantId}|${blob.contentId}|${index}`),
      ipSlot: body.ipOffset + index,
    });
  }

  /** All records of a blob as served (a raw body is parsed, so malformed JSON throws). */
  records(blob: Blob): unknown[] {
    if (blob.body.kind === 'raw') return JSON.parse(blob.body.text) as unknown[];
    return Array.from({ length: this.recordCount(blob) }, (_, i) => this.record(blob, i));
  }

  private meanCount(tenantId: string, r: Rng): number {
    const mean = this.settings.streams.get(tenantId)?.recordsPerBlob ?? 20;
    return Math.max(1, Math.round(mean * (0.5 + r.next())));
  }

  private slotBlob(tenantId: string, contentType: ContentType, slot: number): Blob | undefined {
    const stream = this.settings.streams.get(tenantId);
    if (!stream) return undefined;
    const r = new Rng(`${this.settings.seed}|blob|${tenantId}|${contentType}|${slot}`);
    const contentCreated = Math.floor((slot + r.next()) * (HOUR / stream.blobsPerHour));
    if (contentCreated < stream.historyStart) return undefined;
    const { min, max } = this.settings.visibilityDelayInMs;
    let delay = r.chance(LONG_DELAY_RATE) ? r.int(30 * MINUTE, 120 * MINUTE) : r.int(min, max);
    const lateBlobs = this.settings.lateBlobs;
    if (lateBlobs) {
      // A stream of its own, so turning the knob on changes no other blob's id or delay.
      const late = new Rng(`${this.settings.seed}|late|${tenantId}|${contentType}|${slot}`);
      if (late.chance(lateBlobs.fraction)) delay = late.int(lateBlobs.delayInMs.min, lateBlobs.delayInMs.max);
    }
    const token = typeToken(contentType);
    const region = r.pick(REGIONS);
    // Real ids: {aggregation start}${contentCreated}${type}${Type}${region}, AAD ids with the region twice.
    const contentId = [
      contentIdStamp(contentCreated - r.int(1_000, 180_000), r.digits(4)),
      contentIdStamp(contentCreated, r.digits(4)),
      token.toLowerCase(),
      token,
      region,
      ...(contentType === 'Audit.AzureActiveDirectory' ? [region] : []),
    ].join('$');
    return {
      tenantId,
      contentType,
      contentId,
      contentCreated,
      visibleAt: contentCreated + delay,
      expiresAt: contentCreated + this.settings.expiryInMs,
      body: { kind: 'generated', recordCount: this.meanCount(tenantId, r), slot, ipOffset: r.int(0, 1023) },
    };
  }

  /**
   * The earlier blob and record index that record 0 of a generator blob repeats, for `duplicateRate` of
   * blobs. Only indexes ≥ 1 are copied, and copies sit at index 0, so a copy is never copied again.
   */
  private duplicateSource(blob: Blob): { blob: Blob; index: number } | undefined {
    if (blob.body.kind !== 'generated' || blob.body.slot === undefined) return undefined;
    const stream = this.settings.streams.get(blob.tenantId);
    const r = new Rng(`${this.settings.seed}|duplicate|${blob.tenantId}|${blob.contentId}`);
    if (!stream || !r.chance(this.settings.duplicateRate)) return undefined;
    const slotsPerDay = Math.max(1, Math.round((stream.blobsPerHour * DAY) / HOUR));
    const source = this.slotBlob(blob.tenantId, blob.contentType, blob.body.slot - r.int(1, slotsPerDay));
    if (!source || source.body.kind !== 'generated' || source.body.recordCount < 2) return undefined;
    return { blob: source, index: r.int(1, source.body.recordCount - 1) };
  }
}
