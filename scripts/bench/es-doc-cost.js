#!/usr/bin/env node
// Elasticsearch's own CPU per dnsflow document (not a test; run on purpose, after
// `npx tsc -b`, with `scripts/services.sh up es`):
//
//   node scripts/bench/es-doc-cost.js [--docs 80000] [--rounds 3] [--variants current,nosort,lz4]
//
// Bulk-loads the same documents (built from test/fixtures like scripts/bench/indexer.js,
// 1,000 per request, 2 in flight) into fresh indices with dnsflow's mappings and one of:
//   current  dnsflow's template settings (best_compression, sorted by @timestamp)
//   nosort   the same without index sorting
//   lz4      the same with the default codec
// and reads the Elasticsearch process's CPU time (utime + stime of its JVM, from /proc)
// from the first request until 3 s after the final refresh. Variants alternate, rounds
// repeat them; printed per round: docs/s and Elasticsearch CPU µs per document.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..', '..');
const dist = (pkg) => path.join(root, 'packages', pkg, 'dist', 'index.js');
const schema = require(dist('schema'));
const runtime = require(dist('runtime'));
const indexer = require(dist('indexer'));
const { distinctEnrichedRecords } = require('./enriched-fixture');

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
};
const DOCS = Number(arg('docs', 80_000));
const ROUNDS = Number(arg('rounds', 3));
const VARIANTS = String(arg('variants', 'current,nosort,lz4')).split(',');

/** The JVM of the `es` node (port 9200) of scripts/services.sh: its config dir says which. */
function elasticsearchPids() {
  return fs.readdirSync('/proc').filter((p) => {
    if (!/^\d+$/.test(p)) return false;
    try {
      const env = fs.readFileSync(`/proc/${p}/environ`, 'utf8').split('\0');
      return env.some((e) => e.startsWith('ES_PATH_CONF=') && e.endsWith('/es/config'));
    } catch {
      return false;
    }
  });
}

function cpuSeconds(pids) {
  let ticks = 0;
  for (const p of pids) {
    const stat = fs.readFileSync(`/proc/${p}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    ticks += Number(f[11]) + Number(f[12]);
  }
  return ticks / 100;
}

function documents(count) {
  return distinctEnrichedRecords(schema, count, 200).map((r) => [
    indexer.transactionId(r),
    schema.ecsJson(r, { namespace: 'esbench' }),
  ]);
}

function settingsOf(variant) {
  const settings = { 'index.number_of_shards': 1, 'index.number_of_replicas': 0 };
  if (variant !== 'lz4') settings['index.codec'] = 'best_compression';
  if (variant !== 'nosort') {
    settings['index.sort.field'] = '@timestamp';
    settings['index.sort.order'] = 'desc';
  }
  return settings;
}

async function main() {
  const pids = elasticsearchPids();
  if (pids.length === 0) throw new Error('no Elasticsearch process of scripts/services.sh found');
  const es = runtime.createElasticsearch(indexer.indexerConfigSchema.parse({}).elasticsearch);
  const docs = documents(DOCS);
  console.log(
    `es-doc-cost ${new Date().toISOString()} docs=${DOCS} load=${require('node:os')
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
  for (let round = 0; round < ROUNDS; round++) {
    for (const variant of VARIANTS) {
      const index = `esbench-${variant}-${Date.now()}`;
      await es.indices.create({
        index,
        settings: settingsOf(variant),
        mappings: schema.dnsMappings(),
      });
      const batches = [];
      for (let i = 0; i < docs.length; i += 1000) {
        batches.push(
          docs
            .slice(i, i + 1000)
            .map(([id, doc]) => `{"create":{"_index":"${index}","_id":"${id}"}}\n${doc}`),
        );
      }
      const cpu0 = cpuSeconds(pids);
      const started = Date.now();
      let next = 0;
      await Promise.all(
        [0, 1].map(async () => {
          while (next < batches.length) {
            const answer = await es.bulk({ operations: batches[next++], filter_path: 'errors' });
            if (answer.errors) throw new Error(`bulk errors in ${index}`);
          }
        }),
      );
      await es.indices.refresh({ index });
      const seconds = (Date.now() - started) / 1000;
      await new Promise((r) => setTimeout(r, 3000));
      const cpu = cpuSeconds(pids) - cpu0;
      console.log(
        `round ${round + 1} ${variant.padEnd(8)} ${(DOCS / seconds).toFixed(0).padStart(6)} docs/s, Elasticsearch CPU ${((cpu / DOCS) * 1e6).toFixed(0)} µs/doc`,
      );
      await es.indices.delete({ index });
    }
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
