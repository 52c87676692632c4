import { execFile, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@elastic/elasticsearch';
import type { IHeaders, Kafka } from 'kafkajs';
import { indexerConfigSchema, type IndexerConfig, type RunningIndexer } from '@dnsflow/indexer';
import { createCodec, latestSchema, type EnrichedDnsTransaction } from '@dnsflow/schema';
import { eventually } from './eventually';
import { ROOT, uniqueName } from './services';

// Helpers for the indexer and setup tests: enriched records built from the shared fixture,
// produced to a unique topic, and read back from Elasticsearch and the dead-letter topic.

const codec = createCodec<EnrichedDnsTransaction>('EnrichedDnsTransaction');

/** The enriched fixture (12 transactions with Kubernetes identity on both ends). */
export function enrichedFixture(): EnrichedDnsTransaction[] {
  return JSON.parse(
    readFileSync(join(ROOT, 'test', 'fixtures', 'enriched-transactions.json'), 'utf8'),
    (key, value: unknown) =>
      key === 'data' && typeof value === 'string' && value.startsWith('base64:')
        ? Buffer.from(value.slice(7), 'base64')
        : value,
  ) as EnrichedDnsTransaction[];
}

/**
 * `count` distinct transactions cycling through the fixture, one every `stepUs` from
 * `baseUs`: each has its own time and DNS id, so each is its own document.
 */
export function enrichedRecords(
  count: number,
  baseUs = Date.UTC(2026, 0, 15, 12, 0, 0) * 1000,
  stepUs = 2_000_000,
): EnrichedDnsTransaction[] {
  const fixture = enrichedFixture();
  // Avro's clone keeps Buffers (structuredClone would turn them into plain arrays).
  const type = latestSchema('EnrichedDnsTransaction').type;
  return Array.from({ length: count }, (_, i) => {
    const record = type.clone(fixture[i % fixture.length]!) as EnrichedDnsTransaction;
    const tx = record.transaction;
    tx.startTimeUs = baseUs + i * stepUs;
    tx.captureTimeUs = tx.startTimeUs + 10_000;
    if (tx.endTimeUs !== null) tx.endTimeUs = tx.startTimeUs + (tx.latencyUs ?? 0);
    tx.dnsId = i % 65536;
    record.enrichTimeUs = tx.captureTimeUs + 1000;
    return record;
  });
}

/** Avro single-object bytes of a record, as the enricher publishes it. */
export function encodeEnriched(record: EnrichedDnsTransaction): Buffer {
  return codec.encode(record);
}

/** Produces values to `topic` in chunks (key = client IP, like the pipeline). */
export async function produce(
  kafka: Kafka,
  topic: string,
  messages: { key?: string; value: Buffer }[],
): Promise<void> {
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    for (let i = 0; i < messages.length; i += 500) {
      await producer.send({ topic, acks: -1, messages: messages.slice(i, i + 500) });
    }
  } finally {
    await producer.disconnect();
  }
}

/** Produces enriched records to `topic`. */
export function produceRecords(
  kafka: Kafka,
  topic: string,
  records: readonly EnrichedDnsTransaction[],
): Promise<void> {
  return produce(
    kafka,
    topic,
    records.map((r) => ({ key: r.transaction.client.ip, value: encodeEnriched(r) })),
  );
}

/** Names of one test's topics, group and data stream namespace, unique per run. */
export function uniqueIndexerNames(prefix: string): {
  namespace: string;
  topics: { raw: string; enriched: string; alerts: string; dlq: string };
  groupId: string;
} {
  const id = uniqueName(prefix);
  return {
    namespace: id.replace(/-/g, '_'),
    topics: {
      raw: `${id}.raw`,
      enriched: `${id}.enriched`,
      alerts: `${id}.alerts`,
      dlq: `${id}.dlq`,
    },
    groupId: `${id}-indexer`,
  };
}

/** A validated indexer config for a test: unique names, no metrics port, short retries. */
export function testIndexerConfig(
  names: ReturnType<typeof uniqueIndexerNames>,
  overrides: Record<string, unknown> = {},
): IndexerConfig {
  return indexerConfigSchema.parse({
    kafka: { brokers: ['127.0.0.1:9092'], clientId: 'dnsflow-indexer-test' },
    topics: { ...names.topics, partitions: 3, replicationFactor: 1 },
    dataStream: { namespace: names.namespace },
    consumer: { groupId: names.groupId, lagIntervalMs: 500 },
    retry: { initialMs: 100, maxMs: 2000 },
    metrics: { enabled: false },
    log: { level: (process.env['DNSFLOW_TEST_LOG'] as 'debug' | undefined) ?? 'silent' },
    ...overrides,
  });
}

/** Documents in the data stream (after a refresh), 0 while it does not exist. */
export async function countDocs(es: Client, stream: string): Promise<number> {
  try {
    await es.indices.refresh({ index: stream });
    return (await es.count({ index: stream })).count;
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) return 0;
    throw err;
  }
}

/** Waits until the data stream holds `expected` documents (or the time is up); returns the count. */
export function waitForDocs(
  es: Client,
  stream: string,
  expected: number,
  timeoutMs = 90_000,
): Promise<number> {
  return eventually(
    () => countDocs(es, stream),
    (n) => n >= expected,
    timeoutMs,
    500,
  );
}

/**
 * DNS ids that more than one document carries. Every record of {@link enrichedRecords} has its
 * own id, so any entry here is a transaction indexed twice.
 */
export async function duplicatedIds(es: Client, stream: string): Promise<string[]> {
  const result = await es.search({
    index: stream,
    size: 0,
    aggs: { ids: { terms: { field: 'dns.id', min_doc_count: 2, size: 100 } } },
  });
  return (result.aggregations?.['ids'] as { buckets: { key: string }[] }).buckets.map((b) => b.key);
}

/** One record read from the dead-letter topic. */
export interface DlqRecord {
  key: string | null;
  value: Buffer | null;
  headers: Record<string, string>;
}

/** Reads `topic` from the start until `expected` records arrived (60 s at most), plus one second. */
export async function readDlq(kafka: Kafka, topic: string, expected: number): Promise<DlqRecord[]> {
  const consumer = kafka.consumer({ groupId: uniqueName('it-dlq-read') });
  const out: DlqRecord[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: ({ message }) => {
        out.push({
          key: message.key?.toString() ?? null,
          value: message.value,
          headers: headerText(message.headers ?? {}),
        });
        return Promise.resolve();
      },
    });
    await eventually(
      () => Promise.resolve(out.length),
      (n) => n >= expected,
      60_000,
    );
    await new Promise((r) => setTimeout(r, 1000));
  } finally {
    await consumer.disconnect();
  }
  return out;
}

function headerText(headers: IHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) out[name] = Array.isArray(value) ? String(value[0]) : String(value);
  }
  return out;
}

/**
 * scripts/services.sh without blocking the event loop (spawnSync would freeze an indexer
 * running in the same process, heartbeats included). Rejects with the output on failure.
 */
export function servicesAsync(...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'bash',
      [join(ROOT, 'scripts', 'services.sh'), ...args],
      { encoding: 'utf8' },
      (err, stdout, stderr) =>
        err
          ? reject(new Error(`services.sh ${args.join(' ')}: ${stdout}${stderr}`))
          : resolve(stdout),
    );
  });
}

/**
 * Builds the CLI for tests that run `dnsflow` as a process. tsc -b emits even when a file
 * elsewhere in the CLI has type errors; what counts is that the commands exist.
 */
export function buildCli(): string {
  spawnSync(
    process.execPath,
    [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-b', 'packages/cli'],
    {
      cwd: ROOT,
    },
  );
  if (!existsSync(join(ROOT, 'packages', 'cli', 'dist', 'commands', 'index.js'))) {
    throw new Error('packages/cli did not build: run npx tsc -b packages/cli');
  }
  return join(ROOT, 'packages', 'cli', 'bin', 'dnsflow.js');
}

/** Sum of an indexer metric over the label sets that match `labels`. */
export async function indexerMetric(
  indexer: RunningIndexer,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const values = (await indexer.registry.getSingleMetric(name)?.get())?.values ?? [];
  return values
    .filter((v) => Object.entries(labels).every(([k, want]) => v.labels[k] === want))
    .reduce((sum, v) => sum + v.value, 0);
}
