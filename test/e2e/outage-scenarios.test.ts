import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import {
  LARGE_ANSWER_COUNT,
  STORM_NAME,
  breakDroidResponses,
  kubeAccessFromStateDir,
  load,
  missingResponses,
  searchPathStorm,
  slowLookups,
  startSandboxCluster,
  truncatedAnswer,
  type SandboxCluster,
} from '@dnsflow/sandbox';
import { main } from '@dnsflow/cli';
import { corednsBinary } from '../support/coredns';
import { eventually } from '../support/eventually';
import { metricSum, scrapeMetrics } from '../support/metrics';
import { ROOT, uniqueName } from '../support/services';

// The whole pipeline on real DNS traffic, as issue 7 tells it: pods in network namespaces
// resolve through CoreDNS (kube-dns, behind its ClusterIP) with glibc and dig; the
// collector captures with libpcap, the enricher joins identities from the real
// kube-apiserver, the indexer writes to the real Elasticsearch, and the CLI answers.

const ES = 'http://127.0.0.1:9200';
const id = uniqueName('e2e').replace(/[^a-z0-9]/g, '');
const topics = { raw: `${id}.raw`, enriched: `${id}.enriched`, dlq: `${id}.dlq` };
const dataStream = `logs-dnsflow.dns-${id}`;
const work = mkdtempSync(join(tmpdir(), 'dnsflow-e2e-'));
const ports = { collector: 19_464, enricher: 19_465, indexer: 19_466 };

let cluster: SandboxCluster;
let pipeline: ChildProcess;
let pipelineOutput = '';

interface Doc {
  '@timestamp': string;
  source: {
    ip: string;
    kubernetes?: {
      namespace?: string;
      pod?: { name: string };
      workload?: { kind: string; name: string };
    };
  };
  destination: { ip: string };
  network: { transport: string };
  dns: {
    question: { name: string; type: string };
    response_code?: string;
    header_flags?: string[];
  };
  dnsflow: {
    status: string;
    latency_us?: number;
    answer_count: number;
    search?: { asked_name: string; is_expansion: boolean };
  };
}

async function search(query: object, size = 500): Promise<Doc[]> {
  const res = await fetch(`${ES}/${dataStream}/_search?ignore_unavailable=true`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ size, query, sort: [{ '@timestamp': 'asc' }] }),
  });
  if (res.status === 404) return [];
  const body = (await res.json()) as { hits?: { hits: { _source: Doc }[] } };
  return (body.hits?.hits ?? []).map((h) => h._source);
}

async function count(): Promise<number> {
  await fetch(`${ES}/${dataStream}/_refresh`, { method: 'POST' });
  const res = await fetch(`${ES}/${dataStream}/_count`);
  if (res.status === 404) return 0;
  return ((await res.json()) as { count: number }).count;
}

const term = (field: string, value: string): object => ({ term: { [field]: value } });
const all = (...filters: object[]): object => ({ bool: { filter: filters } });

/** Runs the dnsflow CLI in-process against this test's data stream; resolves with stdout. */
async function cli(...args: string[]): Promise<string> {
  let out = '';
  let err = '';
  const code = await main(['node', 'dnsflow', ...args, '--data-stream', dataStream], {
    out: (t) => (out += t),
    err: (t) => (err += t),
  });
  if (code !== 0) throw new Error(`dnsflow ${args.join(' ')} exited ${code}: ${err}`);
  return out;
}

/** Records in a topic, read committed (the enricher writes in transactions). */
async function topicCount(topic: string): Promise<number> {
  const kafka = new Kafka({ brokers: ['127.0.0.1:9092'], logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: uniqueName('e2e-count') });
  let n = 0;
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachBatch: async ({ batch }) => {
        n += batch.messages.length;
        return Promise.resolve();
      },
    });
    // Until the count stops moving for two seconds.
    let last = -1;
    while (last !== n) {
      last = n;
      await new Promise((r) => setTimeout(r, 2000));
    }
  } finally {
    await consumer.disconnect();
  }
  return n;
}

beforeAll(async () => {
  const kube = kubeAccessFromStateDir();
  if (kube === undefined) throw new Error('no kube-apiserver: scripts/services.sh up k8s');
  cluster = await startSandboxCluster({
    name: 'dfe2e',
    podSubnet: '10.244.9',
    workDir: work,
    kube,
    corednsBinary: corednsBinary(),
  });
  pipeline = spawn(
    process.execPath,
    [
      join(ROOT, 'packages', 'cli', 'bin', 'dnsflow.js'),
      'run',
      `--log-dir=${join(work, 'logs')}`,
      '--collector.capture.interfaces=any',
      `--collector.node=${cluster.nodeName}`,
      `--collector.publish.topic=${topics.raw}`,
      `--collector.spool.dir=${join(work, 'spool')}`,
      '--collector.dnsMetrics.sourceContext=ip',
      `--collector.metrics.port=${ports.collector}`,
      `--enricher.topics.input=${topics.raw}`,
      `--enricher.topics.output=${topics.enriched}`,
      `--enricher.topics.deadLetter=${topics.dlq}`,
      `--enricher.consumer.groupId=${id}-enricher`,
      `--enricher.delivery.transactionalIdPrefix=${id}-enricher`,
      '--enricher.kubernetes.source=kubeconfig',
      `--enricher.kubernetes.kubeconfig=${kube.kubeconfig}`,
      `--enricher.metrics.port=${ports.enricher}`,
      `--indexer.topics.raw=${topics.raw}`,
      `--indexer.topics.enriched=${topics.enriched}`,
      `--indexer.topics.dlq=${topics.dlq}`,
      `--indexer.dataStream.namespace=${id}`,
      `--indexer.consumer.groupId=${id}-indexer`,
      `--indexer.metrics.port=${ports.indexer}`,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const keep = (chunk: Buffer): void => {
    pipelineOutput = (pipelineOutput + chunk.toString()).slice(-20_000);
  };
  pipeline.stdout?.on('data', keep);
  pipeline.stderr?.on('data', keep);
  // Ready when every stage serves its metrics (the collector's once it captures).
  const ready = await eventually(
    async () => {
      const up = await Promise.all(
        Object.values(ports).map((p) =>
          scrapeMetrics(p).then(
            () => true,
            () => false,
          ),
        ),
      );
      return up.every(Boolean);
    },
    (ok) => ok,
    90_000,
    500,
  );
  if (!ready) throw new Error(`pipeline did not start:\n${pipelineOutput}`);
});

afterAll(async () => {
  if (pipeline !== undefined && pipeline.exitCode === null) {
    const exited = new Promise((resolve) => pipeline.once('exit', resolve));
    pipeline.kill('SIGINT');
    await exited;
  }
  await cluster?.stop();
});

test('search-path NXDOMAIN storm: every expansion indexed with the pod, grouped under the asked name', async () => {
  const pod = cluster.pods.jarJar;
  const result = await searchPathStorm(cluster);
  expect(result.exitCode).toBe(2); // getent: not found
  const tries = [
    `${STORM_NAME}.starwars.svc.cluster.local`,
    `${STORM_NAME}.svc.cluster.local`,
    `${STORM_NAME}.cluster.local`,
    STORM_NAME,
  ];
  const query = all(
    term('source.kubernetes.pod.name', pod.name),
    term('dns.response_code', 'NXDOMAIN'),
  );
  const docs = await eventually(
    () => search(query),
    (d) => d.length >= tries.length * 2,
    60_000,
    1000,
  );
  const seen = docs.map((d) => `${d.dns.question.name} ${d.dns.question.type}`).sort();
  expect(seen).toEqual(tries.flatMap((t) => [`${t} A`, `${t} AAAA`]).sort());
  for (const d of docs) {
    expect(d.source.kubernetes?.namespace).toBe('starwars');
    expect(d.source.kubernetes?.workload).toEqual({ kind: 'Deployment', name: 'jar-jar-binks' });
    expect(d.dnsflow.search?.asked_name).toBe(STORM_NAME);
    expect(d.dnsflow.search?.is_expansion).toBe(d.dns.question.name !== STORM_NAME);
  }

  // Expansions are folded into the asked name by default: the pod is first either way,
  // with the two lookups its application made, or with all eight tries on the wire.
  const top = await cli('top', 'pods', '--rcode', 'NXDOMAIN', '--since', '10m');
  const first = top.trim().split('\n')[1];
  expect(first).toContain(pod.key);
  expect(first?.split(/\s+/)[1]).toBe('2');
  const wire = await cli(
    'top',
    'pods',
    '--rcode',
    'NXDOMAIN',
    '--since',
    '10m',
    '--include-expansions',
  );
  const firstWire = wire.trim().split('\n')[1];
  expect(firstWire).toContain(pod.key);
  expect(firstWire?.split(/\s+/)[1]).toBe('8');

  const listed = (
    await cli('observe', '--pod', pod.key, '--since', '10m', '--include-expansions', '-o', 'json')
  )
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Doc)
    .filter((d) => d.dns.response_code === 'NXDOMAIN');
  expect(listed).toHaveLength(8);
  const times = listed.map((d) => d['@timestamp']);
  expect(times).toEqual([...times].sort());

  const grouped = await cli(
    'observe',
    '--pod',
    pod.key,
    '--since',
    '10m',
    '--rcode',
    'NXDOMAIN',
    '-o',
    'compact',
  );
  expect(grouped).toContain(STORM_NAME);
  expect(grouped).not.toContain(`${STORM_NAME}.svc.cluster.local`);
});

test('missing responses: the queries are indexed as unanswered and the metrics show queries without responses', async () => {
  const pod = cluster.pods.droid;
  await breakDroidResponses(cluster);
  const names = ['api.demo.example', 'www.demo.example'];
  await missingResponses(cluster, names);
  const docs = await eventually(
    () =>
      search(
        all(term('source.kubernetes.pod.name', pod.name), term('dnsflow.status', 'unanswered')),
      ),
    (d) => d.length >= names.length,
    60_000,
    1000,
  );
  expect(docs.map((d) => d.dns.question.name).sort()).toEqual(names.sort());
  for (const d of docs) expect(d.dns.response_code).toBeUndefined();

  const metrics = await scrapeMetrics(ports.collector);
  const queries = metricSum(metrics, 'dnsflow_dns_queries_total', { source: pod.ip });
  const responses = metricSum(metrics, 'dnsflow_dns_responses_total', { source: pod.ip });
  expect(queries).toBeGreaterThanOrEqual(names.length);
  expect(responses).toBe(0);
  expect(queries).toBeGreaterThan(responses);

  const unanswered = await cli(
    'observe',
    '--status',
    'unanswered',
    '--pod',
    pod.key,
    '--since',
    '10m',
    '-o',
    'compact',
  );
  for (const name of names) expect(unanswered).toContain(name);
});

test('slow DNS: latencies indexed at about the added delay, and shown by top servers', async () => {
  const pod = cluster.pods.deathstar;
  await slowLookups(cluster, 5);
  const docs = await eventually(
    () =>
      search(
        all(
          term('source.kubernetes.pod.name', pod.name),
          term('destination.ip', cluster.slowDnsIp),
        ),
      ),
    (d) => d.length >= 5,
    60_000,
    1000,
  );
  for (const d of docs) {
    expect(d.dnsflow.status).toBe('answered');
    expect(d.dnsflow.latency_us).toBeGreaterThanOrEqual(cluster.slowDelayMs * 1000);
    expect(d.dnsflow.latency_us).toBeLessThan(cluster.slowDelayMs * 1000 * 3);
  }
  const top = await cli('top', 'servers', '--since', '10m', '--pod', pod.key);
  const row = top.split('\n').find((line) => line.startsWith(cluster.slowDnsIp));
  expect(row).toBeDefined();
  const p50 = /\s(\d+(?:\.\d+)?)ms\s/.exec(row ?? '')?.[1];
  expect(Number(p50)).toBeGreaterThanOrEqual(cluster.slowDelayMs);
});

test('a large answer truncated over UDP and retried over TCP: both transactions, TCP with every record', async () => {
  const pod = cluster.pods.loadgen;
  const dig = await truncatedAnswer(cluster);
  expect(dig.stdout).toContain('Truncated, retrying in TCP mode');
  const docs = await eventually(
    () =>
      search(
        all(
          term('source.kubernetes.pod.name', pod.name),
          term('dns.question.name', 'large.demo.example'),
        ),
      ),
    (d) => d.length >= 2,
    60_000,
    1000,
  );
  const udp = docs.find((d) => d.network.transport === 'udp');
  const tcp = docs.find((d) => d.network.transport === 'tcp');
  expect(udp?.dns.header_flags).toContain('TC');
  expect(tcp?.dns.header_flags ?? []).not.toContain('TC');
  expect(tcp?.dnsflow.answer_count).toBe(LARGE_ANSWER_COUNT);
});

test("a record's journey: captured = dns.raw = dns.enriched = documents, over 10,000 transactions", async () => {
  const pod = cluster.pods.loadgen;
  const result = await load(cluster, { queries: 10_000, qps: 1000, workDir: work });
  expect(result.completed).toBeGreaterThanOrEqual(10_000);
  // Settled: every stage has passed on what it received.
  const settled = async (): Promise<{
    captured: number;
    published: number;
    enrichedOut: number;
    indexed: number;
  }> => {
    const [c, e, i] = await Promise.all([
      scrapeMetrics(ports.collector),
      scrapeMetrics(ports.enricher),
      scrapeMetrics(ports.indexer),
    ]);
    return {
      captured: metricSum(c, 'dnsflow_collector_transactions_total'),
      published: metricSum(c, 'dnsflow_collector_published_total'),
      enrichedOut: metricSum(e, 'dnsflow_enricher_sent_total'),
      indexed: metricSum(i, 'dnsflow_indexer_sent_total'),
    };
  };
  const figures = await eventually(
    settled,
    (f) =>
      f.captured >= 10_000 &&
      f.captured === f.published &&
      f.published === f.enrichedOut &&
      f.enrichedOut === f.indexed,
    120_000,
    2000,
  );
  const docs = await eventually(count, (n) => n >= figures.captured, 60_000, 1000);
  const raw = await topicCount(topics.raw);
  const enriched = await topicCount(topics.enriched);
  expect({ captured: figures.captured, raw, enriched, docs }).toEqual({
    captured: figures.captured,
    raw: figures.captured,
    enriched: figures.captured,
    docs: figures.captured,
  });
  const fromLoad = await fetch(`${ES}/${dataStream}/_count`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: term('source.kubernetes.pod.name', pod.name) }),
  }).then(async (r) => ((await r.json()) as { count: number }).count);
  expect(fromLoad).toBeGreaterThanOrEqual(10_000);
  // Every response here answered a query the capture saw: the copies of a response on the
  // pod's veth, the bridge and the DNS pod's veth, on both sides of the NAT, are one
  // transaction, never extra "orphan" records.
  expect(await search(term('dnsflow.status', 'orphan'), 5)).toEqual([]);
});
