// patches/kafkajs+2.2.4.patch changes how kafkajs decodes fetched records (offsets and
// timestamps in Number arithmetic while exact, a varlong read as a Number, headers without a
// spread per header, the fetched-offset filter). These tests hold the patched paths to what
// 64-bit Long arithmetic gives, including the values that must take the Long path.

// kafkajs publishes no types for its internals: they are required untyped.
/* eslint-disable @typescript-eslint/no-require-imports, @typescript-eslint/no-unsafe-call,
   @typescript-eslint/no-unsafe-return */
const Long = require('kafkajs/src/utils/long');
const Encoder = require('kafkajs/src/protocol/encoder');
const Decoder = require('kafkajs/src/protocol/decoder');
const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0');
const Record = require('kafkajs/src/protocol/recordBatch/record/v0');
const decodeBatch = require('kafkajs/src/protocol/recordBatch/v0/decoder');
const Batch = require('kafkajs/src/consumer/batch');

interface DecodedRecord {
  offset: string;
  timestamp: string;
  value: Buffer;
  headers: Record<string, Buffer | Buffer[]>;
}

/** Deterministic pseudo-random 64-bit values spread over every varlong length. */
function longs(count: number): (typeof Long)[] {
  let seed = 0x9e3779b9;
  const next = (): bigint => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return BigInt(seed);
  };
  const values: bigint[] = [0n, 1n, -1n, 2n ** 63n - 1n, -(2n ** 63n)];
  for (const edge of [2n ** 48n - 1n, 2n ** 48n, -(2n ** 48n), -(2n ** 48n) - 1n, 2n ** 53n]) {
    values.push(edge, -edge);
  }
  while (values.length < count) {
    const value = BigInt.asIntN(64, (next() << 32n) | next());
    // Shift right by a random amount so that short encodings are as common as long ones.
    values.push(value >> (next() % 64n));
  }
  return values.map((v) => new Long(v));
}

describe('kafkajs patch: fetched record decoding', () => {
  it('reads a varlong as a Number when within ±2^48, and otherwise leaves it for the Long reader', () => {
    for (const value of longs(20_000)) {
      const bytes = new Encoder().writeVarLong(value).buffer;
      const safe = new Decoder(bytes).readSafeVarLong();
      const exact = new Decoder(bytes).readVarLong();
      if (safe === null) {
        expect(exact.greaterThanOrEqual(2 ** 48) || exact.lessThan(-(2 ** 48))).toBe(true);
        const decoder = new Decoder(bytes);
        decoder.readSafeVarLong();
        expect(decoder.readVarLong().toString()).toBe(value.toString());
      } else {
        expect(String(safe)).toBe(value.toString());
      }
    }
  });

  async function roundTrip(firstOffset: string, firstTimestamp: string, deltas: number[]) {
    const records = deltas.map((delta, i) =>
      Record({
        offsetDelta: i,
        timestampDelta: delta,
        key: null,
        value: Buffer.from(`value ${i}`),
        headers: i % 2 === 0 ? { trace: [Buffer.from('a'), Buffer.from('b')], one: 'x' } : {},
      }),
    );
    const encoded = await RecordBatch({
      firstOffset: Long.fromString(firstOffset),
      firstTimestamp: Long.fromString(firstTimestamp),
      maxTimestamp: Long.fromString(firstTimestamp),
      lastOffsetDelta: deltas.length - 1,
      records,
    });
    const decoded: { records: DecodedRecord[] } = await decodeBatch(new Decoder(encoded.buffer));
    return decoded.records;
  }

  it.each([
    ['ordinary offsets and timestamps', '123456789', '1795558310736'],
    ['an offset beyond 2^53', '9007199254740990', '1795558310736'],
    ['a timestamp beyond 2^53', '42', '9007199254740000'],
    ['negative timestamps', '0', '-1000'],
  ])(
    'gives each record the offset and timestamp Long arithmetic gives: %s',
    async (_, offset, ts) => {
      const deltas = [0, 1, -1, 3, 2 ** 40, -(2 ** 40), 2 ** 50, 7];
      const records = await roundTrip(offset, ts, deltas);
      expect(records.map((r) => r.offset)).toEqual(
        deltas.map((_d, i) => Long.fromString(offset).add(i).toString()),
      );
      expect(records.map((r) => r.timestamp)).toEqual(
        deltas.map((d) => Long.fromString(ts).add(Long.fromNumber(d)).toString()),
      );
      expect(records.map((r) => r.value.toString())).toEqual(deltas.map((_d, i) => `value ${i}`));
      // A repeated header key becomes an array, in order; records without headers get {}.
      const first = records[0]!.headers;
      expect(Object.keys(first).sort()).toEqual(['one', 'trace']);
      expect((first['trace'] as Buffer[]).map(String)).toEqual(['a', 'b']);
      expect(String(first['one'])).toBe('x');
      expect(records[1]!.headers).toEqual({});
    },
  );

  it.each([
    ['a safe fetched offset', '100000000000'],
    ['a fetched offset beyond 2^53', '9007199254740993'],
  ])('drops the records before the fetched offset: %s', async (_, base) => {
    const records = await roundTrip(base, '1795558310736', [0, 0, 0, 0, 0, 0]);
    const fetched = Long.fromString(base).add(2).toString();
    const batch = new Batch('t', fetched, {
      partition: 0,
      highWatermark: Long.fromString(base).add(6).toString(),
      messages: records,
      abortedTransactions: [],
    });
    expect(batch.messages.map((m: DecodedRecord) => m.offset)).toEqual(
      [2, 3, 4, 5].map((i) => Long.fromString(base).add(i).toString()),
    );
  });
});
