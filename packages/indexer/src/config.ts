import { z } from 'zod';
import {
  elasticsearchConfigSchema,
  kafkaConfigSchema,
  logConfigSchema,
  metricsConfigSchema,
  shutdownConfigSchema,
} from '@dnsflow/runtime';
import { DEFAULT_RETENTION } from '@dnsflow/schema';

const MiB = 1024 * 1024;
const DAY_MS = 24 * 60 * 60 * 1000;
const topicName = z.string().regex(/^[A-Za-z0-9._-]{1,249}$/, 'a Kafka topic name');

/** Elasticsearch time value such as `30d`, `12h` or `90m`. */
const timeValue = z.string().regex(/^\d+(d|h|m|s|ms)$/, 'a time value such as 30d or 12h');

/**
 * Data stream namespace: the `<ns>` of `logs-dnsflow.dns-<ns>`. Elasticsearch forbids
 * dashes in it (they separate type, dataset and namespace) and upper case in index names.
 */
export const namespaceSchema = z
  .string()
  .regex(/^[a-z0-9_.]{1,100}$/, 'lower-case letters, digits, _ or . (no dashes)');

/** The topics of the pipeline and how `dnsflow setup` creates them. */
export const topicsConfigSchema = z.strictObject({
  raw: topicName.default('dns.raw'),
  enriched: topicName.default('dns.enriched'),
  alerts: topicName.default('dns.alerts'),
  dlq: topicName.default('dns.dlq'),
  partitions: z.number().int().positive().default(6),
  /** -1: the broker's `default.replication.factor`. */
  replicationFactor: z.number().int().min(-1).default(-1),
  /** `retention.ms` of every topic; 7 days. */
  retentionMs: z
    .number()
    .int()
    .positive()
    .default(7 * DAY_MS),
  /** `retention.ms` of the dead-letter topic, longer so someone can look at it; 30 days. */
  dlqRetentionMs: z
    .number()
    .int()
    .positive()
    .default(30 * DAY_MS),
});

/** The data stream documents go to and how `dnsflow setup` creates its templates. */
export const dataStreamConfigSchema = z.strictObject({
  namespace: namespaceSchema.default('default'),
  /** Lifecycle retention in the namespace's index template (enforced on a full distribution). */
  retention: timeValue.default(DEFAULT_RETENTION),
  shards: z.number().int().positive().default(1),
});

/** How documents are grouped into bulk requests and how many are in flight. */
export const bulkConfigSchema = z.strictObject({
  /** A bulk request is sent when it holds this many documents... */
  maxDocs: z.number().int().positive().default(1000),
  /** ...or this many bytes of NDJSON... */
  maxBytes: z
    .number()
    .int()
    .positive()
    .default(5 * MiB),
  /**
   * ...or its first document waited this long. Under load requests fill by count first;
   * when traffic is light this is what a document waits before it is sent.
   */
  flushIntervalMs: z.number().int().positive().default(250),
  /** Bulk requests in flight at once. */
  concurrency: z.number().int().positive().default(2),
  /**
   * Bound on the documents taken from Kafka but not yet acknowledged by Elasticsearch
   * (their NDJSON bytes). When reached, the consumer stops pulling until there is room.
   */
  maxInFlightBytes: z
    .number()
    .int()
    .positive()
    .default(64 * MiB),
});

/** Retries of documents and requests Elasticsearch could not take right now. */
export const retryConfigSchema = z.strictObject({
  initialMs: z.number().int().positive().default(200),
  maxMs: z.number().int().positive().default(30_000),
  /**
   * Attempts of one document that keeps getting a 5xx item error before it goes to the
   * dead-letter topic (reason `retries_exhausted`). 429s and whole-request failures
   * (Elasticsearch down) are retried without limit: they are backpressure, not bad data.
   */
  maxItemAttempts: z.number().int().positive().default(10),
});

/** Everything `dnsflow setup` and `dnsflow index` read (file + DNSFLOW_* env + flags). */
export const indexerConfigSchema = z.strictObject({
  kafka: kafkaConfigSchema.prefault({}),
  elasticsearch: elasticsearchConfigSchema.prefault({}),
  topics: topicsConfigSchema.prefault({}),
  dataStream: dataStreamConfigSchema.prefault({}),
  consumer: z
    .strictObject({
      groupId: z.string().min(1).default('dnsflow-indexer'),
      /** Where a group without committed offsets starts. */
      fromBeginning: z.boolean().default(true),
      sessionTimeoutMs: z.number().int().positive().default(30_000),
      heartbeatIntervalMs: z.number().int().positive().default(3000),
      /** Bytes one fetch may return (all partitions); bounds memory ahead of the writer. */
      maxFetchBytes: z
        .number()
        .int()
        .positive()
        .default(8 * MiB),
      /**
       * A fetch waits for this many bytes or `fetchMaxWaitMs`, whichever comes first: fewer,
       * larger fetches under load, at most `fetchMaxWaitMs` of latency when it is light.
       */
      fetchMinBytes: z
        .number()
        .int()
        .min(1)
        .default(256 * 1024),
      fetchMaxWaitMs: z.number().int().min(0).max(5000).default(200),
      /**
       * Offsets are committed at most this often (each commit past the documents Elasticsearch
       * acknowledged). A crash repeats the records since the last commit, whose creates are
       * 409s; a shorter interval costs the broker a write to its offsets log per commit.
       */
      commitIntervalMs: z.number().int().min(0).max(60_000).default(1000),
      /** How often consumer lag is read from Kafka for the metrics. */
      lagIntervalMs: z.number().int().positive().default(10_000),
    })
    .prefault({}),
  bulk: bulkConfigSchema.prefault({}),
  retry: retryConfigSchema.prefault({}),
  // 9464 is the collector's and 9465 the enricher's: all three can share a host.
  metrics: metricsConfigSchema
    .extend({ port: z.number().int().min(0).max(65535).default(9466) })
    .prefault({}),
  log: logConfigSchema.prefault({}),
  shutdown: shutdownConfigSchema.prefault({}),
});

export type IndexerConfig = z.infer<typeof indexerConfigSchema>;
export type TopicsConfig = z.infer<typeof topicsConfigSchema>;
export type DataStreamConfig = z.infer<typeof dataStreamConfigSchema>;
export type BulkConfig = z.infer<typeof bulkConfigSchema>;
export type RetryConfig = z.infer<typeof retryConfigSchema>;
