import { describe, expect, it } from 'vitest';
import { normalizeRecord } from '../../../../shared/core/normalize/index.js';
import { context, TENANT } from './records.js';

// A record healed from Purview audit search is the same unified audit record the Management API serves:
// consumers dedupe the two copies by EventId, so the EventId must not depend on where it came from.
describe('records from audit search', () => {
  const record = { Id: '5B02FADB-8EAC-4AFF-AF87-08D7ABECFCA3', CreationTime: '2026-11-10T08:00:00', RecordType: 2, Operation: 'Send', Workload: 'Exchange', OrganizationId: TENANT };

  it('get the EventId the Management API path gives the same record, and say where they came from', () => {
    const fromFeed = normalizeRecord(record, context);
    const fromSearch = normalizeRecord(record, { ...context, source: 'PurviewAuditSearch', contentId: 'AuditSearch$20261110T000000Z$20261111T000000Z' });
    expect(fromSearch.EventId).toBe(fromFeed.EventId);
    expect(fromSearch.Source).toBe('PurviewAuditSearch');
    expect(fromFeed.Source).toBe('O365ManagementActivity');
    expect(fromSearch.SourceContentId).toBe('AuditSearch$20261110T000000Z$20261111T000000Z');
  });

  it('keep the same fallback EventId for a record without an Id', () => {
    const { Id: _id, ...withoutId } = record;
    const text = JSON.stringify(withoutId);
    const fromFeed = normalizeRecord(withoutId, context, { rawText: text });
    const fromSearch = normalizeRecord(withoutId, { ...context, source: 'PurviewAuditSearch' }, { rawText: text });
    expect(fromSearch.EventId).toBe(fromFeed.EventId);
  });
});
