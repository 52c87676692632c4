import { createCodec, EcsTranscoder, ecsJson, latestSchema, transactionKey } from '../src/index';
import type { EnrichedDnsTransaction } from '../src/index';
import { fullEnriched } from './fixtures/records';
import { variant } from './fixtures/variants';

// The transcoder writes the ECS document's JSON bytes straight from the Avro bytes. Whatever it
// writes must be exactly ecsJson of the decoded record, in UTF-8; what it cannot be sure of it
// must leave to the general path (null), never guess.

const codec = createCodec<EnrichedDnsTransaction>('EnrichedDnsTransaction');

function general(bytes: Buffer, namespace: string): string {
  const decoded = codec.decode(bytes);
  if (decoded.status !== 'ok') return `decode error: ${decoded.error.message}`;
  try {
    return ecsJson(decoded.value, { namespace });
  } catch (err) {
    return `encode error: ${String(err)}`;
  }
}

/** Transcodes each record; expects ecsJson's text where it answers. Returns how many answered. */
function expectSameAsGeneral(records: Iterable<Buffer>, namespace = 'default'): number {
  const transcoder = new EcsTranscoder({ namespace });
  let answered = 0;
  let i = 0;
  for (const bytes of records) {
    const fast = transcoder.transcode(bytes);
    if (fast !== null) {
      answered++;
      const expected = general(bytes, namespace);
      if (fast.toString('utf8') !== expected) {
        expect({ i, document: fast.toString('utf8') }).toEqual({ i, document: expected });
      }
    }
    i++;
  }
  return answered;
}

function* variants(count: number): Generator<Buffer> {
  for (let seed = 1; seed <= count; seed++) yield codec.encode(variant(seed));
}

describe('EcsTranscoder', () => {
  it('is written for the newest shipped schema (update it with the schema)', () => {
    expect(new EcsTranscoder().enabled).toBe(true);
    expect(latestSchema('EnrichedDnsTransaction').version).toBe(1);
  });

  it('writes ecsJson of the fully populated record', () => {
    const transcoder = new EcsTranscoder({ namespace: 'prod' });
    const doc = transcoder.transcode(codec.encode(fullEnriched()));
    expect(doc?.toString('utf8')).toBe(ecsJson(fullEnriched(), { namespace: 'prod' }));
  });

  it('writes ecsJson of 2,000 varied records, and takes the general path for none of them', () => {
    expect(expectSameAsGeneral(variants(2000), 'prod')).toBe(2000);
  });

  it('writes ecsJson, or defers, for 5,000 random records of the schema', () => {
    const type = latestSchema('EnrichedDnsTransaction').type;
    const random = function* (): Generator<Buffer> {
      for (let i = 0; i < 5000; i++) {
        yield codec.encode(type.random() as unknown as EnrichedDnsTransaction);
      }
    };
    // avsc's random strings are ASCII letters, so every record is read here, IPs that are not
    // addresses and all.
    expect(expectSameAsGeneral(random(), 'ns')).toBe(5000);
  });

  it('copies names with quotes, backslashes, control characters and non-ASCII text as JSON.stringify escapes them', () => {
    const names = [
      'a"b\\c.example',
      'ünï.example',
      'tab\there',
      'nul\u0000x',
      'del\u007f',
      '😀.example',
      '',
    ];
    const records = names.map((name) => {
      const r = fullEnriched();
      r.transaction.question!.name = name;
      r.transaction.notes = [name, 'plain'];
      r.transaction.node = `node-${name}`;
      return codec.encode(r);
    });
    // A node name that is not ASCII goes to the general path (its _id hashes the decoded text).
    expect(expectSameAsGeneral(records)).toBe(names.length - 2);
  });

  it('writes IPv6 and mixed endpoints, related addresses once each', () => {
    const pairs = [
      ['fd00::17', 'fd00::a'],
      ['10.244.1.17', 'fd00::a'],
      ['::ffff:192.0.2.1', '10.96.0.10'],
      ['10.96.0.10', '10.96.0.10'],
      ['010.1.2.3', '10.1.2.3'],
    ];
    const records = pairs.map(([client, server]) => {
      const r = fullEnriched();
      r.transaction.client.ip = client!;
      r.transaction.server.ip = server!;
      r.transaction.answers.push({ ...r.transaction.answers[0]!, type: 'A', data: server! });
      return codec.encode(r);
    });
    expect(expectSameAsGeneral(records)).toBe(pairs.length);
  });

  it('renders each distinct identity once and again correctly after many distinct ones', () => {
    const records: Buffer[] = [];
    for (let i = 0; i < 12_000; i++) {
      const r = fullEnriched();
      r.client = {
        ...r.client!,
        pod: `pod-${i % 11_000}`,
        labels: { app: `a${i % 7}`, '10': 'x', '2': 'y' },
      };
      r.transaction.dnsId = i % 65536;
      records.push(codec.encode(r));
    }
    expect(expectSameAsGeneral(records)).toBe(records.length);
  });

  it('hands out documents that stay as they were while later ones are written', () => {
    const transcoder = new EcsTranscoder();
    const kept: { doc: Buffer; expected: string }[] = [];
    // Enough documents to fill several output slabs.
    for (let seed = 1; seed <= 3000; seed++) {
      const bytes = codec.encode(variant(seed));
      const doc = transcoder.transcode(bytes);
      expect(doc).not.toBeNull();
      kept.push({ doc: doc!, expected: general(bytes, 'default') });
    }
    const changed = kept.filter((k) => k.doc.toString('utf8') !== k.expected).length;
    expect(changed).toBe(0);
  });

  it('gives the transaction key of the record it read, as transactionKey writes it', () => {
    const transcoder = new EcsTranscoder();
    for (let seed = 1; seed <= 200; seed++) {
      const r = variant(seed);
      expect(transcoder.read(codec.encode(r))).toBe(true);
      expect(transcoder.transactionKey().toString('utf8')).toBe(transactionKey(r));
    }
  });

  describe('leaves to the general path', () => {
    const transcoder = new EcsTranscoder();
    const good = codec.encode(fullEnriched());

    it.each([
      ['a truncated body', good.subarray(0, good.length - 3)],
      ['a body with a trailing byte', Buffer.concat([good, Buffer.from([0])])],
      ['a header only', good.subarray(0, 10)],
      [
        'a body of another schema',
        Buffer.concat([good.subarray(0, 2), Buffer.alloc(8), good.subarray(10)]),
      ],
      ['no single-object marker', Buffer.concat([Buffer.from([0, 1]), good.subarray(2)])],
      ['a union index out of range', withByte(good, 12, 0x06)],
    ])('%s', (_what, bytes) => {
      expect(transcoder.transcode(bytes)).toBeNull();
      // ...and the next record is read as if nothing happened.
      expect(transcoder.transcode(good)?.toString('utf8')).toBe(ecsJson(fullEnriched()));
    });

    it('a long past 2^53, which avsc refuses to read', () => {
      const r = fullEnriched();
      r.transaction.latencyUs = 2 ** 52;
      const plain = codec.encode(r);
      const safe = zigzag(2n ** 52n);
      const at = plain.indexOf(safe);
      expect(at).toBeGreaterThan(0);
      const bytes = Buffer.concat([
        plain.subarray(0, at),
        zigzag(2n ** 60n),
        plain.subarray(at + safe.length),
      ]);
      expect(transcoder.transcode(bytes)).toBeNull();
      expect(general(bytes, 'default')).toMatch(/^decode error: .*precision/);
    });

    it('an array written in several blocks, or in a block with its size', () => {
      const r = fullEnriched();
      r.transaction.notes = ['note-one-xyz', 'note-two-xyz'];
      const plain = codec.encode(r);
      const one = Buffer.from([0x18, ...Buffer.from('note-one-xyz')]);
      const two = Buffer.from([0x18, ...Buffer.from('note-two-xyz')]);
      const written = Buffer.concat([Buffer.from([0x04]), one, two, Buffer.from([0x00])]);
      const at = plain.indexOf(written);
      expect(at).toBeGreaterThan(0);
      const rewrite = (blocks: Buffer): Buffer =>
        Buffer.concat([plain.subarray(0, at), blocks, plain.subarray(at + written.length)]);
      const twoBlocks = rewrite(
        Buffer.concat([Buffer.from([0x02]), one, Buffer.from([0x02]), two, Buffer.from([0])]),
      );
      // -2 items, 26 bytes (zigzag 3 and 52), then the end.
      const sized = rewrite(Buffer.concat([Buffer.from([0x03, 0x34]), one, two, Buffer.from([0])]));
      for (const bytes of [twoBlocks, sized]) {
        expect(transcoder.transcode(bytes)).toBeNull();
        expect(general(bytes, 'default')).toBe(ecsJson(r));
      }
    });
  });
});

/** Avro's variable-length zig-zag encoding of a long. */
function zigzag(value: bigint): Buffer {
  let n = value >= 0n ? value << 1n : (-value << 1n) - 1n;
  const out: number[] = [];
  while (n >= 0x80n) {
    out.push(Number(n & 0x7fn) | 0x80);
    n >>= 7n;
  }
  out.push(Number(n));
  return Buffer.from(out);
}

function withByte(bytes: Buffer, at: number, value: number): Buffer {
  const copy = Buffer.from(bytes);
  copy[at] = value;
  return copy;
}
