#!/usr/bin/env node
// Join throughput benchmark of the enricher's core (not a test; run on purpose):
//
//   npx tsc -b packages/enricher && node scripts/bench/enricher-join.js [--records 1000000]
//                                        [--pods 10000] [--services 2000] [--runs 3]
//
// 1. Builds an identity store the way the informers fill it: --pods pods of Deployments
//    (ReplicaSets listed too) over 100 nodes, --services ClusterIP services whose
//    EndpointSlices list 5 pods each, and kube-dns; then, at 30 min, a churn of 10% of the
//    pods (deleted, their IPs reused by new pods) so the timeline holds tombstones.
// 2. Generates 50,000 distinct collector records: clients are pods (some of them replaced
//    pods, at 20 min, before the churn; the rest at 35 min), nodes and outside hosts;
//    servers are the kube-dns ClusterIP (answered by a pod) or an outside resolver; names
//    are external, cluster services, and search-list expansions.
// 3. On one core (taskset -c 0 when available, in a child process): a warm-up pass, then
//    --runs timed passes of (a) the join alone (both ends and the answering endpoint) and
//    (b) enrichRecord (join, domain features, cluster-name target, search-list grouping);
//    median reported in records per CPU second (and per wall-clock second), with the heap
//    used by the store.
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const root = path.join(__dirname, '..', '..');
const TARGET_RECORDS_PER_SECOND = 100_000;

const argv = process.argv.slice(2);
const { option: optionOf } = require('./enricher-records');
const option = (name, dflt) => optionOf('enricher-join', name, dflt);

if (!process.env.DNSFLOW_BENCH_PINNED) {
  const taskset = spawnSync('taskset', ['--version'], { stdio: 'ignore' }).status === 0;
  const command = taskset
    ? [
        'taskset',
        ['-c', '0', process.execPath, '--expose-gc', path.resolve(process.argv[1]), ...argv],
      ]
    : [process.execPath, ['--expose-gc', path.resolve(process.argv[1]), ...argv]];
  const child = spawnSync(command[0], command[1], {
    stdio: 'inherit',
    env: { ...process.env, DNSFLOW_BENCH_PINNED: taskset ? 'taskset -c 0' : 'not pinned' },
  });
  process.exit(child.status ?? 1);
}

let enricher;
try {
  enricher = require(path.join(root, 'packages', 'enricher', 'dist', 'index.js'));
} catch (err) {
  console.error(`enricher-join: build first (npx tsc -b packages/enricher): ${err.message}`);
  process.exit(2);
}
const { IdentityStore, SearchListDetector, enrichRecord, recordTimeUs } = enricher;

const RECORDS = option('records', 1_000_000);
const PODS = option('pods', 10_000);
const SERVICES = option('services', 2_000);
const RUNS = option('runs', 3);
const NODES = 100;
const NAMESPACES = 50;

/** Deterministic PRNG (mulberry32), so every run measures the same records. */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = rng(20260301);
const pick = (list) => list[Math.floor(random() * list.length)];

const T0 = Date.parse('2026-03-01T10:00:00Z') * 1000;
const created = '2026-03-01T09:00:00Z';
const podIp = (i) => `10.${64 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;
const nodeIp = (n) => `192.168.${n >> 8}.${(n & 255) + 1}`;
const ns = (i) => `team-${i % NAMESPACES}`;
const app = (i) => `app-${i % SERVICES}`;

function podObject(i, uidSuffix = '') {
  const hash = (0x5d8f7c6b + (i % SERVICES)).toString(16).slice(0, 9);
  return {
    kind: 'Pod',
    metadata: {
      name: `${app(i)}-${hash}-${i.toString(36)}${uidSuffix}`,
      namespace: ns(i),
      uid: `uid-${i}${uidSuffix}`,
      resourceVersion: `${i}${uidSuffix ? 2 : 1}`,
      creationTimestamp: created,
      labels: { app: app(i), 'app.kubernetes.io/name': app(i), 'pod-template-hash': hash },
      ownerReferences: [
        { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: `${app(i)}-${hash}`, controller: true },
      ],
    },
    spec: { nodeName: `node-${i % NODES}`, containers: [{ name: 'app' }] },
    status: { phase: 'Running', podIP: podIp(i), podIPs: [{ ip: podIp(i) }] },
  };
}

function buildStore() {
  const store = new IdentityStore();
  const nodes = [];
  for (let n = 0; n < NODES; n++) {
    nodes.push({
      kind: 'Node',
      metadata: { name: `node-${n}`, resourceVersion: '1', creationTimestamp: created },
      spec: { podCIDR: `10.${64 + (n >> 8)}.${n & 255}.0/24` },
      status: { addresses: [{ type: 'InternalIP', address: nodeIp(n) }] },
    });
  }
  const pods = [];
  for (let i = 0; i < PODS; i++) pods.push(podObject(i));
  const replicaSets = new Map();
  for (const p of pods) {
    const rs = p.metadata.ownerReferences[0].name;
    replicaSets.set(`${p.metadata.namespace}/${rs}`, {
      kind: 'ReplicaSet',
      metadata: {
        name: rs,
        namespace: p.metadata.namespace,
        resourceVersion: '1',
        ownerReferences: [{ kind: 'Deployment', name: p.metadata.labels.app, controller: true }],
      },
    });
  }
  const services = [];
  const slices = [];
  for (let s = 0; s < SERVICES; s++) {
    services.push({
      kind: 'Service',
      metadata: {
        name: app(s),
        namespace: ns(s),
        resourceVersion: '1',
        creationTimestamp: created,
      },
      spec: { type: 'ClusterIP', clusterIP: `10.96.${s >> 8}.${s & 255}` },
    });
    const endpoints = [];
    for (let i = s; i < PODS; i += SERVICES) {
      const p = pods[i];
      endpoints.push({
        addresses: [podIp(i)],
        conditions: { ready: true },
        targetRef: { kind: 'Pod', name: p.metadata.name, namespace: p.metadata.namespace },
      });
    }
    slices.push({
      kind: 'EndpointSlice',
      metadata: {
        name: `${app(s)}-x7k2p`,
        namespace: ns(s),
        resourceVersion: '1',
        labels: { 'kubernetes.io/service-name': app(s) },
      },
      endpoints,
    });
  }
  services.push({
    kind: 'Service',
    metadata: {
      name: 'kube-dns',
      namespace: 'kube-system',
      resourceVersion: '1',
      creationTimestamp: created,
    },
    spec: { type: 'ClusterIP', clusterIP: '10.96.255.10' },
  });

  const started = process.hrtime.bigint();
  store.replace('Node', nodes, T0);
  store.replace('Service', services, T0);
  store.replace('EndpointSlice', slices, T0);
  store.replace('ReplicaSet', [...replicaSets.values()], T0);
  store.replace('Pod', pods, T0);
  const listMs = Number(process.hrtime.bigint() - started) / 1e6;

  // Churn: every tenth pod is deleted at T0+30 min and a new pod takes its IP.
  const churnStart = process.hrtime.bigint();
  for (let i = 0; i < PODS; i += 10) {
    store.apply({ type: 'DELETED', object: pods[i] }, T0 + 1800e6 + i);
    store.apply({ type: 'ADDED', object: podObject(i, '-b') }, T0 + 1800e6 + i + 1);
  }
  const churnMs = Number(process.hrtime.bigint() - churnStart) / 1e6;
  // The watches are current up to 42 min; the tombstones (15 min window) are all kept.
  store.advance(T0 + 2520e6);
  return { store, listMs, churnMs, churned: Math.ceil(PODS / 10) };
}

const names = [
  'www.example.com',
  'api.github.com',
  'login.microsoftonline.com',
  'xk7q9zt2mv4w8p.net',
  'a.b.c.d.example.co.uk',
  'registry-1.docker.io',
];

function buildRecords() {
  const records = [];
  for (let k = 0; k < 50_000; k++) {
    const roll = random();
    const i = Math.floor(random() * PODS);
    const client =
      roll < 0.85 ? podIp(i) : roll < 0.95 ? nodeIp(i % NODES) : `203.0.113.${k & 255}`;
    // Records before the churn for a tenth of the churned pods' IPs: the old pod must join.
    const start = i % 10 === 0 && random() < 0.5 ? T0 + 1200e6 + k : T0 + 2100e6 + k;
    let name;
    const kind = random();
    if (kind < 0.5) name = pick(names);
    else if (kind < 0.7) name = `${app(i)}.${ns(i)}.svc.cluster.local`;
    else if (kind < 0.9) name = `${pick(names)}.${ns(i)}.svc.cluster.local`;
    else name = `${pick(names)}.svc.cluster.local`;
    const kubeDns = random() < 0.9;
    records.push({
      captureTimeUs: start + 900,
      startTimeUs: start,
      endTimeUs: start + 700,
      latencyUs: 700,
      node: `node-${i % NODES}`,
      iface: 'any',
      client: { ip: client, port: 32768 + (k % 28000) },
      server: kubeDns ? { ip: '10.96.255.10', port: 53 } : { ip: '8.8.8.8', port: 53 },
      answeredBy: kubeDns ? { ip: podIp((k * 7) % PODS), port: 53 } : null,
      transport: 'UDP',
      dnsId: k & 0xffff,
      opcode: 'QUERY',
      flags: { aa: false, tc: false, rd: true, ra: true, ad: false, cd: false, do: false },
      question: { name, nameRaw: name, type: random() < 0.5 ? 'A' : 'AAAA', class: 'IN' },
      questionCount: 1,
      rcode: 'NOERROR',
      rcodeValue: 0,
      answers: [],
      answerCount: 0,
      authorityCount: 0,
      additionalCount: 0,
      authorities: [],
      additionals: [],
      queryEdns: null,
      responseEdns: null,
      requestBytes: 45,
      responseBytes: 120,
      status: 'ANSWERED',
      malformedReason: null,
      duplicateResponses: 0,
      notes: [],
    });
  }
  return records;
}

/**
 * Median rate of --runs passes, by CPU time (user + system) of this process: on a shared
 * machine the wall clock also counts the time other processes held the core. The wall-clock
 * rate is shown beside it.
 */
function timed(label, fn) {
  const runs = [];
  fn(Math.min(RECORDS, 200_000)); // warm-up
  for (let r = 0; r < RUNS; r++) {
    const cpu = process.cpuUsage();
    const started = process.hrtime.bigint();
    fn(RECORDS);
    const wall = Number(process.hrtime.bigint() - started) / 1e9;
    const used = process.cpuUsage(cpu);
    runs.push({ cpu: RECORDS / ((used.user + used.system) / 1e6), wall: RECORDS / wall });
  }
  runs.sort((a, b) => a.cpu - b.cpu);
  const median = runs[Math.floor(runs.length / 2)];
  const k = (x) => `${Math.round(x / 1000)}k`;
  console.log(
    `${label.padEnd(44)} ${Math.round(median.cpu).toLocaleString('en-US').padStart(10)} records/s` +
      ` per CPU second (runs: ${runs.map((x) => k(x.cpu)).join(', ')}; wall clock ${k(median.wall)}/s)`,
  );
  return median.cpu;
}

globalThis.gc?.();
const heapBefore = process.memoryUsage().heapUsed;
const { store, listMs, churnMs, churned } = buildStore();
globalThis.gc?.();
const heapStore = process.memoryUsage().heapUsed - heapBefore;
const records = buildRecords();
const stats = store.stats();

console.log(`dnsflow enricher join benchmark, ${new Date().toISOString()}`);
console.log(`node ${process.version}, ${process.env.DNSFLOW_BENCH_PINNED}`);
console.log(
  `store: ${PODS} pods, ${SERVICES} services, ${NODES} nodes; list ${listMs.toFixed(0)} ms, ` +
    `churn of ${churned} pods ${churnMs.toFixed(0)} ms; ${stats.intervals} intervals ` +
    `(${stats.open} open), heap ${(heapStore / 1048576).toFixed(1)} MiB`,
);

let sink = 0;
const join = timed('join (client, server, answering endpoint)', (n) => {
  for (let k = 0; k < n; k++) {
    const r = records[k % records.length];
    const at = recordTimeUs(r);
    if (store.resolve(r.client.ip, at).status === 'found') sink++;
    if (store.resolve(r.server.ip, at, r.server.port).status === 'found') sink++;
    if (r.answeredBy && store.resolve(r.answeredBy.ip, at, r.answeredBy.port).status === 'found')
      sink++;
  }
});
const deps = {
  store,
  search: new SearchListDetector(),
  clusterDomain: 'cluster.local',
  nowUs: () => T0,
};
const full = timed('enrichRecord (join + names + search list)', (n) => {
  for (let k = 0; k < n; k++) {
    if (enrichRecord(records[k % records.length], deps).client.kind === 'POD') sink++;
  }
});
console.log(
  `target ${TARGET_RECORDS_PER_SECOND.toLocaleString('en-US')} records/s on one core: ` +
    `join ${join >= TARGET_RECORDS_PER_SECOND ? 'met' : 'NOT met'}, ` +
    `enrichRecord ${full >= TARGET_RECORDS_PER_SECOND ? 'met' : 'NOT met'} (${sink > 0 ? 'ok' : '?'})`,
);
