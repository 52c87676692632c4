import { gzipSync, deflateSync } from 'node:zlib';
import { CompressionCodecs, CompressionTypes } from 'kafkajs';
import { createKafka, decompressGzipBatch, gzipCodec, kafkaConfigSchema } from '../src/index';

/** Bytes that compress, like a batch of records: repeated text with a counter in it. */
function batchBytes(records: number): Buffer {
  return Buffer.from(
    Array.from(
      { length: records },
      (_, i) => `{"name":"svc-${i % 37}.cluster.local","n":${i}}`,
    ).join(''),
  );
}

describe('gzip codec', () => {
  it('gives back what kafkajs or any gzip writer compressed, small or large', async () => {
    for (const size of [0, 1, 100, 10_000, 200_000]) {
      const raw = batchBytes(size);
      expect(decompressGzipBatch(gzipSync(raw)).equals(raw)).toBe(true);
      const ours = await gzipCodec.compress({ buffer: raw });
      expect((await gzipCodec.decompress(ours)).equals(raw)).toBe(true);
    }
  });

  it('returns a buffer the size of the batch, not of a chunk', () => {
    const raw = batchBytes(50_000);
    const out = decompressGzipBatch(gzipSync(raw));
    expect(out.length).toBe(raw.length);
    // Sized from the trailer: the output's memory is the batch, one byte to spare at most.
    expect(out.buffer.byteLength).toBeLessThanOrEqual(raw.length + 1);
  });

  it('reads several gzip members and zlib streams whole, as kafkajs did', () => {
    const a = batchBytes(3000);
    const b = batchBytes(20);
    // Two members: the trailer read is the last one's, which only costs more chunks.
    expect(
      decompressGzipBatch(Buffer.concat([gzipSync(a), gzipSync(b)])).equals(Buffer.concat([a, b])),
    ).toBe(true);
    expect(decompressGzipBatch(deflateSync(a)).equals(a)).toBe(true);
  });

  it('refuses a batch past its bound, and a damaged one, with errors that say so', () => {
    const raw = Buffer.alloc(4 * 1024 * 1024, 0x61);
    expect(() => decompressGzipBatch(gzipSync(raw), 1024 * 1024)).toThrow(
      /decompresses to more than 1048576 bytes/,
    );
    const damaged = gzipSync(batchBytes(1000));
    damaged.writeUInt32LE(7, damaged.length - 4); // a wrong ISIZE
    expect(() => decompressGzipBatch(damaged)).toThrow(/incorrect length check/);
    expect(() => decompressGzipBatch(Buffer.from('not gzip at all'))).toThrow();
  });

  it('is the gzip codec of every kafkajs client the runtime creates', () => {
    createKafka(kafkaConfigSchema.parse({}));
    expect(CompressionCodecs[CompressionTypes.GZIP]()).toBe(gzipCodec);
  });
});
