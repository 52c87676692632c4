import { SingleObjectFraming, type DnsTransaction, type RecordCodec } from '@dnsflow/schema';

/** Slab size: a few thousand records; a record above it is encoded on its own. */
const SLAB_BYTES = 1 << 20;

/**
 * Encodes transactions as framed Avro one after another into a shared slab and hands out
 * views of it: one allocation per thousands of records instead of three per record (the
 * body, the framed copy and the concatenation). A view keeps its slab alive until the
 * publisher and the spool are done with it, which their own bounds limit. The bytes are
 * exactly what `codec.encode` writes (avsc's `Type#encode` into a buffer instead of
 * `Type#toBuffer`, and the framing's own header); a record that does not encode goes
 * through `codec.encode`, which says which field is wrong.
 */
export class RecordEncoder {
  private readonly header: Buffer;
  private slab: Buffer;
  private pos = 0;

  constructor(private readonly codec: RecordCodec<DnsTransaction>) {
    // What single-object framing writes before a body: its marker and the fingerprint.
    this.header = new SingleObjectFraming([codec.writer]).frame(codec.writer, Buffer.alloc(0));
    this.slab = Buffer.allocUnsafe(SLAB_BYTES);
  }

  /** The framed Avro bytes of `tx` (a view; do not write to it). Throws CodecError. */
  encode(tx: DnsTransaction): Buffer {
    try {
      let start = this.pos;
      let end = this.encodeAt(tx, start);
      if (end < 0) {
        // The slab is full: the rest of it stays unused, a new slab takes the record.
        this.slab = Buffer.allocUnsafe(SLAB_BYTES);
        start = 0;
        end = this.encodeAt(tx, 0);
        if (end < 0) return this.codec.encode(tx);
      }
      this.pos = end;
      return this.slab.subarray(start, end);
    } catch {
      // A value the schema does not accept: the codec's error names the field.
      return this.codec.encode(tx);
    }
  }

  /** End offset of the record written at `start`, or -1 when it does not fit. */
  private encodeAt(tx: DnsTransaction, start: number): number {
    const body = start + this.header.length;
    if (body > this.slab.length) return -1;
    this.slab.set(this.header, start);
    const end = this.codec.writer.type.encode(tx, this.slab, body);
    return end < body ? -1 : end;
  }
}
