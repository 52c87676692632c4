import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { DnsTransaction } from '@dnsflow/schema';
import type { PacketDropReason } from './decode/segment';
import type { MalformedReason } from './dns/message';
import type { PairingEvents } from './pairing/pairer';
import type { PublisherEvents } from './publish/publisher';
import type { WorkloadMap } from './workloads';

/**
 * What labels the DNS metrics with the client: nothing, its address (bounded by pods), or
 * its workload from a static map (bounded by the map).
 */
export type SourceContext = 'none' | 'ip' | 'workload';

export interface CollectorMetricsOptions {
  /**
   * Prefix of the DNS metrics. `dnsflow_` by default; `hubble_` gives exactly the names
   * Hubble dashboards query (`hubble_dns_queries_total`, ...).
   */
  dnsPrefix: string;
  /**
   * `ip` adds a `source` label with the client address, `workload` one with the client's
   * `namespace/workload` from `workloads`; never the query name.
   */
  sourceContext: SourceContext;
  /** Needed for the `workload` context. */
  workloads?: WorkloadMap;
}

/** Collector metrics: pipeline counters plus Hubble-compatible DNS metrics. */
export class CollectorMetrics {
  readonly packets: Counter;
  readonly kernelDrops: Gauge<'interface' | 'kind'>;
  readonly packetDrops: Counter<'reason'>;
  readonly decodeErrors: Counter<'reason'>;
  readonly transactions: Counter<'status'>;
  readonly captureDuplicates: Counter<'kind'>;
  readonly pending: Gauge;
  readonly evicted: Counter;
  readonly spoolBytes: Gauge;
  readonly published: Counter;
  readonly spooled: Counter;
  readonly dropped: Counter<'reason'>;
  readonly publishErrors: Counter;
  readonly spoolCorruptBytes: Counter;
  private readonly dnsQueries: Counter<string>;
  private readonly dnsResponses: Counter<string>;
  private readonly dnsResponseTypes: Counter<string>;
  private readonly dnsResponseSeconds: Histogram<string>;

  constructor(
    registry: Registry,
    private readonly options: CollectorMetricsOptions,
  ) {
    const registers = [registry];
    const p = 'dnsflow_collector_';
    this.packets = new Counter({
      name: `${p}packets_total`,
      help: 'Frames captured or read.',
      registers,
    });
    this.kernelDrops = new Gauge({
      name: `${p}kernel_dropped_packets`,
      help: 'Packets libpcap reports dropped (kind: kernel buffer full, or by the interface), since start.',
      labelNames: ['interface', 'kind'],
      registers,
    });
    this.packetDrops = new Counter({
      name: `${p}packets_dropped_total`,
      help: 'Frames (or parts) that yielded no DNS message, by reason.',
      labelNames: ['reason'],
      registers,
    });
    this.decodeErrors = new Counter({
      name: `${p}decode_errors_total`,
      help: 'DNS messages that could not be decoded, by reason.',
      labelNames: ['reason'],
      registers,
    });
    this.transactions = new Counter({
      name: `${p}transactions_total`,
      help: 'Transactions emitted, by status.',
      labelNames: ['status'],
      registers,
    });
    this.captureDuplicates = new Counter({
      name: `${p}capture_duplicates_total`,
      help: 'Copies of a message seen from a second vantage point and merged.',
      labelNames: ['kind'],
      registers,
    });
    this.pending = new Gauge({
      name: `${p}pending_queries`,
      help: 'Queries waiting for a response.',
      registers,
    });
    this.evicted = new Counter({
      name: `${p}pending_evicted_total`,
      help: 'Queries emitted early because the pending table was full.',
      registers,
    });
    this.spoolBytes = new Gauge({
      name: `${p}spool_bytes`,
      help: 'Bytes in the disk spool.',
      registers,
    });
    this.published = new Counter({
      name: `${p}published_total`,
      help: 'Records Kafka acknowledged.',
      registers,
    });
    this.spooled = new Counter({
      name: `${p}spooled_total`,
      help: 'Records written to the disk spool.',
      registers,
    });
    this.dropped = new Counter({
      name: `${p}records_dropped_total`,
      help: 'Records lost, by reason (only a full spool drops).',
      labelNames: ['reason'],
      registers,
    });
    this.publishErrors = new Counter({
      name: `${p}publish_errors_total`,
      help: 'Failed Kafka sends (the records went to the spool).',
      registers,
    });
    this.spoolCorruptBytes = new Counter({
      name: `${p}spool_corrupt_bytes_total`,
      help: 'Damaged spool bytes skipped during replay (records in them are lost).',
      registers,
    });
    if (options.sourceContext === 'workload' && options.workloads === undefined) {
      throw new TypeError('the workload source context needs a workload map');
    }
    const ctx = options.sourceContext === 'none' ? [] : ['source'];
    const d = options.dnsPrefix;
    this.dnsQueries = new Counter({
      name: `${d}dns_queries_total`,
      help: 'DNS queries seen (Hubble-compatible).',
      labelNames: [...ctx, 'rcode', 'qtypes', 'ips_returned'],
      registers,
    });
    this.dnsResponses = new Counter({
      name: `${d}dns_responses_total`,
      help: 'DNS responses seen (Hubble-compatible).',
      labelNames: [...ctx, 'rcode', 'qtypes', 'ips_returned'],
      registers,
    });
    this.dnsResponseTypes = new Counter({
      name: `${d}dns_response_types_total`,
      help: 'Answer record types in DNS responses (Hubble-compatible).',
      labelNames: [...ctx, 'type', 'qtypes'],
      registers,
    });
    this.dnsResponseSeconds = new Histogram({
      name: `${d}dns_response_seconds`,
      help: 'Time from query to response.',
      labelNames: [...ctx, 'rcode'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
  }

  /** Counts one emitted transaction in the pipeline and DNS metrics. */
  transaction(tx: DnsTransaction): void {
    this.transactions.inc({ status: tx.status });
    if (tx.status === 'MALFORMED' && tx.question === null) return;
    const ctx = this.sourceLabel(tx);
    const qtypes = tx.question?.type ?? '';
    const sawQuery = tx.status !== 'ORPHAN';
    const sawResponse = tx.rcode !== null;
    if (sawQuery) this.dnsQueries.inc({ ...ctx, rcode: '', qtypes, ips_returned: '0' });
    if (!sawResponse) return;
    const ips = tx.answers.filter((a) => a.type === 'A' || a.type === 'AAAA').length;
    this.dnsResponses.inc({ ...ctx, rcode: tx.rcode ?? '', qtypes, ips_returned: String(ips) });
    for (const a of tx.answers) this.dnsResponseTypes.inc({ ...ctx, type: a.type, qtypes });
    if (tx.latencyUs !== null) {
      this.dnsResponseSeconds.observe({ ...ctx, rcode: tx.rcode ?? '' }, tx.latencyUs / 1e6);
    }
  }

  private sourceLabel(tx: DnsTransaction): Record<string, string> {
    switch (this.options.sourceContext) {
      case 'ip':
        return { source: tx.client.ip };
      case 'workload':
        return { source: this.options.workloads?.lookup(tx.client.ip) ?? '' };
      default:
        return {};
    }
  }

  /** Pairing hooks. */
  pairingEvents(): PairingEvents {
    return {
      malformed: (reason: MalformedReason) => this.decodeErrors.inc({ reason }),
      captureDuplicate: (kind) => this.captureDuplicates.inc({ kind }),
      evicted: () => this.evicted.inc(),
      recordsIncomplete: () => this.decodeErrors.inc({ reason: 'records_incomplete' }),
    };
  }

  /** Publisher hooks. */
  publisherEvents(): PublisherEvents {
    return {
      sent: (n) => this.published.inc(n),
      spooled: (n) => this.spooled.inc(n),
      dropped: (reason, n) => this.dropped.inc({ reason }, n),
      spoolCorrupt: (bytes) => this.spoolCorruptBytes.inc(bytes),
      publishError: () => this.publishErrors.inc(),
    };
  }

  /** Decoder drop sink. */
  drop(reason: PacketDropReason, count = 1): void {
    this.packetDrops.inc({ reason }, count);
  }
}
