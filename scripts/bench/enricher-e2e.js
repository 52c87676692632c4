#!/usr/bin/env node
// End-to-end benchmark of the enricher against the real Kafka (not a test; run on purpose):
//
//   npx tsc -b packages/enricher && node scripts/bench/enricher-e2e.js [--records 200000]
//                                        [--pods 10000] [--services 2000] [--runs 2]
//
// 1. Writes an inventory of --pods pods (Deployments, 100 nodes) and --services ClusterIP
//    services with 5 endpoints each, the identities the join uses (no API server needed).
// 2. Produces --records collector records (3 partitions) once: clients are pods, servers a
//    service IP answered by one of its endpoints or an outside resolver, names external or
//    cluster services.
// 3. Alternates, --runs times each, on the same input topic with fresh consumer groups:
//    (a) a plain consume-produce passthrough: the same consumer settings and the same
//        transactional delivery (one transaction per fetched batch, offsets inside it), the
//        bytes copied unchanged;
//    (b) the enricher (startEnricher, exactly-once): decode, join, domain features, search
//        list, encode, the same delivery.
//    Each is timed from its first delivered record to the last (the group join before it is
//    left out); the median rate of each and their ratio are printed, with the process CPU
//    seconds per 100,000 records.
// Kafka is the local one of scripts/services.sh (127.0.0.1:9092).
'use strict';
const { mkdtempSync, rmSync, writeFileSync } = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.join(__dirname, '..', '..');
const { inventory, option: optionOf, record: recordOf } = require('./enricher-records');
const option = (name, dflt) => optionOf('enricher-e2e', name, dflt);
const RECORDS = option('records', 200_000);
const PODS = option('pods', 10_000);
const SERVICES = option('services', 2_000);
const RUNS = option('runs', 2);
const PARTITIONS = 3;

let enricher, runtime, schema, Registry;
try {
  enricher = require(path.join(root, 'packages', 'enricher', 'dist', 'index.js'));
  runtime = require(path.join(root, 'packages', 'runtime', 'dist', 'index.js'));
  schema = require(path.join(root, 'packages', 'schema', 'dist', 'index.js'));
  ({ Registry } = require('prom-client'));
} catch (err) {
  console.error(`enricher-e2e: build first (npx tsc -b packages/enricher): ${err.message}`);
  process.exit(2);
}

const record = (i, t0) => recordOf(i, t0, PODS, SERVICES);

const id = Date.now().toString(36);
const log = runtime.createLogger('bench', { level: 'error' });
const kafkaConfig = runtime.loadConfig(runtime.kafkaConfigSchema, {});
const kafka = runtime.createKafka({ ...kafkaConfig, clientId: 'dnsflow-bench' });
const input = `bench-enr-raw-${id}`;

async function produceInput() {
  const codec = schema.createCodec('DnsTransaction');
  const producer = kafka.producer();
  await producer.connect();
  const t0 = Date.now() * 1000;
  for (let i = 0; i < RECORDS; i += 5000) {
    const messages = [];
    for (let k = i; k < Math.min(RECORDS, i + 5000); k++) {
      const r = record(k, t0);
      messages.push({ key: r.client.ip, value: codec.encode(r) });
    }
    await producer.send({ topic: input, acks: -1, messages });
  }
  await producer.disconnect();
}

/** Polls `count` until it reaches RECORDS; times from the first record out to the last. */
async function timed(count) {
  let firstAt = null;
  let cpuStart = null;
  for (;;) {
    const n = await count();
    if (n > 0 && firstAt === null) {
      firstAt = process.hrtime.bigint();
      cpuStart = process.cpuUsage();
    }
    if (n >= RECORDS) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  const seconds = Number(process.hrtime.bigint() - firstAt) / 1e9;
  const cpu = process.cpuUsage(cpuStart);
  return {
    rate: RECORDS / seconds,
    cpuPer100k: ((cpu.user + cpu.system) / 1e6) * (100_000 / RECORDS),
  };
}

async function passthrough(run) {
  const groupId = `bench-pass-${id}-${run}`;
  const output = `bench-enr-pass-${id}-${run}`;
  const metrics = new enricher.EnricherMetrics(new Registry());
  const delivery = new enricher.ExactlyOnceDelivery(
    kafka,
    `bench-pass-${id}-${run}`,
    { groupId, compression: 'gzip', retries: 5, initialRetryTimeMs: 300 },
    metrics,
    log,
  );
  const consumer = kafka.consumer({
    groupId,
    maxBytesPerPartition: 1024 * 1024,
    maxBytes: 4 * 1024 * 1024,
    readUncommitted: false,
  });
  consumer.on(consumer.events.GROUP_JOIN, (e) => {
    const parts = Object.entries(e.payload.memberAssignment).flatMap(([topic, ps]) =>
      ps.map((partition) => ({ topic, partition })),
    );
    delivery.assign(parts).catch(() => undefined);
  });
  let sent = 0;
  await consumer.connect();
  await consumer.subscribe({ topic: input, fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: 4,
    eachBatch: async ({ batch, resolveOffset }) => {
      if (batch.messages.length === 0) return;
      const last = batch.lastOffset();
      await delivery.deliver(
        { topic: batch.topic, partition: batch.partition },
        batch.messages.map((m) => ({ topic: output, key: m.key, value: m.value })),
        (BigInt(last) + 1n).toString(),
      );
      resolveOffset(last);
      sent += batch.messages.length;
    },
  });
  const result = await timed(() => Promise.resolve(sent));
  await consumer.disconnect();
  await delivery.stop();
  return { ...result, output };
}

async function enrich(run, inventoryFile) {
  const output = `bench-enr-out-${id}-${run}`;
  const config = runtime.loadConfig(enricher.enricherConfigSchema, {
    flags: [
      `--topics.input=${input}`,
      `--topics.output=${output}`,
      `--topics.deadLetter=bench-enr-dlq-${id}`,
      `--consumer.groupId=bench-enr-${id}-${run}`,
      `--delivery.transactionalIdPrefix=bench-enr-${id}-${run}`,
      '--kubernetes.source=none',
      `--inventoryFile=${inventoryFile}`,
      '--metrics.enabled=false',
      '--log.level=error',
    ],
  });
  const running = await enricher.startEnricher(config, log);
  const sent = running.registry.getSingleMetric('dnsflow_enricher_sent_total');
  const result = await timed(async () => (await sent.get()).values[0]?.value ?? 0);
  const hits = (await running.registry.getSingleMetric('dnsflow_enricher_joins_total').get())
    .values;
  await running.stop();
  return { ...result, output, hits };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];

(async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dnsflow-bench-e2e-'));
  const inventoryFile = path.join(dir, 'inventory.json');
  writeFileSync(inventoryFile, JSON.stringify(inventory(PODS, SERVICES)));
  const admin = kafka.admin();
  await admin.connect();
  const created = [input];
  try {
    await admin.createTopics({
      topics: [{ topic: input, numPartitions: PARTITIONS }],
      waitForLeaders: true,
    });
    console.log(
      `enricher-e2e: ${RECORDS} records, ${PARTITIONS} partitions, ${PODS} pods, ${SERVICES} services, ${RUNS} runs each; ${new Date().toISOString()}; node ${process.version}; ${os.cpus().length} cores`,
    );
    await produceInput();
    const pass = [];
    const enr = [];
    for (let run = 0; run < RUNS; run++) {
      const p = await passthrough(run);
      created.push(p.output);
      pass.push(p);
      console.log(
        `  passthrough run ${run + 1}: ${Math.round(p.rate)} records/s, ${p.cpuPer100k.toFixed(2)} CPU s per 100k`,
      );
      const e = await enrich(run, inventoryFile);
      created.push(e.output);
      enr.push(e);
      console.log(
        `  enricher    run ${run + 1}: ${Math.round(e.rate)} records/s, ${e.cpuPer100k.toFixed(2)} CPU s per 100k`,
      );
      if (run === 0) {
        const hit = (side, result) =>
          e.hits.find((h) => h.labels.side === side && h.labels.result === result)?.value ?? 0;
        console.log(
          `  join hits: client ${hit('client', 'hit')}/${hit('client', 'hit') + hit('client', 'miss')}, server ${hit('server', 'hit')}/${hit('server', 'hit') + hit('server', 'miss')}`,
        );
      }
    }
    const passRate = median(pass.map((p) => p.rate));
    const enrRate = median(enr.map((e) => e.rate));
    console.log(
      `median: passthrough ${Math.round(passRate)} records/s, enricher ${Math.round(enrRate)} records/s, ratio ${(enrRate / passRate).toFixed(2)}`,
    );
  } finally {
    await admin.deleteTopics({ topics: created }).catch(() => undefined);
    await admin.disconnect();
    rmSync(dir, { recursive: true, force: true });
  }
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
