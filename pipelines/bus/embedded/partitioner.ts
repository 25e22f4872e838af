/**
 * Key → partition. Keyed messages use Kafka's default partitioner (murmur2 of the key's UTF-8 bytes, sign bit
 * cleared, modulo the partition count), so a topic with the same partition count maps every key to the same
 * partition on the embedded log and on Kafka (kafkajs' JavaCompatiblePartitioner / the Java client) alike:
 * moving a deployment between the two keeps per-key order.
 * Null keys go round-robin, one message at a time, to spread load evenly.
 */

/** Kafka's `Utils.murmur2` over `data[start, start + length)`: MurmurHash2, seed 0x9747b28c, as a signed 32-bit int. */
export function murmur2(data: Uint8Array, start = 0, length = data.length - start): number {
  const m = 0x5bd1e995;
  let h = 0x9747b28c ^ length;
  const words = length >> 2;
  for (let i = 0; i < words; i++) {
    const p = start + (i << 2);
    let k = data[p]! | (data[p + 1]! << 8) | (data[p + 2]! << 16) | (data[p + 3]! << 24);
    k = Math.imul(k, m);
    k ^= k >>> 24;
    k = Math.imul(k, m);
    h = Math.imul(h, m) ^ k;
  }
  const tail = start + (words << 2);
  switch (length & 3) {
    // biome-ignore lint/suspicious/noFallthroughSwitchClause: MurmurHash2 mixes the tail bytes by falling through
    case 3:
      h ^= data[tail + 2]! << 16;
    // biome-ignore lint/suspicious/noFallthroughSwitchClause: see above
    case 2:
      h ^= data[tail + 1]! << 8;
    case 1:
      h ^= data[tail]!;
      h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}

/** Partition of a key's UTF-8 bytes; Kafka's `toPositive(murmur2(key)) % numPartitions`. */
export function partitionForKey(keyBytes: Uint8Array, start: number, length: number, partitions: number): number {
  return (murmur2(keyBytes, start, length) & 0x7fffffff) % partitions;
}
