import { Partitioners, type ICustomPartitioner } from 'kafkajs';

/** Keys kept by {@link RecordKeys}; more distinct clients than this start the cache over. */
const MAX_KEYS = 65_536;

/**
 * The Kafka key of each record, the client's address, as one Buffer per address: the
 * same few hundred clients send nearly every query, so building a new Buffer per record
 * was wasted work, and a key that is the same object lets {@link cachedDefaultPartitioner}
 * remember its partition. Bounded: past MAX_KEYS addresses the cache is emptied and
 * filled again (a node has far fewer pods; only a scan of many addresses gets there).
 */
export class RecordKeys {
  private readonly keys = new Map<string, Buffer>();

  /** The key of a record whose client address is `ip` (do not write to it). */
  of(ip: string): Buffer {
    let key = this.keys.get(ip);
    if (key === undefined) {
      if (this.keys.size >= MAX_KEYS) this.keys.clear();
      key = Buffer.from(ip);
      this.keys.set(ip, key);
    }
    return key;
  }
}

/**
 * kafkajs' DefaultPartitioner (murmur2 of the key, as the Java client, so a client lands
 * on the same partition whichever producer wrote it) answering from a per-key-object
 * memo: its hash runs on 64-bit Long objects and it filters the partition list for every
 * message, several microseconds per record. The memo holds the partition count it was
 * computed for and is recomputed when the topic's count changes; a message with an
 * explicit partition or no Buffer key goes to the DefaultPartitioner as is.
 */
export const cachedDefaultPartitioner: ICustomPartitioner = () => {
  const partitioner = Partitioners.DefaultPartitioner();
  const memo = new WeakMap<Buffer, { topic: string; partitions: number; partition: number }>();
  return (args) => {
    const key = args.message.key;
    const explicit = args.message.partition;
    if (!Buffer.isBuffer(key) || (explicit !== null && explicit !== undefined)) {
      return partitioner(args);
    }
    const partitions = args.partitionMetadata.length;
    const known = memo.get(key);
    if (known !== undefined && known.partitions === partitions && known.topic === args.topic) {
      return known.partition;
    }
    const partition = partitioner(args);
    memo.set(key, { topic: args.topic, partitions, partition });
    return partition;
  };
};
