import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { createStageMetrics, type StageMetrics } from '@dnsflow/runtime';

/** Why a document or request is sent again. */
export type RetryReason = 'item_429' | 'item_5xx' | 'request_429' | 'request_5xx' | 'connection';

/**
 * Metrics of one {@link BulkWriter}, under a prefix of its own (`dnsflow_indexer_` for DNS
 * documents; an alert writer would use another) so several writers share a registry.
 */
export class WriterMetrics {
  /** Documents Elasticsearch acknowledged, by result: created, or duplicate (409). */
  readonly docs: Counter<'result'>;
  /** Documents Elasticsearch rejected for good, by its error type. */
  readonly rejected: Counter<'reason'>;
  readonly retries: Counter<'reason'>;
  readonly bulkSeconds: Histogram;
  readonly bulkRequests: Counter<'outcome'>;
  readonly inFlightBytes: Gauge;
  readonly inFlightDocs: Gauge;
  readonly inFlightRequests: Gauge;
  private source: InFlight | null = null;

  constructor(registry: Registry, prefix: string) {
    const registers = [registry];
    this.docs = new Counter({
      name: `${prefix}docs_indexed_total`,
      help: 'Documents Elasticsearch acknowledged, by result (created; duplicate: a 409 on create, already indexed).',
      labelNames: ['result'],
      registers,
    });
    this.rejected = new Counter({
      name: `${prefix}docs_rejected_total`,
      help: 'Documents Elasticsearch rejected for good (they go to the dead-letter topic), by error type.',
      labelNames: ['reason'],
      registers,
    });
    this.retries = new Counter({
      name: `${prefix}retries_total`,
      help: 'Documents (item_*) or bulk requests (request_*, connection) sent again, by reason.',
      labelNames: ['reason'],
      registers,
    });
    this.bulkSeconds = new Histogram({
      name: `${prefix}bulk_seconds`,
      help: 'Bulk request latency, from send to answer.',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.bulkRequests = new Counter({
      name: `${prefix}bulk_requests_total`,
      help: 'Bulk requests by outcome: ok, partial (some items failed), failed (no answer or a request error).',
      labelNames: ['outcome'],
      registers,
    });
    this.inFlightBytes = new Gauge({
      name: `${prefix}inflight_bytes`,
      help: 'NDJSON bytes of documents taken but not yet acknowledged by Elasticsearch.',
      registers,
      collect: () => {
        if (this.source) this.inFlightBytes.set(this.source.inFlightBytes);
      },
    });
    this.inFlightDocs = new Gauge({
      name: `${prefix}inflight_docs`,
      help: 'Documents taken but not yet acknowledged by Elasticsearch.',
      registers,
      collect: () => {
        if (this.source) this.inFlightDocs.set(this.source.inFlightDocs);
      },
    });
    this.inFlightRequests = new Gauge({
      name: `${prefix}bulk_inflight_requests`,
      help: 'Bulk requests waiting for an answer.',
      registers,
    });
  }

  /**
   * Makes the in-flight gauges read `source` when the registry is collected: they change
   * with every document, and setting them that often cost more than reading them on a scrape.
   */
  watch(source: InFlight): void {
    this.source = source;
  }
}

/** What the in-flight gauges show. */
export interface InFlight {
  readonly inFlightBytes: number;
  readonly inFlightDocs: number;
}

/** Metrics of `dnsflow index`: the stage counters, the writer's, dead letters and lag. */
export class IndexerMetrics {
  readonly stage: StageMetrics;
  readonly writer: WriterMetrics;
  /** Records sent to the dead-letter topic, by stage (decode, encode, index) and reason. */
  readonly deadLettered: Counter<'stage' | 'reason'>;
  readonly consumerLag: Gauge<'topic' | 'partition'>;
  readonly commits: Counter<'outcome'>;
  /** Consumer group joins: the first, and one per rebalance after it. */
  readonly groupJoins: Counter;

  constructor(registry: Registry) {
    const registers = [registry];
    this.stage = createStageMetrics(registry, 'indexer');
    this.writer = new WriterMetrics(registry, 'dnsflow_indexer_');
    this.deadLettered = new Counter({
      name: 'dnsflow_indexer_dlq_total',
      help: 'Records sent to the dead-letter topic, by stage (decode, encode, index) and reason.',
      labelNames: ['stage', 'reason'],
      registers,
    });
    this.consumerLag = new Gauge({
      name: 'dnsflow_indexer_consumer_lag',
      help: 'Records in Kafka after the group’s committed offset, per partition.',
      labelNames: ['topic', 'partition'],
      registers,
    });
    this.commits = new Counter({
      name: 'dnsflow_indexer_offset_commits_total',
      help: 'Kafka offset commits, by outcome.',
      labelNames: ['outcome'],
      registers,
    });
    this.groupJoins = new Counter({
      name: 'dnsflow_indexer_group_joins_total',
      help: 'Consumer group joins: the first, and one per rebalance after it.',
      registers,
    });
  }
}
