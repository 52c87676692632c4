import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Schema } from 'avsc';
import {
  CodecError,
  SingleObjectFraming,
  createCodec,
  describeSchema,
  latestSchema,
  parseSchema,
  shippedSchemas,
  type DnsTransaction,
  type EnrichedDnsTransaction,
} from '@dnsflow/schema';
import type { Enrichment } from '../src/enrich';
import { RecordTranscoder, type DecodedInput } from '../src/pipeline/transcoder';

const input = createCodec<DnsTransaction>('DnsTransaction');
const output = createCodec<EnrichedDnsTransaction>('EnrichedDnsTransaction');

/** Enriched records of the demo cluster: pods, services, search-list expansions, NAT. */
const fixtures = JSON.parse(
  readFileSync(
    join(__dirname, '..', '..', '..', 'test', 'fixtures', 'enriched-transactions.json'),
    'utf8',
  ),
  // EDNS option bytes are written as base64 text in the file.
  (key, value: unknown) =>
    key === 'data' && typeof value === 'string' && value.startsWith('base64:')
      ? Buffer.from(value.slice(7), 'base64')
      : value,
) as EnrichedDnsTransaction[];

function split(e: EnrichedDnsTransaction): [DnsTransaction, Enrichment] {
  const { transaction, ...enrichment } = e;
  return [transaction, enrichment];
}

/** The fixtures, and variants of them on the edges of the encoding. */
function corpus(): EnrichedDnsTransaction[] {
  const [first, second] = fixtures as [EnrichedDnsTransaction, EnrichedDnsTransaction];
  const t = first.transaction;
  const bigUs = Number.MAX_SAFE_INTEGER - 10;
  return [
    ...fixtures,
    { ...first, transaction: { ...t, question: null, questionCount: 0 }, domain: null },
    {
      ...second,
      transaction: {
        ...t,
        captureTimeUs: bigUs,
        startTimeUs: bigUs - 5,
        endTimeUs: null,
        latencyUs: null,
        client: { ip: '2001:db8::7', port: 65535 },
        answeredBy: null,
        question: { name: 'bücher.example', nameRaw: 'BÜCHER.example.', type: 'A', class: 'IN' },
        notes: ['late response', 'x'.repeat(300)],
        status: 'UNANSWERED',
      },
      client: { ...first.client!, labels: { app: 'web', 'team.example/owner': 'søren' } },
      enrichTimeUs: bigUs,
    },
  ];
}

function decoded(t: RecordTranscoder, bytes: Buffer): DecodedInput {
  const result = t.decode(bytes);
  if (result.status !== 'ok') throw result.error;
  return result.value;
}

function codecError(fn: () => unknown): CodecError {
  try {
    fn();
  } catch (err) {
    if (err instanceof CodecError) return err;
    throw err;
  }
  throw new Error('expected a CodecError');
}

describe('RecordTranscoder', () => {
  it('writes the same bytes as decoding the record and encoding the enriched one', () => {
    const transcoder = new RecordTranscoder({ input, output });
    expect(transcoder.copiesTransactions).toBe(true);
    for (const enriched of corpus()) {
      const [transaction, enrichment] = split(enriched);
      const bytes = input.encode(transaction);
      const input_ = decoded(transcoder, bytes);
      expect(input_.body).not.toBeNull();
      expect(transcoder.encode(input_, enrichment)).toEqual(output.encode(enriched));
      expect(transcoder.key(input_.record.client.ip)).toEqual(Buffer.from(transaction.client.ip));
    }
  });

  it('decodes the fields the join reads as the full decode does', () => {
    const transcoder = new RecordTranscoder({ input, output });
    for (const enriched of corpus()) {
      const bytes = input.encode(enriched.transaction);
      const full = input.decode(bytes);
      if (full.status !== 'ok') throw full.error;
      const { startTimeUs, client, server, answeredBy, question } = full.value;
      const { record } = decoded(transcoder, bytes);
      expect({ ...record, client: { ...record.client }, server: { ...record.server } }).toEqual({
        startTimeUs,
        client,
        server,
        answeredBy,
        question: question === null ? null : { name: question.name },
      });
    }
  });

  it('writes an identity kept from an earlier record as the codec writes it', () => {
    const transcoder = new RecordTranscoder({ input, output });
    const [transaction, enrichment] = split(fixtures[10]!);
    const frozen = (i: typeof enrichment.client) =>
      i && Object.freeze({ ...i, labels: Object.freeze({ ...i.labels }) });
    const client = frozen(enrichment.client);
    const server = frozen(enrichment.server);
    // A store identity joins many records, in any end; an unfrozen one may change in between.
    const mutable = { ...enrichment.client!, labels: { ...enrichment.client!.labels } };
    const ends = [
      { client, server, answeredBy: client },
      { client: server, server: client, answeredBy: null },
      { client, server, answeredBy: mutable },
      { client: mutable, server, answeredBy: mutable },
    ];
    for (const [i, e] of ends.entries()) {
      mutable.labels = { ...mutable.labels, round: String(i) };
      mutable.pod = `web-${i}`;
      const joined = { ...enrichment, ...e };
      const bytes = input.encode(transaction);
      expect(transcoder.encode(decoded(transcoder, bytes), joined)).toEqual(
        output.encode({ transaction, ...joined }),
      );
    }
  });

  it('keeps the outputs of thousands of records apart (one slab, then the next)', () => {
    const transcoder = new RecordTranscoder({ input, output });
    const [transaction, enrichment] = split(fixtures[10]!);
    const outputs: Buffer[] = [];
    for (let i = 0; i < 4000; i++) {
      const bytes = input.encode({ ...transaction, dnsId: i, node: `node-${i}` });
      outputs.push(
        transcoder.encode(decoded(transcoder, bytes), { ...enrichment, enrichTimeUs: i }),
      );
    }
    outputs.forEach((bytes, i) => {
      const back = output.decode(bytes);
      if (back.status !== 'ok') throw back.error;
      expect(back.value.transaction.dnsId).toBe(i);
      expect(back.value.transaction.node).toBe(`node-${i}`);
      expect(back.value.enrichTimeUs).toBe(i);
    });
  });

  describe('refuses what the full decode refuses, with its error', () => {
    const transcoder = new RecordTranscoder({ input, output });
    const good = input.encode(fixtures[8]!.transaction);
    const header = good.subarray(0, 10);
    const body = good.subarray(10);
    // zig-zag varint of a long
    const varint = (n: bigint): Buffer => {
      let z = n >= 0n ? n << 1n : (-n << 1n) - 1n;
      const out: number[] = [];
      while (z >= 0x80n) {
        out.push(Number(z & 0x7fn) | 0x80);
        z >>= 7n;
      }
      out.push(Number(z));
      return Buffer.from(out);
    };
    const cases: [string, Buffer][] = [
      ['truncated', good.subarray(0, good.length - 3)],
      ['trailing bytes', Buffer.concat([good, Buffer.from([0])])],
      // captureTimeUs (the first field, which the join skips) beyond 2^53
      [
        'a skipped long beyond 2^53',
        Buffer.concat([header, varint(2n ** 60n), body.subarray(varint(0n).length + 8)]),
      ],
      // notes (the last field, an empty array) claiming 2^40 items
      [
        'a corrupt array count',
        Buffer.concat([good.subarray(0, -1), varint(2n ** 40n), Buffer.from([0])]),
      ],
      [
        'a negative array block size',
        Buffer.concat([good.subarray(0, -1), varint(-1n), varint(-5n)]),
      ],
    ];
    it.each(cases)('%s', (_what, bytes) => {
      const expected = input.decode(bytes);
      expect(expected.status).toBe('error');
      expect(transcoder.decode(bytes)).toEqual(expected);
    });

    it('an enum index without a symbol (status, which the join skips)', () => {
      const schema = JSON.parse(input.writer.canonical) as {
        fields: { name: string; type: unknown }[];
      };
      const status = schema.fields.find((f) => f.name === 'status')!;
      const symbols = (status.type as { symbols: string[] }).symbols;
      status.type = { ...(status.type as object), symbols: [...symbols, 'FUTURE'] };
      const wider = parseSchema(schema as Schema);
      const bytes = Buffer.concat([
        header,
        wider.toBuffer({ ...fixtures[8]!.transaction, status: 'FUTURE' }),
      ]);
      const expected = input.decode(bytes);
      expect(expected.status).toBe('error');
      expect(transcoder.decode(bytes)).toEqual(expected);
    });
  });

  it('throws the codec error naming the field when the enrichment does not fit the schema', () => {
    const transcoder = new RecordTranscoder({ input, output });
    const [transaction, enrichment] = split(fixtures[0]!);
    const bad = {
      ...enrichment,
      server: { ...enrichment.server!, kind: 'PLANET' },
    } as unknown as Enrichment;
    const expected = codecError(() => output.encode({ transaction, ...bad }));
    const got = codecError(() =>
      transcoder.encode(decoded(transcoder, input.encode(transaction)), bad),
    );
    expect(got.message).toBe(expected.message);
    expect(got.message).toContain('server.kind');
  });

  it('decodes and re-encodes records of another writer version', () => {
    const v0Schema = JSON.parse(
      readFileSync(
        join(__dirname, '..', '..', 'schema', 'test', 'fixtures', 'DnsTransaction.v0.avsc'),
        'utf8',
      ),
    ) as Schema;
    const v0 = describeSchema('DnsTransaction', 0, parseSchema(v0Schema));
    const framing = new SingleObjectFraming([v0, ...shippedSchemas()]);
    const reader = createCodec<DnsTransaction>('DnsTransaction', { framing });
    const transcoder = new RecordTranscoder({ input: reader, output });
    const old = {
      ...fixtures[11]!.transaction,
      legacyComment: 'written by v0',
    };
    const bytes = framing.frame(v0, v0.type.toBuffer(old));
    const full = reader.decode(bytes);
    if (full.status !== 'ok') throw full.error;
    const [, enrichment] = split(fixtures[11]!);
    const got = decoded(transcoder, bytes);
    expect(got.body).toBeNull();
    expect(transcoder.encode(got, enrichment)).toEqual(
      output.encode({ transaction: full.value, ...enrichment }),
    );
  });

  it('does not copy when the output embeds another transaction version', () => {
    const writer = latestSchema('DnsTransaction');
    const schema = JSON.parse(writer.canonical) as { fields: unknown[] };
    schema.fields.push({ name: 'extra', type: 'int', default: 0 });
    const v2 = describeSchema('DnsTransaction', 2, parseSchema(schema as Schema));
    const newer = createCodec<DnsTransaction>('DnsTransaction', {
      writer: v2,
      framing: new SingleObjectFraming([...shippedSchemas(), v2]),
    });
    const transcoder = new RecordTranscoder({ input: newer, output });
    expect(transcoder.copiesTransactions).toBe(false);
    const [transaction, enrichment] = split(fixtures[3]!);
    const got = decoded(transcoder, newer.encode(transaction));
    expect(transcoder.encode(got, enrichment)).toEqual(output.encode(fixtures[3]!));
  });
});
