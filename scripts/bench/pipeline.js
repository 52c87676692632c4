#!/usr/bin/env node
// End-to-end benchmark of the whole pipeline on this machine (not a test; run on purpose,
// as root, with the services up: scripts/services.sh up kafka es k8s):
//
//   npm run build && node scripts/bench/pipeline.js [--rates 1000,5000] [--seconds 20]
//                    [--sustain-qps 20000] [--capture any|pods] [--warmup-seconds 15]
//                    [--partitions N]   (of its topics; default: setup's, 6)
//                    [--dns coredns|dnsmasq]
//
// --dns dnsmasq answers with the sandbox's dnsmasq instead of CoreDNS (the default, as
// kube-dns): the DNS server's own CPU is the workload's, not the pipeline's, and CoreDNS
// takes about a third of a core at 5,000 queries/s on this machine, dnsmasq far less.
//
// --capture any (the default) takes the Linux `any` device, which on this bridged sandbox
// sees each packet four times (client veth, bridge in, bridge out across the NAT, DNS pod
// veth). --capture pods captures on the host side of every pod's veth instead, as a node
// collector does on a routed CNI (Calico's cali*, Cilium's lxc*): a packet between two pods
// is seen twice, leaving the client and reaching the DNS pod.
// Before the figures, --warmup-seconds of load at the first rate (JIT compilers of Node.js
// and the JVMs, Elasticsearch's first segments and merges), then a drain; every phase
// starts with everything captured indexed.
//
// The sandbox cluster (packages/sandbox) runs; `dnsflow run` supervises the collector
// (capturing on all interfaces), enricher (real kube-apiserver) and indexer (local
// Elasticsearch), each its own process, on topics and a data stream of their own.
//
// 1. Capture-to-searchable latency at each rate: dnsperf in the loadgen pod sends the rate
//    to kube-dns; meanwhile a probe pod asks 5 unique names per second and the
//    bench polls Elasticsearch (every 100 ms) until each probe's transaction is
//    searchable. Latency = found - sent; p50/p99 over the probes. Baseline in the same
//    run: a document bulk-written straight to Elasticsearch with the same poll until it
//    is searchable (the floor any pipeline into Elasticsearch has), and the ratio.
// 2. Sustained rate: dnsperf offers --sustain-qps for --seconds; printed are the DNS
//    transactions/s dnsperf completed (the baseline: what the DNS server did), the
//    transactions/s indexed over the same window, the ratio, and the time to drain.
'use strict';
const { spawn } = require('node:child_process');
const { mkdtempSync, writeFileSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');

const root = join(__dirname, '..', '..');
const sandbox = require(join(root, 'packages', 'sandbox', 'dist', 'index.js'));
const { startCpuSampling, formatCores } = require('./cpu-groups.js');

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
};
const RATES = String(arg('rates', '1000,5000')).split(',').map(Number);
const SECONDS = Number(arg('seconds', 20));
const SUSTAIN_QPS = Number(arg('sustain-qps', 20000));
const CAPTURE = String(arg('capture', 'any'));
const WARMUP_SECONDS = Number(arg('warmup-seconds', 15));
const PARTITIONS = arg('partitions', undefined);
const DNS = String(arg('dns', 'coredns'));
if (!['coredns', 'dnsmasq'].includes(DNS)) {
  console.error(`pipeline bench: --dns is coredns or dnsmasq, got ${DNS}`);
  process.exit(2);
}
if (!['pods', 'any'].includes(CAPTURE)) {
  console.error(`pipeline bench: --capture is pods or any, got ${CAPTURE}`);
  process.exit(2);
}
const ES = 'http://127.0.0.1:9200';
const id = `bench${Date.now().toString(36)}`;
const dataStream = `logs-dnsflow.dns-${id}`;
const work = mkdtempSync(join(tmpdir(), 'dnsflow-bench-pipeline-'));
const ports = { collector: 19_564, enricher: 19_565, indexer: 19_566 };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function scrape(port) {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  return res.text();
}

function metricSum(text, name) {
  let total = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) {
      total += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return total;
}

/** Waits until every transaction captured so far is indexed (at most `ms`). */
async function drained(ms = 300_000) {
  const started = Date.now();
  for (;;) {
    const target = await captured();
    if ((await indexed()) >= target || Date.now() - started > ms) return;
    await sleep(1000);
  }
}

const indexed = async () => metricSum(await scrape(ports.indexer), 'dnsflow_indexer_sent_total');
const captured = async () =>
  metricSum(await scrape(ports.collector), 'dnsflow_collector_transactions_total');

function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** Names (lower case) among `names` that are searchable in `index` now. */
async function searchable(index, field, names) {
  const res = await fetch(`${ES}/${index}/_search?ignore_unavailable=true`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      size: names.length,
      _source: [field],
      query: { terms: { [field]: names } },
    }),
  });
  if (!res.ok) return new Set();
  const body = await res.json();
  return new Set(
    (body.hits?.hits ?? []).map((h) => field.split('.').reduce((o, k) => o?.[k], h._source)),
  );
}

/**
 * Probes while `running()`: a long-lived sender in the probe pod asks one unique name every
 * 200 ms (scripts/bench/probe-sender.js) and prints when it sent it; the bench polls until
 * each is searchable.
 */
async function probeLatencies(cluster, prefix, running) {
  const sent = new Map();
  const found = new Map();
  const sender = cluster.network.spawn(cluster.pods.jarJar.key, [
    process.execPath,
    join(__dirname, 'probe-sender.js'),
    cluster.dnsServiceIp,
    prefix,
    '200',
  ]);
  let buffered = '';
  sender.stdout.on('data', (chunk) => {
    buffered += chunk;
    const lines = buffered.split('\n');
    buffered = lines.pop();
    for (const line of lines) {
      const [name, at] = line.split(' ');
      sent.set(name, Number(at));
    }
  });
  let lastSend = Date.now();
  const deadline = () => Date.now() > lastSend + 60_000;
  while (running() || (found.size < sent.size && !deadline())) {
    if (running()) lastSend = Date.now();
    else if (sender.exitCode === null) sender.kill('SIGTERM');
    const pending = [...sent.keys()].filter((k) => !found.has(k));
    if (pending.length > 0) {
      const hits = await searchable(dataStream, 'dns.question.name', pending);
      const now = Date.now();
      for (const name of hits) if (!found.has(name)) found.set(name, now - sent.get(name));
    }
    await sleep(100);
  }
  sender.kill('SIGTERM');
  return { sent: sent.size, latencies: [...found.values()] };
}

/** The floor: one document bulk-written to Elasticsearch, polled the same way. */
async function directLatencies(count) {
  const index = `logs-dnsflow.dns-${id}direct`;
  const latencies = [];
  for (let i = 0; i < count; i++) {
    const name = `direct-${i}.demo.example`;
    const started = Date.now();
    const body = `${JSON.stringify({ create: {} })}\n${JSON.stringify({ '@timestamp': new Date().toISOString(), dns: { question: { name } } })}\n`;
    await fetch(`${ES}/${index}/_bulk`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson' },
      body,
    });
    for (;;) {
      if ((await searchable(index, 'dns.question.name', [name])).has(name)) break;
      await sleep(100);
    }
    latencies.push(Date.now() - started);
    await sleep(100);
  }
  return latencies;
}

async function main() {
  const kube = sandbox.kubeAccessFromStateDir();
  const coredns = DNS === 'coredns' ? sandbox.cachedCoreDnsBinary() : undefined;
  const cluster = await sandbox.startSandboxCluster({
    name: 'dfbch',
    podSubnet: '10.244.11',
    workDir: work,
    ...(kube ? { kube } : {}),
    ...(coredns ? { corednsBinary: coredns } : {}),
  });
  const pipeline = spawn(
    process.execPath,
    [
      join(root, 'packages', 'cli', 'bin', 'dnsflow.js'),
      'run',
      `--log-dir=${join(work, 'logs')}`,
      `--collector.capture.interfaces=${
        CAPTURE === 'any'
          ? 'any'
          : Object.values(cluster.pods)
              .map((p) => cluster.network.pod(p.key).hostVeth)
              .join(',')
      }`,
      `--collector.node=${cluster.nodeName}`,
      `--collector.publish.topic=${id}.raw`,
      `--collector.spool.dir=${join(work, 'spool')}`,
      `--collector.metrics.port=${ports.collector}`,
      `--enricher.topics.input=${id}.raw`,
      `--enricher.topics.output=${id}.enriched`,
      `--enricher.topics.deadLetter=${id}.dlq`,
      `--enricher.consumer.groupId=${id}-enricher`,
      `--enricher.delivery.transactionalIdPrefix=${id}`,
      ...(kube
        ? [
            '--enricher.kubernetes.source=kubeconfig',
            `--enricher.kubernetes.kubeconfig=${kube.kubeconfig}`,
          ]
        : [
            '--enricher.kubernetes.source=none',
            `--enricher.inventoryFile=${cluster.inventoryFile}`,
          ]),
      `--enricher.metrics.port=${ports.enricher}`,
      ...(PARTITIONS ? [`--indexer.topics.partitions=${PARTITIONS}`] : []),
      `--indexer.topics.raw=${id}.raw`,
      `--indexer.topics.enriched=${id}.enriched`,
      `--indexer.topics.dlq=${id}.dlq`,
      `--indexer.dataStream.namespace=${id}`,
      `--indexer.consumer.groupId=${id}-indexer`,
      `--indexer.metrics.port=${ports.indexer}`,
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  try {
    for (let i = 0; i < 120; i++) {
      const up = await Promise.all(
        Object.values(ports).map((p) =>
          scrape(p).then(
            () => true,
            () => false,
          ),
        ),
      );
      if (up.every(Boolean)) break;
      await sleep(500);
    }
    const input = join(work, 'queries.txt');
    writeFileSync(
      input,
      ['www', 'api', 'ns', 'missing']
        .flatMap((l) => [`${l}.demo.example A`, `${l}.demo.example AAAA`])
        .join('\n') + '\n',
    );
    const dnsperf = (qps, seconds) =>
      cluster.network.exec(
        cluster.pods.loadgen.key,
        [
          'dnsperf',
          '-s',
          cluster.dnsServiceIp,
          '-d',
          input,
          '-l',
          String(seconds),
          '-Q',
          String(qps),
          '-c',
          '8',
          '-t',
          '2',
        ],
        { timeoutMs: (seconds + 60) * 1000 },
      );
    const direct = await directLatencies(20);
    console.log(
      `pipeline bench ${new Date().toISOString()} (dns: ${cluster.dns.kind}, capture: ${CAPTURE}; load: ${require('node:os')
        .loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')})`,
    );
    console.log(
      `baseline: bulk-write to Elasticsearch until searchable: p50 ${percentile(direct, 50)} ms, p99 ${percentile(direct, 99)} ms`,
    );
    if (WARMUP_SECONDS > 0) {
      await dnsperf(RATES[0], WARMUP_SECONDS);
      await drained();
    }
    for (const rate of RATES) {
      await drained();
      let running = true;
      const cpu = startCpuSampling();
      const load = dnsperf(rate, SECONDS).finally(() => {
        running = false;
        cpuShares = cpu.stop();
      });
      let cpuShares = {};
      const probes = await probeLatencies(cluster, `probe${rate}`, () => running);
      const perf = await load;
      const qps = Number(/Queries per second:\s+([\d.]+)/.exec(perf.stdout)?.[1]);
      const p50 = percentile(probes.latencies, 50);
      const p99 = percentile(probes.latencies, 99);
      console.log(
        `capture-to-searchable at ${rate}/s (dnsperf achieved ${qps.toFixed(0)}/s): ` +
          `p50 ${p50} ms, p99 ${p99} ms over ${probes.latencies.length}/${probes.sent} probes; ` +
          `ratio to direct bulk: p50 ${(p50 / percentile(direct, 50)).toFixed(2)}x, p99 ${(p99 / percentile(direct, 99)).toFixed(2)}x`,
      );
      console.log(`  cores used during the load: ${formatCores(cpuShares)}`);
      await sleep(5000);
    }
    // Sustained rate.
    await drained();
    const before = await indexed();
    const capturedBefore = await captured();
    const started = Date.now();
    // Each stage's output rate every 2 s: where the pipeline falls behind.
    let sampling = true;
    const sampler = (async () => {
      let prev = null;
      while (sampling) {
        const [c, e, i] = await Promise.all(
          Object.values(ports).map((p) => scrape(p).catch(() => '')),
        );
        const now = {
          t: Date.now(),
          captured: metricSum(c, 'dnsflow_collector_transactions_total'),
          published: metricSum(c, 'dnsflow_collector_published_total'),
          spooled: metricSum(c, 'dnsflow_collector_spooled_total'),
          enriched: metricSum(e, 'dnsflow_enricher_sent_total'),
          indexed: metricSum(i, 'dnsflow_indexer_sent_total'),
        };
        if (prev) {
          const s = (now.t - prev.t) / 1000;
          const r = (k) => ((now[k] - prev[k]) / s).toFixed(0).padStart(6);
          console.log(
            `  t+${((now.t - started) / 1000).toFixed(0).padStart(3)}s captured/s ${r('captured')} published/s ${r('published')} ` +
              `spooled/s ${r('spooled')} enriched/s ${r('enriched')} indexed/s ${r('indexed')}`,
          );
        }
        prev = now;
        await sleep(2000);
      }
    })();
    const sustainCpu = startCpuSampling();
    const perf = await dnsperf(SUSTAIN_QPS, SECONDS);
    const sustainCores = sustainCpu.stop();
    const windowS = (Date.now() - started) / 1000;
    const after = await indexed();
    const completed = Number(/Queries completed:\s+(\d+)/.exec(perf.stdout)?.[1]);
    const offered = completed / windowS;
    const drainStart = Date.now();
    let capturedNow = await captured();
    while ((await indexed()) < capturedNow && Date.now() - drainStart < 300_000) {
      await sleep(1000);
      capturedNow = await captured();
    }
    const drainS = (Date.now() - drainStart) / 1000;
    sampling = false;
    await sampler;
    const total = (await indexed()) - before;
    const rate = (after - before) / windowS;
    console.log(
      `sustained: dnsperf completed ${offered.toFixed(0)} transactions/s (baseline); indexed ${rate.toFixed(0)}/s during the window ` +
        `(ratio ${(rate / offered).toFixed(2)}); all ${total} of ${capturedNow - capturedBefore} captured indexed after ${drainS.toFixed(1)} s more ` +
        `(end-to-end ${(total / (windowS + drainS)).toFixed(0)}/s)`,
    );
    console.log(`  cores used during the load: ${formatCores(sustainCores)}`);
  } finally {
    pipeline.kill('SIGINT');
    await new Promise((r) => pipeline.once('exit', r));
    await cluster.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
