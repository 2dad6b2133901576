import { hash } from 'node:crypto';

const UUID_TEXT = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Name-based UUID version 5 (RFC 9562 §5.5): SHA-1 of the namespace's 16 bytes followed by the UTF-8
 * bytes of `name`, with the version and variant bits set.
 *
 * Deterministic: the same (name, namespace) always gives the same lower-case UUID, which is what makes
 * `EventId` a stable dedupe key. Throws a TypeError when `namespace` is not a UUID (a programming error).
 */
export function uuidV5(name: string, namespace: string): string {
  // This runs once per record: the input is written into a reused buffer, the hash is one-shot (Node ≥ 20.12).
  const length = 16 + Buffer.byteLength(name, 'utf8');
  if (scratch.length < length) scratch = Buffer.allocUnsafe(Math.max(length, scratch.length * 2));
  namespaceBytes(namespace).copy(scratch, 0);
  scratch.write(name, 16, 'utf8');
  const d = hash('sha1', scratch.subarray(0, length), 'buffer');
  const h = HEX;
  return (
    h[d[0]!]! + h[d[1]!]! + h[d[2]!]! + h[d[3]!]! + '-' + h[d[4]!]! + h[d[5]!]! + '-' + h[(d[6]! & 0x0f) | 0x50]! + h[d[7]!]! + '-' +
    h[(d[8]! & 0x3f) | 0x80]! + h[d[9]!]! + '-' + h[d[10]!]! + h[d[11]!]! + h[d[12]!]! + h[d[13]!]! + h[d[14]!]! + h[d[15]!]!
  );
}

/** Two lower-case hex digits per byte value. */
const HEX: readonly string[] = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'));
let scratch = Buffer.allocUnsafe(256);

const namespaceCache = new Map<string, Buffer>();

/** The 16 bytes of a namespace UUID, computed once per namespace. */
function namespaceBytes(namespace: string): Buffer {
  let bytes = namespaceCache.get(namespace);
  if (!bytes) {
    if (!UUID_TEXT.test(namespace)) throw new TypeError('uuidV5: namespace must be a UUID');
    bytes = Buffer.from(namespace.replaceAll('-', ''), 'hex');
    namespaceCache.set(namespace, bytes);
  }
  return bytes;
}
