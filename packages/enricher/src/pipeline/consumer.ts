import type { Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import type { Logger } from '@dnsflow/runtime';
import type { EnricherConfig } from '../config';
import type { EnricherMetrics } from '../metrics';
import { BatchProcessor, type BatchCodecs } from './batch';
import { AtLeastOnceDelivery, ExactlyOnceDelivery, type DeliveryOptions } from './delivery';
import type { IdentityProgress, InputPartition, Joiner } from './types';

/** The consume-transform-produce loop, running. */
export interface RunningPipeline {
  /** Rejects when the consumer stopped on an error it does not recover from. */
  readonly done: Promise<void>;
  /** Why the consumer stopped for good, once it did. */
  readonly failure: Error | null;
  readonly processor: BatchProcessor;
  /** Stops fetching, lets running batches finish or give up, closes the producers. */
  stop(): Promise<void>;
}

/**
 * Starts the consumer group on the input topic: each fetched batch goes through the
 * {@link BatchProcessor} with the delivery of the configured mode. Backpressure is the
 * consumer's own: a partition gets its next fetch only after its batch was delivered, and
 * at most `partitionsConcurrently` batches are in process at once.
 */
export async function startPipeline(
  kafka: Kafka,
  config: EnricherConfig,
  codecs: BatchCodecs,
  joiner: Joiner,
  progress: IdentityProgress,
  metrics: EnricherMetrics,
  log: Logger,
): Promise<RunningPipeline> {
  const { consumer: c, delivery: d, topics } = config;
  const consumer: Consumer = kafka.consumer({
    groupId: c.groupId,
    sessionTimeout: c.sessionTimeoutMs,
    maxBytesPerPartition: c.maxBytesPerPartition,
    maxBytes: c.maxBytesPerPartition * c.partitionsConcurrently,
    minBytes: c.fetchMinBytes,
    maxWaitTimeInMs: c.fetchMaxWaitMs,
    // Only committed input: a transactional producer upstream never leaks aborted records.
    readUncommitted: false,
  });
  const deliveryOptions: DeliveryOptions = {
    groupId: c.groupId,
    compression: d.compression,
    retries: config.kafka.retries,
    initialRetryTimeMs: config.kafka.initialRetryTimeMs,
  };
  const exactlyOnce =
    d.mode === 'exactly-once'
      ? new ExactlyOnceDelivery(
          kafka,
          d.transactionalIdPrefix,
          deliveryOptions,
          metrics,
          log.child({ part: 'delivery' }),
        )
      : null;
  const delivery =
    exactlyOnce ?? new AtLeastOnceDelivery(kafka, consumer, deliveryOptions, metrics);
  const processor = new BatchProcessor(
    codecs,
    joiner,
    progress,
    delivery,
    {
      outputTopic: topics.output,
      deadLetterTopic: topics.deadLetter,
      maxWaitMs: config.delay.maxWaitMs,
      maxHeldRecords: config.delay.maxRecords,
    },
    metrics,
    log.child({ part: 'batch' }),
  );

  let failure: Error | null = null;
  let reject: (err: Error) => void = () => undefined;
  const done = new Promise<void>((_resolve, rejectDone) => {
    reject = rejectDone;
  });
  const fail = (err: Error): void => {
    failure = err;
    reject(err);
  };
  done.catch(() => undefined);

  consumer.on(consumer.events.GROUP_JOIN, (event) => {
    const assigned: InputPartition[] = Object.entries(event.payload.memberAssignment).flatMap(
      ([topic, partitions]) => partitions.map((partition) => ({ topic, partition })),
    );
    log.info({ partitions: assigned.map((p) => p.partition) }, 'partitions assigned');
    exactlyOnce?.assign(assigned).catch((err: unknown) => {
      // The first delivery of each partition starts its producer again if this failed.
      log.warn({ err }, 'starting transactional producers failed');
    });
  });
  consumer.on(consumer.events.CRASH, (event) => {
    const { error, restart } = event.payload;
    log.error({ err: error, restart }, 'consumer crashed');
    if (!restart) fail(error);
  });

  await consumer.connect();
  await consumer.subscribe({ topic: topics.input, fromBeginning: c.fromBeginning });
  await consumer.run({
    autoCommit: false,
    // Offsets are resolved by the processor as records are delivered, never for a whole
    // batch it gave up on (shutdown, revoked partition).
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: c.partitionsConcurrently,
    eachBatch: async (payload: EachBatchPayload) => {
      const { batch } = payload;
      await processor.process({ topic: batch.topic, partition: batch.partition }, batch.messages, {
        heartbeat: () => payload.heartbeat(),
        isRunning: () => payload.isRunning(),
        isStale: () => payload.isStale(),
        resolveOffset: (offset) => payload.resolveOffset(offset),
      });
      if (batch.messages.length > 0) {
        const lag = Number(BigInt(batch.highWatermark) - BigInt(batch.lastOffset()) - 1n);
        metrics.consumerLag.set({ partition: String(batch.partition) }, Math.max(0, lag));
      }
    },
  });
  log.info(
    { topic: topics.input, groupId: c.groupId, mode: d.mode, output: topics.output },
    'consuming',
  );

  let stopping: Promise<void> | null = null;
  return {
    done,
    get failure() {
      return failure;
    },
    processor,
    stop(): Promise<void> {
      stopping ??= (async () => {
        await consumer.disconnect();
        await delivery.stop();
      })();
      return stopping;
    },
  };
}
