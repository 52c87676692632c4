import { randomBytes } from 'node:crypto';
import { Partitioners, type PartitionerArgs } from 'kafkajs';
import { KeyHashPartitioner } from '../src/pipeline/partitioner';

function metadata(count: number): PartitionerArgs['partitionMetadata'] {
  return Array.from({ length: count }, (_, partitionId) => ({
    partitionErrorCode: 0,
    partitionId,
    leader: 1,
    replicas: [1],
    isr: [1],
  }));
}

/** Record keys as the enricher writes them (client IPs), and arbitrary bytes. */
function keys(): Buffer[] {
  const out: Buffer[] = [Buffer.alloc(0)];
  for (let i = 0; i < 2000; i++) {
    out.push(Buffer.from(`10.${i & 255}.${(i * 7) & 255}.${(i * 13) & 255}`));
    out.push(Buffer.from(`fd00:10:244:${i.toString(16)}::${(i * 31).toString(16)}`));
    out.push(randomBytes(i % 67));
  }
  return out;
}

describe('KeyHashPartitioner', () => {
  // Several partition counts, among them large primes: the hash itself must be kafkajs'.
  it.each([1, 3, 12, 64, 997, 4093])(
    'puts every key where kafkajs DefaultPartitioner does (%i partitions)',
    (count) => {
      const ours = KeyHashPartitioner();
      const theirs = Partitioners.DefaultPartitioner();
      const partitionMetadata = metadata(count);
      for (const key of keys()) {
        const args = { topic: 'dns.enriched', partitionMetadata, message: { key, value: null } };
        expect(ours(args)).toBe(theirs(args));
      }
    },
  );

  it('hashes a string key as its bytes', () => {
    const partition = KeyHashPartitioner();
    const partitionMetadata = metadata(997);
    const of = (key: string | Buffer) =>
      partition({ topic: 't', partitionMetadata, message: { key, value: null } });
    expect(of('10.244.1.17')).toBe(of(Buffer.from('10.244.1.17')));
  });

  it("keeps a record's own partition, and spreads records without key", () => {
    const partition = KeyHashPartitioner();
    const partitionMetadata = metadata(6);
    const message = { key: Buffer.from('10.0.0.1'), value: null, partition: 4 };
    expect(partition({ topic: 't', partitionMetadata, message })).toBe(4);
    const seen = new Set<number>();
    for (let i = 0; i < 60; i++) {
      seen.add(partition({ topic: 't', partitionMetadata, message: { key: null, value: null } }));
    }
    expect([...seen].sort()).toEqual([0, 1, 2, 3, 4, 5]);
  });
});
