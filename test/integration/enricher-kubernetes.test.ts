import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { createKafka } from '@dnsflow/runtime';
import type { DnsTransaction, K8sIdentity } from '@dnsflow/schema';
import { record } from '../../packages/enricher/test/runtime-fixtures';
import {
  committedReader,
  createEnricherTopics,
  produceRecords,
  questionNames,
  type CommittedReader,
  type EnricherTopics,
} from '../support/enricher';
import { eventually } from '../support/eventually';
import { metricSum, scrapeMetrics } from '../support/metrics';
import {
  K8S_URL,
  createEndpointSlice,
  createNamespace,
  createNode,
  createPod,
  createService,
  createWorkload,
  deleteNamespace,
  deleteNode,
  deletePod,
  expireWatches,
  kubeconfigPath,
  setPodIps,
} from '../support/k8s';
import { Relay } from '../support/relay';
import { ROOT, kafkaConfig, testLog, uniqueName } from '../support/services';

// `dnsflow enrich` as a real process (the only way to load @kubernetes/client-node, an ES
// module jest cannot import) against the real kube-apiserver and Kafka: identities of both
// ends as of each record's time, pod churn, a watch cut off (re-list) while records wait for
// the informers, and exactly-once across a kill -9. One pod informer on its own reopens the
// watches the server ends and lists again on the 410 Gone of a compacted history.

const BIN = join(ROOT, 'packages', 'cli', 'bin', 'dnsflow.js');

/** Builds the CLI the processes run (incremental: quick when nothing changed). */
function buildCli(): void {
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const built = spawnSync(process.execPath, [tsc, '-b', 'packages/cli'], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  if (built.status !== 0) {
    throw new Error(`tsc -b packages/cli failed:\n${built.stdout}${built.stderr}`);
  }
}

/** Gathers a child's stdout JSON lines (and anything else it prints) into `lines`. */
function collectLines(
  child: ChildProcess,
  lines: Record<string, unknown>[],
  onEntry: (entry: Record<string, unknown>) => void = () => undefined,
): void {
  createInterface({ input: child.stdout! }).on('line', (line) => {
    try {
      const entry = JSON.parse(line) as Record<string, unknown>;
      lines.push(entry);
      onEntry(entry);
    } catch {
      lines.push({ msg: line });
    }
  });
  child.stderr!.on('data', (d: Buffer) => lines.push({ msg: d.toString() }));
}

/**
 * One pod informer on its own (test/support/informer-probe.js): its log lines, and who it
 * says holds an IP now.
 */
class InformerProbe {
  readonly lines: Record<string, unknown>[] = [];
  private readonly child: ChildProcess;
  private readonly exited: Promise<number | null>;

  constructor(namespace: string, watchTimeoutSeconds: number) {
    const probe = join(ROOT, 'test', 'support', 'informer-probe.js');
    const child = spawn(
      process.execPath,
      [probe, kubeconfigPath(), namespace, String(watchTimeoutSeconds)],
      { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] },
    );
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    collectLines(child, this.lines);
  }

  /** The reasons of its complete lists so far, in order. */
  listReasons(): unknown[] {
    return this.lines.filter((l) => l['msg'] === 'listed').map((l) => l['reason']);
  }

  async holderOf(ip: string): Promise<unknown> {
    const from = this.lines.length;
    this.child.stdin!.write(`resolve ${ip}\n`);
    const answer = await eventually(
      () => Promise.resolve(this.lines.slice(from).find((l) => l['resolved'] === ip)),
      (found) => found !== undefined,
      10_000,
      20,
    );
    if (answer === undefined) throw new Error(`the probe did not answer:\n${this.log()}`);
    return answer['pod'];
  }

  log(): string {
    return this.lines.map((l) => JSON.stringify(l)).join('\n');
  }

  /** Ends its stdin (it stops) and resolves with its exit code. */
  stop(): Promise<number | null> {
    this.child.stdin!.end();
    return this.exited;
  }
}

/** A running `dnsflow enrich`, its JSON log lines and its /metrics. */
class EnricherProcess {
  readonly lines: Record<string, unknown>[] = [];
  private metricsPort = 0;
  private readonly exited: Promise<number | null>;

  private constructor(private readonly child: ChildProcess) {
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    collectLines(child, this.lines, (entry) => {
      if (entry['msg'] === 'metrics server listening') this.metricsPort = Number(entry['port']);
    });
  }

  static async start(flags: string[]): Promise<EnricherProcess> {
    const child = spawn(process.execPath, [BIN, 'enrich', '--metrics.port=0', ...flags], {
      cwd: ROOT,
      env: { ...process.env, KUBECONFIG: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const p = new EnricherProcess(child);
    const started = await eventually(
      () => Promise.resolve(p.lines.some((l) => l['msg'] === 'enricher started') || p.dead),
      Boolean,
      60_000,
      50,
    );
    if (!started || p.dead) {
      throw new Error(`dnsflow enrich did not start:\n${p.log()}`);
    }
    return p;
  }

  private get dead(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  log(): string {
    return this.lines.map((l) => JSON.stringify(l)).join('\n');
  }

  /** Sum of a metric's samples whose labels include `labels`. */
  async metric(name: string, labels: Record<string, string> = {}): Promise<number> {
    return metricSum(await scrapeMetrics(this.metricsPort), name, labels);
  }

  /** SIGTERM and wait for a clean exit (or SIGKILL to simulate a crash). */
  async stop(signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<number | null> {
    if (!this.dead) this.child.kill(signal);
    return this.exited;
  }
}

function topicFlags(topics: EnricherTopics): string[] {
  return [
    `--topics.input=${topics.input}`,
    `--topics.output=${topics.output}`,
    `--topics.deadLetter=${topics.deadLetter}`,
    `--consumer.groupId=${uniqueName('it-enrk')}`,
    `--delivery.transactionalIdPrefix=${uniqueName('it-enrk-tx')}`,
    '--log.level=info',
  ];
}

function nowUs(): number {
  return Date.now() * 1000;
}

/** A pick of identity fields, for readable expectations. */
function who(identity: K8sIdentity | null): Partial<K8sIdentity> | null {
  if (!identity) return null;
  const { kind, namespace, pod, node, workloadKind, workloadName, service, serviceType } = identity;
  return { kind, namespace, pod, node, workloadKind, workloadName, service, serviceType };
}

describe('dnsflow enrich with the real kube-apiserver', () => {
  const kafka = createKafka(kafkaConfig(), testLog);
  // Addresses of this run only: other tests share the API server.
  const net = `10.${100 + Math.floor(Math.random() * 150)}`;
  const ns = uniqueName('it-enrk');
  const nodeName = uniqueName('it-enrk-node');
  const nodeIp = `${net}.0.1`;
  const dir = mkdtempSync(join(tmpdir(), 'dnsflow-enrk-'));
  const relayPort = 20_000 + Math.floor(Math.random() * 20_000);
  const relay = new Relay(relayPort, {
    host: '127.0.0.1',
    port: Number(new URL(K8S_URL).port),
  });
  let enricher: EnricherProcess | null = null;
  let reader: CommittedReader;
  let topics: EnricherTopics;

  beforeAll(async () => {
    buildCli();
    // The enricher reaches the API server through a relay the tests can cut.
    await relay.restore();
    const kubeconfig = readFileSync(kubeconfigPath(), 'utf8').replace(
      K8S_URL,
      `https://127.0.0.1:${relayPort}`,
    );
    writeFileSync(join(dir, 'kubeconfig'), kubeconfig);
    await createNamespace(ns);
    await createNode(nodeName, [nodeIp]);
    topics = await createEnricherTopics(kafka, 1);
    reader = await committedReader(kafka, topics.output);
    enricher = await EnricherProcess.start([
      ...topicFlags(topics),
      '--kubernetes.source=kubeconfig',
      `--kubernetes.kubeconfig=${join(dir, 'kubeconfig')}`,
      '--kubernetes.retryInitialMs=200',
      '--kubernetes.retryMaxMs=1000',
      // Long enough that nothing is released unknown while the watch is cut.
      '--delay.maxWaitMs=90000',
    ]);
  });

  afterAll(async () => {
    const code = await enricher?.stop();
    await reader?.close();
    await relay.cut();
    await deleteNamespace(ns);
    await deleteNode(nodeName);
    rmSync(dir, { recursive: true, force: true });
    expect(code).toBe(0);
  });

  it('joins both ends with pods, workloads (owner chains), services, host-network pods and nodes', async () => {
    const web = await createWorkload(ns, 'Deployment', 'web');
    await createPod(ns, 'web-7d4b9-abcde', {
      nodeName,
      labels: { app: 'web' },
      ownerReferences: [web.podOwnerReference],
    });
    await setPodIps(ns, 'web-7d4b9-abcde', [`${net}.1.1`], nodeIp);
    const nightly = await createWorkload(ns, 'CronJob', 'nightly');
    await createPod(ns, 'nightly-job-x1', {
      nodeName,
      ownerReferences: [nightly.podOwnerReference],
    });
    await setPodIps(ns, 'nightly-job-x1', [`${net}.1.2`], nodeIp);
    const db = await createWorkload(ns, 'StatefulSet', 'db');
    await createPod(ns, 'db-0', {
      nodeName,
      labels: { app: 'db' },
      ownerReferences: [db.podOwnerReference],
    });
    await setPodIps(ns, 'db-0', [`${net}.1.3`], nodeIp);
    await createService(ns, 'db', { headless: true, selector: { app: 'db' } });
    await createEndpointSlice(ns, 'db-abc', 'db', [
      { ip: `${net}.1.3`, podName: 'db-0', hostname: 'db-0', nodeName },
    ]);
    await createPod(ns, 'coredns-1', { nodeName, labels: { app: 'coredns' } });
    await setPodIps(ns, 'coredns-1', [`${net}.1.4`], nodeIp);
    const dns = await createService(ns, 'dns', { selector: { app: 'coredns' } });
    await createEndpointSlice(ns, 'dns-abc', 'dns', [
      { ip: `${net}.1.4`, podName: 'coredns-1', nodeName },
    ]);
    const agents = await createWorkload(ns, 'DaemonSet', 'node-cache');
    await createPod(ns, 'node-cache-q2', {
      nodeName,
      hostNetwork: true,
      ownerReferences: [agents.podOwnerReference],
      containers: [
        {
          name: 'cache',
          image: 'registry.invalid/dnsflow/cache:1',
          ports: [{ name: 'dns', containerPort: 53, protocol: 'UDP' }],
        },
      ],
    });
    await setPodIps(ns, 'node-cache-q2', [nodeIp], nodeIp);

    const clusterIp = dns.spec.clusterIP;
    const at = nowUs();
    const toDns = (client: string, name: string): DnsTransaction => ({
      ...record(client, clusterIp, name, at),
      answeredBy: { ip: `${net}.1.4`, port: 53 },
    });
    await produceRecords(kafka, topics.input, [
      toDns(`${net}.1.1`, 'web.q.test'),
      toDns(`${net}.1.2`, 'nightly.q.test'),
      toDns(`${net}.1.3`, 'db.q.test'),
      record(nodeIp, nodeIp, 'node.q.test', at),
      record(`${net}.1.1`, '192.0.2.53', `dns.${ns}.svc.cluster.local`, at),
    ]);

    const fromWeb = await reader.get('web.q.test');
    expect(who(fromWeb.client)).toEqual({
      kind: 'POD',
      namespace: ns,
      pod: 'web-7d4b9-abcde',
      node: nodeName,
      workloadKind: 'Deployment',
      workloadName: 'web',
      service: null,
      serviceType: null,
    });
    expect(fromWeb.client?.labels).toEqual({ app: 'web' });
    expect(who(fromWeb.server)).toMatchObject({
      kind: 'SERVICE',
      namespace: ns,
      service: 'dns',
      serviceType: 'ClusterIP',
    });
    expect(who(fromWeb.answeredBy)).toMatchObject({
      kind: 'POD',
      pod: 'coredns-1',
      workloadKind: 'Pod',
      workloadName: 'coredns-1',
      service: 'dns',
    });
    expect(who((await reader.get('nightly.q.test')).client)).toMatchObject({
      kind: 'POD',
      pod: 'nightly-job-x1',
      workloadKind: 'CronJob',
      workloadName: 'nightly',
    });
    expect(who((await reader.get('db.q.test')).client)).toMatchObject({
      kind: 'POD',
      pod: 'db-0',
      workloadKind: 'StatefulSet',
      workloadName: 'db',
      service: 'db',
      serviceType: 'Headless',
    });
    const fromNode = await reader.get('node.q.test');
    expect(who(fromNode.client)).toMatchObject({ kind: 'NODE', node: nodeName });
    expect(who(fromNode.server)).toMatchObject({
      kind: 'HOST_POD',
      pod: 'node-cache-q2',
      workloadKind: 'DaemonSet',
      workloadName: 'node-cache',
    });
    const named = await reader.get(`dns.${ns}.svc.cluster.local`);
    expect(named.server?.kind).toBe('EXTERNAL');
    expect(named.queryTarget).toMatchObject({
      internal: true,
      kind: 'service',
      namespace: ns,
      name: 'dns',
    });
  });

  it('joins a delayed record with the pod that held the IP at its time, not the one holding it now', async () => {
    const ip = `${net}.2.1`;
    await createPod(ns, 'old', { nodeName });
    await setPodIps(ns, 'old', [ip], nodeIp);
    // Until the informer saw the pod, a record of now would wait; let the watch deliver it.
    await new Promise((r) => setTimeout(r, 1500));
    const whileOld = nowUs();
    await new Promise((r) => setTimeout(r, 500));
    await deletePod(ns, 'old');
    await createPod(ns, 'new', { nodeName });
    await setPodIps(ns, 'new', [ip], nodeIp);
    await new Promise((r) => setTimeout(r, 500));
    // Produced only now, both of them: the first is a delayed (or replayed) record.
    await produceRecords(kafka, topics.input, [
      record(ip, '192.0.2.53', 'churn-old.q.test', whileOld),
      record(ip, '192.0.2.53', 'churn-new.q.test', nowUs()),
    ]);

    expect((await reader.get('churn-old.q.test')).client?.pod).toBe('old');
    expect((await reader.get('churn-new.q.test')).client?.pod).toBe('new');
  });

  it('holds records while the watch is cut, lists again when it is back, and joins them with neither lost nor repeated identities', async () => {
    await createPod(ns, 'stays', { nodeName });
    await setPodIps(ns, 'stays', [`${net}.3.1`], nodeIp);
    await createPod(ns, 'leaves', { nodeName });
    await setPodIps(ns, 'leaves', [`${net}.3.2`], nodeIp);
    await new Promise((r) => setTimeout(r, 1500));
    const beforeCut = nowUs();
    await produceRecords(kafka, topics.input, [
      record(`${net}.3.1`, '192.0.2.53', 'stays-before.q.test', beforeCut),
    ]);
    const stayed = await reader.get('stays-before.q.test');
    expect(stayed.client?.pod).toBe('stays');
    const relistsBefore = await enricher!.metric('dnsflow_enricher_informer_relists_total', {
      reason: 'broken',
    });

    await relay.cut();
    // While the enricher cannot watch: one pod goes, one comes.
    await deletePod(ns, 'leaves');
    await createPod(ns, 'arrives', { nodeName });
    await setPodIps(ns, 'arrives', [`${net}.3.3`], nodeIp);
    const duringCut = nowUs();
    await produceRecords(kafka, topics.input, [
      record(`${net}.3.2`, '192.0.2.53', 'leaves-before.q.test', beforeCut),
      record(`${net}.3.3`, '192.0.2.53', 'arrives.q.test', duringCut),
      record(`${net}.3.1`, '192.0.2.53', 'stays-after.q.test', duringCut),
    ]);
    // The records newer than the informers' view wait instead of going out unknown: the two
    // of during the cut. The one of before the cut waits too unless the view was already
    // settled past its time (by the watch lag) when the watch broke, which depends on how
    // long the steps since `beforeCut` took; either way it is joined with `leaves` (below).
    const held = await eventually(
      () => enricher!.metric('dnsflow_enricher_delay_buffer_records'),
      (n) => n >= 2,
      30_000,
    );
    expect(held).toBeGreaterThanOrEqual(2);
    const lag = await eventually(
      () => enricher!.metric('dnsflow_enricher_informer_lag_seconds'),
      (n) => n > 0,
      10_000,
    );
    expect(lag).toBeGreaterThan(0);

    await relay.restore();

    expect((await reader.get('leaves-before.q.test')).client?.pod).toBe('leaves');
    expect((await reader.get('arrives.q.test')).client?.pod).toBe('arrives');
    const stayedAfter = await reader.get('stays-after.q.test');
    expect(stayedAfter.client).toEqual(stayed.client);
    // Listed again rather than resumed: a resumed watch would replay the cut only after it
    // looked current.
    expect(
      await enricher!.metric('dnsflow_enricher_informer_relists_total', { reason: 'broken' }),
    ).toBeGreaterThan(relistsBefore);
    // The deletion missed during the cut came with the re-list: the pod is gone from then on
    // (when exactly it went in the gap, nobody told the enricher).
    await produceRecords(kafka, topics.input, [
      record(`${net}.3.2`, '192.0.2.53', 'leaves-after.q.test', nowUs()),
    ]);
    expect((await reader.get('leaves-after.q.test')).client?.pod).toBeNull();
    expect(
      await enricher!.metric('dnsflow_enricher_unknown_ips_total', { reason: 'wait_expired' }),
    ).toBe(0);
    expect(await enricher!.metric('dnsflow_enricher_delayed_records_total')).toBeGreaterThanOrEqual(
      1,
    );
  });
});

describe('the pod informer against the real kube-apiserver', () => {
  const net = `10.${100 + Math.floor(Math.random() * 150)}`;
  const ns = uniqueName('it-inform');
  let probe: InformerProbe | null = null;

  beforeAll(async () => {
    buildCli();
    await createNamespace(ns);
  });

  afterAll(async () => {
    const code = await probe?.stop();
    await deleteNamespace(ns);
    expect(code).toBe(0);
  });

  it('reopens a watch the server ended from its version, and lists again when that version is compacted away (410 Gone)', async () => {
    // The server ends each of its watches after a second.
    probe = new InformerProbe(ns, 1);
    /** Creates a pod with `ip` and answers who the probe says holds it once it does. */
    const podComes = async (name: string, ip: string): Promise<unknown> => {
      await createPod(ns, name);
      await setPodIps(ns, name, [ip]);
      return eventually(
        () => probe!.holderOf(ip),
        (pod) => pod === name,
      );
    };
    expect(await podComes('seen', `${net}.0.1`)).toBe('seen');
    // Two writes elsewhere, each compacted: the version after the probe's last one is gone.
    await expireWatches();
    await expireWatches();

    const reasons = await eventually(
      () => Promise.resolve(probe!.listReasons()),
      (r) => r.length >= 2,
      20_000,
    );
    // Other test files may compact etcd too, and each compaction can cost one more list.
    expect(reasons[0]).toBe('initial');
    expect(reasons.slice(1)).toEqual(reasons.slice(1).map(() => 'gone'));
    expect(reasons.length).toBeGreaterThanOrEqual(2);
    expect(probe.lines.some((l) => String(l['msg']).includes('410 Gone'))).toBe(true);
    expect(await probe.holderOf(`${net}.0.1`)).toBe('seen');
    // Watching again from the new list's version.
    expect(await podComes('after', `${net}.0.2`)).toBe('after');
    expect(probe.listReasons()).not.toContain('broken');
  });
});

describe('dnsflow enrich killed in the middle of a stream', () => {
  const kafka = createKafka(kafkaConfig(), testLog);

  beforeAll(buildCli);

  it('exactly once: a read_committed reader sees every record once after kill -9 and a restart', async () => {
    const topics = await createEnricherTopics(kafka, 3);
    // A short session: the killed member leaves the group sooner (the default waits 30 s).
    const flags = [
      ...topicFlags(topics),
      '--kubernetes.source=none',
      '--consumer.sessionTimeoutMs=6000',
    ];
    const total = 20_000;
    const t0 = nowUs();
    const records = Array.from({ length: total }, (_, i) =>
      record(`10.9.${(i >> 8) & 0xff}.${i & 0xff}`, '8.8.8.8', `k${i}.test`, t0 + i, i),
    );
    await produceRecords(kafka, topics.input, records);
    const reader = await committedReader(kafka, topics.output);
    try {
      const first = await EnricherProcess.start(flags);
      await reader.waitFor(total / 5, 60_000, 20);
      await first.stop('SIGKILL');
      const atKill = reader.messages.length;
      const second = await EnricherProcess.start(flags);
      await reader.waitFor(total, 120_000);
      await new Promise((r) => setTimeout(r, 2000));
      expect(await second.stop()).toBe(0);

      const names = questionNames(reader.messages);
      expect(atKill).toBeLessThan(total);
      expect(new Set(names).size).toBe(total);
      expect(names).toHaveLength(total);
    } finally {
      await reader.close();
    }
  });
});

describe('dnsflow enrich with bad configuration', () => {
  beforeAll(buildCli);

  const run = (...args: string[]) =>
    spawnSync(process.execPath, [BIN, 'enrich', '--kubernetes.source=none', ...args], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 60_000,
    });

  it('exits 2 naming a misspelt key and where it came from, before connecting to anything', () => {
    const result = run('--delivery.mod=at-least-once');
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(
      /delivery\.mod: expected no such key .*\(from flag --delivery\.mod\)/,
    );
  });

  it('exits 1 naming the inventory entry that is wrong', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dnsflow-enrk-inv-'));
    try {
      const file = join(dir, 'inventory.yaml');
      writeFileSync(file, 'pods:\n  - name: web\n    ip: 10.0.0.300\n');
      const result = run(`--inventoryFile=${file}`);
      expect(result.status).toBe(1);
      expect(`${result.stdout}${result.stderr}`).toMatch(/pods\[0\]\.ip/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
