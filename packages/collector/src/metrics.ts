import { Counter, Gauge, Histogram, type LabelValues, type Registry } from 'prom-client';
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

/**
 * Counts of one labelled prom-client counter kept as plain numbers and added to it when it
 * is read (its `collect`). prom-client checks and hashes the labels of every `inc()`,
 * which at several counts per packet was a tenth of the collector's CPU; here a count is
 * one Map lookup. Entries stay in first-seen order and pass the labels object they were
 * created with, so the counter holds the same series, in the same order, with the same
 * values as with an `inc()` each time. There are exactly as many entries as series.
 */
class Tally<T extends string> {
  private readonly entries = new Map<string, { labels: LabelValues<T>; count: number }>();

  constructor(private readonly counter: Counter<T>) {}

  /** Adds `n` to the series `key` stands for; `labels` builds its labels the first time. */
  add(key: string, labels: () => LabelValues<T>, n = 1): void {
    const entry = this.entries.get(key);
    if (entry !== undefined) entry.count += n;
    else this.entries.set(key, { labels: labels(), count: n });
  }

  /** Moves the counts into the counter. */
  fold(): void {
    for (const entry of this.entries.values()) {
      if (entry.count === 0) continue;
      this.counter.inc(entry.labels, entry.count);
      entry.count = 0;
    }
  }
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
  /** Frames not yet added to `packets` (see {@link CollectorMetrics.packet}). */
  private packetCount = 0;
  private readonly transactionTally: Tally<'status'>;
  private readonly duplicateTally: Tally<'kind'>;
  private readonly queryTally: Tally<string>;
  private readonly responseTally: Tally<string>;
  private readonly responseTypeTally: Tally<string>;
  /** Labels of the response time histogram by source and rcode, built once each. */
  private readonly secondsLabels = new Map<string, LabelValues<string>>();

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
      collect: () => {
        if (this.packetCount === 0) return;
        this.packets.inc(this.packetCount);
        this.packetCount = 0;
      },
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
      collect: () => this.transactionTally.fold(),
    });
    this.transactionTally = new Tally(this.transactions);
    this.captureDuplicates = new Counter({
      name: `${p}capture_duplicates_total`,
      help: 'Copies of a message seen from a second vantage point and merged.',
      labelNames: ['kind'],
      registers,
      collect: () => this.duplicateTally.fold(),
    });
    this.duplicateTally = new Tally(this.captureDuplicates);
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
      collect: () => this.queryTally.fold(),
    });
    this.queryTally = new Tally(this.dnsQueries);
    this.dnsResponses = new Counter({
      name: `${d}dns_responses_total`,
      help: 'DNS responses seen (Hubble-compatible).',
      labelNames: [...ctx, 'rcode', 'qtypes', 'ips_returned'],
      registers,
      collect: () => this.responseTally.fold(),
    });
    this.responseTally = new Tally(this.dnsResponses);
    this.dnsResponseTypes = new Counter({
      name: `${d}dns_response_types_total`,
      help: 'Answer record types in DNS responses (Hubble-compatible).',
      labelNames: [...ctx, 'type', 'qtypes'],
      registers,
      collect: () => this.responseTypeTally.fold(),
    });
    this.responseTypeTally = new Tally(this.dnsResponseTypes);
    this.dnsResponseSeconds = new Histogram({
      name: `${d}dns_response_seconds`,
      help: 'Time from query to response.',
      labelNames: [...ctx, 'rcode'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
  }

  /** Counts one captured or read frame. */
  packet(): void {
    this.packetCount++;
  }

  /**
   * Counts one emitted transaction in the pipeline and DNS metrics. Each series is the
   * one an `inc()` with these labels would add to; `\n` cannot occur in a label value
   * built here (names and types are not in them), so it separates the parts of a key.
   */
  transaction(tx: DnsTransaction): void {
    const status = tx.status;
    this.transactionTally.add(status, () => ({ status }));
    if (status === 'MALFORMED' && tx.question === null) return;
    const source = this.source(tx);
    const qtypes = tx.question?.type ?? '';
    const sawQuery = status !== 'ORPHAN';
    const sawResponse = tx.rcode !== null;
    if (sawQuery) {
      this.queryTally.add(`${source}\n${qtypes}`, () => ({
        ...this.sourceLabels(source),
        rcode: '',
        qtypes,
        ips_returned: '0',
      }));
    }
    if (!sawResponse) return;
    const rcode = tx.rcode ?? '';
    let ips = 0;
    for (const a of tx.answers) if (a.type === 'A' || a.type === 'AAAA') ips++;
    this.responseTally.add(`${source}\n${rcode}\n${qtypes}\n${ips}`, () => ({
      ...this.sourceLabels(source),
      rcode,
      qtypes,
      ips_returned: String(ips),
    }));
    for (const a of tx.answers) {
      const type = a.type;
      this.responseTypeTally.add(`${source}\n${type}\n${qtypes}`, () => ({
        ...this.sourceLabels(source),
        type,
        qtypes,
      }));
    }
    if (tx.latencyUs !== null) {
      const key = `${source}\n${rcode}`;
      let labels = this.secondsLabels.get(key);
      if (labels === undefined) {
        labels = { ...this.sourceLabels(source), rcode };
        this.secondsLabels.set(key, labels);
      }
      this.dnsResponseSeconds.observe(labels, tx.latencyUs / 1e6);
    }
  }

  /** The `source` label's value for `tx` ('' without a source context). */
  private source(tx: DnsTransaction): string {
    switch (this.options.sourceContext) {
      case 'ip':
        return tx.client.ip;
      case 'workload':
        return this.options.workloads?.lookup(tx.client.ip) ?? '';
      default:
        return '';
    }
  }

  private sourceLabels(source: string): Record<string, string> {
    return this.options.sourceContext === 'none' ? {} : { source };
  }

  /** Pairing hooks. */
  pairingEvents(): PairingEvents {
    return {
      malformed: (reason: MalformedReason) => this.decodeErrors.inc({ reason }),
      captureDuplicate: (kind) => this.duplicateTally.add(kind, () => ({ kind })),
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
