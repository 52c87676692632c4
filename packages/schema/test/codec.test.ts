import { CodecError, createCodec, latestSchema } from '../src/index';
import type { DnsTransaction, EnrichedDnsTransaction } from '../src/index';
import { fullEnriched, fullTransaction } from './fixtures/records';

const raw = createCodec<DnsTransaction>('DnsTransaction');
const enriched = createCodec<EnrichedDnsTransaction>('EnrichedDnsTransaction');

function decodeError(bytes: Buffer): CodecError {
  const result = raw.decode(bytes);
  if (result.status === 'ok') throw new Error('expected a decode error');
  return result.error;
}

describe('single-object codec', () => {
  it('frames records as C3 01 + the writer fingerprint + the Avro body', () => {
    const bytes = raw.encode(fullTransaction());
    expect(bytes.subarray(0, 2).toString('hex')).toBe('c301');
    expect(bytes.subarray(2, 10)).toEqual(latestSchema('DnsTransaction').fingerprint);
  });

  it('round-trips a transaction with every field set', () => {
    const record = fullTransaction();
    const result = raw.decode(raw.encode(record));
    expect(result.status).toBe('ok');
    if (result.status === 'ok') expect({ ...result.value }).toEqual(record);
  });

  it('round-trips an enriched transaction with both identities', () => {
    const record = fullEnriched();
    const result = enriched.decode(enriched.encode(record));
    if (result.status !== 'ok') throw result.error;
    expect(JSON.parse(JSON.stringify(result.value))).toEqual(JSON.parse(JSON.stringify(record)));
  });

  it('round-trips random records of both schemas', () => {
    for (const name of ['DnsTransaction', 'EnrichedDnsTransaction'] as const) {
      const codec = createCodec<unknown>(name);
      const type = latestSchema(name).type;
      for (let i = 0; i < 200; i++) {
        const value: unknown = type.random();
        const result = codec.decode(codec.encode(value));
        if (result.status !== 'ok') throw result.error;
        // Equal encodings mean equal values (avsc cannot compare maps directly).
        expect(type.toBuffer(result.value)).toEqual(type.toBuffer(value));
      }
    }
  });

  it('rejects bytes shorter than the header', () => {
    const err = decodeError(Buffer.from([0xc3, 0x01, 0x00]));
    expect(err).toBeInstanceOf(CodecError);
    expect(err.reason).toBe('too-short');
    expect(err.message).toMatch(/at least 10 bytes.*got 3/);
  });

  it('rejects bytes without the single-object marker', () => {
    const bytes = raw.encode(fullTransaction());
    bytes[0] = 0x00;
    const err = decodeError(bytes);
    expect(err.reason).toBe('bad-magic');
    expect(err.message).toContain('got 0001');
  });

  it('rejects a fingerprint of no shipped schema', () => {
    const bytes = raw.encode(fullTransaction());
    bytes.fill(0xab, 2, 10);
    const err = decodeError(bytes);
    expect(err.reason).toBe('unknown-fingerprint');
    expect(err.message).toContain('abababababababab');
  });

  it('rejects a truncated body and trailing garbage', () => {
    const bytes = raw.encode(fullTransaction());
    expect(decodeError(bytes.subarray(0, bytes.length - 5)).reason).toBe('bad-payload');
    expect(decodeError(Buffer.concat([bytes, Buffer.from([1, 2, 3])])).reason).toBe('bad-payload');
  });

  it('rejects an enriched record handed to the raw codec, naming both', () => {
    const err = decodeError(enriched.encode(fullEnriched()));
    expect(err.reason).toBe('unknown-schema');
    expect(err.message).toMatch(/expected a DnsTransaction record, got a EnrichedDnsTransaction/);
  });

  it('never throws on random bytes behind a valid header', () => {
    const header = raw.encode(fullTransaction()).subarray(0, 10);
    let seed = 7;
    const next = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
    for (let i = 0; i < 2000; i++) {
      const body = Buffer.alloc(next() % 300, 0).map(() => next() & 0xff);
      const result = raw.decode(Buffer.concat([header, body]));
      if (result.status === 'error') expect(result.error).toBeInstanceOf(CodecError);
    }
  });

  it('names the invalid field when a record cannot be encoded', () => {
    const bad = { ...fullTransaction(), dnsId: 'forty-two' } as unknown as DnsTransaction;
    expect(() => raw.encode(bad)).toThrow(CodecError);
    expect(() => raw.encode(bad)).toThrow(/dnsId/);
  });
});
