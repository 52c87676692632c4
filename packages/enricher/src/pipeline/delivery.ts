import {
  CompressionTypes,
  type Consumer,
  type Kafka,
  type Message,
  type Producer,
  type TopicMessages,
} from 'kafkajs';
import type { Logger } from '@dnsflow/runtime';
import type { EnricherMetrics } from '../metrics';
import { KeyHashPartitioner } from './partitioner';
import type { Delivery, InputPartition, OutputRecord } from './types';

export interface DeliveryOptions {
  groupId: string;
  compression: 'gzip' | 'none';
  /** kafkajs retries of one send before it fails (then the whole delivery fails). */
  retries: number;
  initialRetryTimeMs: number;
}

/**
 * Upper bound of one send's uncompressed bytes. The broker refuses a record batch above its
 * message.max.bytes (1 MiB by default) for good, and one fetched input batch enriched can be
 * several times that (records grow with identities, and compression may be off), so a
 * delivery is split into sends below it; they share the one transaction.
 */
const MAX_SEND_BYTES = 900 * 1024;
/** Per-record framing overhead counted toward {@link MAX_SEND_BYTES}. */
const RECORD_OVERHEAD_BYTES = 64;

function recordBytes(r: OutputRecord): number {
  let bytes = RECORD_OVERHEAD_BYTES + r.value.length + (r.key?.length ?? 0);
  if (r.headers === undefined) return bytes;
  for (const [name, value] of Object.entries(r.headers)) bytes += name.length + value.length;
  return bytes;
}

/** The records grouped by topic, in sends of at most MAX_SEND_BYTES each, order kept. */
export function sendsOf(records: readonly OutputRecord[]): TopicMessages[][] {
  const sends: TopicMessages[][] = [];
  let current = new Map<string, Message[]>();
  let bytes = 0;
  const flush = (): void => {
    if (current.size === 0) return;
    sends.push([...current].map(([topic, messages]) => ({ topic, messages })));
    current = new Map();
    bytes = 0;
  };
  for (const r of records) {
    const size = recordBytes(r);
    if (bytes + size > MAX_SEND_BYTES && bytes > 0) flush();
    let list = current.get(r.topic);
    if (!list) current.set(r.topic, (list = []));
    list.push(
      r.headers === undefined
        ? { key: r.key, value: r.value }
        : { key: r.key, value: r.value, headers: r.headers },
    );
    bytes += size;
  }
  flush();
  return sends;
}

function compressionOf(options: DeliveryOptions): CompressionTypes {
  return options.compression === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None;
}

/**
 * Exactly-once: the outputs of a run of input records and the consumer offset after them are
 * committed in one Kafka transaction, so a read_committed reader downstream sees each input
 * record's output once whatever crashes in between.
 *
 * One transactional producer per input partition, with the partition in its transactional
 * id. kafkajs sends offsets with TxnOffsetCommit v0-v1, which carry no consumer group
 * generation (KIP-447), so the broker cannot fence a former owner of a partition by the
 * group; the transactional id does it instead: when a partition moves, the new owner's
 * producer initialises the same id, which aborts the old owner's open transaction and makes
 * its later commits fail. Producers start when partitions are assigned (before their records
 * are fetched) and close when they are revoked.
 */
export class ExactlyOnceDelivery implements Delivery {
  private readonly producers = new Map<string, Promise<Producer>>();

  constructor(
    private readonly kafka: Kafka,
    private readonly transactionalIdPrefix: string,
    private readonly options: DeliveryOptions,
    private readonly metrics: EnricherMetrics,
    private readonly log: Logger,
  ) {}

  /** Starts the producers of newly assigned partitions and closes those of revoked ones. */
  async assign(partitions: readonly InputPartition[]): Promise<void> {
    const wanted = new Set(partitions.map(idOf));
    const closing: Promise<void>[] = [];
    for (const [id, producer] of this.producers) {
      if (wanted.has(id)) continue;
      this.producers.delete(id);
      closing.push(this.close(id, producer));
    }
    await Promise.all(closing);
    await Promise.all(partitions.map((p) => this.producerFor(p)));
  }

  async deliver(
    input: InputPartition,
    records: readonly OutputRecord[],
    nextOffset: string,
  ): Promise<void> {
    const producer = await this.producerFor(input);
    const transaction = await producer.transaction();
    try {
      for (const send of sendsOf(records)) {
        await transaction.sendBatch({
          topicMessages: send,
          compression: compressionOf(this.options),
        });
      }
      await transaction.sendOffsets({
        consumerGroupId: this.options.groupId,
        topics: [
          { topic: input.topic, partitions: [{ partition: input.partition, offset: nextOffset }] },
        ],
      });
      await transaction.commit();
      this.metrics.transactions.inc({ outcome: 'committed' });
    } catch (err) {
      this.metrics.transactions.inc({ outcome: 'aborted' });
      this.log.warn(
        { ...input, nextOffset, records: records.length, err },
        'transaction failed; aborting',
      );
      await transaction.abort().catch((abortErr: unknown) => {
        // Fenced or disconnected: the broker aborts it on its own (new owner or timeout).
        this.log.warn({ ...input, err: abortErr }, 'abort failed');
      });
      // A producer that failed a transaction may be fenced; the next delivery starts afresh.
      const id = idOf(input);
      const current = this.producers.get(id);
      if (current) {
        this.producers.delete(id);
        await this.close(id, current);
      }
      throw err;
    }
  }

  /** Closes every producer (open transactions are aborted by the broker's timeout or the next owner). */
  async stop(): Promise<void> {
    const all = [...this.producers];
    this.producers.clear();
    await Promise.all(all.map(([id, p]) => this.close(id, p)));
  }

  private producerFor(input: InputPartition): Promise<Producer> {
    const id = idOf(input);
    let producer = this.producers.get(id);
    if (!producer) {
      const created = this.kafka.producer({
        transactionalId: `${this.transactionalIdPrefix}-${id}`,
        idempotent: true,
        maxInFlightRequests: 1,
        createPartitioner: KeyHashPartitioner,
        retry: { retries: this.options.retries, initialRetryTime: this.options.initialRetryTimeMs },
      });
      producer = created.connect().then(() => created);
      // A failed connect must not stay cached: the next delivery tries again.
      producer.catch(() => {
        if (this.producers.get(id) === producer) this.producers.delete(id);
      });
      this.producers.set(id, producer);
    }
    return producer;
  }

  private async close(id: string, producer: Promise<Producer>): Promise<void> {
    try {
      await (await producer).disconnect();
    } catch (err) {
      this.log.debug({ partition: id, err }, 'producer close failed');
    }
  }
}

/**
 * At-least-once: outputs are sent with an idempotent producer (acks=all) and the consumer
 * offset is committed after the broker acknowledged them. A crash between the two repeats
 * those records; the indexer's deterministic document ids absorb the repeats.
 */
export class AtLeastOnceDelivery implements Delivery {
  private readonly producer: Producer;
  private connected: Promise<void> | null = null;

  constructor(
    kafka: Kafka,
    private readonly consumer: Pick<Consumer, 'commitOffsets'>,
    private readonly options: DeliveryOptions,
    private readonly metrics: EnricherMetrics,
  ) {
    this.producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      createPartitioner: KeyHashPartitioner,
      retry: { retries: options.retries, initialRetryTime: options.initialRetryTimeMs },
    });
  }

  async deliver(
    input: InputPartition,
    records: readonly OutputRecord[],
    nextOffset: string,
  ): Promise<void> {
    this.connected ??= this.producer.connect().catch((err: unknown) => {
      this.connected = null;
      throw err;
    });
    await this.connected;
    try {
      for (const send of sendsOf(records)) {
        await this.producer.sendBatch({
          topicMessages: send,
          acks: -1,
          compression: compressionOf(this.options),
        });
      }
      await this.consumer.commitOffsets([{ ...input, offset: nextOffset }]);
      this.metrics.transactions.inc({ outcome: 'committed' });
    } catch (err) {
      this.metrics.transactions.inc({ outcome: 'aborted' });
      throw err;
    }
  }

  async stop(): Promise<void> {
    if (this.connected) await this.producer.disconnect();
  }
}

function idOf(input: InputPartition): string {
  return `${input.topic}-${input.partition}`;
}
