/**
 * Maps a partition key to a partition index the way the Event Hubs service does: Bob Jenkins' lookup3
 * `hashlittle2` over the key's UTF-8 bytes (both seeds 0), the two result words XOR-ed and truncated to a
 * signed 16-bit value, then taken modulo the partition count. Matching the service (and the SDK's buffered
 * producer, which computes the same mapping client-side) means a key lands on the same partition here as in
 * Azure, so tests that reason about key placement carry over.
 */
export function partitionIndexForKey(partitionKey: string, partitionCount: number): number {
  const { b, c } = hashLittle2(Buffer.from(partitionKey, 'utf8'));
  const hash16 = ((c ^ b) << 16) >> 16;
  return Math.abs(hash16 % partitionCount);
}

const rot = (x: number, k: number): number => (x << k) | (x >>> (32 - k));

/** lookup3 `hashlittle2` with zero seeds; every step is reduced to 32 bits with `| 0`. */
function hashLittle2(data: Buffer): { b: number; c: number } {
  let a = (0xdeadbeef + data.length) | 0;
  let b = a;
  let c = a;
  let offset = 0;
  let remaining = data.length;
  while (remaining > 12) {
    a = (a + data.readUInt32LE(offset)) | 0;
    b = (b + data.readUInt32LE(offset + 4)) | 0;
    c = (c + data.readUInt32LE(offset + 8)) | 0;
    a = (a - c) | 0; a ^= rot(c, 4); c = (c + b) | 0;
    b = (b - a) | 0; b ^= rot(a, 6); a = (a + c) | 0;
    c = (c - b) | 0; c ^= rot(b, 8); b = (b + a) | 0;
    a = (a - c) | 0; a ^= rot(c, 16); c = (c + b) | 0;
    b = (b - a) | 0; b ^= rot(a, 19); a = (a + c) | 0;
    c = (c - b) | 0; c ^= rot(b, 4); b = (b + a) | 0;
    offset += 12;
    remaining -= 12;
  }
  // Only an empty key reaches here with nothing left; lookup3 returns before the final mix then.
  if (remaining === 0) return { b: b >>> 0, c: c >>> 0 };
  // lookup3's tail switch adds the last 1..12 bytes little-endian into a, b, c; zero padding is equivalent.
  const tail = Buffer.alloc(12);
  data.copy(tail, 0, offset);
  a = (a + tail.readUInt32LE(0)) | 0;
  b = (b + tail.readUInt32LE(4)) | 0;
  c = (c + tail.readUInt32LE(8)) | 0;
  c ^= b; c = (c - rot(b, 14)) | 0;
  a ^= c; a = (a - rot(c, 11)) | 0;
  b ^= a; b = (b - rot(a, 25)) | 0;
  c ^= b; c = (c - rot(b, 16)) | 0;
  a ^= c; a = (a - rot(c, 4)) | 0;
  b ^= a; b = (b - rot(a, 14)) | 0;
  c ^= b; c = (c - rot(b, 24)) | 0;
  return { b: b >>> 0, c: c >>> 0 };
}
