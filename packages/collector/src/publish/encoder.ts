import {
  SingleObjectFraming,
  shippedSchemas,
  type DnsTransaction,
  type RecordCodec,
} from '@dnsflow/schema';
import { DnsTransactionV1Writer } from './avro-writer';

/** Slab size: a few thousand records; a record above it is encoded on its own. */
const SLAB_BYTES = 1 << 20;

/**
 * Encodes transactions as framed Avro one after another into a shared slab and hands out
 * views of it: one allocation per thousands of records instead of three per record (the
 * body, the framed copy and the concatenation). A view keeps its slab alive until the
 * publisher and the spool are done with it, which their own bounds limit. The bytes are
 * exactly what `codec.encode` writes: the framing's own header, then the body by
 * DnsTransactionV1Writer when the codec writes version 1 and by avsc's `Type#encode`
 * otherwise. A record that does not encode goes through `codec.encode`, which says which
 * field is wrong.
 */
export class RecordEncoder {
  private readonly header: Buffer;
  /** The writer of version 1 when the codec writes that version, else avsc's. */
  private readonly v1: DnsTransactionV1Writer | null;
  private slab: Buffer;
  private pos = 0;

  constructor(private readonly codec: RecordCodec<DnsTransaction>) {
    const v1 = shippedSchemas().find((s) => s.name === 'DnsTransaction' && s.version === 1);
    this.v1 = v1?.fingerprint.equals(codec.writer.fingerprint)
      ? new DnsTransactionV1Writer()
      : null;
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
    // Ten bytes: a loop costs less than TypedArray#set's call.
    for (let i = 0; i < this.header.length; i++) this.slab[start + i] = this.header[i] as number;
    if (this.v1 !== null) return this.v1.write(tx, this.slab, body);
    const end = this.codec.writer.type.encode(tx, this.slab, body);
    return end < body ? -1 : end;
  }
}
