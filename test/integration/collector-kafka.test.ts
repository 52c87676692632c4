import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Kafka } from 'kafkajs';
import {
  collectorConfigSchema,
  LinkType,
  startCollector,
  type CollectorConfig,
  type Frame,
  type FrameSource,
} from '@dnsflow/collector';
import { createKafka, loadConfig } from '@dnsflow/runtime';
import type { DnsTransaction } from '@dnsflow/schema';
import { dnsQuery, dnsResponse, ipv4, udp } from '../../packages/collector/test/support/packets';
import { eventually } from '../support/eventually';
import { createTopic, metricValue, readTopic } from '../support/collector';
import { KAFKA_OUTAGE_BROKER, KAFKA_OUTAGE_RELAY, Relay } from '../support/relay';
import { kafkaConfig, testLog, uniqueName } from '../support/services';

// The collector against the real broker: what it publishes, and that a Kafka outage loses
// nothing (records go to the disk spool and are replayed, also across a restart).

/** Frames of `count` transactions from distinct clients: every third unanswered. */
function transactionFrames(count: number, startUs: number, idBase = 0): Frame[] {
  const frames: Frame[] = [];
  for (let i = 0; i < count; i++) {
    const client = `10.244.${(i >> 8) & 0xff}.${i & 0xff}`;
    const name = `svc-${idBase + i}.default.svc.cluster.local`;
    const id = (idBase + i) & 0xffff;
    const at = startUs + i * 1000;
    const q = ipv4(client, '10.96.0.10', udp(30000 + (i % 20000), 53, dnsQuery(id, name)));
    frames.push({ tsUs: at, linkType: LinkType.RAW, data: q, origLen: q.length, iface: 'eth0' });
    if (i % 3 === 2) continue;
    const r = ipv4(
      '10.96.0.10',
      client,
      udp(53, 30000 + (i % 20000), dnsResponse(id, name, '10.0.0.1')),
    );
    frames.push({
      tsUs: at + 700,
      linkType: LinkType.RAW,
      data: r,
      origLen: r.length,
      iface: 'eth0',
    });
  }
  return frames;
}

/** Packet time now: the collector runs on wall-clock time like a live capture. */
function nowUs(): number {
  return Date.now() * 1000;
}

/** A source the test feeds by hand, like live capture with traffic arriving in bursts. */
class ManualSource implements FrameSource {
  readonly live = true;
  private onFrame: ((f: Frame) => void) | null = null;
  private end: (() => void) | null = null;

  run(onFrame: (f: Frame) => void): Promise<void> {
    this.onFrame = onFrame;
    return new Promise((resolve) => {
      this.end = resolve;
    });
  }

  push(frames: Frame[]): void {
    if (this.onFrame === null) throw new Error('source not running');
    for (const f of frames) this.onFrame(f);
  }

  stop(): Promise<void> {
    this.end?.();
    return Promise.resolve();
  }
}

function collectorConfig(topic: string, spoolDir: string, brokers: string[]): CollectorConfig {
  const config = loadConfig(collectorConfigSchema, {});
  config.node = 'node-it';
  config.kafka = kafkaConfig({
    brokers,
    retries: 1,
    initialRetryTimeMs: 100,
    connectionTimeoutMs: 1000,
  });
  config.publish = {
    ...config.publish,
    topic,
    batchSize: 50,
    lingerMs: 20,
    retryInitialMs: 100,
    retryMaxMs: 500,
  };
  config.spool = { dir: spoolDir, maxBytes: 64 * 1024 * 1024, segmentBytes: 64 * 1024 };
  config.metrics = { ...config.metrics, enabled: true, port: 0 };
  config.pairing.timeoutMs = 2000;
  return config;
}

function uniqueByQuestion(txs: DnsTransaction[]): Map<string, DnsTransaction> {
  return new Map(txs.map((t) => [t.question?.name ?? '', t]));
}

describe('collector → Kafka (real broker)', () => {
  let kafka: Kafka;
  let spoolDir: string;
  const relay = new Relay(Number(KAFKA_OUTAGE_RELAY.split(':')[1]), KAFKA_OUTAGE_BROKER);

  beforeAll(() => {
    kafka = createKafka(kafkaConfig(), testLog);
  });
  beforeEach(async () => {
    spoolDir = mkdtempSync(join(tmpdir(), 'dnsflow-it-spool-'));
    await relay.restore();
  });
  afterEach(async () => {
    await relay.restore();
    rmSync(spoolDir, { recursive: true, force: true });
  });
  afterAll(async () => {
    await relay.cut();
  });

  it('publishes one Avro record per transaction, keyed by client IP', async () => {
    const topic = uniqueName('it-dns-raw');
    await createTopic(kafka, topic);
    const source = new ManualSource();
    const collector = await startCollector(
      collectorConfig(topic, spoolDir, ['127.0.0.1:9092']),
      source,
      testLog,
    );
    source.push(transactionFrames(30, nowUs()));
    await collector.stop();

    const records = await readTopic(kafka, topic, 30);
    expect(records).toHaveLength(30);
    const byName = uniqueByQuestion(records);
    expect(byName.get('svc-0.default.svc.cluster.local')).toMatchObject({
      status: 'ANSWERED',
      node: 'node-it',
      client: { ip: '10.244.0.0', port: 30000 },
      server: { ip: '10.96.0.10', port: 53 },
      latencyUs: 700,
      rcode: 'NOERROR',
      answers: [{ type: 'A', data: '10.0.0.1', ttl: 60 }],
    });
    expect(byName.get('svc-2.default.svc.cluster.local')?.status).toBe('UNANSWERED');
    expect(records.filter((r) => r.status === 'UNANSWERED')).toHaveLength(10);
    expect(await metricValue(collector, 'dnsflow_collector_published_total')).toBe(30);
    expect(await metricValue(collector, 'dnsflow_collector_records_dropped_total')).toBe(0);
  });

  it('spools during a Kafka outage and replays everything, in order, when Kafka is back', async () => {
    const topic = uniqueName('it-dns-raw-outage');
    await createTopic(kafka, topic);
    const source = new ManualSource();
    const collector = await startCollector(
      collectorConfig(topic, spoolDir, [KAFKA_OUTAGE_RELAY]),
      source,
      testLog,
    );

    source.push(transactionFrames(40, nowUs(), 0));
    await eventually(
      () => metricValue(collector, 'dnsflow_collector_published_total'),
      (n) => n >= 40,
    );

    await relay.cut();
    source.push(transactionFrames(60, nowUs(), 1000));
    // Unanswered queries are emitted after the pairing timeout; the send fails and every
    // record goes to the spool.
    const spooled = await eventually(
      () => metricValue(collector, 'dnsflow_collector_spooled_total'),
      (n) => n >= 60,
    );
    expect(spooled).toBeGreaterThanOrEqual(60);
    expect(await metricValue(collector, 'dnsflow_collector_publish_errors_total')).toBeGreaterThan(
      0,
    );
    const ready = await fetch(`http://127.0.0.1:${collector.metricsPort}/readyz`);
    expect(ready.status).toBe(503);

    await relay.restore();
    await eventually(
      () => metricValue(collector, 'dnsflow_collector_published_total'),
      (n) => n >= 100,
      60_000,
    );
    await collector.stop();

    const records = await readTopic(kafka, topic, 100);
    const names = new Set(records.map((r) => r.question?.name));
    expect(names.size).toBe(100); // count before = after: nothing lost
    expect(await metricValue(collector, 'dnsflow_collector_records_dropped_total')).toBe(0);
    // The spool replays in the order records were emitted: answered ones as their
    // responses came, unanswered ones as they timed out; each group in capture order.
    for (const status of ['ANSWERED', 'UNANSWERED']) {
      const seq = records
        .filter((r) => r.status === status && /^svc-1\d{3}\./.test(r.question?.name ?? ''))
        .map((r) => Number(r.question?.name.slice(4, 8)));
      const firstSeen = [...new Set(seq)];
      expect(firstSeen.length).toBeGreaterThan(0);
      expect(firstSeen).toEqual([...firstSeen].sort((x, y) => x - y));
    }
  });

  it('replays what is still spooled after a restart', async () => {
    const topic = uniqueName('it-dns-raw-restart');
    await createTopic(kafka, topic);
    await relay.cut();
    const first = new ManualSource();
    const down = await startCollector(
      collectorConfig(topic, spoolDir, [KAFKA_OUTAGE_RELAY]),
      first,
      testLog,
    );
    first.push(transactionFrames(25, nowUs(), 2000));
    await down.stop(); // Kafka never came back: all 25 stay in the spool
    expect(await metricValue(down, 'dnsflow_collector_spooled_total')).toBe(25);

    await relay.restore();
    const second = new ManualSource();
    const up = await startCollector(
      collectorConfig(topic, spoolDir, [KAFKA_OUTAGE_RELAY]),
      second,
      testLog,
    );
    await eventually(
      () => metricValue(up, 'dnsflow_collector_published_total'),
      (n) => n >= 25,
      60_000,
    );
    await up.stop();
    const records = await readTopic(kafka, topic, 25);
    expect(new Set(records.map((r) => r.question?.name)).size).toBe(25);
  });
});
