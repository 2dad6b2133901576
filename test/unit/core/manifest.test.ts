import { describe, expect, it } from 'vitest';
import { blobManifestEvent, digestOf, EventIdDigest } from '../../../shared/core/manifest.js';

const ids = ['0b9e3f1c-7d0a-5c33-9c4e-1a2b3c4d5e6f', '9f6a4c2e-1b3d-5e7f-8a9b-0c1d2e3f4a5b', 'c3d2e1f0-a9b8-5c7d-8e6f-5a4b3c2d1e0f'];

describe('EventIdDigest', () => {
  it('does not depend on order or on repeats', () => {
    const a = digestOf(ids);
    const b = digestOf([ids[2]!, ids[0]!, ids[1]!, ids[0]!, ids[2]!]);
    expect(b).toEqual(a);
    expect(a.distinct).toBe(3);
    expect(a.value).toMatch(/^[0-9a-f]{32}$/);
  });

  it('changes when one id is missing or replaced', () => {
    const all = digestOf(ids).value;
    expect(digestOf(ids.slice(0, 2)).value).not.toBe(all);
    expect(digestOf([...ids.slice(0, 2), 'ffffffff-ffff-5fff-bfff-ffffffffffff']).value).not.toBe(all);
  });

  it('is the empty sum for no ids', () => {
    expect(new EventIdDigest().value).toBe('0'.repeat(32));
  });
});

describe('blobManifestEvent', () => {
  it('carries the counts and the digest, and one EventId per blob', () => {
    const digest = digestOf(ids);
    const m = blobManifestEvent({ tenantId: 'ABC', contentType: 'Audit.Exchange', contentId: 'c1', records: 3, events: 3, digest, now: Date.UTC(2026, 10, 20) });
    expect(m).toMatchObject({ EventSchema: 'BlobManifest', OrganizationId: 'abc', SourceContentId: 'c1', RecordCount: 3, EventCount: 3, DistinctEventIds: 3, EventIdDigest: digest.value });
    expect(blobManifestEvent({ tenantId: 'abc', contentType: 'Audit.Exchange', contentId: 'c1', records: 1, events: 1, digest, now: 0 }).EventId).toBe(m.EventId);
  });
});
