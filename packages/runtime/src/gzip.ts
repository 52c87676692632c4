import { unzipSync } from 'node:zlib';
import { CompressionCodecs, CompressionTypes } from 'kafkajs';

// Kafka's gzip codec for every client the runtime creates. kafkajs decompresses a fetched
// batch with zlib's asynchronous API in 16 KiB output chunks: a thread-pool round trip per
// chunk, which cost 3.0-5.7 us of CPU per enriched record against 0.4-0.65 us for one
// synchronous call whose output buffer is sized from the gzip trailer (500-record batches of
// the indexer bench's records, `node scripts/bench/gzip-codec.js`). Decompressing on the event
// loop holds it for well under a millisecond per such batch, less than the indexer's own work
// between two yields. Compression is kafkajs' own codec, called as it is (asynchronous):
// deflate costs the same either way, and off the event loop it does not hold up a
// collector's capture.

/** kafkajs' own gzip codec, taken before {@link installGzipCodec} replaces it. */
const kafkajsGzip = CompressionCodecs[CompressionTypes.GZIP]() as {
  compress(encoder: { buffer: Buffer }): Promise<Buffer>;
};

/** A batch never decompresses to more than this: a gzip bomb stops here, with an error. */
export const MAX_DECOMPRESSED_BATCH_BYTES = 256 * 1024 * 1024;
/** Output chunk when the trailer says nothing useful (zlib's own default). */
const DEFAULT_CHUNK_BYTES = 16 * 1024;
/** At most this much output is allocated at once on the word of a trailer. */
const MAX_CHUNK_BYTES = 16 * 1024 * 1024;

/**
 * The decompressed bytes of a Kafka gzip batch (gzip, or zlib as kafkajs' codec also takes).
 * A gzip member ends in its uncompressed size (ISIZE, RFC 1952 section 2.3.1), so the output
 * is written into one buffer of that size; several members, or a size past MAX_CHUNK_BYTES,
 * only take more chunks. Throws a RangeError past `maxBytes`.
 */
export function decompressGzipBatch(
  compressed: Buffer,
  maxBytes = MAX_DECOMPRESSED_BATCH_BYTES,
): Buffer {
  const gzipMember = compressed.length >= 18 && compressed[0] === 0x1f && compressed[1] === 0x8b;
  const size = gzipMember ? compressed.readUInt32LE(compressed.length - 4) : 0;
  // One byte to spare: output that fills its chunk exactly makes zlib allocate another.
  const chunkSize =
    size > 0 ? Math.min(size + 1, MAX_CHUNK_BYTES, maxBytes + 1) : DEFAULT_CHUNK_BYTES;
  try {
    return unzipSync(compressed, { chunkSize: Math.max(chunkSize, 64), maxOutputLength: maxBytes });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new RangeError(
        `gzip batch of ${compressed.length} bytes decompresses to more than ${maxBytes} bytes`,
        { cause: err },
      );
    }
    throw err;
  }
}

/** The codec kafkajs asks for, in its shape (compress takes its Encoder). */
export const gzipCodec = {
  compress: (encoder: { buffer: Buffer }): Promise<Buffer> => kafkajsGzip.compress(encoder),
  // eslint-disable-next-line @typescript-eslint/require-await -- kafkajs awaits a promise
  async decompress(buffer: Buffer): Promise<Buffer> {
    return decompressGzipBatch(buffer);
  },
};

/** Makes {@link gzipCodec} kafkajs' gzip codec (process-wide: that is how kafkajs has codecs). */
export function installGzipCodec(): void {
  CompressionCodecs[CompressionTypes.GZIP] = () => gzipCodec;
}
