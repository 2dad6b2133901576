import { readdirSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it } from 'vitest';
import { shrinkToBudget } from '../../../../shared/core/eventBudget.js';
import { FIELD_ORDER } from '../../../../shared/core/normalize/event.js';
import {
  CARRIED_BY,
  normalizeRecord,
  serializeElement,
  serializeRecord,
  type NormalizedEvent,
} from '../../../../shared/core/normalize/index.js';
import { newEventFieldOrder } from '../../../../shared/core/normalize/normalizeRecord.js';
import { context, fixtureLines } from './records.js';

const FIXTURE_FILES = readdirSync(new URL('../../../fixtures/records/', import.meta.url)).filter((name) => name.endsWith('.ndjson'));

/** Every fixture record with its compact and full events. */
function fixtureEvents(): { file: string; text: string; record: Record<string, unknown>; compact: NormalizedEvent; full: NormalizedEvent }[] {
  return FIXTURE_FILES.flatMap((file) =>
    fixtureLines(file).map(({ text, record }) => ({
      file,
      text,
      record,
      compact: normalizeRecord(record, context, { rawText: text, profile: 'compact' }),
      full: normalizeRecord(record, context, { rawText: text }),
    })),
  );
}

/** Every leaf (string, number, boolean, null) of a JSON value, with its path. */
function leaves(value: unknown, path = ''): { path: string; value: unknown }[] {
  if (typeof value !== 'object' || value === null) return [{ path, value }];
  const entries = Array.isArray(value) ? value.map((item, i) => [String(i), item] as const) : Object.entries(value);
  // An empty container is a leaf too: it must survive as what it is.
  if (entries.length === 0) return [{ path, value }];
  return entries.flatMap(([key, item]) => leaves(item, `${path}/${key}`));
}

/** The record as a reader rebuilds it from a compact event: AdditionalFields, else the carrying column. */
function rebuild(event: NormalizedEvent, fieldNames: string[]): Record<string, unknown> {
  const additional = event.AdditionalFields ?? {};
  const rebuilt: Record<string, unknown> = {};
  for (const name of fieldNames) {
    const column = CARRIED_BY.get(name);
    rebuilt[name] = Object.hasOwn(additional, name) ? additional[name] : column === undefined ? undefined : event[column];
  }
  return rebuilt;
}

describe('the compact profile', () => {
  it('keeps every leaf value of every fixture record, under its own name or in the column that carries it', () => {
    let checked = 0;
    for (const { file, record, compact } of fixtureEvents()) {
      const rebuilt = rebuild(compact, Object.keys(record));
      for (const leaf of leaves(record)) {
        const found = leaves(rebuilt).find((candidate) => candidate.path === leaf.path);
        expect(found, `${file} ${String(record.Id)} ${leaf.path}`).toBeDefined();
        expect(isDeepStrictEqual(found!.value, leaf.value), `${file} ${String(record.Id)} ${leaf.path}`).toBe(true);
        checked++;
      }
      // Nothing is made up: the rebuilt record is the record, and AdditionalFields holds only record fields.
      expect(rebuilt).toStrictEqual(record);
      for (const name of Object.keys(compact.AdditionalFields ?? {})) expect(Object.hasOwn(record, name), name).toBe(true);
    }
    expect(checked).toBeGreaterThan(500);
  });

  it('leaves a field out of AdditionalFields only when its column holds the identical value', () => {
    for (const { record, compact } of fixtureEvents()) {
      for (const [name, column] of CARRIED_BY) {
        if (!Object.hasOwn(record, name)) continue;
        const inAdditional = Object.hasOwn(compact.AdditionalFields ?? {}, name);
        expect(inAdditional, `${String(record.Id)} ${name}`).toBe(compact[column] !== record[name]);
      }
    }
    const stringly = normalizeRecord({ Id: ' a1 ', RecordType: '15', Operation: 'UserLoggedIn', UserId: 'x@contoso.com' }, context, { profile: 'compact' });
    // A logon's UserId is its target, not its actor: ActorUsername is empty, so UserId stays too.
    expect({ ...stringly.AdditionalFields }).toEqual({ Id: ' a1 ', RecordType: '15', UserId: 'x@contoso.com' });
    expect(stringly).toMatchObject({ EventOriginalUid: 'a1', RecordType: 15, Operation: 'UserLoggedIn', TargetUsername: 'x@contoso.com' });
  });

  it('has the same normalized fields and warnings as the full event, and no Raw', () => {
    for (const { compact, full } of fixtureEvents()) {
      const { AdditionalFields: _a, Raw: _r, ...fullColumns } = full;
      const { AdditionalFields: _b, ...compactColumns } = compact;
      expect(compactColumns).toStrictEqual(fullColumns);
      expect(compact).not.toHaveProperty('Raw');
      expect(compact.RawSha256).toBe(full.RawSha256);
      expect(compact.RawSizeBytes).toBe(full.RawSizeBytes);
    }
  });

  it('is smaller than the full event for every fixture record, and its AdditionalFields never exceed the record', () => {
    let compactBytes = 0;
    let fullBytes = 0;
    for (const { text, record, compact } of fixtureEvents()) {
      const compactBody = serializeRecord(record, context, { rawText: text, profile: 'compact' }).body;
      const fullBody = serializeRecord(record, context, { rawText: text }).body;
      expect(compactBody.length).toBeLessThan(fullBody.length);
      expect(JSON.stringify(compact.AdditionalFields ?? {}).length).toBeLessThanOrEqual(text.length);
      compactBytes += Buffer.byteLength(compactBody);
      fullBytes += Buffer.byteLength(fullBody);
    }
    // The fixtures are small records, where the envelope weighs most; still a clear saving.
    expect(compactBytes / fullBytes).toBeLessThan(0.85);
  });

  it('serializes to exactly JSON.stringify of the event', () => {
    for (const { text, record, compact } of fixtureEvents()) {
      expect(serializeRecord(record, context, { rawText: text, profile: 'compact' }).body).toBe(JSON.stringify(compact));
    }
  });

  it('keeps Raw for what it cannot take apart: non-objects, unparsable elements, records nested too deeply', () => {
    for (const value of [42, 'text', null, [1, 2]]) {
      const event = normalizeRecord(value, context, { profile: 'compact' });
      expect(event.Raw).toEqual(value);
      expect(event).not.toHaveProperty('AdditionalFields');
    }
    const unparsable = serializeElement('{"Id": oops}', context, { profile: 'compact', index: 3 });
    expect(unparsable.event.Raw).toBe('{"Id": oops}');
    expect(unparsable.event.ParseWarnings).toContain('record 3 is not valid JSON; Raw holds its text');
    const deepText = `{"Id":"deep","Deep":${'['.repeat(600)}${']'.repeat(600)}}`;
    const deep = normalizeRecord(JSON.parse(deepText), context, { rawText: deepText, profile: 'compact' });
    expect(deep.Raw).toBe(deepText);
    expect(deep.AdditionalFields).toBeUndefined();
  });

  it('takes hostile field names as plain data', () => {
    const text = '{"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}},"Id":"a1"}';
    const event = normalizeRecord(JSON.parse(text), context, { rawText: text, profile: 'compact' });
    const additional = event.AdditionalFields!;
    expect(Object.getPrototypeOf(additional)).toBeNull();
    expect(Object.hasOwn(additional, '__proto__')).toBe(true);
    expect(JSON.stringify(event)).toContain('"__proto__":{"polluted":"yes"}');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('goes over the size budget by moving the record to the claim-check blob and dropping AdditionalFields, never adding Raw', () => {
    const record = { Id: 'big', RecordType: 1, CreationTime: '2024-06-03T08:15:22', Parameters: 'x'.repeat(5_000) };
    const { event } = serializeRecord(record, context, { rawText: JSON.stringify(record), profile: 'compact' });
    const shrunk = JSON.parse(shrinkToBudget(event, 'https://blob/claim-check/big.json', 2_000)) as Record<string, unknown>;
    expect(shrunk).not.toHaveProperty('Raw');
    expect(shrunk).not.toHaveProperty('AdditionalFields');
    expect(shrunk).toMatchObject({ RawTruncated: true, RawRef: 'https://blob/claim-check/big.json', EventOriginalUid: 'big' });
    expect(shrunk.ParseWarnings).toContain('AdditionalFields moved to a claim-check blob with the record: the event exceeded MAX_EVENT_BYTES');
  });
});

describe('the full profile on the hub', () => {
  it('builds every event with the fields in serialization order', () => {
    expect(newEventFieldOrder()).toEqual([...FIELD_ORDER]);
  });

  it('shrinks exactly as before: the undefined fields of a built event count as absent', () => {
    for (const { text, record, full } of fixtureEvents()) {
      const { event } = serializeRecord(record, context, { rawText: text });
      expect(shrinkToBudget(event, 'ref', 100)).toBe(shrinkToBudget(full, 'ref', 100));
      expect(shrinkToBudget(event, 'ref', 1_000_000)).toBe(shrinkToBudget(full, 'ref', 1_000_000));
    }
  });

  it('serializes to JSON.stringify of the event, with the record text itself as Raw', () => {
    for (const { text, record, full } of fixtureEvents()) {
      expect(serializeRecord(record, context, { rawText: text }).body).toBe(JSON.stringify(full));
      const spaced = JSON.stringify(record, null, 1);
      const body = serializeRecord(record, context, { rawText: spaced }).body;
      expect(body.endsWith(`,"Raw":${spaced}}`)).toBe(true);
      expect(JSON.parse(body)).toEqual(JSON.parse(JSON.stringify(normalizeRecord(record, context, { rawText: spaced }))));
    }
  });
});
