import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  SingleObjectFraming,
  createCodec,
  describeSchema,
  latestSchema,
  parseSchema,
  shippedSchemas,
} from '../src/index';
import type { Schema } from 'avsc';
import type { DnsTransaction } from '../src/index';

// Bytes written by an older writer must decode with the newest reader: Avro resolution skips
// fields the reader lacks and fills the reader's new fields with their defaults.

const v0Schema = JSON.parse(
  readFileSync(join(__dirname, 'fixtures', 'DnsTransaction.v0.avsc'), 'utf8'),
) as Schema;
const v0 = describeSchema('DnsTransaction', 0, parseSchema(v0Schema));
const framing = new SingleObjectFraming([v0, ...shippedSchemas()]);

const oldRecord = {
  captureTimeUs: 1_700_000_000_000_000,
  startTimeUs: 1_699_999_999_990_000,
  endTimeUs: 1_699_999_999_995_000,
  latencyUs: 5_000,
  node: 'old-node',
  iface: null,
  client: { ip: '2001:db8::7', port: 5353 },
  server: { ip: '2001:db8::53', port: 53 },
  transport: 'TCP',
  dnsId: 65535,
  opcode: 'QUERY',
  flags: { aa: true, tc: false, rd: true, ra: true, ad: false, cd: false, do: false },
  question: { name: 'example.org', nameRaw: 'EXAMPLE.org', type: 'MX', class: 'IN' },
  rcode: 'NXDOMAIN',
  answers: [{ name: 'example.org', type: 'MX', class: 'IN', ttl: 10, data: '10 mx.example.org' }],
  requestBytes: 40,
  responseBytes: 120,
  status: 'ANSWERED',
  legacyComment: 'written by v0',
};

describe('schema evolution', () => {
  it('decodes bytes of the older writer with the newest reader, defaults filled', () => {
    const reader = createCodec<DnsTransaction>('DnsTransaction', { framing });
    const bytes = framing.frame(v0, v0.type.toBuffer(oldRecord));
    const result = reader.decode(bytes);
    if (result.status !== 'ok') throw result.error;
    expect(result.writer.version).toBe(0);
    const { legacyComment: _dropped, ...kept } = oldRecord;
    expect({ ...result.value }).toEqual({
      ...kept,
      answeredBy: null,
      questionCount: 1,
      rcodeValue: null,
      answerCount: 0,
      authorityCount: 0,
      additionalCount: 0,
      authorities: [],
      additionals: [],
      queryEdns: null,
      responseEdns: null,
      malformedReason: null,
      duplicateResponses: 0,
      notes: [],
    });
    expect(result.value).not.toHaveProperty('legacyComment');
  });

  it('decodes bytes of every shipped version with the newest reader', () => {
    for (const version of shippedSchemas()) {
      const reader = createCodec<unknown>(version.name);
      const writer = createCodec<unknown>(version.name, { writer: version });
      const value: unknown = version.type.random();
      const result = reader.decode(writer.encode(value));
      if (result.status !== 'ok') throw result.error;
      expect(result.writer.fingerprint).toEqual(version.fingerprint);
    }
  });

  it('keeps the newest version as the writer', () => {
    const versions = shippedSchemas().filter((s) => s.name === 'DnsTransaction');
    expect(createCodec('DnsTransaction').writer).toBe(versions[versions.length - 1]);
    expect(latestSchema('DnsTransaction').version).toBe(
      Math.max(...versions.map((v) => v.version)),
    );
  });
});
