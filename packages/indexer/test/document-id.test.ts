import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createCodec, EcsTranscoder, type EnrichedDnsTransaction } from '@dnsflow/schema';
import { transactionId, transactionIdOfKey } from '../src/document-id';

const fixture = JSON.parse(
  readFileSync(
    join(__dirname, '..', '..', '..', 'test', 'fixtures', 'enriched-transactions.json'),
    'utf8',
  ),
) as EnrichedDnsTransaction[];

describe('transactionId', () => {
  it('is the same for the same transaction, whatever the enrichment', () => {
    const a = fixture[0]!;
    const b = structuredClone(a);
    b.enrichTimeUs += 5_000_000;
    b.client = null;
    expect(transactionId(b)).toBe(transactionId(a));
    expect(transactionId(a)).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });

  it('differs when an identifying field differs', () => {
    const a = fixture[0]!;
    const variants = [
      (r: EnrichedDnsTransaction) => (r.transaction.node = 'node-z'),
      (r: EnrichedDnsTransaction) => (r.transaction.dnsId += 1),
      (r: EnrichedDnsTransaction) => (r.transaction.client.port += 1),
      (r: EnrichedDnsTransaction) => (r.transaction.server.ip = '10.96.0.11'),
      (r: EnrichedDnsTransaction) => (r.transaction.startTimeUs += 1),
      (r: EnrichedDnsTransaction) => (r.transaction.transport = 'TCP'),
    ];
    const ids = variants.map((change) => {
      const r = structuredClone(a);
      change(r);
      return transactionId(r);
    });
    expect(new Set([transactionId(a), ...ids]).size).toBe(variants.length + 1);
  });

  it('keeps the ids already indexed: the same record always gets the same _id', () => {
    // Values from the implementation documents were indexed with; a change here would
    // index every redelivered record a second time.
    expect(fixture.map(transactionId)).toEqual([
      ...new Array<string>(8).fill('yMjASjmOi8lOz_EP89UDwh'),
      'R0JQSh8SaI3mzbM7hNikjC',
      '6Ex4lFvrCIgPgEFE0LcXfZ',
      '_LLLp7h6uUZBYzY0yLMvm7',
      '7w6uDyK7rg4id3Fg9IULEw',
    ]);
    const unanswered = structuredClone(fixture[0]!);
    unanswered.transaction.endTimeUs = null;
    expect(transactionId(unanswered)).toBe('UJdHwRjifmeI-GOee1YHnb');
  });

  it('is the same from the fields the transcoder reads straight from the Avro bytes', () => {
    const codec = createCodec<EnrichedDnsTransaction>('EnrichedDnsTransaction');
    const transcoder = new EcsTranscoder();
    // The fixture with its EDNS option data as bytes, as the schema has them.
    const records = JSON.parse(JSON.stringify(fixture), (key, value: unknown) =>
      key === 'data' && typeof value === 'string' && value.startsWith('base64:')
        ? Buffer.from(value.slice(7), 'base64')
        : value,
    ) as EnrichedDnsTransaction[];
    const unanswered = {
      ...records[0]!,
      transaction: { ...records[0]!.transaction, endTimeUs: null },
    };
    for (const r of [...records, unanswered]) {
      expect(transcoder.read(codec.encode(r))).toBe(true);
      expect(transactionIdOfKey(transcoder.transactionKey())).toBe(transactionId(r));
    }
  });
});
