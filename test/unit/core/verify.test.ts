import { describe, expect, it } from 'vitest';
import { blobManifestEvent, digestOf } from '../../../shared/core/manifest.js';
import { pipelineErrorEvent } from '../../../shared/core/pipelineEvent.js';
import { describeVerification, ManifestVerifier } from '../../../shared/core/verify.js';

const tenant = '8f8f8f8f-1111-4222-8333-444444444444';
const now = Date.parse('2026-11-24T12:00:00Z');

function blob(contentId: string, n: number) {
  const events = Array.from({ length: n }, (_, i) => ({ EnvelopeSchema: 'm365.audit.normalized', EventId: `${contentId}-event-${i}`, OrganizationId: tenant, SourceContentType: 'Audit.Exchange', SourceContentId: contentId, Raw: { Id: i } }));
  const manifest = blobManifestEvent({ tenantId: tenant, contentType: 'Audit.Exchange', contentId, records: n, events: n, digest: digestOf(events.map((e) => e.EventId)), now });
  return { events, manifest };
}

function verify(lines: unknown[]) {
  const verifier = new ManifestVerifier();
  for (const line of lines) verifier.addLine(typeof line === 'string' ? line : JSON.stringify(line));
  const results = verifier.results();
  return { results, summary: verifier.summary(results) };
}

describe('ManifestVerifier', () => {
  it('passes a complete run, in any order and with duplicates, the manifest before or after its events', () => {
    const a = blob('blob-a', 20);
    const b = blob('blob-b', 5);
    const { results, summary } = verify([a.manifest, ...b.events.reverse(), ...a.events, a.events[3], b.manifest, b.events[0]]);
    expect(results.map((r) => [r.contentId, r.verdict, r.arrived, r.expected, r.digestChecked])).toEqual([
      ['blob-a', 'complete', 20, 20, true],
      ['blob-b', 'complete', 5, 5, true],
    ]);
    expect(summary).toMatchObject({ blobs: 2, complete: 2, short: 0, failed: false, manifests: 2, events: 27 });
  });

  it('finds a blob with one event removed, and says by how many it is short', () => {
    const a = blob('blob-a', 20);
    const b = blob('blob-b', 5);
    const { results, summary } = verify([...a.events.filter((_, i) => i !== 7), a.manifest, ...b.events, b.manifest]);
    expect(results[0]).toMatchObject({ contentId: 'blob-a', verdict: 'short', arrived: 19, expected: 20, shortBy: 1 });
    expect(describeVerification(results[0]!)).toBe(`${tenant} Audit.Exchange blob-a: short by 1 (19 of 20 events arrived)`);
    expect(results[1]).toMatchObject({ verdict: 'complete' });
    expect(summary).toMatchObject({ short: 1, complete: 1, failed: true });
  });

  it('reports a blob whose events differ from its manifest with the same count as a mismatch', () => {
    const a = blob('blob-a', 3);
    const forged = { ...a.events[2], EventId: 'some-other-event' };
    const { results, summary } = verify([a.events[0], a.events[1], forged, a.manifest]);
    expect(results[0]).toMatchObject({ verdict: 'mismatch', arrived: 3, expected: 3 });
    expect(summary.failed).toBe(true);
  });

  it('lists blobs without a manifest (in flight, Defender XDR pages, not delivered) without failing', () => {
    const a = blob('blob-a', 2);
    const failed = pipelineErrorEvent({ tenantId: tenant, contentType: 'Audit.Exchange', contentId: 'blob-bad', status: 'failed', reason: 'not a JSON array', now });
    const { results, summary } = verify([...a.events, failed]);
    expect(results.map((r) => [r.contentId, r.verdict, r.pipelineStatus])).toEqual([
      ['blob-a', 'no manifest', undefined],
      ['blob-bad', 'no manifest', 'failed'],
    ]);
    expect(describeVerification(results[1]!)).toMatch(/blob-bad: no manifest \(0 events; the pipeline reported it failed\)/);
    expect(summary).toMatchObject({ noManifest: 2, failed: false });
  });

  it('compares counts only on an export whose manifest rows lost the digest (a table with EventCount only)', () => {
    const a = blob('blob-a', 4);
    const exported = { EnvelopeSchema: a.manifest.EnvelopeSchema, EventSchema: 'BlobManifest', OrganizationId: tenant.toUpperCase(), SourceContentId: 'blob-a', EventCount: 4 };
    const complete = verify([...a.events, exported]).results[0]!;
    expect(complete).toMatchObject({ verdict: 'complete', digestChecked: false });
    expect(verify([...a.events.slice(1), exported]).results[0]).toMatchObject({ verdict: 'short', shortBy: 1 });
  });

  it('counts lines that are not JSON objects and goes on', () => {
    const a = blob('blob-a', 1);
    const { summary } = verify(['not json', '[1,2]', '', ...a.events, a.manifest]);
    expect(summary).toMatchObject({ unreadable: 2, complete: 1 });
  });
});
