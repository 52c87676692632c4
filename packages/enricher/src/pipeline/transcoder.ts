import { Type, types, type ForSchemaOptions, type Schema } from 'avsc';
import {
  SingleObjectFraming,
  type CodecError,
  type DnsTransaction,
  type EnrichedDnsTransaction,
  type RecordCodec,
  type SchemaVersion,
} from '@dnsflow/schema';
import type { Enrichment, JoinRecord } from '../enrich';

/** The codecs: DnsTransaction in, EnrichedDnsTransaction out (single-object framing). */
export interface BatchCodecs {
  input: RecordCodec<DnsTransaction>;
  output: RecordCodec<EnrichedDnsTransaction>;
}

/** An input record as the batch needs it: what the join reads, and how to write it out. */
export interface DecodedInput {
  record: JoinRecord;
  /** The transaction's Avro body (a view of the input) when the output embeds its version. */
  body: Buffer | null;
  /** The whole transaction when its bytes cannot be copied into the output. */
  transaction: DnsTransaction | null;
}

/** Result of {@link RecordTranscoder.decode}. */
export type DecodedResult =
  { status: 'ok'; value: DecodedInput } | { status: 'error'; error: CodecError };

/** Slab size: a couple of thousand enriched records; a record above it gets its own buffer. */
const SLAB_BYTES = 1 << 20;

/** Fields of DnsTransaction the join reads (JoinRecord); the question only by its name. */
const JOIN_FIELDS = ['startTimeUs', 'client', 'server', 'answeredBy', 'question'];

interface FastPath {
  /** Single-object header of the input version whose bodies are copied. */
  inputHeader: Buffer;
  /** Single-object header of the output. */
  outputHeader: Buffer;
  /** Reads JoinRecord fields from a transaction body, checking and skipping the others. */
  reader: Type;
  resolver: ReturnType<Type['createResolver']>;
  /** The output record's fields after its leading `transaction` field. */
  tail: TailWriter;
  /** The whole input version, for the error of a record that does not encode. */
  transaction: Type;
}

/**
 * Decodes collector records and encodes enriched ones. Avro's binary encoding of a record is
 * its fields' encodings one after another, and the output's first field is the collector's
 * transaction: when the input was written with the very DnsTransaction version the output
 * embeds, its body is copied into the output as it is, after the output's header, and only
 * the enricher's own fields are encoded behind it. The join then needs only the few fields
 * it reads, decoded through a resolver that skips the rest; skipped longs and enums are
 * still read (and rejected the way a full decode rejects them), and array blocks are
 * bounded by the bytes left, so bad input fails here as it fails the full decode. Output
 * values are views of a shared slab (one allocation per thousands of records), the keys
 * too. Any other input version, and any record the fast path refuses, goes through the
 * codecs, which name what is wrong.
 */
export class RecordTranscoder {
  private readonly fast: FastPath | null;
  private slab: Buffer;
  private pos = 0;

  constructor(private readonly codecs: BatchCodecs) {
    this.fast = fastPathOf(codecs.input.writer, codecs.output.writer);
    this.slab = Buffer.allocUnsafe(this.fast ? SLAB_BYTES : 0);
  }

  /** True when the transaction's bytes are copied (the codecs' versions allow it). */
  get copiesTransactions(): boolean {
    return this.fast !== null;
  }

  decode(bytes: Buffer): DecodedResult {
    const fast = this.fast;
    if (fast !== null && startsWith(bytes, fast.inputHeader)) {
      const body = bytes.subarray(fast.inputHeader.length);
      try {
        const record = fast.reader.fromBuffer(body, fast.resolver) as JoinRecord;
        return { status: 'ok', value: { record, body, transaction: null } };
      } catch {
        // The full decode below says what is wrong with it.
      }
    }
    const decoded = this.codecs.input.decode(bytes);
    if (decoded.status !== 'ok') return decoded;
    return {
      status: 'ok',
      value: { record: decoded.value, body: null, transaction: decoded.value },
    };
  }

  /** The record key: the client IP's bytes (a view of the slab when there is one). */
  key(ip: string): Buffer {
    const need = ip.length * 3;
    if (this.fast === null || need > SLAB_BYTES) return Buffer.from(ip);
    if (this.pos + need > this.slab.length) this.renew();
    const start = this.pos;
    this.pos += this.slab.write(ip, start, 'utf8');
    return this.slab.subarray(start, this.pos);
  }

  /**
   * The framed output record of `input` joined with `enrichment` (a view; do not write to
   * it): the bytes `codecs.output.encode` writes. Throws the codec's CodecError when the
   * enrichment does not fit the schema.
   */
  encode(input: DecodedInput, enrichment: Enrichment): Buffer {
    const fast = this.fast;
    if (fast === null || input.body === null) {
      return this.codecs.output.encode({ transaction: input.transaction!, ...enrichment });
    }
    const body = input.body;
    try {
      let start = this.pos;
      let end = this.writeAt(fast, start, body, enrichment);
      if (end < 0) {
        // The slab is full: the rest of it stays unused, a new slab takes the record.
        this.renew();
        start = 0;
        end = this.writeAt(fast, 0, body, enrichment);
        if (end < 0) return this.alone(fast, body, enrichment);
      }
      this.pos = end;
      return this.slab.subarray(start, end);
    } catch {
      // A value the schema does not accept: the codec's error names the field.
      const transaction = fast.transaction.fromBuffer(body) as DnsTransaction;
      return this.codecs.output.encode({ transaction, ...enrichment });
    }
  }

  /** A record larger than a slab, in a buffer of its own. */
  private alone(fast: FastPath, body: Buffer, enrichment: Enrichment): Buffer {
    for (let size = 2 * SLAB_BYTES; ; size *= 2) {
      const buf = Buffer.allocUnsafe(size);
      fast.outputHeader.copy(buf);
      body.copy(buf, fast.outputHeader.length);
      const end = fast.tail.write(enrichment, buf, fast.outputHeader.length + body.length);
      if (end >= 0) return buf.subarray(0, end);
    }
  }

  private renew(): void {
    this.slab = Buffer.allocUnsafe(SLAB_BYTES);
    this.pos = 0;
  }

  /** End offset of the record written at `start`, or -1 when it does not fit. */
  private writeAt(fast: FastPath, start: number, body: Buffer, enrichment: Enrichment): number {
    const header = fast.outputHeader;
    const tailAt = start + header.length + body.length;
    if (tailAt > this.slab.length) return -1;
    // Ten bytes: a loop costs less than TypedArray#set's call.
    for (let i = 0; i < header.length; i++) this.slab[start + i] = header[i] as number;
    this.slab.set(body, start + header.length);
    return fast.tail.write(enrichment, this.slab, tailAt);
  }
}

/** Encodes a value into `buf` at `pos`: the offset after it, or -1 when it does not fit. */
type FieldWriter = (value: Enrichment, buf: Buffer, pos: number) => number;

/**
 * Writes the enricher's fields of the output. An identity comes from the store, frozen, and
 * the same object joins every record of its pod or service: its encoding is kept (weakly,
 * by the object) and copied, instead of being written field by field for every record. The
 * other fields are avsc's, a run of them encoded as one record.
 */
class TailWriter {
  private readonly writers: FieldWriter[];

  constructor(fields: readonly FieldSchema[], registry: Record<string, Type>) {
    this.writers = [];
    let run: FieldSchema[] = [];
    const flush = (): void => {
      if (run.length === 0) return;
      const type = Type.forSchema(
        { type: 'record', name: `Tail${this.writers.length}`, fields: run },
        { registry },
      );
      this.writers.push((value, buf, pos) => {
        const end = type.encode(value, buf, pos);
        return end < pos ? -1 : end;
      });
      run = [];
    };
    for (const field of fields) {
      const pick = SHARED_FIELDS[field.name];
      if (pick !== undefined && isNullableRecord(field.type)) {
        flush();
        this.writers.push(cachedWriter(pick, Type.forSchema(field.type, { registry })));
      } else {
        run.push(field);
      }
    }
    flush();
  }

  /** The offset after the fields written at `pos`, or -1 when they do not fit. */
  write(value: Enrichment, buf: Buffer, pos: number): number {
    let at = pos;
    for (const writer of this.writers) {
      at = writer(value, buf, at);
      if (at < 0) return -1;
    }
    return at;
  }
}

/** The enrichment's fields whose values are shared objects: identities from the store. */
const SHARED_FIELDS: Partial<Record<string, (e: Enrichment) => object | null>> = {
  client: (e) => e.client,
  server: (e) => e.server,
  answeredBy: (e) => e.answeredBy,
};

/** `["null", <record>]`: a record or none. */
function isNullableRecord(type: Schema): boolean {
  return (
    Array.isArray(type) &&
    type.length === 2 &&
    type[0] === 'null' &&
    // a named type (by its full name) or a record
    ((typeof type[1] === 'string' && type[1].includes('.')) || isRecord(type[1]))
  );
}

/** Frozen, and so are the objects it holds (an identity's labels): it cannot change. */
function isSettled(value: object): boolean {
  if (!Object.isFrozen(value)) return false;
  for (const v of Object.values(value)) {
    if (typeof v === 'object' && v !== null && !Object.isFrozen(v)) return false;
  }
  return true;
}

/** Writes a `["null", <record>]` field from the encodings kept per frozen value. */
function cachedWriter(pick: (e: Enrichment) => object | null, type: Type): FieldWriter {
  const kept = new WeakMap<object, Buffer>();
  return (value, buf, pos) => {
    const shared = pick(value);
    if (shared === null) {
      if (pos >= buf.length) return -1;
      buf[pos] = 0; // the union's null branch
      return pos + 1;
    }
    let bytes = kept.get(shared);
    if (bytes === undefined) {
      bytes = type.toBuffer(shared);
      // Only a value that cannot change afterwards is kept.
      if (isSettled(shared)) kept.set(shared, bytes);
    }
    if (pos + bytes.length > buf.length) return -1;
    buf.set(bytes, pos);
    return pos + bytes.length;
  };
}

function startsWith(bytes: Buffer, prefix: Buffer): boolean {
  if (bytes.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (bytes[i] !== prefix[i]) return false;
  return true;
}

interface FieldSchema {
  name: string;
  type: Schema;
}

interface RecordSchema {
  type: 'record';
  name: string;
  fields: FieldSchema[];
}

const isRecord = (s: unknown): s is RecordSchema =>
  typeof s === 'object' && s !== null && (s as { type?: unknown }).type === 'record';

/**
 * The fast path when the output's `transaction` field (its first) is the input codec's
 * writer version, whose bodies the input codec reads without resolution; null otherwise.
 */
function fastPathOf(input: SchemaVersion, output: SchemaVersion): FastPath | null {
  const outputSchema = output.type.schema();
  if (!isRecord(outputSchema)) return null;
  const [first, ...rest] = outputSchema.fields;
  if (first?.name !== 'transaction') return null;
  const embedded = (output.type as types.RecordType).fields[0]!.type;
  if (JSON.stringify(embedded.schema()) !== input.canonical) return null;

  const inputSchema = input.type.schema();
  if (!isRecord(inputSchema)) return null;
  const joinFields = inputSchema.fields.filter((f) => JOIN_FIELDS.includes(f.name));
  if (joinFields.length !== JOIN_FIELDS.length) return null;
  const reader = Type.forSchema({
    ...inputSchema,
    fields: joinFields.map((f) => (f.name === 'question' ? questionByName(f) : f)),
  });
  const checked = Type.forSchema(inputSchema, { typeHook: checkedSkipHook });
  // The tail's named types may be defined inside the transaction: parse that first.
  const registry: Record<string, Type> = {};
  Type.forSchema(embedded.schema(), { registry });
  const tail = new TailWriter(rest, registry);
  return {
    inputHeader: headerOf(input),
    outputHeader: headerOf(output),
    reader,
    resolver: reader.createResolver(checked),
    tail,
    transaction: input.type,
  };
}

/** What single-object framing writes before a body of `version`. */
function headerOf(version: SchemaVersion): Buffer {
  return new SingleObjectFraming([version]).frame(version, Buffer.alloc(0));
}

/** The `question` field (a union of null and Question) with Question reduced to its name. */
function questionByName(field: FieldSchema): FieldSchema {
  if (!Array.isArray(field.type)) return field;
  const branches = (field.type as Schema[]).map((branch) =>
    isRecord(branch)
      ? { ...branch, fields: branch.fields.filter((f) => f.name === 'name') }
      : branch,
  );
  return { ...field, type: branches as Schema };
}

interface Tap {
  buf: Buffer;
  pos: number;
  readLong(): number;
  skipString(): void;
}

interface Skippable {
  _read(tap: Tap): unknown;
  _skip(tap: Tap): void;
}

/**
 * Skips the blocks of an array or a map. avsc trusts a block's count: a corrupt count of
 * billions would loop that long; every item here takes at least a byte, so a count above
 * the bytes left is refused at once.
 */
function skipBlocks(tap: Tap, what: string, skipItem: (tap: Tap) => void): void {
  for (let n = tap.readLong(); n !== 0; n = tap.readLong()) {
    if (n < 0) {
      const size = tap.readLong();
      if (size < 0 || size > tap.buf.length - tap.pos) {
        throw new RangeError(`${what} block of ${size} bytes exceeds the buffer`);
      }
      tap.pos += size;
      continue;
    }
    const left = tap.buf.length - tap.pos;
    if (n > left)
      throw new RangeError(`${what} block of ${n} items exceeds the ${left} bytes left`);
    while (n--) skipItem(tap);
  }
}

class CheckedLongType extends types.LongType {}
class CheckedEnumType extends types.EnumType {}
class CheckedArrayType extends types.ArrayType {}
class CheckedMapType extends types.MapType {}
// A skipped long or enum is read all the same: a full decode refuses a long beyond 2^53 and
// an enum index without a symbol, and so must the fast path. (avsc freezes each type, so
// the skips are swapped in by subclassing, not by assignment.)
Object.assign(CheckedLongType.prototype, {
  _skip(this: Skippable, tap: Tap) {
    this._read(tap);
  },
});
Object.assign(CheckedEnumType.prototype, {
  _skip(this: Skippable, tap: Tap) {
    this._read(tap);
  },
});
Object.assign(CheckedArrayType.prototype, {
  _skip(this: { itemsType: Skippable }, tap: Tap) {
    skipBlocks(tap, 'array', (t) => this.itemsType._skip(t));
  },
});
Object.assign(CheckedMapType.prototype, {
  _skip(this: { valuesType: Skippable }, tap: Tap) {
    skipBlocks(tap, 'map', (t) => {
      t.skipString();
      this.valuesType._skip(t);
    });
  },
});

/** `typeHook` building the writer type whose skips check what a full decode checks. */
function checkedSkipHook(schema: Schema, opts: ForSchemaOptions): Type | undefined {
  if (schema === 'long') return new CheckedLongType();
  if (typeof schema !== 'object' || Array.isArray(schema)) return undefined;
  const kind = (schema as { type?: unknown }).type;
  if (kind === 'long') return new CheckedLongType();
  if (kind === 'enum') return new CheckedEnumType(schema, opts);
  if (kind === 'array' && (schema as { items?: unknown }).items !== 'null') {
    return new CheckedArrayType(schema, opts);
  }
  if (kind === 'map') return new CheckedMapType(schema, opts);
  return undefined;
}
