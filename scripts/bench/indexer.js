#!/usr/bin/env node
// Indexer benchmark (not a test; run on purpose, after `npx tsc -b`):
//
//   node scripts/bench/indexer.js [--docs 100000] [--max-docs 1000] [--concurrency 2]
//
// Against the local Kafka (127.0.0.1:9092) and Elasticsearch (http://127.0.0.1:9200):
// 1. Generates --docs distinct enriched transactions from test/fixtures, produces them to a
//    fresh topic (not timed) and writes the same documents, with the same _ids, as bulk
//    NDJSON to a file.
// 2. Ceiling: bulk-loads that file straight into a fresh data stream with the same bulk
//    size and concurrency (op_type create), no Kafka, no decoding. Run before and after the
//    indexer; the faster of the two counts.
// 3. dnsflow: `startIndexer` consumes the topic into another fresh data stream; timed from
//    the first record received to the last document acknowledged (the group join before
//    it is reported separately).
// 4. Disk: both data streams' indexer copy force-merged to one segment, store bytes per
//    document, beside the same documents in a plain index with Elasticsearch's default
//    dynamic mapping and settings (no template applies to its name), also force-merged.
// Prints the date, load average, figures, baselines and ratios.
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { randomBytes } = require('node:crypto');

const root = path.join(__dirname, '..', '..');
const dist = (pkg) => path.join(root, 'packages', pkg, 'dist', 'index.js');
for (const pkg of ['schema', 'runtime', 'indexer']) {
  if (!fs.existsSync(dist(pkg))) {
    console.error(`indexer bench: ${dist(pkg)} is missing: run npx tsc -b first`);
    process.exit(2);
  }
}
const schema = require(dist('schema'));
const runtime = require(dist('runtime'));
const indexer = require(dist('indexer'));

const argv = process.argv.slice(2);
const option = (name, dflt) => {
  const i = argv.indexOf(`--${name}`);
  if (i < 0) return dflt;
  const n = Number(argv[i + 1]);
  if (!Number.isInteger(n) || n <= 0) {
    console.error(`indexer bench: --${name} needs a positive integer, got ${argv[i + 1]}`);
    process.exit(2);
  }
  return n;
};
const DOCS = option('docs', 100_000);
const MAX_DOCS = option('max-docs', 1000);
const CONCURRENCY = option('concurrency', 2);
const MAX_BYTES = 5 * 1024 * 1024;
const GOAL = 0.9;
const FILTER_PATH = 'errors,items.*.status,items.*.error.type';

const id = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
const log = runtime.createLogger('bench', { level: 'warn' });

function records(count) {
  const fixture = JSON.parse(
    fs.readFileSync(path.join(root, 'test', 'fixtures', 'enriched-transactions.json'), 'utf8'),
    (key, value) =>
      key === 'data' && typeof value === 'string' && value.startsWith('base64:')
        ? Buffer.from(value.slice(7), 'base64')
        : value,
  );
  const type = schema.latestSchema('EnrichedDnsTransaction').type;
  const baseUs = Date.UTC(2026, 0, 15, 12, 0, 0) * 1000;
  const out = [];
  for (let i = 0; i < count; i++) {
    const r = type.clone(fixture[i % fixture.length]);
    const tx = r.transaction;
    tx.startTimeUs = baseUs + i * 20_000; // 50 a second
    tx.captureTimeUs = tx.startTimeUs + 10_000;
    if (tx.endTimeUs !== null) tx.endTimeUs = tx.startTimeUs + (tx.latencyUs ?? 0);
    tx.dnsId = i % 65536;
    tx.client.port = 30000 + (i % 30000);
    r.enrichTimeUs = tx.captureTimeUs + 1000;
    out.push(r);
  }
  return out;
}

async function produce(kafka, topic, values) {
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  for (let i = 0; i < values.length; i += 1000) {
    await producer.send({
      topic,
      acks: -1,
      messages: values.slice(i, i + 1000).map((value) => ({ value })),
    });
  }
  await producer.disconnect();
}

/** Bulk-loads an NDJSON file (action + document lines) with the indexer's batch rules. */
async function loadFile(es, file, index) {
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  const batches = [];
  let batch = [];
  let bytes = 0;
  for (let i = 0; i + 1 < lines.length; i += 2) {
    const action = JSON.parse(lines[i]);
    action.create._index = index;
    const entry = `${JSON.stringify(action)}\n${lines[i + 1]}`;
    const size = Buffer.byteLength(entry) + 2;
    if (batch.length > 0 && bytes + size > MAX_BYTES) {
      batches.push(batch);
      batch = [];
      bytes = 0;
    }
    batch.push(entry);
    bytes += size;
    if (batch.length >= MAX_DOCS) {
      batches.push(batch);
      batch = [];
      bytes = 0;
    }
  }
  if (batch.length > 0) batches.push(batch);
  const started = process.hrtime.bigint();
  let next = 0;
  let failed = 0;
  const worker = async () => {
    while (next < batches.length) {
      const body = batches[next++];
      const answer = await es.bulk({ operations: body, filter_path: FILTER_PATH });
      if (answer.errors) failed += answer.items.filter((it) => it.create.status >= 300).length;
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (failed > 0) throw new Error(`${failed} documents failed in the file load of ${index}`);
  return seconds;
}

async function bytesPerDoc(es, index) {
  await es.indices.refresh({ index });
  await es.indices.forcemerge({ index, max_num_segments: 1, wait_for_completion: true });
  const stats = await es.indices.stats({ index, metric: ['store', 'docs'] });
  const { store, docs } = stats._all.primaries;
  return { bytes: store.size_in_bytes, docs: docs.count, perDoc: store.size_in_bytes / docs.count };
}

async function main() {
  const names = {
    topic: `bench-indexer-${id}.enriched`,
    dlq: `bench-indexer-${id}.dlq`,
    indexerNs: `bench${id}i`,
    ceilingNs: [`bench${id}c1`, `bench${id}c2`],
    dynamic: `dnsflow-bench-dynamic-${id}`,
  };
  const config = indexer.indexerConfigSchema.parse({
    topics: {
      raw: `bench-indexer-${id}.raw`,
      enriched: names.topic,
      alerts: `bench-indexer-${id}.alerts`,
      dlq: names.dlq,
      partitions: 2,
      replicationFactor: 1,
    },
    // The retention the other users of the local node's shared template set.
    dataStream: { namespace: names.indexerNs, retention: '14d' },
    consumer: { groupId: `bench-indexer-${id}`, lagIntervalMs: 60_000 },
    bulk: { maxDocs: MAX_DOCS, maxBytes: MAX_BYTES, concurrency: CONCURRENCY },
    metrics: { enabled: false },
    log: { level: 'warn' },
  });
  const es = runtime.createElasticsearch(config.elasticsearch);
  const kafka = runtime.createKafka(config.kafka, log);
  await indexer.runSetup(config, log);

  const load = os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
  console.log(
    `indexer bench ${new Date().toISOString()} docs=${DOCS} maxDocs=${MAX_DOCS} concurrency=${CONCURRENCY} load=${load}`,
  );

  const recs = records(DOCS);
  const codec = schema.createCodec('EnrichedDnsTransaction');
  await produce(
    kafka,
    names.topic,
    recs.map((r) => codec.encode(r)),
  );
  const file = path.join(os.tmpdir(), `dnsflow-bench-indexer-${id}.ndjson`);
  const out = fs.openSync(file, 'w');
  let chunk = '';
  for (const r of recs) {
    chunk += `${JSON.stringify({ create: { _index: 'x', _id: indexer.transactionId(r) } })}\n${JSON.stringify(schema.toEcs(r, { namespace: names.indexerNs }))}\n`;
    if (chunk.length > 1 << 20) {
      fs.writeSync(out, chunk);
      chunk = '';
    }
  }
  fs.writeSync(out, chunk);
  fs.closeSync(out);
  recs.length = 0;

  const ceiling1 = await loadFile(es, file, schema.dnsDataStream(names.ceilingNs[0]));

  const running = await indexer.startIndexer(config, log);
  const metric = async (name) =>
    ((await running.registry.getSingleMetric(name).get()).values ?? []).reduce(
      (s, v) => s + v.value,
      0,
    );
  const startedAt = process.hrtime.bigint();
  let firstAt = null;
  for (;;) {
    if (firstAt === null && (await metric('dnsflow_indexer_received_total')) > 0)
      firstAt = process.hrtime.bigint();
    if ((await metric('dnsflow_indexer_docs_indexed_total')) >= DOCS) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  const doneAt = process.hrtime.bigint();
  await running.stop();
  const joinSeconds = Number(firstAt - startedAt) / 1e9;
  const indexerSeconds = Number(doneAt - firstAt) / 1e9;

  const ceiling2 = await loadFile(es, file, schema.dnsDataStream(names.ceilingNs[1]));
  const ceilingSeconds = Math.min(ceiling1, ceiling2);

  // The same documents with Elasticsearch's defaults: dynamic mapping, default codec, no sort.
  await loadFile(es, file, names.dynamic);
  const ours = await bytesPerDoc(es, schema.dnsDataStream(names.indexerNs));
  const dynamic = await bytesPerDoc(es, names.dynamic);
  await es.indices.delete({ index: names.dynamic });
  fs.unlinkSync(file);
  await es.close();

  const rate = DOCS / indexerSeconds;
  const ceiling = DOCS / ceilingSeconds;
  const fmt = (n) => Math.round(n).toLocaleString('en-US');
  console.log(`group join before the first record: ${joinSeconds.toFixed(2)} s`);
  console.log(
    `throughput: dnsflow ${fmt(rate)} docs/s (${indexerSeconds.toFixed(2)} s); ceiling (file, same bulk size and concurrency) ${fmt(ceiling)} docs/s (runs ${ceiling1.toFixed(2)} s, ${ceiling2.toFixed(2)} s); ratio ${(rate / ceiling).toFixed(2)} (goal >= ${GOAL})`,
  );
  console.log(
    `disk after force-merge: dnsflow ${ours.perDoc.toFixed(1)} bytes/doc (${ours.docs} docs); default dynamic mapping ${dynamic.perDoc.toFixed(1)} bytes/doc (${dynamic.docs} docs); ratio ${(ours.perDoc / dynamic.perDoc).toFixed(2)}`,
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
