import { Partitioners, type ICustomPartitioner } from 'kafkajs';

const M = 0x5bd1e995;
const SEED = 0x9747b28c;

/**
 * Kafka's murmur2 hash of a record key (the Java client's `Utils.murmur2`, which kafkajs'
 * DefaultPartitioner also uses), in 32-bit integer arithmetic. kafkajs computes it with
 * 64-bit Long objects, allocating several per key byte group; only the low 32 bits of
 * those products reach the result, and Math.imul gives exactly them.
 */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  let h = SEED ^ length;
  const whole = length & ~3;
  for (let i = 0; i < whole; i += 4) {
    let k = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  const left = length & 3;
  if (left > 0) {
    if (left === 3) h ^= data[whole + 2]! << 16;
    if (left >= 2) h ^= data[whole + 1]! << 8;
    h ^= data[whole]!;
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/**
 * kafkajs' DefaultPartitioner, the same partition for every record: a record's own
 * partition when it has one, else the murmur2 hash of its key modulo the partition count,
 * else (no key) the default partitioner's round robin. The hash is {@link murmur2}'s, and
 * the list of available partitions, which the default builds for every record, is built
 * only for records without a key.
 */
export const KeyHashPartitioner: ICustomPartitioner = () => {
  const roundRobin = Partitioners.DefaultPartitioner();
  return (args) => {
    const { message, partitionMetadata } = args;
    if (message.partition !== null && message.partition !== undefined) return message.partition;
    const key = message.key;
    if (key === null || key === undefined) return roundRobin(args);
    const bytes = Buffer.isBuffer(key) ? key : Buffer.from(String(key));
    return (murmur2(bytes) & 0x7fffffff) % partitionMetadata.length;
  };
};
