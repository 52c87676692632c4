import type { Client } from '@elastic/elasticsearch';
import type { Admin, Consumer, EachBatchPayload, Producer } from 'kafkajs';
import type { Registry } from 'prom-client';
import {
  createElasticsearch,
  createKafka,
  createRegistry,
  startMetricsServer,
  type Logger,
  type MetricsServer,
} from '@dnsflow/runtime';
import type { IndexerConfig } from './config';
import { DeadLetterQueue, type DeadLetter } from './dead-letter';
import { createEncoder } from './encoder';
import type { BulkFatalError } from './errors';
import { IndexerMetrics } from './metrics';
import { Committer, OffsetTracker, type Ticket } from './offsets';
import { sleep } from './retry';
import { BulkWriter, type ItemOutcome } from './writer';

// dnsflow index: dns.enriched (consumer group) -> ECS documents -> bulk create into
// logs-dnsflow.dns-<ns>. Offsets are committed only past records whose documents
// Elasticsearch acknowledged (or that went to the dead-letter topic), so a crash at any
// point re-reads unacknowledged records, and their deterministic _ids turn the second
// create into a 409: exactly once in effect.
//
// Backpressure is pull-based: the batch handler offers each document to the writer and,
// when the writer's in-flight bytes are at their bound, waits (heartbeating) instead of
// taking more. kafkajs fetches the next batch only after the handler returns, so memory
// stays at one fetch plus the writer's bound however slow Elasticsearch is.

/** Records encoded between two yields to the event loop (about 10 ms of work). */
const YIELD_EVERY = 128;
/**
 * Dead letters of records that failed to decode, sent and not yet acknowledged by Kafka. They
 * do not pass through the writer and its memory bound; at this many the batch waits for one
 * to settle (a DLQ topic that cannot be written holds the partition here, heartbeating,
 * rather than piling up sends).
 */
const MAX_PENDING_DEAD_LETTERS = 1000;

/** A running indexer. */
export interface RunningIndexer {
  /** Resolves after {@link stop}; rejects when the indexer stopped on a fatal error. */
  readonly done: Promise<void>;
  readonly metrics: IndexerMetrics;
  readonly registry: Registry;
  /** Port of the metrics server, when enabled. */
  readonly metricsPort: number | null;
  /** Stops pulling, flushes what was taken, commits, disconnects. */
  stop(): Promise<void>;
}

/**
 * What a document's outcome needs of its record: its offset ticket, and what a dead letter
 * carries. Not the kafkajs message itself: a document waits for Elasticsearch for a while,
 * and what it keeps alive meanwhile is copied by every garbage collection it lives through.
 */
interface Context {
  ticket: Ticket;
  key: Buffer | null;
  value: Buffer | null;
  offset: string;
  topic: string;
  partition: number;
}

/** Starts `dnsflow index` with its metrics server; resolves once the consumer runs. */
export async function startIndexer(config: IndexerConfig, log: Logger): Promise<RunningIndexer> {
  const registry = createRegistry('indexer');
  const metrics = new IndexerMetrics(registry);
  const topic = config.topics.enriched;
  const es: Client = createElasticsearch(config.elasticsearch);
  const kafka = createKafka(config.kafka, log);
  // Not idempotent: a dead letter written twice is harmless, and kafkajs' idempotent mode
  // wants unlimited retries where the config bounds them.
  const producer: Producer = kafka.producer();
  const admin: Admin = kafka.admin();
  const consumer: Consumer = kafka.consumer({
    groupId: config.consumer.groupId,
    sessionTimeout: config.consumer.sessionTimeoutMs,
    heartbeatInterval: config.consumer.heartbeatIntervalMs,
    maxBytes: config.consumer.maxFetchBytes,
    maxBytesPerPartition: config.consumer.maxFetchBytes,
    minBytes: config.consumer.fetchMinBytes,
    maxWaitTimeInMs: config.consumer.fetchMaxWaitMs,
  });
  const tracker = new OffsetTracker();
  const committer = new Committer(
    tracker,
    (offsets) => consumer.commitOffsets(offsets),
    log.child({ part: 'commit' }),
    (ok) => metrics.commits.inc({ outcome: ok ? 'ok' : 'failed' }),
    config.consumer.commitIntervalMs,
  );
  const deadLetters = new DeadLetterQueue(
    producer,
    config.topics.dlq,
    config.retry,
    log.child({ part: 'dlq' }),
  );
  const encode = createEncoder(config.dataStream.namespace);

  let stopping = false;
  let settle: { resolve: () => void; reject: (err: Error) => void } | null = null;
  const done = new Promise<void>((resolve, reject) => {
    settle = { resolve, reject };
  });
  done.catch(() => undefined);
  // Set below, once `stop` exists; a fatal error stops the indexer and rejects `done`.
  let fatal: (err: Error) => void = () => undefined;

  const finished = (ticket: Ticket): void => {
    tracker.done(ticket);
    committer.request();
  };
  let pendingDeadLetters = 0;
  let deadLetterSettled: Array<() => void> = [];
  const deadLetter = (ctx: Context, letter: Omit<DeadLetter, 'key' | 'value' | 'source'>) => {
    pendingDeadLetters += 1;
    return deadLetters
      .send({
        ...letter,
        key: ctx.key,
        value: ctx.value,
        source: { topic: ctx.topic, partition: ctx.partition, offset: ctx.offset },
      })
      .then(() => {
        // Counted once Kafka has it: a record is dropped from the index only then.
        metrics.deadLettered.inc({ stage: letter.stage, reason: letter.reason });
        metrics.stage.dropped.inc({ reason: `dlq_${letter.stage}` });
        finished(ctx.ticket);
      })
      .finally(() => {
        pendingDeadLetters -= 1;
        const waiting = deadLetterSettled;
        deadLetterSettled = [];
        for (const wake of waiting) wake();
      });
  };
  const whenDeadLetterSettles = (): Promise<void> =>
    new Promise((resolve) => deadLetterSettled.push(resolve));

  const writer = new BulkWriter<Context>(
    es,
    { ...config.bulk, retry: config.retry },
    (item, outcome: ItemOutcome) => {
      if (outcome.status !== 'rejected') {
        metrics.stage.sent.inc();
        finished(item.context.ticket);
        return;
      }
      return deadLetter(item.context, {
        stage: 'index',
        reason: outcome.reason,
        detail: `${outcome.statusCode}: ${outcome.detail}`,
      });
    },
    metrics.writer,
    log.child({ part: 'writer' }),
    (err: BulkFatalError) => fatal(err),
  );

  const eachBatch = async (payload: EachBatchPayload): Promise<void> => {
    const { batch } = payload;
    // Per record only what is cheap; kafkajs' isStale builds a key string on every call, so it
    // is asked where the handler waits anyway (a seek or rebalance is noticed within
    // YIELD_EVERY records, as it was noticed only between records before).
    const stopped = (): boolean => stopping || writer.failed !== null || !payload.isRunning();
    const halted = (): boolean => stopped() || payload.isStale();
    // Resolved once per batch, on the way out: resolving parses and formats the offset, and
    // only the last resolved offset matters to kafkajs.
    let resolved: string | null = null;
    try {
      let sinceYield = 0;
      for (const message of batch.messages) {
        if (stopped()) return;
        // Encoding a whole fetch in one go would keep the event loop from sending the bulk
        // requests it fills and reading their answers: Elasticsearch would wait for the
        // encoder and the encoder for Elasticsearch. Yielding now and then overlaps the two.
        if (++sinceYield >= YIELD_EVERY) {
          sinceYield = 0;
          await new Promise<void>((resolve) => setImmediate(resolve));
          if (halted()) return;
        }
        metrics.stage.received.inc();
        const ctx: Context = {
          ticket: tracker.take(batch.topic, batch.partition, message.offset),
          key: message.key,
          value: message.value,
          offset: message.offset,
          topic: batch.topic,
          partition: batch.partition,
        };
        const encoded = encode(message.value);
        if (encoded.status === 'error') {
          while (pendingDeadLetters >= MAX_PENDING_DEAD_LETTERS) {
            await Promise.race([
              whenDeadLetterSettles(),
              sleep(config.consumer.heartbeatIntervalMs),
            ]);
            await payload.heartbeat();
            if (halted()) return;
          }
          // Not awaited: the partition goes on, and the offset waits for the dead letter.
          void deadLetter(ctx, encoded).catch((err: unknown) =>
            log.error({ err }, 'dead letter not sent'),
          );
          resolved = message.offset;
          continue;
        }
        const item = {
          index: encoded.index,
          id: encoded.id,
          document: encoded.json,
          context: ctx,
        };
        while (!writer.offer(item)) {
          await Promise.race([writer.whenRoom(), sleep(config.consumer.heartbeatIntervalMs)]);
          await payload.heartbeat();
          if (halted()) return;
        }
        resolved = message.offset;
      }
    } finally {
      if (resolved !== null) payload.resolveOffset(resolved);
    }
    // A batch can end in records the consumer never sees: transaction commit markers (the
    // enricher writes in transactions) or aborted records. Their offsets are done as soon as
    // everything before them is, so the committed position moves past them as a Java
    // consumer's would, and a caught-up group shows no lag.
    const last = batch.lastOffset();
    const lastMessage = batch.messages[batch.messages.length - 1]?.offset;
    if (!halted() && lastMessage !== undefined && BigInt(last) > BigInt(lastMessage)) {
      tracker.done(tracker.take(batch.topic, batch.partition, last));
      payload.resolveOffset(last);
      committer.request();
    }
    await payload.heartbeat();
  };

  await Promise.all([producer.connect(), admin.connect(), consumer.connect()]);
  consumer.on(consumer.events.GROUP_JOIN, (event) => {
    // A new generation starts from the committed offsets; positions of the old one are void.
    tracker.reset();
    metrics.groupJoins.inc();
    log.info({ assignment: event.payload.memberAssignment }, 'partitions assigned');
  });
  consumer.on(consumer.events.CRASH, (event) => {
    if (!event.payload.restart) fatal(event.payload.error);
  });
  await consumer.subscribe({ topic, fromBeginning: config.consumer.fromBeginning });
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    eachBatch,
  });

  const lagTimer = setInterval(() => {
    void updateLag(admin, config.consumer.groupId, topic, metrics).catch((err: unknown) =>
      log.debug({ err }, 'consumer lag not read'),
    );
  }, config.consumer.lagIntervalMs);
  lagTimer.unref();

  let server: MetricsServer | null = null;
  if (config.metrics.enabled) {
    server = await startMetricsServer(registry, config.metrics, log);
    server.addCheck('elasticsearch', () =>
      writer.healthy
        ? { ok: true }
        : {
            ok: false,
            detail:
              writer.failed?.message ?? 'bulk requests failing: Elasticsearch unreachable or busy',
          },
    );
  }

  let stopped: Promise<void> | null = null;
  const shutdown = async (): Promise<void> => {
    stopping = true;
    clearInterval(lagTimer);
    consumer.pause([{ topic }]);
    try {
      await writer.flush();
    } catch (err) {
      log.error({ err }, 'documents left unacknowledged; their records will be read again');
    }
    await committer.flush();
    writer.close();
    deadLetters.close();
    await consumer.disconnect();
    await Promise.all([producer.disconnect(), admin.disconnect()]);
    await server?.close();
    await es.close();
    log.info({ pending: tracker.pending }, 'indexer stopped');
  };
  const stop = (): Promise<void> => {
    stopped ??= shutdown();
    return stopped;
  };

  fatal = (err) => {
    log.error({ err }, 'indexer stopping on a fatal error');
    void stop().finally(() => settle?.reject(err));
  };

  return {
    done,
    metrics,
    registry,
    metricsPort: server?.port ?? null,
    stop: async () => {
      await stop();
      settle?.resolve();
    },
  };
}

/** Sets the lag gauge: the partition's end offset minus the group's committed offset. */
async function updateLag(
  admin: Admin,
  groupId: string,
  topic: string,
  metrics: IndexerMetrics,
): Promise<void> {
  const [ends, groups] = await Promise.all([
    admin.fetchTopicOffsets(topic),
    admin.fetchOffsets({ groupId, topics: [topic] }),
  ]);
  const committed = new Map(
    (groups[0]?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]),
  );
  for (const p of ends) {
    const end = BigInt(p.high);
    const at = committed.get(p.partition) ?? -1n;
    const lag = at < 0n ? end - BigInt(p.low) : end - at;
    metrics.consumerLag.set({ topic, partition: String(p.partition) }, Number(lag > 0n ? lag : 0n));
  }
}
