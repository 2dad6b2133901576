import { isIP } from 'node:net';

/** What a client address field held, after cleaning. */
export interface ClientAddress {
  /** A valid IPv4 or lower-case IPv6 address, or null. */
  ip: string | null;
  port?: number;
  hostname?: string;
  /** Why the value is not (entirely) a usable address; absent when it is. */
  problem?: string;
}

// `[host]` or `[host]:port` (IPv6 or anything bracketed).
const BRACKETED = /^\[([^\]]*)\](?::(\d{1,5}))?$/;
// `host:port` with exactly one colon, so a bare IPv6 (two or more colons) is never split at its last one.
const HOST_AND_PORT = /^([^:\s]+):(\d{1,5})$/;
// `host (address)`, as Exchange writes OriginatingServer and some client fields.
const HOST_WITH_ADDRESS = /^(\S+) \(([^)]*)\)$/;
const HOSTNAME = /^[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,251}[A-Za-z0-9_])?$/;
const MAPPED_IPV4_PREFIX = '::ffff:';
/** Longer than any address with port and host; longer values are not parsed at all. */
const MAX_ADDRESS_CHARS = 300;

/** The host part of `HOST (version)` as Exchange writes OriginatingServer; the value itself otherwise. */
export function serverNameOf(text: string): string {
  return HOST_WITH_ADDRESS.exec(text)?.[1] ?? text;
}

/** Values the service writes when there is no address (compare lower-cased). */
export function isNoAddress(text: string): boolean {
  return text === '' || text === 'null' || text === '<null>';
}

/**
 * Cleans one client address as the service writes it: `a.b.c.d`, `a.b.c.d:port`, `[a.b.c.d]:port`,
 * `[v6]`, `[v6]:port`, bare IPv6, `::ffff:a.b.c.d`, `host`, `host:port`, `host (a.b.c.d)`. IPv4-mapped
 * IPv6 is unwrapped; only addresses `net.isIP` accepts come back as `ip`. The input must already be trimmed
 * and not one of the "no address" markers.
 */
export function parseClientAddress(text: string): ClientAddress {
  // The usual value, a bare dotted IPv4 address, without the regular expressions below.
  if (isPlainIpv4(text)) return { ip: text };
  if (text.length > MAX_ADDRESS_CHARS) return { ip: null, problem: `too long (${text.length} characters)` };
  let host = text;
  let portText: string | undefined;
  const bracketed = BRACKETED.exec(host) ?? HOST_AND_PORT.exec(host);
  if (bracketed) {
    host = bracketed[1]!.trim();
    portText = bracketed[2];
  }
  let hostname: string | undefined;
  const withAddress = HOST_WITH_ADDRESS.exec(host);
  if (withAddress) {
    hostname = withAddress[1]!;
    host = withAddress[2]!.trim();
  }
  if (host.toLowerCase().startsWith(MAPPED_IPV4_PREFIX) && isIP(host.slice(MAPPED_IPV4_PREFIX.length)) === 4) {
    host = host.slice(MAPPED_IPV4_PREFIX.length);
  }
  const result: ClientAddress = { ip: null };
  const port = portText === undefined ? undefined : Number(portText);
  if (port !== undefined) {
    if (port <= 65535) result.port = port;
    else result.problem = `port out of range: ${portText}`;
  }
  const family = isIP(host);
  if (family === 4) result.ip = host;
  else if (family === 6) result.ip = host.toLowerCase();
  else {
    if (hostname === undefined && HOSTNAME.test(host)) hostname = host;
    result.problem = `not an IP: ${host}`;
  }
  if (hostname !== undefined) result.hostname = hostname;
  return result;
}

/**
 * Whether `text` is exactly four dotted decimal octets as `net.isIP` accepts them (0–255, no leading
 * zero), which the general parser would return unchanged as `ip` with nothing else.
 */
function isPlainIpv4(text: string): boolean {
  const length = text.length;
  if (length < 7 || length > 15) return false;
  let at = 0;
  for (let octet = 0; octet < 4; octet++) {
    if (octet > 0) {
      if (text.charCodeAt(at) !== 0x2e) return false;
      at++;
    }
    const start = at;
    let value = 0;
    while (at < length && at - start < 4) {
      const digit = text.charCodeAt(at) - 0x30;
      if (digit < 0 || digit > 9) break;
      value = value * 10 + digit;
      at++;
    }
    const digits = at - start;
    if (digits === 0 || digits > 3 || value > 255 || (digits > 1 && text.charCodeAt(start) === 0x30)) return false;
  }
  return at === length;
}
