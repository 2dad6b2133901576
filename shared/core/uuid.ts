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
  // This runs once per record: the input is written into a reused buffer and hashed one-shot (Node ≥ 20.12)
  // to hex, which costs a third of a hash to a Buffer (a Buffer result is a costly allocation in Node 20).
  // The write gives the name's UTF-8 length (a UTF-16 code unit is at most 3 bytes), so the name is not
  // measured first, and the namespace's bytes stay in the buffer while the namespace is the same.
  if (scratch.length < 16 + 3 * name.length) {
    scratch = Buffer.allocUnsafe(Math.max(16 + 3 * name.length, scratch.length * 2));
    scratchNamespace = undefined;
  }
  if (namespace !== scratchNamespace) {
    namespaceBytes(namespace).copy(scratch, 0);
    scratchNamespace = namespace;
  }
  const length = 16 + scratch.write(name, 16, 'utf8');
  const h = hash('sha1', scratch.subarray(0, length), 'hex');
  // The first 16 bytes, with the version (5) in the high nibble of byte 6 and the variant (10xx) in that of byte 8.
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${VARIANT_DIGIT[h.charCodeAt(16)]}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** By the char code of a lower-case hex digit: the digit with its two high bits set to the variant's `10`. */
const VARIANT_DIGIT: readonly string[] = (() => {
  const digits: string[] = [];
  for (let value = 0; value < 16; value++) digits[value.toString(16).charCodeAt(0)] = ((value & 0x3) | 0x8).toString(16);
  return digits;
})();
let scratch = Buffer.allocUnsafe(256);
/** The namespace whose 16 bytes start `scratch`. */
let scratchNamespace: string | undefined;

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
