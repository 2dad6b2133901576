import { DIGEST_ALGORITHM, EventIdDigest } from './manifest.js';

/**
 * The consumer's side of the completeness proof: from the events a reader of the hub received (in any
 * order, with any number of copies), check each content blob against its manifest event — the count of
 * distinct EventIds, and their order-independent digest. Pure: the caller feeds parsed events.
 */

export type BlobVerdict = 'complete' | 'short' | 'mismatch' | 'no manifest';

export interface BlobVerification {
  readonly organizationId: string;
  readonly contentId: string;
  readonly contentType?: string;
  readonly verdict: BlobVerdict;
  /** Distinct EventIds that arrived. */
  readonly arrived: number;
  /** Distinct EventIds the manifest announces (undefined without a manifest). */
  readonly expected?: number;
  /** expected − arrived, when short. */
  readonly shortBy?: number;
  /** Whether the digest was compared (an export without the digest column compares counts only). */
  readonly digestChecked: boolean;
  /** The pipeline's own report, when the blob was not delivered (`failed`, `expired`, …). */
  readonly pipelineStatus?: string;
}

export interface VerifySummary {
  readonly blobs: number;
  readonly complete: number;
  readonly short: number;
  readonly mismatch: number;
  readonly noManifest: number;
  readonly events: number;
  readonly manifests: number;
  /** Lines that were not a JSON object (counted, never fatal). */
  readonly unreadable: number;
  /** Short or mismatched blobs: what makes `ops verify` exit non-zero. */
  readonly failed: boolean;
}

interface Manifest {
  readonly expected: number;
  readonly digest?: string;
  readonly algorithm?: string;
  readonly contentType?: string;
}

interface Blob {
  readonly digest: EventIdDigest;
  manifest?: Manifest;
  contentType?: string;
  pipelineStatus?: string;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : undefined);

export class ManifestVerifier {
  private readonly blobs = new Map<string, Blob>();
  private events = 0;
  private manifests = 0;
  private unreadable = 0;

  /** One event as read (a parsed NDJSON line); anything that is not a pipeline or normalized event is ignored. */
  add(event: unknown): void {
    if (!event || typeof event !== 'object' || Array.isArray(event)) {
      this.unreadable++;
      return;
    }
    const e = event as Record<string, unknown>;
    const organizationId = str(e.OrganizationId)?.toLowerCase();
    const contentId = str(e.SourceContentId);
    if (!organizationId || !contentId) return;
    const blob = this.blob(organizationId, contentId);
    blob.contentType ??= str(e.SourceContentType);
    if (e.EnvelopeSchema === 'm365.audit.pipeline') {
      if (e.EventSchema === 'BlobManifest') {
        // DistinctEventIds is what the digest covers; an export that dropped it still has EventCount.
        const expected = num(e.DistinctEventIds) ?? num(e.EventCount);
        if (expected === undefined) return void this.unreadable++;
        this.manifests++;
        blob.manifest = { expected, digest: str(e.EventIdDigest), algorithm: str(e.DigestAlgorithm), contentType: str(e.SourceContentType) };
      } else if (e.EventSchema === 'PipelineError') blob.pipelineStatus = str(e.LedgerStatus) ?? 'failed';
      return;
    }
    const eventId = str(e.EventId);
    if (!eventId) return;
    this.events++;
    blob.digest.add(eventId);
  }

  /** A line of NDJSON text; blank lines are skipped, text that is not JSON is counted as unreadable. */
  addLine(line: string): void {
    if (line.trim() === '') return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      this.unreadable++;
      return;
    }
    this.add(parsed);
  }

  results(): BlobVerification[] {
    const out: BlobVerification[] = [];
    for (const [key, blob] of this.blobs) {
      const [organizationId, contentId] = [key.slice(0, key.indexOf('|')), key.slice(key.indexOf('|') + 1)];
      const arrived = blob.digest.distinct;
      const base = { organizationId, contentId, contentType: blob.contentType, arrived, pipelineStatus: blob.pipelineStatus };
      const m = blob.manifest;
      if (!m) {
        out.push({ ...base, verdict: 'no manifest', digestChecked: false });
        continue;
      }
      const digestChecked = m.digest !== undefined && (m.algorithm === undefined || m.algorithm === DIGEST_ALGORITHM);
      const digestOk = !digestChecked || m.digest === blob.digest.value;
      if (arrived < m.expected) out.push({ ...base, verdict: 'short', expected: m.expected, shortBy: m.expected - arrived, digestChecked });
      else if (arrived > m.expected || !digestOk) out.push({ ...base, verdict: 'mismatch', expected: m.expected, digestChecked });
      else out.push({ ...base, verdict: 'complete', expected: m.expected, digestChecked });
    }
    return out.sort((a, b) => a.organizationId.localeCompare(b.organizationId) || a.contentId.localeCompare(b.contentId));
  }

  summary(results: readonly BlobVerification[] = this.results()): VerifySummary {
    const count = (v: BlobVerdict) => results.filter((r) => r.verdict === v).length;
    const short = count('short');
    const mismatch = count('mismatch');
    return { blobs: results.length, complete: count('complete'), short, mismatch, noManifest: count('no manifest'), events: this.events, manifests: this.manifests, unreadable: this.unreadable, failed: short + mismatch > 0 };
  }

  private blob(organizationId: string, contentId: string): Blob {
    const key = `${organizationId}|${contentId}`;
    let blob = this.blobs.get(key);
    if (!blob) this.blobs.set(key, (blob = { digest: new EventIdDigest() }));
    return blob;
  }
}

/** One line per blob for the CLI: `complete`, `short by 3 (17 of 20)`, `no manifest`, … */
export function describeVerification(r: BlobVerification): string {
  const what =
    r.verdict === 'complete' ? `complete (${r.arrived} events${r.digestChecked ? ', digest matches' : ''})`
    : r.verdict === 'short' ? `short by ${r.shortBy} (${r.arrived} of ${r.expected} events arrived)`
    : r.verdict === 'mismatch' ? `mismatch (${r.arrived} events arrived, the manifest announces ${r.expected}${r.digestChecked ? ' with another digest' : ''})`
    : `no manifest (${r.arrived} events${r.pipelineStatus ? `; the pipeline reported it ${r.pipelineStatus}` : ''})`;
  return `${r.organizationId} ${r.contentType ?? '-'} ${r.contentId}: ${what}`;
}
