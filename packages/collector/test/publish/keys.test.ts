import { Partitioners, type PartitionMetadata } from 'kafkajs';
import { cachedDefaultPartitioner, RecordKeys } from '../../src/publish/keys';

function metadata(count: number, leaderless: number[] = []): PartitionMetadata[] {
  return Array.from({ length: count }, (_, partitionId) => ({
    partitionId,
    leader: leaderless.includes(partitionId) ? -1 : 0,
    replicas: [0],
    isr: [0],
    offlineReplicas: [],
    partitionErrorCode: 0,
  }));
}

describe('record keys and partitions', () => {
  it('gives one Buffer per client address, with the address as its bytes', () => {
    const keys = new RecordKeys();
    const a = keys.of('10.244.1.7');
    expect(a.toString()).toBe('10.244.1.7');
    expect(keys.of('10.244.1.7')).toBe(a);
    expect(keys.of('fd00::7').toString()).toBe('fd00::7');
  });

  it('picks the partition the DefaultPartitioner picks, as partition counts change', () => {
    const keys = new RecordKeys();
    const cached = cachedDefaultPartitioner();
    const plain = Partitioners.DefaultPartitioner();
    const ips = Array.from({ length: 500 }, (_, i) => `10.244.${i >> 8}.${i & 255}`);
    const seen = new Set<number>();
    for (const count of [1, 3, 12, 12, 5]) {
      const partitionMetadata = metadata(count, count === 5 ? [1, 2] : []);
      for (const ip of [...ips, ...ips]) {
        const topic = 'dns.raw';
        const key = keys.of(ip);
        const expected = plain({
          topic,
          partitionMetadata,
          message: { key: Buffer.from(ip), value: null },
        });
        expect(cached({ topic, partitionMetadata, message: { key, value: null } })).toBe(expected);
        seen.add(expected);
      }
    }
    expect(seen.size).toBe(12);
    // An explicit partition wins, as with the DefaultPartitioner.
    const partitionMetadata = metadata(12);
    const message = { key: keys.of(ips[0]!), value: null, partition: 7 };
    expect(cached({ topic: 'dns.raw', partitionMetadata, message })).toBe(7);
  });
});
