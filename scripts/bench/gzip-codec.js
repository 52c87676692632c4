#!/usr/bin/env node
// Gzip batch decompression benchmark (not a test; run on purpose, after `npx tsc -b`):
//
//   node scripts/bench/gzip-codec.js [--records 40000] [--batch 500] [--rounds 5]
//
// The enriched records of the indexer bench (scripts/bench/enriched-fixture.js), Avro-encoded,
// in gzip batches of --batch records (as a producer compresses a record batch), decompressed
// one after another by kafkajs' own gzip codec (the baseline: zlib's asynchronous API) and by
// the runtime's (`gzipCodec`, packages/runtime/src/gzip.ts), rounds alternating. Prints the
// CPU time of this process per record (user + system, every thread: the asynchronous codec
// works on the thread pool) for both, the fastest round of each, and the ratio.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const zlib = require('node:zlib');
const { distinctEnrichedRecords } = require('./enriched-fixture');

const root = path.join(__dirname, '..', '..');
const dist = (pkg) => path.join(root, 'packages', pkg, 'dist', 'index.js');
for (const pkg of ['schema', 'runtime']) {
  if (!fs.existsSync(dist(pkg))) {
    console.error(`gzip bench: ${dist(pkg)} is missing: run npx tsc -b first`);
    process.exit(2);
  }
}
const schema = require(dist('schema'));
const runtime = require(dist('runtime'));
const kafkajsGzip = require(
  path.join(root, 'node_modules', 'kafkajs', 'src', 'protocol', 'message', 'compression', 'gzip'),
);

const argv = process.argv.slice(2);
const option = (name, dflt) => {
  const i = argv.indexOf(`--${name}`);
  if (i < 0) return dflt;
  const n = Number(argv[i + 1]);
  if (!Number.isInteger(n) || n <= 0) {
    console.error(`gzip bench: --${name} needs a positive integer, got ${argv[i + 1]}`);
    process.exit(2);
  }
  return n;
};
const RECORDS = option('records', 40_000);
const BATCH = option('batch', 500);
const ROUNDS = option('rounds', 5);

async function round(codec, batches) {
  const cpu0 = process.cpuUsage();
  let bytes = 0;
  for (const batch of batches) bytes += (await codec.decompress(batch)).length;
  const used = process.cpuUsage(cpu0);
  return { us: (used.user + used.system) / RECORDS, bytes };
}

async function main() {
  const codec = schema.createCodec('EnrichedDnsTransaction');
  const values = distinctEnrichedRecords(schema, RECORDS, 20_000).map((r) => codec.encode(r));
  const batches = [];
  let raw = 0;
  for (let i = 0; i < values.length; i += BATCH) {
    const batch = Buffer.concat(values.slice(i, i + BATCH));
    raw += batch.length;
    batches.push(zlib.gzipSync(batch));
  }
  const compressed = batches.reduce((sum, b) => sum + b.length, 0);
  console.log(
    `gzip bench ${new Date().toISOString()} records=${RECORDS} batch=${BATCH} rounds=${ROUNDS}: ${batches.length} batches, ${raw} bytes, ${compressed} compressed`,
  );
  const sides = [
    { name: "kafkajs' codec (baseline)", codec: kafkajsGzip, us: [] },
    { name: "the runtime's codec", codec: runtime.gzipCodec, us: [] },
  ];
  for (let r = 0; r < ROUNDS; r++) {
    for (const side of r % 2 === 0 ? sides : [...sides].reverse()) {
      const { us, bytes } = await round(side.codec, batches);
      if (bytes !== raw) throw new Error(`${side.name} gave ${bytes} bytes, not ${raw}`);
      side.us.push(us);
    }
  }
  const best = sides.map((s) => Math.min(...s.us));
  for (const [i, side] of sides.entries()) {
    console.log(
      `${side.name}: CPU per record best ${best[i].toFixed(2)} us (rounds ${side.us.map((x) => x.toFixed(2)).join(', ')})`,
    );
  }
  console.log(`ratio (runtime / kafkajs): ${(best[1] / best[0]).toFixed(2)}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
