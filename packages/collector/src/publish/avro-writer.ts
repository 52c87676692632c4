import type {
  DnsTransaction,
  Edns,
  Endpoint,
  ResourceRecord,
  TransactionStatus,
} from '@dnsflow/schema';

/** avsc's bound for a long held in a JavaScript number. */
const MAX_SAFE_LONG = 9007199254740990;

const STATUS_INDEX: Record<TransactionStatus, number> = {
  ANSWERED: 0,
  UNANSWERED: 1,
  ORPHAN: 2,
  MALFORMED: 3,
};

/**
 * Avro binary encoding (specification "Binary Encoding") of DnsTransaction version 1,
 * written field by field. avsc encodes the same record through a generic writer per
 * type: a union resolves its branch from the value, every string is measured by
 * Buffer.byteLength before it is copied; that was a third of the collector's time per
 * packet. Here the schema's shape is code: unions are `[null, X]` branches, strings of
 * ASCII under 64 characters (nearly all: names, addresses, mnemonics) are copied in one
 * pass behind a one-byte length. Every other case is written the way avsc writes it, so
 * the bytes are the same as avsc's for every record (a test compares them on the peer
 * corpus, generated traffic and mutated messages). Shipped schema versions never change,
 * so this stays right for version 1; RecordEncoder uses it only when the writer schema is
 * that version.
 */
export class DnsTransactionV1Writer {
  private buf: Buffer = Buffer.alloc(0);
  private pos = 0;

  /**
   * Writes `tx` into `buf` from `pos`: the offset after it, or -1 when it did not fit.
   * Throws on a value the schema cannot hold (a TypeError or RangeError).
   */
  write(tx: DnsTransaction, buf: Buffer, pos: number): number {
    this.buf = buf;
    this.pos = pos;
    this.long(tx.captureTimeUs);
    this.long(tx.startTimeUs);
    this.nullableLong(tx.endTimeUs);
    this.nullableLong(tx.latencyUs);
    this.string(tx.node);
    this.nullableString(tx.iface);
    this.endpoint(tx.client);
    this.endpoint(tx.server);
    if (tx.answeredBy === null) {
      this.varint(0);
    } else {
      this.varint(1);
      this.endpoint(tx.answeredBy);
    }
    this.varint(this.symbol(tx.transport === 'UDP' ? 0 : tx.transport === 'TCP' ? 1 : -1));
    this.int(tx.dnsId);
    this.string(tx.opcode);
    const f = tx.flags;
    this.boolean(f.aa);
    this.boolean(f.tc);
    this.boolean(f.rd);
    this.boolean(f.ra);
    this.boolean(f.ad);
    this.boolean(f.cd);
    this.boolean(f.do);
    const q = tx.question;
    if (q === null) {
      this.varint(0);
    } else {
      this.varint(1);
      this.string(q.name);
      this.string(q.nameRaw);
      this.string(q.type);
      this.string(q.class);
    }
    this.int(tx.questionCount);
    this.nullableString(tx.rcode);
    this.nullableInt(tx.rcodeValue);
    this.records(tx.answers);
    this.int(tx.answerCount);
    this.int(tx.authorityCount);
    this.int(tx.additionalCount);
    this.records(tx.authorities);
    this.records(tx.additionals);
    this.edns(tx.queryEdns);
    this.edns(tx.responseEdns);
    this.nullableInt(tx.requestBytes);
    this.nullableInt(tx.responseBytes);
    this.varint(this.symbol(STATUS_INDEX[tx.status] ?? -1));
    this.nullableString(tx.malformedReason);
    this.int(tx.duplicateResponses);
    const notes = tx.notes;
    if (!Array.isArray(notes)) throw new TypeError('not an array');
    if (notes.length > 0) {
      this.varint(notes.length);
      for (const note of notes) this.string(note);
    }
    this.varint(0);
    // Writes past the end of a typed array do nothing: a record that did not fit is known
    // by where it would have ended, without a check before every field.
    return this.pos > buf.length ? -1 : this.pos;
  }

  private symbol(index: number): number {
    if (index < 0) throw new RangeError('enum value outside the schema');
    return index;
  }

  /** An Avro int: rejected unless a 32-bit integer, as avsc rejects it. */
  private int(n: number): void {
    if (n !== (n | 0)) throw new TypeError('not an int');
    this.varint(n);
  }

  /** An Avro long: rejected unless an integer avsc holds exactly (|n| < 2^53 - 1). */
  private long(n: number): void {
    if (typeof n !== 'number' || n % 1 !== 0 || n < -MAX_SAFE_LONG || n > MAX_SAFE_LONG) {
      throw new TypeError('not a long');
    }
    this.varint(n);
  }

  /** Zig-zag varint (int and long alike), with avsc's arithmetic for large values. */
  private varint(n: number): void {
    const buf = this.buf;
    let pos = this.pos;
    if (n >= -1073741824 && n < 1073741824) {
      let m = n >= 0 ? n << 1 : (~n << 1) | 1;
      while (m > 0x7f) {
        buf[pos++] = (m & 0x7f) | 0x80;
        m >>= 7;
      }
      buf[pos++] = m;
    } else {
      // |n| >= 2^30: the zig-zag value is at least 2^31, more than 28 bits. avsc divides a
      // double by 128 per byte; the same bytes come from two 28-bit halves in integers.
      const f = n >= 0 ? n * 2 : -n * 2 - 1;
      const lo = f % 0x10000000;
      let hi = (f - lo) / 0x10000000;
      buf[pos++] = (lo & 0x7f) | 0x80;
      buf[pos++] = ((lo >>> 7) & 0x7f) | 0x80;
      buf[pos++] = ((lo >>> 14) & 0x7f) | 0x80;
      buf[pos++] = ((lo >>> 21) & 0x7f) | 0x80;
      while (hi > 0x7f) {
        buf[pos++] = (hi & 0x7f) | 0x80;
        hi >>>= 7;
      }
      buf[pos++] = hi;
    }
    this.pos = pos;
  }

  private nullableLong(n: number | null): void {
    if (n === null) {
      this.varint(0);
    } else {
      this.varint(1);
      this.long(n);
    }
  }

  private nullableInt(n: number | null): void {
    if (n === null) {
      this.varint(0);
    } else {
      this.varint(1);
      this.int(n);
    }
  }

  private string(s: string): void {
    if (typeof s !== 'string') throw new TypeError('not a string');
    const n = s.length;
    const buf = this.buf;
    const start = this.pos;
    if (n < 64) {
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        buf[start + 1 + i] = c;
      }
      if (i === n) {
        buf[start] = n << 1;
        this.pos = start + 1 + n;
        return;
      }
    }
    const bytes = Buffer.byteLength(s);
    this.varint(bytes);
    if (bytes > 64) {
      if (this.pos + bytes <= buf.length) buf.write(s, this.pos, bytes, 'utf8');
      this.pos += bytes;
      return;
    }
    this.pos = utf8Short(s, buf, this.pos);
  }

  private nullableString(s: string | null): void {
    if (s === null) {
      this.varint(0);
    } else {
      this.varint(1);
      this.string(s);
    }
  }

  private boolean(value: boolean): void {
    if (typeof value !== 'boolean') throw new TypeError('not a boolean');
    this.buf[this.pos++] = value ? 1 : 0;
  }

  private endpoint(e: Endpoint): void {
    this.string(e.ip);
    this.int(e.port);
  }

  private records(list: ResourceRecord[]): void {
    if (!Array.isArray(list)) throw new TypeError('not an array');
    if (list.length > 0) {
      this.varint(list.length);
      for (const r of list) {
        this.string(r.name);
        this.string(r.type);
        this.string(r.class);
        this.long(r.ttl);
        this.string(r.data);
      }
    }
    this.varint(0);
  }

  private edns(e: Edns | null): void {
    if (e === null) {
      this.varint(0);
      return;
    }
    this.varint(1);
    this.int(e.version);
    this.int(e.udpSize);
    this.boolean(e.do);
    this.nullableString(e.clientSubnet);
    if (!Array.isArray(e.options)) throw new TypeError('not an array');
    if (e.options.length > 0) {
      this.varint(e.options.length);
      for (const o of e.options) {
        this.int(o.code);
        if (!Buffer.isBuffer(o.data)) throw new TypeError('not bytes');
        this.varint(o.data.length);
        if (this.pos + o.data.length <= this.buf.length) this.buf.set(o.data, this.pos);
        this.pos += o.data.length;
      }
    }
    this.varint(0);
  }
}

/**
 * UTF-8 of a string of at most 64 bytes, character by character as avsc writes short
 * strings (a lone surrogate as its own three bytes, where Buffer#write would write
 * U+FFFD), so the bytes match avsc's in every case.
 */
function utf8Short(s: string, buf: Buffer, start: number): number {
  let pos = start;
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      buf[pos++] = c;
    } else if (c < 0x800) {
      buf[pos++] = (c >> 6) | 0xc0;
      buf[pos++] = (c & 0x3f) | 0x80;
    } else if ((c & 0xfc00) === 0xd800 && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      c = 0x10000 + ((c & 0x03ff) << 10) + (s.charCodeAt(++i) & 0x03ff);
      buf[pos++] = (c >> 18) | 0xf0;
      buf[pos++] = ((c >> 12) & 0x3f) | 0x80;
      buf[pos++] = ((c >> 6) & 0x3f) | 0x80;
      buf[pos++] = (c & 0x3f) | 0x80;
    } else {
      buf[pos++] = (c >> 12) | 0xe0;
      buf[pos++] = ((c >> 6) & 0x3f) | 0x80;
      buf[pos++] = (c & 0x3f) | 0x80;
    }
  }
  return pos;
}
