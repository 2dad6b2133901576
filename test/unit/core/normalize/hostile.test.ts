import { afterEach, describe, expect, it } from 'vitest';
import { normalizeRecord, type NormalizedEvent } from '../../../../shared/core/normalize/index.js';
import { context } from './records.js';

const base = { Id: 'a1', CreationTime: '2024-06-03T08:15:22', RecordType: 1, Operation: 'Set-Mailbox', Workload: 'Exchange' };

/** Normalizes the record from its JSON text, as the pipeline does, and proves the event serializes. */
function normalizeText(text: string): NormalizedEvent {
  const event = normalizeRecord(JSON.parse(text), context, { rawText: text });
  expect(() => JSON.stringify(event)).not.toThrow();
  return event;
}

function nested(depth: number): string {
  return `${'['.repeat(depth)}"bottom"${']'.repeat(depth)}`;
}

describe('hostile records', () => {
  afterEach(() => {
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
  });

  it('cannot pollute prototypes through __proto__, constructor or prototype keys anywhere', () => {
    const proto = '{"polluted":"yes"}';
    const text = JSON.stringify({
      ...base,
      ExtendedProperties: [
        { Name: '__proto__', Value: JSON.parse(proto) as unknown },
        { Name: 'constructor', Value: { prototype: JSON.parse(proto) as unknown } },
        { Name: 'prototype', Value: 'x' },
      ],
      OperationProperties: `[{"Name":"__proto__","Value":${proto}}]`,
      DeviceProperties: { constructor: { prototype: { polluted: 'yes' } } },
      Parameters: [{ Name: '__proto__', Value: 'x' }],
      ModifiedProperties: [{ Name: '__proto__', NewValue: proto, OldValue: '' }],
      Data: `{"__proto__":${proto},"constructor":{"prototype":${proto}}}`,
      AppAccessContext: { constructor: 'x' },
    }).replace('"Id":"a1"', `"__proto__":${proto},"constructor":{"prototype":${proto}},"prototype":${proto},"Id":"a1"`);
    const event = normalizeText(text);
    const additional = event.AdditionalFields!;
    expect(Object.getPrototypeOf(additional)).toBeNull();
    expect(Object.hasOwn(additional, '__proto__')).toBe(true);
    expect(additional.__proto__).toEqual({ polluted: 'yes' });
    expect(Object.hasOwn(additional, 'constructor')).toBe(true);
    expect(additional.prototype).toBe('x');
    expect(Object.hasOwn(additional.Parameters as object, '__proto__')).toBe(true);
    expect(Object.getPrototypeOf(additional.ModifiedProperties)).toBeNull();
    expect(JSON.stringify(event)).toContain('"__proto__":{"polluted":"yes"}');
    expect(event.EventOriginalUid).toBe('a1');
  });

  it('survives a record nested 10,000 levels deep: Raw keeps its JSON text and the event serializes', () => {
    const text = `{"Id":"deep","RecordType":1,"CreationTime":"2024-06-03T08:15:22","Deep":${nested(10_000)}}`;
    const event = normalizeText(text);
    expect(event.Raw).toBe(text);
    expect(event.EventOriginalUid).toBe('deep');
    expect(event.ParseWarnings).toEqual(['record nests deeper than 512 levels; Raw holds its JSON text']);
  });

  it('rebuilds the JSON text of a deep record itself when no source text is given', () => {
    const text = `{"Id":"deep","Deep":${nested(10_000)}}`;
    const event = normalizeRecord(JSON.parse(text), context);
    expect(event.Raw).toBe(text);
    expect(() => JSON.stringify(event)).not.toThrow();
  });

  it('survives a deep array as the whole item and a deep value inside a Name/Value list or a JSON string', () => {
    const array = normalizeText(nested(10_000));
    expect(array.ParseWarnings).toEqual([
      'record nests deeper than 512 levels; Raw holds its JSON text',
      'record is not a JSON object (array)',
    ]);
    const inside = normalizeText(
      JSON.stringify({ ...base, Data: nested(10_000) }).replace('"Id"', `"ExtendedProperties":[{"Name":"Deep","Value":${nested(600)}}],"Id"`),
    );
    expect(inside.ParseWarnings).toEqual([
      'record nests deeper than 512 levels; Raw holds its JSON text',
      'ExtendedProperties.Deep nests deeper than 512 levels; left in Raw only',
      'Data nests deeper than 512 levels; left in Raw only',
    ]);
    expect(inside.AdditionalFields).toBeUndefined();
  });

  it('bounds a 5 MB string value wherever it is copied', () => {
    const huge = 'x'.repeat(5 * 1024 * 1024);
    const event = normalizeRecord({ ...base, UserId: huge, ClientIP: huge, ObjectId: huge, Data: `[${huge}` }, context);
    expect(event.ActorUsername).toHaveLength(8192);
    expect(event.SrcIpAddr).toBeNull();
    expect(event.SrcIpAddrOriginal).toHaveLength(8192);
    expect(event.ParseWarnings).toEqual([
      'UserId cut to 8192 characters (Raw has it whole)',
      'ClientIP cut to 8192 characters (Raw has it whole)',
      'ClientIP too long (8192 characters)',
      'ObjectId cut to 8192 characters (Raw has it whole)',
      'Data is too long to decode (5242881 characters)',
      'Data cut to 8192 characters (Raw has it whole)',
    ]);
    expect((event.AdditionalFields?.Data as string).length).toBe(8192);
  });

  it('bounds the work on Name/Value lists and arrays of 100,000 items', () => {
    const many = Array.from({ length: 100_000 }, (_, i) => ({ Name: `n${i}`, Value: `v${i}`, NewValue: 'new', ID: `u${i}@contoso.com`, Type: 5 }));
    const event = normalizeRecord(
      { ...base, ExtendedProperties: many, Parameters: many, ModifiedProperties: many, PolicyDetails: many },
      context,
    );
    const additional = event.AdditionalFields!;
    expect(Object.keys(additional.Parameters as object)).toHaveLength(256);
    expect(Object.keys(additional.ModifiedProperties as object)).toHaveLength(256);
    expect(additional.n255).toBe('v255');
    expect(additional).not.toHaveProperty('n256');
    expect(event.ParseWarnings).toEqual([
      'ExtendedProperties: kept the first 256 of 100000 entries',
      'Parameters: kept the first 256 of 100000 entries',
      'ModifiedProperties: kept the first 256 of 100000 entries',
    ]);
    const lists = normalizeRecord({ ...base, RecordType: 8, Operation: 'Add user.', Workload: 'AzureActiveDirectory', Actor: many, Target: many }, context);
    expect(lists.ActorUsername).toBe('u0@contoso.com');
    expect(lists.ParseWarnings).toEqual(['Actor: kept the first 256 of 100000 entries', 'Target: kept the first 256 of 100000 entries']);
  });

  it('skips Name/Value entries without a string Name and keeps a missing Value as null', () => {
    const event = normalizeRecord(
      {
        ...base,
        ExtendedProperties: [{ Name: 7, Value: 'x' }, { Value: 'y' }, 'loose', null, { Name: 'NoValue' }, { Name: 'Fine', Value: 'True' }],
      },
      context,
    );
    // A null value adds nothing to the flattened AdditionalFields.
    expect({ ...event.AdditionalFields }).toEqual({ Fine: true });
    expect(event.ParseWarnings).toEqual(['ExtendedProperties: skipped 4 entries without a usable Name']);
    const nested = normalizeRecord({ ...base, Parameters: [{ Name: 'NoValue' }] }, context);
    expect({ ...(nested.AdditionalFields?.Parameters as object) }).toEqual({ NoValue: null });
  });

  it('converts numbers and strings where the other is expected, and refuses objects', () => {
    const event = normalizeRecord(
      { ...base, RecordType: '2', UserId: 12345, UserType: '2', UserKey: { id: 1 }, OperationCount: '3', LogonType: '1', MailboxOwnerUPN: 42 },
      context,
    );
    expect(event).toMatchObject({
      RecordType: 2,
      ActorUsername: '12345',
      ActorUserType: 'Admin',
      ActorOriginalUserType: 'Admin',
      EventCount: 3,
      TargetUsername: '42',
    });
    expect(event.ActorUserId).toBeUndefined();
    expect(event.AdditionalFields?.LogonType).toBe('Admin');
    expect(event.ParseWarnings).toEqual(['UserKey is not a string']);
  });

  it('keeps a Name/Value list that arrives as text it cannot decode, and says so', () => {
    const event = normalizeRecord({ ...base, Parameters: '-Identity "alice" -Enabled $true', OperationProperties: '[{"Name":' }, context);
    expect(event.AdditionalFields).toMatchObject({ Parameters: '-Identity "alice" -Enabled $true', OperationProperties: '[{"Name":' });
    expect(event.ParseWarnings).toEqual([
      'OperationProperties looks like JSON but does not parse; kept as text',
      'OperationProperties is a string that is not JSON; kept as text',
      'Parameters is a string that is not JSON; kept as text',
    ]);
  });

  it('never throws, even for values JSON.parse cannot produce (throwing getters, cycles)', () => {
    const trap = { ...base };
    Object.defineProperty(trap, 'UserId', {
      enumerable: true,
      get() {
        throw new Error('gotcha');
      },
    });
    const trapped = normalizeRecord(trap, context);
    expect(trapped.Raw).toBeNull();
    expect(trapped.ParseWarnings).toEqual(['record cannot be serialized: gotcha', 'normalizer failed on this record: gotcha']);
    expect(() => JSON.stringify(trapped)).not.toThrow();

    const cyclic: Record<string, unknown> = { ...base, Data: { inner: {} } };
    (cyclic.Data as Record<string, unknown>).inner = cyclic;
    const event = normalizeRecord(cyclic, context);
    expect(event.Raw).toBeNull();
    expect(event.EventOriginalUid).toBe('a1');
    expect(event.ParseWarnings).toEqual([
      'record cannot be serialized: Converting circular structure to JSON',
      'Data nests deeper than 512 levels; left in Raw only',
    ]);
    expect(() => JSON.stringify(event)).not.toThrow();
  });
});
