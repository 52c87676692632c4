import type { Resolver } from 'avsc';
import { CodecError } from './errors';
import { latestSchema, shippedSchemas, type SchemaName, type SchemaVersion } from './schemas';

/** Result of decoding one message: hot paths branch on `status` instead of catching. */
export type DecodeResult<T> =
  { status: 'ok'; value: T; writer: SchemaVersion } | { status: 'error'; error: CodecError };

/** Result of splitting framed bytes into the writer schema and the Avro body. */
export type UnframeResult =
  { status: 'ok'; writer: SchemaVersion; body: Buffer } | { status: 'error'; error: CodecError };

/**
 * How Avro bodies are wrapped on the wire. Single-object encoding is the only one today; the
 * Confluent wire format (magic 0 + registry schema id) fits the same shape: `prepare` fetches
 * unknown ids from the registry for a whole batch, so `unframe` stays synchronous.
 */
export interface WireFraming {
  frame(writer: SchemaVersion, body: Buffer): Buffer;
  prepare(messages: readonly Buffer[]): Promise<void>;
  unframe(bytes: Buffer): UnframeResult;
}

/** Encodes and decodes one record type; the only thing producers and consumers touch. */
export interface RecordCodec<T> {
  readonly writer: SchemaVersion;
  encode(value: T): Buffer;
  /** Makes every writer schema `messages` refer to available to `decode`. */
  prepare(messages: readonly Buffer[]): Promise<void>;
  decode(bytes: Buffer): DecodeResult<T>;
}

/** Single-object encoding marker, Avro specification "Single-object encoding". */
const MAGIC = Buffer.from([0xc3, 0x01]);
const HEADER_BYTES = MAGIC.length + 8;

/** Avro single-object encoding: 0xC3 0x01, the writer's CRC-64-AVRO fingerprint, the body. */
export class SingleObjectFraming implements WireFraming {
  private readonly byFingerprint = new Map<string, SchemaVersion>();

  /** @param writers every schema version whose bytes may be read */
  constructor(writers: readonly SchemaVersion[]) {
    for (const w of writers) this.byFingerprint.set(w.fingerprint.toString('hex'), w);
  }

  frame(writer: SchemaVersion, body: Buffer): Buffer {
    return Buffer.concat([MAGIC, writer.fingerprint, body], HEADER_BYTES + body.length);
  }

  prepare(): Promise<void> {
    return Promise.resolve();
  }

  unframe(bytes: Buffer): UnframeResult {
    if (bytes.length < HEADER_BYTES) {
      return fail(
        'too-short',
        `expected at least ${HEADER_BYTES} bytes of single-object header, got ${bytes.length}`,
      );
    }
    if (bytes[0] !== MAGIC[0] || bytes[1] !== MAGIC[1]) {
      return fail('bad-magic', `expected marker c301, got ${bytes.subarray(0, 2).toString('hex')}`);
    }
    const fingerprint = bytes.subarray(2, HEADER_BYTES).toString('hex');
    const writer = this.byFingerprint.get(fingerprint);
    if (!writer) {
      return fail('unknown-fingerprint', `no known schema has fingerprint ${fingerprint}`);
    }
    return { status: 'ok', writer, body: bytes.subarray(HEADER_BYTES) };
  }
}

function fail(
  reason: CodecError['reason'],
  message: string,
): { status: 'error'; error: CodecError } {
  return { status: 'error', error: new CodecError(reason, message) };
}

/** Options for {@link createCodec}. */
export interface CodecOptions {
  /** Framing to use; defaults to single-object encoding over every shipped schema version. */
  framing?: WireFraming;
  /** Writer schema; defaults to the newest shipped version. */
  writer?: SchemaVersion;
}

/**
 * A codec for records of `name`: writes with the newest shipped version and reads bytes written
 * with any known version, resolved to the newest one by Avro's schema resolution rules.
 */
export function createCodec<T>(name: SchemaName, options: CodecOptions = {}): RecordCodec<T> {
  const reader = latestSchema(name);
  const writer = options.writer ?? reader;
  const framing = options.framing ?? new SingleObjectFraming(shippedSchemas());
  const resolvers = new Map<SchemaVersion, Resolver | undefined>();

  function resolverFor(version: SchemaVersion): Resolver | undefined {
    if (version.fingerprint.equals(reader.fingerprint)) return undefined;
    if (!resolvers.has(version)) {
      if (version.name !== name) {
        throw new CodecError(
          'unknown-schema',
          `expected a ${name} record, got a ${version.name} v${version.version} record`,
        );
      }
      resolvers.set(version, reader.type.createResolver(version.type));
    }
    return resolvers.get(version);
  }

  return {
    writer,
    encode(value: T): Buffer {
      try {
        return framing.frame(writer, writer.type.toBuffer(value));
      } catch (err) {
        const paths: string[] = [];
        writer.type.isValid(value, { errorHook: (path) => paths.push(path.join('.')) });
        throw new CodecError(
          'bad-payload',
          `cannot encode ${name}: invalid field(s) ${paths.join(', ') || '?'}`,
          { cause: err },
        );
      }
    },
    prepare(messages) {
      return framing.prepare(messages);
    },
    decode(bytes: Buffer): DecodeResult<T> {
      const framed = framing.unframe(bytes);
      if (framed.status !== 'ok') return framed;
      try {
        const resolver = resolverFor(framed.writer);
        const value = reader.type.fromBuffer(framed.body, resolver) as T;
        return { status: 'ok', value, writer: framed.writer };
      } catch (err) {
        if (err instanceof CodecError) return { status: 'error', error: err };
        const message = err instanceof Error ? err.message : String(err);
        return fail(
          'bad-payload',
          `${name} body (${framed.body.length} bytes, writer v${framed.writer.version}) does not decode: ${message}`,
        );
      }
    },
  };
}
