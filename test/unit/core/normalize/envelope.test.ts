import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  ENVELOPE_SCHEMA,
  ENVELOPE_VERSION,
  EVENT_ID_NAMESPACE,
  normalizeRecord,
  type NormalizedEvent,
} from '../../../../shared/core/normalize/index.js';
import { uuidV5 } from '../../../../shared/core/uuid.js';
import { context, fixtureLines, TENANT } from './records.js';

const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

/** Fields every event carries, whatever the input. */
const ALWAYS_PRESENT = [
  'EnvelopeSchema',
  'EnvelopeVersion',
  'EventId',
  'EventOriginalUid',
  'TimeGenerated',
  'EventStartTime',
  'EventEndTime',
  'ProcessedTime',
  'Source',
  'SourceContentType',
  'SourceContentId',
  'OrganizationId',
  'EventVendor',
  'EventProduct',
  'Workload',
  'RecordType',
  'RecordTypeName',
  'Operation',
  'EventOriginalType',
  'EventSchema',
  'EventSchemaVersion',
  'EventType',
  'EventResult',
  'EventCount',
  'EventSeverity',
  'Dvc',
  'SrcIpAddr',
  'SrcIpAddrOriginal',
  'RawSha256',
  'RawSizeBytes',
  'RawTruncated',
  'Raw',
];
/** The always-present fields that may be null. */
const NULLABLE = new Set(['EventOriginalUid', 'Workload', 'RecordType', 'Operation', 'EventOriginalType', 'SrcIpAddr', 'SrcIpAddrOriginal', 'Raw']);

function expectWellFormed(event: NormalizedEvent): void {
  for (const field of ALWAYS_PRESENT) expect(event, field).toHaveProperty(field);
  for (const [field, value] of Object.entries(event)) {
    expect(value, field).not.toBeUndefined();
    if (!NULLABLE.has(field)) expect(value, field).not.toBeNull();
    expect(value, field).not.toBe('');
    if (Array.isArray(value) && field !== 'Raw') expect(value, field).not.toHaveLength(0);
  }
  expect(JSON.parse(JSON.stringify(event))).toBeTypeOf('object');
}

describe('the envelope', () => {
  it('is well formed for every fixture record: constants, provenance, always-present fields, nothing empty', () => {
    for (const file of ['exchange.ndjson', 'sharepoint.ndjson', 'entra.ndjson', 'dlp.ndjson', 'general.ndjson', 'ip-formats.ndjson']) {
      for (const { text, record } of fixtureLines(file)) {
        const event = normalizeRecord(record, context, { rawText: text });
        expectWellFormed(event);
        expect(event).toMatchObject({
          EnvelopeSchema: ENVELOPE_SCHEMA,
          EnvelopeVersion: ENVELOPE_VERSION,
          Source: 'O365ManagementActivity',
          SourceContentType: context.contentType,
          SourceContentId: context.contentId,
          SourceContentCreated: '2024-06-09T01:00:00.000Z',
          ProcessedTime: context.processedTime,
          OrganizationId: TENANT,
          EventVendor: 'Microsoft',
          RawTruncated: false,
        });
        expect(event.Dvc).toBe(event.EventProduct);
        expect(event.EventOriginalType).toBe(event.Operation);
        expect(event.Raw).toBe(record);
      }
    }
  });

  it('leaves optional fields out instead of writing null or empty values', () => {
    const event = normalizeRecord({ Id: 'a', CreationTime: '2024-06-03T08:15:22', RecordType: 1, UserId: '', ClientIP: '' }, context);
    expectWellFormed(event);
    expect(event).not.toHaveProperty('ActorUsername');
    expect(event).not.toHaveProperty('AdditionalFields');
    expect(event).not.toHaveProperty('ParseWarnings');
    expect(event.SrcIpAddr).toBeNull();
    expect(event.SrcIpAddrOriginal).toBeNull();
  });
});

describe('EventId', () => {
  const record = { Id: 'F5493F9A-57CE-4859-94BD-FD2AD38D5680', RecordType: 50, CreationTime: '2024-05-14T09:21:37' };

  it('is UUIDv5 of Source|tenant|Id, lower-cased, in the project namespace', () => {
    const expected = uuidV5(`O365ManagementActivity|${TENANT}|f5493f9a-57ce-4859-94bd-fd2ad38d5680`, EVENT_ID_NAMESPACE);
    expect(normalizeRecord(record, context).EventId).toBe(expected);
  });

  it('ignores the case of the tenant and of the Id, and everything else about the record', () => {
    const base = normalizeRecord(record, context).EventId;
    expect(normalizeRecord({ ...record, Id: record.Id.toLowerCase() }, context).EventId).toBe(base);
    expect(normalizeRecord(record, { ...context, tenantId: TENANT.toUpperCase() }).EventId).toBe(base);
    expect(normalizeRecord({ ...record, Operation: 'Other' }, { ...context, contentId: 'another blob' }).EventId).toBe(base);
    expect(normalizeRecord(record, { ...context, processedTime: '2030-01-01T00:00:00.000Z' }).EventId).toBe(base);
  });

  it('differs by tenant and by Id', () => {
    const base = normalizeRecord(record, context).EventId;
    expect(normalizeRecord(record, { ...context, tenantId: '00000000-0000-4000-8000-000000000000' }).EventId).not.toBe(base);
    expect(normalizeRecord({ ...record, Id: 'f5493f9a-57ce-4859-94bd-fd2ad38d5681' }, context).EventId).not.toBe(base);
  });

  it.each([
    ['missing', {}],
    ['empty', { Id: '' }],
    ['blank', { Id: '   ' }],
    ['a number', { Id: 42 }],
    ['an object', { Id: { value: 'x' } }],
  ])('comes from RawSha256, with a warning, when the Id is %s', (_case, id) => {
    const withoutId = { RecordType: 1, CreationTime: '2024-05-14T09:21:37', ...id };
    const event = normalizeRecord(withoutId, context);
    expect(event.EventId).toBe(uuidV5(`O365ManagementActivity|${TENANT}|sha256:${sha256(JSON.stringify(withoutId))}`, EVENT_ID_NAMESPACE));
    expect(event.EventOriginalUid).toBeNull();
    expect(event.ParseWarnings).toContain('no usable Id; EventId derived from RawSha256');
    expect(normalizeRecord(structuredClone(withoutId), context).EventId).toBe(event.EventId);
  });
});

describe('Raw, RawSha256 and RawSizeBytes', () => {
  const record = { Id: 'a', Note: 'café ✓ 😀', RecordType: 1, CreationTime: '2024-05-14T09:21:37' };

  it('hash and measure JSON.stringify(record) in UTF-8 bytes, and keep the record itself', () => {
    const text = JSON.stringify(record);
    const event = normalizeRecord(record, context);
    expect(event.RawSha256).toBe(sha256(text));
    expect(event.RawSizeBytes).toBe(Buffer.byteLength(text, 'utf8'));
    expect(event.RawSizeBytes).toBeGreaterThan(text.length);
    expect(event.Raw).toBe(record);
    expect(event.RawTruncated).toBe(false);
  });

  it('hash and measure the source text instead when the caller passes it', () => {
    const rawText = `{ "Id": "a", "Note": "caf\\u00e9 ✓ 😀", "RecordType": 1, "CreationTime": "2024-05-14T09:21:37" }`;
    const event = normalizeRecord(JSON.parse(rawText), context, { rawText });
    expect(event.RawSha256).toBe(sha256(rawText));
    expect(event.RawSizeBytes).toBe(Buffer.byteLength(rawText, 'utf8'));
    expect(event.Raw).toEqual(record);
  });
});

describe('RecordType', () => {
  it.each([
    { input: 15, type: 15, name: 'AzureActiveDirectoryStsLogon', warnings: undefined },
    { input: '15', type: 15, name: 'AzureActiveDirectoryStsLogon', warnings: undefined },
    { input: ' 22 ', type: 22, name: 'Viva Engage', warnings: undefined },
    { input: -1, type: -1, name: 'Unknown(-1)', warnings: ['unknown RecordType -1'] },
    { input: 463, type: 463, name: 'VivaGlintAgenticCampaign', warnings: undefined },
    { input: 1.5, type: null, name: 'Unknown', warnings: ['RecordType is not an integer'] },
    { input: 'ExchangeAdmin', type: null, name: 'Unknown', warnings: ['RecordType is not an integer'] },
    { input: 1e300, type: null, name: 'Unknown', warnings: ['RecordType is not an integer'] },
    { input: undefined, type: null, name: 'Unknown', warnings: ['missing RecordType'] },
  ])('$input → $type $name', ({ input, type, name, warnings }) => {
    const event = normalizeRecord({ Id: 'a', CreationTime: '2024-05-14T09:21:37', RecordType: input }, context);
    expect(event.RecordType).toBe(type);
    expect(event.RecordTypeName).toBe(name);
    expect(event.ParseWarnings).toEqual(warnings);
  });
});

describe('OrganizationId', () => {
  it('is the stream tenant, lower-cased; a record naming another organization is flagged', () => {
    const event = normalizeRecord(
      { Id: 'a', CreationTime: '2024-05-14T09:21:37', RecordType: 1, OrganizationId: '11111111-2222-4333-8444-555555555555' },
      { ...context, tenantId: TENANT.toUpperCase() },
    );
    expect(event.OrganizationId).toBe(TENANT);
    expect(event.ParseWarnings).toEqual(['OrganizationId differs from the stream tenant']);
    expect(event.AdditionalFields?.RecordOrganizationId).toBe('11111111-2222-4333-8444-555555555555');
  });
});

describe('items that are not JSON objects', () => {
  it.each([
    ['a number', 42, 'number'],
    ['null', null, 'null'],
    ['a string', 'not a record', 'string'],
    ['an array', [{ Id: 'a' }], 'array'],
    ['a boolean', true, 'boolean'],
  ])('%s still yields one event with the value as Raw and one warning', (_case, value, kind) => {
    const event = normalizeRecord(value, context);
    expectWellFormed(event);
    expect(event.Raw).toBe(value);
    expect(event.ParseWarnings).toEqual([`record is not a JSON object (${kind})`]);
    expect(event).toMatchObject({ RecordType: null, RecordTypeName: 'Unknown', EventOriginalUid: null, EventResult: 'NA' });
    expect(event.TimeGenerated).toBe('2024-06-09T01:00:00.000Z');
    expect(event.RawSha256).toBe(sha256(JSON.stringify(value)));
    expect(event.EventId).toBe(uuidV5(`O365ManagementActivity|${TENANT}|sha256:${event.RawSha256}`, EVENT_ID_NAMESPACE));
  });

  it.each([
    ['undefined', undefined, 'undefined'],
    ['a function', () => 1, 'function'],
    ['a symbol', Symbol('x'), 'symbol'],
    ['a bigint', 10n, 'bigint'],
  ])('%s (not JSON at all) yields an event with Raw null', (_case, value, kind) => {
    const event = normalizeRecord(value, context);
    expectWellFormed(event);
    expect(event.Raw).toBeNull();
    expect(event.ParseWarnings).toEqual([`record is not a JSON value (${kind})`]);
  });
});
