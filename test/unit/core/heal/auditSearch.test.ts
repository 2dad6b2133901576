import { describe, expect, it } from 'vitest';
import {
  AUDIT_SEARCH_SCOPES,
  auditRecordOf,
  auditSearchAvailability,
  contentTypeOfRecordType,
  expectedRecords,
  healRangeOf,
  healSourceContentId,
  planHeal,
  recordTypeFiltersOf,
  recordTypeOfGraphName,
  splitRange,
  summarizeGapHeals,
  suspiciousReason,
} from '../../../../shared/core/auditSearch.js';
import { CONTENT_TYPES } from '../../../../shared/core/model.js';

const H = 3_600_000;
const D = 24 * H;
const T = Date.UTC(2026, 10, 20, 12);

describe('scopes', () => {
  it('give every record type number one content type, and Audit.General the rest', () => {
    const seen = new Map<number, string>();
    for (const [contentType, scope] of Object.entries(AUDIT_SEARCH_SCOPES)) {
      for (const t of scope.recordTypes ?? []) {
        expect(seen.get(t.number), `record type ${t.number}`).toBeUndefined();
        seen.set(t.number, contentType);
        expect(recordTypeOfGraphName(t.graphName)).toBe(t.number);
      }
    }
    expect(contentTypeOfRecordType(2)).toBe('Audit.Exchange');
    expect(contentTypeOfRecordType(15)).toBe('Audit.AzureActiveDirectory');
    expect(contentTypeOfRecordType(13)).toBe('DLP.All');
    expect(contentTypeOfRecordType(25)).toBe('Audit.General');
    expect(contentTypeOfRecordType(9999)).toBe('Audit.General');
    expect(contentTypeOfRecordType(undefined)).toBe('Audit.General');
    expect(recordTypeFiltersOf('Audit.General')).toBeUndefined();
    expect(recordTypeFiltersOf('Audit.Exchange')).toContain('exchangeItem');
    for (const contentType of CONTENT_TYPES) expect(AUDIT_SEARCH_SCOPES[contentType].permissions).toContain('AuditLogsQuery.Read.All');
  });

  it('reads Graph enum names of the audit schema, older names included', () => {
    expect(recordTypeOfGraphName('microsoftTeams')).toBe(25);
    expect(recordTypeOfGraphName('yammer')).toBe(22);
    expect(recordTypeOfGraphName('powerBIAudit')).toBe(20);
    expect(recordTypeOfGraphName('unknownFutureValue')).toBeUndefined();
  });
});

describe('clouds', () => {
  it('refuse GCC High and DoD with a reason that says why and what to do instead', () => {
    expect(auditSearchAvailability('commercial').available).toBe(true);
    expect(auditSearchAvailability('gcc').available).toBe(true);
    for (const cloud of ['gcchigh', 'dod'] as const) {
      const verdict = auditSearchAvailability(cloud);
      expect(verdict.available).toBe(false);
      if (!verdict.available) expect(verdict.reason).toMatch(/not available in .*(GCC High|DoD).*global service only.*Purview portal/);
    }
  });
});

describe('auditRecordOf', () => {
  it('returns auditData as the original record, without Graph annotations', () => {
    const record = { Id: 'a', CreationTime: '2026-11-10T08:00:00', RecordType: 2, Operation: 'Send' };
    const healed = auditRecordOf({ id: 'a', auditLogRecordType: 'exchangeItem', auditData: { '@odata.type': '#microsoft.graph.security.auditData', ...record } });
    expect(healed).toEqual({ record, recordType: 2 });
  });

  it('takes the record type from auditLogRecordType when the record has none, and a numeric string when it has one', () => {
    expect(auditRecordOf({ auditLogRecordType: 'oneDrive', auditData: { Id: 'b' } })?.recordType).toBe(7);
    expect(auditRecordOf({ auditLogRecordType: 'oneDrive', auditData: { Id: 'b', RecordType: '6' } })?.recordType).toBe(6);
  });

  it('rebuilds a record without auditData from the common properties, and says so', () => {
    const healed = auditRecordOf({ id: 'c', createdDateTime: '2026-11-10T08:00:00Z', auditLogRecordType: 'azureActiveDirectoryStsLogon', operation: 'UserLoggedIn', userPrincipalName: 'u@x', clientIp: '1.2.3.4', service: 'AzureActiveDirectory', auditData: { '@odata.type': 'x' } });
    expect(healed?.record).toMatchObject({ Id: 'c', CreationTime: '2026-11-10T08:00:00Z', RecordType: 15, Operation: 'UserLoggedIn', UserId: 'u@x', ClientIP: '1.2.3.4', Workload: 'AzureActiveDirectory' });
    expect(healed?.warning).toMatch(/no auditData/);
    expect(auditRecordOf('text')).toBeUndefined();
    expect(auditRecordOf(null)).toBeUndefined();
  });
});

describe('planHeal', () => {
  // A nine-day outage: listed up to T − 9d, then nothing until T; the API lists only the last 7 days.
  const gap = { start: T - 9 * D, end: T - 7 * D + 15 * 60_000 };
  const base = { lookbehindInMs: 24 * H, listedFrom: T - 10 * D, listedTo: T - 10 * 60_000, gaps: [gap], lostBlobs: [], healed: [] };

  it('asks for the gap and the day before it, nothing the Management API delivered', () => {
    const range = healRangeOf({ start: new Date(gap.start).toISOString(), end: new Date(gap.end).toISOString(), cause: 'retention' }, 24 * H);
    expect(range).toEqual({ start: gap.start - 24 * H, end: gap.end });
    const plan = planHeal({ ...base, range });
    expect(plan.missing).toEqual([range]);
    expect(plan.hours.covered).toBe(0);
  });

  it('finds nothing missing in a range the Management API delivered, nor in one healed before', () => {
    const delivered = planHeal({ ...base, range: { start: T - 5 * D, end: T - 3 * D } });
    expect(delivered.missing).toEqual([]);
    expect(delivered.hours).toMatchObject({ covered: 48, missing: 0 });
    const healed = planHeal({ ...base, range: { start: gap.start - 24 * H, end: gap.end }, healed: [{ start: gap.start - 24 * H, end: gap.start }, { start: gap.start, end: gap.end }] });
    expect(healed.missing).toEqual([]);
    expect(healed.hours.healedBefore).toBeGreaterThan(0);
  });

  it('leaves time the Management API will still list to it', () => {
    const plan = planHeal({ ...base, range: { start: T - 12 * H, end: T } });
    expect(plan.missing).toEqual([]);
    expect(plan.hours.pending).toBe(12);
  });

  it('marks the hours a lost blob may hold as missing', () => {
    const lost = T - 4 * D;
    const plan = planHeal({ ...base, lookbehindInMs: 2 * H, lostBlobs: [lost], range: { start: T - 5 * D, end: T - 3 * D } });
    expect(plan.missing).toEqual([{ start: lost - 2 * H, end: lost + H }]);
  });

  it('treats time before the stream ever listed as missing (a tenant onboarded late)', () => {
    const plan = planHeal({ ...base, listedFrom: T - 3 * D, gaps: [], range: { start: T - 20 * D, end: T - 4 * D } });
    expect(plan.missing).toEqual([
      { start: T - 20 * D, end: T - 13 * D },
      { start: T - 13 * D, end: T - 6 * D },
      { start: T - 6 * D, end: T - 4 * D },
    ]);
  });
});

describe('splitRange', () => {
  it('halves on whole seconds, and refuses below two seconds', () => {
    expect(splitRange({ start: 0, end: 10_000 })).toEqual([{ start: 0, end: 5000 }, { start: 5000, end: 10_000 }]);
    expect(splitRange({ start: 0, end: 3_000 })).toEqual([{ start: 0, end: 1000 }, { start: 1000, end: 3000 }]);
    expect(splitRange({ start: 0, end: 1_500 })).toBeUndefined();
  });
});

describe('the rest', () => {
  it('names a healed range by its bounds, short enough for a partition key', () => {
    const id = healSourceContentId({ start: T - D, end: T });
    expect(id).toBe('AuditSearch$20261119T120000Z$20261120T120000Z');
    expect(id.length).toBeLessThanOrEqual(128);
  });

  it('expects records from the ledger around a range, at least one per listed blob', () => {
    expect(expectedRecords({ records: 480, blobs: 24, hours: 48 }, 10)).toBe(100);
    expect(expectedRecords({ records: 0, blobs: 24, hours: 48 }, 10)).toBe(5);
    expect(expectedRecords({ records: 0, blobs: 0, hours: 0 }, 10)).toBe(0);
  });

  it('names the missing permission in the suspicious verdict', () => {
    expect(suspiciousReason('Audit.Exchange', { start: T - D, end: T }, 12)).toMatch(/AuditLogsQuery\.Read\.All \(or AuditLogsQuery-Exchange\.Read\.All\).*zero records instead of an error/);
  });

  it('summarizes healed and unhealed ranges per stream', () => {
    const summary = summarizeGapHeals([
      { tenantId: 't', contentType: 'Audit.Exchange', start: 'a', end: 'b', heal: { state: 'healed', recordsDelivered: 7 } },
      { tenantId: 't', contentType: 'Audit.Exchange', start: 'c', end: 'd', heal: { state: 'suspicious', recordsDelivered: 0, reason: 'why' } },
      { tenantId: 't', contentType: 'Audit.Exchange', start: 'e', end: 'f' },
    ]);
    expect(summary).toEqual([
      {
        tenantId: 't',
        contentType: 'Audit.Exchange',
        healed: [{ start: 'a', end: 'b', records: 7 }],
        unhealed: [{ start: 'c', end: 'd', state: 'suspicious', reason: 'why' }, { start: 'e', end: 'f', state: 'none' }],
      },
    ]);
  });
});
