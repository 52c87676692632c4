import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { createStageMetrics, type StageMetrics } from '@dnsflow/runtime';

/** Which end of a transaction an identity was looked up for. */
export type JoinSide = 'client' | 'server' | 'answered_by';

/** Why a record went to the dead-letter topic. */
export type DeadLetterReason = 'undecodable' | 'enrich_failed' | 'unencodable';

/**
 * Why an address went out as UNKNOWN: the record waited its time or was pushed out of a full
 * delay buffer while the address was pending, or the store answered unknown (a pruned
 * tombstone, a cluster-range address no object held).
 */
export type UnknownIpReason = 'wait_expired' | 'buffer_full' | 'unresolved';

/** Enricher metrics: the stage counters plus join, delay buffer, informer and Kafka figures. */
export class EnricherMetrics {
  /** `dnsflow_enricher_received_total`, `_sent_total`, `_dropped_total`, `_errors_total`. */
  readonly stage: StageMetrics;
  readonly joins: Counter<'side' | 'result'>;
  readonly unknown: Counter<'side' | 'reason'>;
  readonly delayed: Counter;
  readonly delayBuffer: Gauge;
  readonly deadLetters: Counter<'reason'>;
  readonly transactions: Counter<'outcome'>;
  readonly consumerLag: Gauge<'partition'>;
  readonly informerLag: Gauge<'resource'>;
  readonly informerEventDelay: Histogram<'resource'>;
  readonly informerRelists: Counter<'resource' | 'reason'>;
  readonly informerEvents: Counter<'resource' | 'type'>;
  readonly informerObjects: Gauge<'resource'>;
  readonly informerErrors: Counter<'resource' | 'kind'>;

  constructor(registry: Registry) {
    const registers = [registry];
    const p = 'dnsflow_enricher_';
    this.stage = createStageMetrics(registry, 'enricher');
    this.joins = new Counter({
      name: `${p}joins_total`,
      help: 'Identity look-ups by side and result (hit: a pod, node or service held the address; miss: external or unknown). Hit rate = hit / (hit + miss).',
      labelNames: ['side', 'result'],
      registers,
    });
    this.unknown = new Counter({
      name: `${p}unknown_ips_total`,
      help: 'Addresses emitted as UNKNOWN, by side and reason (wait_expired, buffer_full: pending while the informers caught up; unresolved: the store did not know).',
      labelNames: ['side', 'reason'],
      registers,
    });
    this.delayed = new Counter({
      name: `${p}delayed_records_total`,
      help: 'Records that waited in the delay buffer for the informers to catch up.',
      registers,
    });
    this.delayBuffer = new Gauge({
      name: `${p}delay_buffer_records`,
      help: 'Records held in the delay buffer (a waiting record and those behind it in its partition).',
      registers,
    });
    this.deadLetters = new Counter({
      name: `${p}dead_letter_total`,
      help: 'Records sent to the dead-letter topic, by reason.',
      labelNames: ['reason'],
      registers,
    });
    this.transactions = new Counter({
      name: `${p}transactions_total`,
      help: 'Kafka transactions (exactly-once) or acknowledged send + commit rounds (at-least-once), by outcome: committed or aborted.',
      labelNames: ['outcome'],
      registers,
    });
    this.consumerLag = new Gauge({
      name: `${p}consumer_lag`,
      help: 'Records of the input topic not yet consumed, by partition (as of the last fetch).',
      labelNames: ['partition'],
      registers,
    });
    this.informerLag = new Gauge({
      name: `${p}informer_lag_seconds`,
      help: 'How long an informer has been out of date (0 while its watch is open after a complete list).',
      labelNames: ['resource'],
      registers,
    });
    this.informerEventDelay = new Histogram({
      name: `${p}informer_event_delay_seconds`,
      help: 'Time from an object being created or deleted (its metadata timestamp, 1 s resolution) to the informer receiving it.',
      labelNames: ['resource'],
      buckets: [0.5, 1, 2, 5, 10, 30, 60, 300],
      registers,
    });
    this.informerRelists = new Counter({
      name: `${p}informer_relists_total`,
      help: 'Complete lists (resyncs) by resource and reason: initial, gone (410 Gone), broken (after a watch that broke; it is not resumed).',
      labelNames: ['resource', 'reason'],
      registers,
    });
    this.informerEvents = new Counter({
      name: `${p}informer_events_total`,
      help: 'Watch events received, by resource and type (ADDED, MODIFIED, DELETED, BOOKMARK).',
      labelNames: ['resource', 'type'],
      registers,
    });
    this.informerObjects = new Gauge({
      name: `${p}informer_objects`,
      help: 'Objects each informer currently knows.',
      labelNames: ['resource'],
      registers,
    });
    this.informerErrors = new Counter({
      name: `${p}informer_errors_total`,
      help: 'Failed lists and broken watches, by resource and kind.',
      labelNames: ['resource', 'kind'],
      registers,
    });
  }
}
