import {
  enricherConfigSchema,
  startEnricher,
  type EnricherConfig,
  type RunningEnricher,
} from '@dnsflow/enricher';
import { createKafka, loadConfig } from '@dnsflow/runtime';
import type { DnsTransaction } from '@dnsflow/schema';
import { join } from 'node:path';
import {
  committedReader,
  createEnricherTopics,
  decodeEnriched,
  produceRecords as produce,
  questionNames as names,
  type EnricherTopics,
} from '../support/enricher';
import { eventually } from '../support/eventually';
import { KAFKA_OUTAGE_BROKER, KAFKA_OUTAGE_RELAY, Relay } from '../support/relay';
import { ROOT, kafkaConfig, testLog, uniqueName } from '../support/services';
import { record } from '../../packages/enricher/test/runtime-fixtures';

// The enricher against the real broker: every record of dns.raw reaches dns.enriched once,
// across a restart in the middle of a stream, and a record that is not Avro goes to the
// dead-letter topic without holding up the records behind it. No Kubernetes source here (the
// informer tests run `dnsflow enrich` against the real API server): identities are external.

function enricherConfig(
  topics: EnricherTopics,
  overrides: Record<string, unknown> = {},
): EnricherConfig {
  const base = loadConfig(enricherConfigSchema, {
    flags: [
      `--topics.input=${topics.input}`,
      `--topics.output=${topics.output}`,
      `--topics.deadLetter=${topics.deadLetter}`,
      `--consumer.groupId=${uniqueName('it-enricher')}`,
      `--delivery.transactionalIdPrefix=${uniqueName('it-enricher-tx')}`,
      '--kubernetes.source=none',
      '--metrics.enabled=false',
    ],
  });
  return { ...base, kafka: kafkaConfig({ clientId: 'dnsflow-enricher-test' }), ...overrides };
}

/** `count` records with distinct question names `q<first>.test` .. (the unique field). */
function records(first: number, count: number): DnsTransaction[] {
  const t0 = Date.now() * 1000;
  return Array.from({ length: count }, (_, k) => {
    const i = first + k;
    return record(`10.1.${(i >> 8) & 0xff}.${i & 0xff}`, '8.8.8.8', `q${i}.test`, t0 + i, i);
  });
}

/** Records an enricher delivered to the output topic. */
async function sentBy(enricher: RunningEnricher): Promise<number> {
  const metric = await enricher.registry.getSingleMetric('dnsflow_enricher_sent_total')?.get();
  return metric?.values[0]?.value ?? 0;
}

describe('enricher on the real Kafka', () => {
  const kafka = createKafka(kafkaConfig(), testLog);
  const running: RunningEnricher[] = [];
  const closers: (() => Promise<void>)[] = [];

  afterEach(async () => {
    for (const e of running.splice(0)) await e.stop();
    for (const close of closers.splice(0)) await close();
  });

  async function start(config: EnricherConfig): Promise<RunningEnricher> {
    const enricher = await startEnricher(config, testLog);
    running.push(enricher);
    return enricher;
  }

  async function stop(enricher: RunningEnricher): Promise<void> {
    await enricher.stop();
    running.splice(running.indexOf(enricher), 1);
  }

  it.each(['exactly-once', 'at-least-once'] as const)(
    '%s: every record arrives across a restart in the middle of the stream',
    async (mode) => {
      const topics = await createEnricherTopics(kafka, 3);
      const base = enricherConfig(topics);
      const config = { ...base, delivery: { ...base.delivery, mode } };
      const total = 6000;
      await produce(kafka, topics.input, records(0, total / 2));
      const out = await committedReader(kafka, topics.output);
      closers.push(out.close);

      const first = await start(config);
      // Stopped while it works through the first half; the second half comes meanwhile.
      await out.waitFor(total / 8, 60_000, 10);
      await stop(first);
      await produce(kafka, topics.input, records(total / 2, total / 2));
      const second = await start(config);
      await out.waitFor(total, 90_000);
      // Extras would show up within a moment.
      await new Promise((r) => setTimeout(r, 2000));

      const seen = names(out.messages);
      const unique = new Set(seen);
      expect(unique.size).toBe(total);
      for (const i of [0, total / 2 - 1, total / 2, total - 1])
        expect(unique.has(`q${i}.test`)).toBe(true);
      expect(await sentBy(second)).toBeGreaterThanOrEqual(total / 2);
      // Transactions: not one record twice. At least once: repeats are allowed, losses are not.
      if (mode === 'exactly-once') expect(seen.length).toBe(total);
      const sample = decodeEnriched(out.messages[0]!);
      expect(sample.server?.kind).toBe('EXTERNAL');
      expect(sample.domain?.topLevelDomain).toBe('test');
    },
  );

  it('exactly-once: a second instance joining mid-stream (rebalance) neither loses nor repeats a record', async () => {
    const topics = await createEnricherTopics(kafka, 3);
    const config = enricherConfig(topics);
    const total = 6000;
    await produce(kafka, topics.input, records(0, total / 2));
    const out = await committedReader(kafka, topics.output);
    closers.push(out.close);

    const first = await start(config);
    await out.waitFor(total / 2, 60_000);
    // Same group, same transactional ids: the partitions are shared out between the two.
    const second = await start(config);
    // The rest arrives in a trickle, during and after the rebalance.
    for (let i = 0; i < 10; i++) {
      await produce(kafka, topics.input, records(total / 2 + (i * total) / 20, total / 20));
      await new Promise((r) => setTimeout(r, 500));
    }
    await out.waitFor(total, 90_000);
    await new Promise((r) => setTimeout(r, 2000));

    const seen = names(out.messages);
    expect(new Set(seen).size).toBe(total);
    expect(seen).toHaveLength(total);
    // Both took part.
    expect(await sentBy(first)).toBeGreaterThan(0);
    expect(await sentBy(second)).toBeGreaterThan(0);
  });

  it('delivers a fetch whose enriched records exceed the broker message limit, uncompressed', async () => {
    const topics = await createEnricherTopics(kafka, 1);
    // One partition, all there before the start: the first fetch is a full 1 MiB of input,
    // several MiB once enriched, over the broker's default message.max.bytes.
    const total = 10_000;
    await produce(kafka, topics.input, records(0, total));
    const out = await committedReader(kafka, topics.output);
    closers.push(out.close);
    const base = enricherConfig(topics);
    await start({ ...base, delivery: { ...base.delivery, compression: 'none' } });
    await out.waitFor(total, 60_000);

    expect(new Set(names(out.messages)).size).toBe(total);
  });

  it('exactly-once: a Kafka outage in the middle of the stream loses and repeats nothing', async () => {
    const topics = await createEnricherTopics(kafka, 3);
    const relay = new Relay(Number(KAFKA_OUTAGE_RELAY.split(':')[1]), KAFKA_OUTAGE_BROKER);
    await relay.restore();
    closers.push(() => relay.cut());
    const total = 8000;
    await produce(kafka, topics.input, records(0, total / 2));
    const out = await committedReader(kafka, topics.output);
    closers.push(out.close);
    // Only the enricher goes through the relay; the test's own clients keep the broker.
    const base = enricherConfig(topics);
    await start({
      ...base,
      kafka: { ...base.kafka, brokers: [KAFKA_OUTAGE_RELAY], retries: 2, initialRetryTimeMs: 200 },
    });
    await out.waitFor(total / 8, 60_000, 10);

    await relay.cut();
    await produce(kafka, topics.input, records(total / 2, total / 2));
    await new Promise((r) => setTimeout(r, 5000));
    await relay.restore();
    // Recovery means reconnecting, rejoining the group and fencing the transactions left open.
    // Alone this test takes about 35 s; once, amid the whole suite on 2 cores, it needed more
    // than 120 s, so the wait is generous (what is asserted is the records, not the time).
    await out.waitFor(total, 180_000);
    await new Promise((r) => setTimeout(r, 2000));

    const seen = names(out.messages);
    expect(new Set(seen).size).toBe(total);
    expect(seen).toHaveLength(total);
  }, 300_000);

  it('sends a record that is not Avro to the dead-letter topic with the reason and enriches the records after it', async () => {
    // One partition, so the poison record sits in the middle of the very records it must not stop.
    const topics = await createEnricherTopics(kafka, 1);
    const poison = Buffer.from('{"not":"avro"}');
    await produce(kafka, topics.input, [...records(0, 5), poison, ...records(5, 5)]);
    const out = await committedReader(kafka, topics.output);
    const dlq = await committedReader(kafka, topics.deadLetter);
    closers.push(out.close, dlq.close);

    const enricher = await start(enricherConfig(topics));
    await eventually(
      () => Promise.resolve(out.messages.length + dlq.messages.length),
      (n) => n >= 11,
      60_000,
    );
    await new Promise((r) => setTimeout(r, 1000));

    expect(names(out.messages)).toEqual(Array.from({ length: 10 }, (_, i) => `q${i}.test`));
    expect(dlq.messages).toHaveLength(1);
    const dead = dlq.messages[0]!;
    expect(dead.value?.equals(poison)).toBe(true);
    const header = (name: string) => dead.headers?.[name]?.toString();
    expect(header('dnsflow-reason')).toBe('undecodable');
    expect(header('dnsflow-error')).toMatch(/bad-magic/);
    expect(header('dnsflow-source-topic')).toBe(topics.input);
    expect(header('dnsflow-source-partition')).toBe('0');
    expect(header('dnsflow-source-offset')).toBe('5');
    const dlqCount = await enricher.registry
      .getSingleMetric('dnsflow_enricher_dead_letter_total')
      ?.get();
    expect(dlqCount?.values.find((v) => v.labels['reason'] === 'undecodable')?.value).toBe(1);
  });

  it('joins records with the identities of an inventory file when there is no Kubernetes API', async () => {
    const topics = await createEnricherTopics(kafka, 3);
    const at = Date.now() * 1000;
    await produce(kafka, topics.input, [
      {
        ...record('198.51.100.7', '192.0.2.53', 'ledger.example.com', at),
        answeredBy: { ip: '198.51.100.53', port: 53 },
      },
      record('192.0.2.10', '203.0.113.1', 'edge.example.com', at),
    ]);
    const out = await committedReader(kafka, topics.output);
    closers.push(out.close);
    await start({
      ...enricherConfig(topics),
      inventoryFile: join(ROOT, 'test', 'fixtures', 'enricher-inventory.yaml'),
    });
    await out.waitFor(2, 60_000);

    const fromPod = await out.get('ledger.example.com');
    const fromNode = await out.get('edge.example.com');
    expect(fromPod.client).toMatchObject({
      kind: 'POD',
      namespace: 'finance',
      pod: 'billing-batch',
      node: 'edge-1',
      labels: { app: 'billing' },
      workloadKind: 'CronJob',
      workloadName: 'billing',
    });
    expect(fromPod.server).toMatchObject({
      kind: 'SERVICE',
      namespace: 'infra',
      service: 'resolver',
    });
    expect(fromPod.answeredBy).toMatchObject({
      kind: 'POD',
      pod: 'resolver-0',
      service: 'resolver',
    });
    expect(fromNode.client).toMatchObject({ kind: 'NODE', node: 'edge-1' });
    expect(fromNode.server?.kind).toBe('EXTERNAL');
  });
});
