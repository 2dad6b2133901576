import { describe, expect, it } from 'vitest';
import { normalizeRecord } from '../../../../shared/core/normalize/index.js';
import { parseIsoUtc, toIsoUtc } from '../../../../shared/core/normalize/time.js';
import { context } from './records.js';

describe('toIsoUtc', () => {
  it.each([
    ['2020-02-07T16:44:07', '2020-02-07T16:44:07.000Z'],
    ['2020-02-07T16:44:07Z', '2020-02-07T16:44:07.000Z'],
    ['2020-02-07t16:44:07z', '2020-02-07T16:44:07.000Z'],
    ['2020-02-07 16:44:07', '2020-02-07T16:44:07.000Z'],
    ['2024-05-14T10:15:00.000Z', '2024-05-14T10:15:00.000Z'],
    ['2024-09-30T06:16:41.7320497Z', '2024-09-30T06:16:41.732Z'],
    ['2024-09-30T06:16:41.7', '2024-09-30T06:16:41.700Z'],
    ['2024-09-30T06:16:41,25', '2024-09-30T06:16:41.250Z'],
    ['2024-01-01T01:30:00+02:00', '2023-12-31T23:30:00.000Z'],
    ['2024-01-01T01:30:00-0530', '2024-01-01T07:00:00.000Z'],
    ['2024-02-29T12:00', '2024-02-29T12:00:00.000Z'],
    [' 2020-02-07T16:44:07 ', '2020-02-07T16:44:07.000Z'],
  ])('%s → %s', (input, expected) => {
    expect(toIsoUtc(input)).toBe(expected);
  });

  it.each([
    '',
    'yesterday',
    '2023-02-29T00:00:00',
    '2024-02-30T00:00:00',
    '2024-13-01T00:00:00',
    '2024-01-01T24:00:00',
    '2024-01-01T23:60:00',
    '2024-01-01T23:59:60',
    '2024-01-01T00:00:00+24:00',
    '0999-01-01T00:00:00',
    '2024-01-01',
    '1/30/2024 2:22:50 PM',
    '2024-01-01T00:00:00.1234567890Z',
    `2024-01-01T00:00:00${' '.repeat(50)}`,
    '9999-12-31T23:59:59-01:00',
  ])('rejects %j', (input) => {
    expect(toIsoUtc(input)).toBeUndefined();
  });
});

describe('toIsoUtc fast path', () => {
  it('agrees with the general parser on the shapes it takes and on near misses', () => {
    const heads = ['2024-02-29T23:59:59', '2023-02-29T00:00:00', '2100-02-29T00:00:00', '2000-02-29T12:00:00', '2024-04-31T00:00:00',
      '2024-12-31T24:00:00', '2024-01-01T-1:00:00', '2024-01-01T00:-1:00', '2024-01-01T00:00:-1', '0999-01-01T00:00:00', '2024-00-10T00:00:00',
      '2024-1a-01T00:00:00', '2024-01-01X00:00:00', '2024-01-01T00.00.00', '9999-12-31T23:59:59', '1000-01-01T00:00:00'];
    const tails = ['', 'Z', 'z', '.', '.1', '.12', '.123', '.1234567', '.123456789', '.1234567890', '.12Z', '.1234567Z', '.x', 'ZZ', '+01:00', ' ', ',5'];
    let compared = 0;
    for (const head of heads) {
      for (const tail of tails) {
        expect(toIsoUtc(head + tail), head + tail).toBe(parseIsoUtc(head + tail));
        compared++;
      }
    }
    expect(compared).toBe(heads.length * tails.length);
  });
});

describe('TimeGenerated', () => {
  it('is CreationTime (zone-less, hence UTC), and the event start and end', () => {
    const event = normalizeRecord({ Id: 'a', CreationTime: '2024-06-03T08:15:22' }, context);
    expect(event).toMatchObject({
      TimeGenerated: '2024-06-03T08:15:22.000Z',
      EventStartTime: '2024-06-03T08:15:22.000Z',
      EventEndTime: '2024-06-03T08:15:22.000Z',
      ProcessedTime: context.processedTime,
      SourceContentCreated: '2024-06-09T01:00:00.000Z',
    });
  });

  it('falls back to contentCreated, with a warning, when CreationTime is missing', () => {
    const event = normalizeRecord({ Id: 'a', RecordType: 1 }, context);
    expect(event.TimeGenerated).toBe('2024-06-09T01:00:00.000Z');
    expect(event.ParseWarnings).toEqual(['missing CreationTime; TimeGenerated from SourceContentCreated']);
  });

  it('falls back to ProcessedTime, with a warning, when CreationTime is unparseable and there is no contentCreated', () => {
    const { contentCreated: _unused, ...withoutCreated } = context;
    const event = normalizeRecord({ Id: 'a', RecordType: 1, CreationTime: 'last Tuesday' }, withoutCreated);
    expect(event.TimeGenerated).toBe(context.processedTime);
    expect(event.EventStartTime).toBe(context.processedTime);
    expect(event.SourceContentCreated).toBeUndefined();
    expect(event.ParseWarnings).toEqual(['unparseable CreationTime; TimeGenerated from ProcessedTime']);
  });

  it('treats a CreationTime that is not a string as unparseable', () => {
    const event = normalizeRecord({ Id: 'a', RecordType: 1, CreationTime: 1717402522000 }, context);
    expect(event.ParseWarnings).toEqual(['unparseable CreationTime; TimeGenerated from SourceContentCreated']);
  });
});
