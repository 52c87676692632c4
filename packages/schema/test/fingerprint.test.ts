import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Type } from 'avsc';
import { crc64AvroBytes, describeSchema, parseSchema, shippedSchemas } from '../src/index';
import type { Schema } from 'avsc';

const expected = JSON.parse(
  readFileSync(join(__dirname, 'fixtures', 'fingerprints.json'), 'utf8'),
) as {
  primitives: Record<string, string>;
} & Record<string, string>;

describe('CRC-64-AVRO fingerprints', () => {
  it.each(Object.entries(expected.primitives))(
    'matches the Avro reference for %s',
    (schema, hex) => {
      const canonical = JSON.stringify(Type.forSchema(schema).schema());
      expect(crc64AvroBytes(Buffer.from(canonical)).toString('hex')).toBe(hex);
    },
  );

  it('matches the Avro reference for every shipped schema', () => {
    for (const s of shippedSchemas()) {
      const file = `${s.name}.v${s.version}.avsc`;
      expect({ file, fingerprint: s.fingerprint.toString('hex') }).toEqual({
        file,
        fingerprint: expected[file],
      });
    }
  });

  it('matches the Avro reference for the old-writer fixture', () => {
    const schema = JSON.parse(
      readFileSync(join(__dirname, 'fixtures', 'DnsTransaction.v0.avsc'), 'utf8'),
    ) as Schema;
    const v0 = describeSchema('DnsTransaction', 0, parseSchema(schema));
    expect(v0.fingerprint.toString('hex')).toBe(expected['DnsTransaction.v0.avsc']);
  });

  it('gives every shipped version a distinct fingerprint', () => {
    const all = shippedSchemas().map((s) => s.fingerprint.toString('hex'));
    expect(new Set(all).size).toBe(all.length);
  });
});
