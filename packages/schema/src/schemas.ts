import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Type, type Schema } from 'avsc';
import { crc64AvroBytes } from './crc64';
import { CodecError } from './errors';
import { guardedTypeHook } from './guard';

/** Names of the top-level record schemas, one per Kafka topic. */
export type SchemaName = 'DnsTransaction' | 'EnrichedDnsTransaction';

/** One shipped version of a schema, parsed and fingerprinted. */
export interface SchemaVersion {
  readonly name: SchemaName;
  readonly version: number;
  readonly type: Type;
  /** Avro Parsing Canonical Form. */
  readonly canonical: string;
  /** CRC-64-AVRO of the canonical form, little-endian, as single-object encoding writes it. */
  readonly fingerprint: Buffer;
}

interface ManifestEntry {
  name: SchemaName;
  version: number;
  file: string;
  uses: { name: SchemaName; version: number }[];
}

/** Folder holding the `.avsc` files; `src/` and `dist/` both sit one level below the package. */
export const AVSC_DIR = join(__dirname, '..', 'avsc');

function readJson(file: string): unknown {
  return JSON.parse(readFileSync(join(AVSC_DIR, file), 'utf8')) as unknown;
}

function loadManifest(): ManifestEntry[] {
  return (readJson('manifest.json') as { schemas: ManifestEntry[] }).schemas;
}

/**
 * Parses one schema document into an Avro type. `uses` lists documents whose named types it
 * refers to; they are parsed first into the same registry.
 */
export function parseSchema(schema: Schema, uses: readonly Schema[] = []): Type {
  const registry: Record<string, Type> = {};
  for (const used of uses) Type.forSchema(used, { registry, typeHook: guardedTypeHook });
  return Type.forSchema(schema, { registry, typeHook: guardedTypeHook });
}

/** Builds a SchemaVersion (canonical form and fingerprint) from a parsed type. */
export function describeSchema(name: SchemaName, version: number, type: Type): SchemaVersion {
  // avsc's schema() without attributes is the Parsing Canonical Form: full names, only the
  // attributes that matter for parsing, in the order the specification fixes.
  const canonical = JSON.stringify(type.schema());
  return { name, version, type, canonical, fingerprint: crc64AvroBytes(Buffer.from(canonical)) };
}

let shipped: SchemaVersion[] | undefined;

/** Every schema version shipped in `avsc/manifest.json`, oldest first. */
export function shippedSchemas(): readonly SchemaVersion[] {
  if (shipped) return shipped;
  const entries = loadManifest();
  const documents = new Map<string, Schema>();
  for (const entry of entries) {
    documents.set(`${entry.name}@${entry.version}`, readJson(entry.file) as Schema);
  }
  shipped = entries.map((entry) => {
    const uses = entry.uses.map((u) => {
      const doc = documents.get(`${u.name}@${u.version}`);
      if (!doc) {
        throw new CodecError(
          'unknown-schema',
          `${entry.file} uses ${u.name} v${u.version}, which the manifest does not list`,
        );
      }
      return doc;
    });
    const type = parseSchema(documents.get(`${entry.name}@${entry.version}`)!, uses);
    return describeSchema(entry.name, entry.version, type);
  });
  return shipped;
}

/** The newest shipped version of `name`: the one writers use. */
export function latestSchema(name: SchemaName): SchemaVersion {
  const versions = shippedSchemas().filter((s) => s.name === name);
  const latest = versions[versions.length - 1];
  if (!latest) throw new CodecError('unknown-schema', `no shipped schema named ${name}`);
  return latest;
}
