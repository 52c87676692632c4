#!/usr/bin/env node
// CPU per record of the enricher's decode -> join -> encode, offline (not a test; run on
// purpose):
//
//   npx tsc -b packages/enricher && node scripts/bench/enricher-codec.js [--records 300000]
//                                        [--pods 10000] [--services 2000] [--runs 3]
//
// The records and the inventory are those of scripts/bench/enricher-e2e.js (clients are pods,
// servers a service IP answered by an endpoint or an outside resolver, one answer each),
// encoded by the collector's codec. Two paths, timed back to back in this process, each
// --runs times after a warm-up, median CPU time (user + system) per record:
//   before  the codec's full decode, enrichRecord, the codec's encode, Buffer.from(client IP)
//           as the key (what the batch processor did before RecordTranscoder);
//   after   RecordTranscoder: the join's fields decoded, the transaction's bytes copied into
//           the output, the enricher's fields encoded behind them in a shared slab.
// Before timing, both paths run over every record with fresh search-list state and their
// outputs are compared byte for byte; any difference stops the benchmark.
'use strict';
const path = require('node:path');

const root = path.join(__dirname, '..', '..');
const { inventory, option: optionOf, record: recordOf } = require('./enricher-records');
const option = (name, dflt) => optionOf('enricher-codec', name, dflt);
const RECORDS = option('records', 300_000);
const PODS = option('pods', 10_000);
const SERVICES = option('services', 2_000);
const RUNS = option('runs', 3);
const DISTINCT = 50_000;

let enricher, schema;
try {
  enricher = require(path.join(root, 'packages', 'enricher', 'dist', 'index.js'));
  schema = require(path.join(root, 'packages', 'schema', 'dist', 'index.js'));
} catch (err) {
  console.error(`enricher-codec: build first (npx tsc -b packages/enricher): ${err.message}`);
  process.exit(2);
}

const T0 = Date.parse('2026-03-01T10:00:00Z') * 1000;

const input = schema.createCodec('DnsTransaction');
const output = schema.createCodec('EnrichedDnsTransaction');
const config = enricher.enrichmentConfigSchema.parse({});
const base = enricher.createEnrichment(config);
enricher.applyInventory(base.store, enricher.validateInventory(inventory(PODS, SERVICES)), {
  authoritative: true,
});
const deps = () => ({ ...base, search: new enricher.SearchListDetector(), nowUs: () => T0 });
const messages = Array.from({ length: DISTINCT }, (_, i) =>
  input.encode(recordOf(i, T0, PODS, SERVICES)),
);

/** The batch processor's per-record work before RecordTranscoder. */
function before(d) {
  return (bytes) => {
    const decoded = input.decode(bytes);
    if (decoded.status !== 'ok') throw decoded.error;
    const key = Buffer.from(decoded.value.client.ip);
    const value = output.encode(enricher.enrichRecord(decoded.value, d));
    return key.length > 0 ? value : null;
  };
}

function after(d) {
  const transcoder = new enricher.RecordTranscoder({ input, output });
  return (bytes) => {
    const decoded = transcoder.decode(bytes);
    if (decoded.status !== 'ok') throw decoded.error;
    const key = transcoder.key(decoded.value.record.client.ip);
    const value = transcoder.encode(decoded.value, enricher.enrichmentOf(decoded.value.record, d));
    return key.length > 0 ? value : null;
  };
}

// Same bytes, record by record, each path with its own search-list state.
const check = { before: before(deps()), after: after(deps()) };
for (let i = 0; i < messages.length; i++) {
  const a = check.before(messages[i]);
  const b = check.after(messages[i]);
  if (!a.equals(b)) {
    console.error(
      `enricher-codec: record ${i}: outputs differ\n  ${a.toString('hex')}\n  ${b.toString('hex')}`,
    );
    process.exit(1);
  }
}

function timed(fn) {
  const run = (n) => {
    let sink = 0;
    for (let k = 0; k < n; k++) sink += fn(messages[k % messages.length], k).length;
    return sink;
  };
  run(Math.min(RECORDS, 100_000)); // warm-up
  const perRecordUs = [];
  for (let r = 0; r < RUNS; r++) {
    globalThis.gc?.();
    const cpu = process.cpuUsage();
    run(RECORDS);
    const used = process.cpuUsage(cpu);
    perRecordUs.push((used.user + used.system) / RECORDS);
  }
  perRecordUs.sort((a, b) => a - b);
  return { median: perRecordUs[Math.floor(perRecordUs.length / 2)], runs: perRecordUs };
}

console.log(
  `enricher-codec: ${RECORDS} records per run (${DISTINCT} distinct), ${PODS} pods, ${SERVICES} services, ` +
    `${RUNS} runs; node ${process.version}; ${new Date().toISOString()}; outputs identical`,
);
const results = [];
for (const [label, make] of [
  ['before', before],
  ['after', after],
]) {
  const t = timed(make(deps()));
  results.push(t.median);
  console.log(
    `  ${label.padEnd(7)} ${t.median.toFixed(2)} µs CPU per record (runs: ${t.runs.map((x) => x.toFixed(2)).join(', ')})`,
  );
}
console.log(`  after/before ${(results[1] / results[0]).toFixed(2)}`);

// The producer's partition choice per output record (12 partitions), kafkajs' default
// partitioner against the enricher's.
const { Partitioners } = require('kafkajs');
const partitionMetadata = Array.from({ length: 12 }, (_, partitionId) => ({
  partitionErrorCode: 0,
  partitionId,
  leader: 1,
  replicas: [1],
  isr: [1],
}));
const partitionArgs = messages.map((_, i) => ({
  topic: 'dns.enriched',
  partitionMetadata,
  message: { key: Buffer.from(recordOf(i, T0, PODS, SERVICES).client.ip), value: null },
}));
for (const [label, partitioner] of [
  ['kafkajs DefaultPartitioner', Partitioners.DefaultPartitioner()],
  ['KeyHashPartitioner', enricher.KeyHashPartitioner()],
]) {
  const t = timed((_bytes, k) => ({
    length: partitioner(partitionArgs[k % partitionArgs.length]),
  }));
  console.log(`  partition: ${label.padEnd(26)} ${t.median.toFixed(2)} µs CPU per record`);
}
