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
  // One-shot hash (Node ≥ 20.12) of namespace bytes + name: this runs once per record.
  const digest = hash('sha1', Buffer.concat([namespaceBytes(namespace), Buffer.from(name, 'utf8')]), 'buffer');
  digest[6] = (digest[6]! & 0x0f) | 0x50;
  digest[8] = (digest[8]! & 0x3f) | 0x80;
  const hex = digest.toString('hex', 0, 16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

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
