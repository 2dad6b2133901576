import { describe, expect, it } from 'vitest';
import { normalizeRecord } from '../../../../shared/core/normalize/index.js';
import { parseClientAddress, serverNameOf } from '../../../../shared/core/normalize/ip.js';
import { context, normalizeFixture } from './records.js';

const id = (n: number): string => `00000000-0000-4000-8000-0000000000${n}`;

describe('client address cleaning (docs/event-schema.md, "Client address cleaning": one fixture record per format)', () => {
  it.each([
    { n: 10, input: '192.0.2.10', ip: '192.0.2.10' },
    { n: 11, input: '192.0.2.11:12345', ip: '192.0.2.11', port: 12345 },
    { n: 12, input: '[192.0.2.12]:12345', ip: '192.0.2.12', port: 12345 },
    { n: 13, input: '[192.0.2.13]', ip: '192.0.2.13' },
    { n: 14, input: '::ffff:192.0.2.14', ip: '192.0.2.14' },
    { n: 15, input: '[::ffff:192.0.2.15]:12345', ip: '192.0.2.15', port: 12345 },
    { n: 16, input: '2001:db8::abcd', ip: '2001:db8::abcd' },
    { n: 17, input: '[2001:db8::abcd]', ip: '2001:db8::abcd' },
    { n: 18, input: '[2001:db8::abcd]:12345', ip: '2001:db8::abcd', port: 12345 },
    { n: 19, input: '::1', ip: '::1' },
    { n: 20, input: 'localhost', ip: null, hostname: 'localhost', warning: 'ClientIP not an IP: localhost' },
    { n: 21, input: 'cool.client.local', ip: null, hostname: 'cool.client.local', warning: 'ClientIP not an IP: cool.client.local' },
    { n: 22, input: 'cool.client.local:12345', ip: null, port: 12345, hostname: 'cool.client.local', warning: 'ClientIP not an IP: cool.client.local' },
    { n: 23, input: 'NOTANIPV4 (198.51.100.300)', ip: null, hostname: 'NOTANIPV4', warning: 'ClientIP not an IP: 198.51.100.300' },
    { n: 24, input: '', ip: null, original: null },
    { n: 25, input: 'null', ip: null, original: null },
    { n: 26, input: '<null>', ip: null, original: null },
    { n: 27, input: '  203.0.113.27\r\n', ip: '203.0.113.27' },
    { n: 28, input: '2001:DB8::ABCD:1', ip: '2001:db8::abcd:1' },
    { n: 29, input: '[localhost]:12345', ip: null, port: 12345, hostname: 'localhost', warning: 'ClientIP not an IP: localhost' },
    { n: 30, input: 'host7 (203.0.113.30)', ip: '203.0.113.30', hostname: 'host7' },
  ])('ClientIP $input', ({ n, input, ip, port, hostname, warning, original }) => {
    const event = normalizeFixture('ip-formats.ndjson', id(n));
    expect(event.SrcIpAddr).toBe(ip);
    expect(event.SrcPortNumber).toBe(port);
    expect(event.SrcHostname).toBe(hostname);
    expect(event.SrcIpAddrOriginal).toBe(original === undefined ? input : original);
    expect(event.ParseWarnings).toEqual(warning === undefined ? undefined : [warning]);
  });

  it('takes ActorIpAddress when ClientIP is null (Entra)', () => {
    expect(normalizeFixture('ip-formats.ndjson', id(31))).toMatchObject({ SrcIpAddr: '203.0.113.31', SrcIpAddrOriginal: '203.0.113.31' });
  });

  it('prefers ClientIP and drops ClientIPAddress when both name the same address', () => {
    const event = normalizeFixture('ip-formats.ndjson', id(32));
    expect(event).toMatchObject({ SrcIpAddr: '203.0.113.32', SrcPortNumber: 50000 });
    expect(event.AdditionalFields).toBeUndefined();
  });

  it('takes ActorIP (Exchange) after an empty ClientIP', () => {
    expect(normalizeFixture('ip-formats.ndjson', id(33)).SrcIpAddr).toBe('2001:db8::33');
  });

  it('takes SenderIp (Defender for Office) when it is the only address', () => {
    expect(normalizeFixture('ip-formats.ndjson', id(34)).SrcIpAddr).toBe('198.51.100.34');
  });

  it('keeps a second address field that names a different address in AdditionalFields', () => {
    const event = normalizeFixture('ip-formats.ndjson', id(35));
    expect(event.SrcIpAddr).toBe('192.0.2.35');
    expect({ ...event.AdditionalFields }).toEqual({ ClientIPAddress: '198.51.100.35' });
  });

  it('never splits a bare IPv6 address at its last colon', () => {
    expect(parseClientAddress('2001:db8::1:8080')).toEqual({ ip: '2001:db8::1:8080' });
    expect(parseClientAddress('fe80::1')).toEqual({ ip: 'fe80::1' });
  });

  it('rejects a port above 65535 and an over-long value without parsing it', () => {
    expect(parseClientAddress('192.0.2.1:99999')).toEqual({ ip: '192.0.2.1', problem: 'port out of range: 99999' });
    expect(parseClientAddress('1'.repeat(301))).toEqual({ ip: null, problem: 'too long (301 characters)' });
  });

  it('does not treat a value that is neither address nor host name as a host name', () => {
    expect(parseClientAddress('not an address')).toEqual({ ip: null, problem: 'not an IP: not an address' });
  });

  it('a ClientIP that is not a string is ignored in favour of the next field', () => {
    const event = normalizeRecord({ Id: 'x', ClientIP: 12, ClientIPAddress: '192.0.2.9' }, context);
    expect(event.SrcIpAddr).toBe('192.0.2.9');
  });
});

describe('serverNameOf (OriginatingServer)', () => {
  it.each([
    ['AM6PR01MB4535 (15.20.225.32)', 'AM6PR01MB4535'],
    ['DB7PR04MB4346', 'DB7PR04MB4346'],
  ])('%s → %s', (input, expected) => {
    expect(serverNameOf(input)).toBe(expected);
  });

  it('is applied after trimming the trailing line break Exchange writes', () => {
    const event = normalizeRecord({ Id: 'x', OriginatingServer: 'AM6PR01MB4535 (15.20.225.32)\r\n' }, context);
    expect(event.AdditionalFields?.OriginatingServer).toBe('AM6PR01MB4535');
  });
});
