import { CompressionTypes } from 'kafkajs';
import type { Registry } from 'prom-client';
import {
  createKafka,
  createRegistry,
  startMetricsServer,
  type Logger,
  type MetricsServer,
} from '@dnsflow/runtime';
import { createCodec, type DnsTransaction } from '@dnsflow/schema';
import type { Frame } from './capture/frame';
import type { CollectorConfig } from './config';
import { CollectorMetrics } from './metrics';
import { createPipeline } from './pipeline';
import { RecordEncoder } from './publish/encoder';
import { cachedDefaultPartitioner, RecordKeys } from './publish/keys';
import { Publisher, type ProducerLike } from './publish/publisher';
import { Spool } from './publish/spool';
import { loadWorkloadMap } from './workloads';

/** Per-interface counters libpcap keeps (pcap_stats). */
export interface InterfaceStats {
  iface: string;
  received: number;
  /** Dropped because the kernel buffer was full. */
  dropped: number;
  /** Dropped by the interface or its driver. */
  ifDropped: number;
}

/** Where frames come from: a live capture or a file replay. */
export interface FrameSource {
  /** Live sources run on wall-clock time (pending queries expire without traffic). */
  readonly live: boolean;
  /**
   * The bytes of a frame are the source's buffer, overwritten after `onFrame` returns (a
   * live capture saves a copy per packet this way): the pipeline copies what it keeps.
   */
  readonly lendsFrames?: boolean;
  /**
   * Delivers frames until the source ends (file) or is stopped (live). A source that can
   * wait (a file) awaits `room()` now and then, so replay never outruns Kafka into the spool.
   */
  run(onFrame: (frame: Frame) => void, room: () => Promise<void>): Promise<void>;
  stop(): Promise<void>;
  stats?(): InterfaceStats[];
}

/** A running collector. */
export interface RunningCollector {
  /** Resolves when the source ended and everything was published or spooled. */
  readonly done: Promise<void>;
  readonly metrics: CollectorMetrics;
  readonly registry: Registry;
  /** Port of the metrics server, when enabled. */
  readonly metricsPort: number | null;
  /** Stops capturing, emits what is pending, drains to Kafka or the spool. */
  stop(): Promise<void>;
}

const TICK_MS = 500;
/**
 * Live capture moves pairing time with the wall clock only this far behind it. Packets
 * reach the pipeline some time after the kernel stamped them (pcap buffers, batches, a busy
 * event loop); advancing to the wall clock itself would close a transaction's short
 * duplicate window before the copies of its response from the other interfaces (veth,
 * bridge, both sides of a NAT) were read, and turn them into orphans.
 */
const LIVE_CLOCK_MARGIN_US = 1_000_000;

/**
 * Starts `dnsflow collect`: source → decode → pair → Avro → Kafka (spool when Kafka is
 * down or slow), with metrics and health on /metrics, /healthz, /readyz.
 */
export async function startCollector(
  config: CollectorConfig,
  source: FrameSource,
  log: Logger,
): Promise<RunningCollector> {
  const registry = createRegistry('collector');
  const workloadsFile = config.dnsMetrics.workloadsFile;
  const metrics = new CollectorMetrics(registry, {
    dnsPrefix: config.dnsMetrics.prefix,
    sourceContext: config.dnsMetrics.sourceContext,
    ...(config.dnsMetrics.sourceContext === 'workload' && workloadsFile !== undefined
      ? { workloads: loadWorkloadMap(workloadsFile) }
      : {}),
  });
  const encoder = new RecordEncoder(createCodec<DnsTransaction>('DnsTransaction'));
  const kafka = createKafka(config.kafka, log);
  const kafkaProducer = kafka.producer({
    // Murmur2 like the Java client: the same client IP lands on the same partition
    // whichever client produced it (remembered per key, see cachedDefaultPartitioner).
    createPartitioner: cachedDefaultPartitioner,
    idempotent: true,
    maxInFlightRequests: 1,
    // Bounded so a send to an unreachable broker fails and the records go to the spool;
    // duplicates a retry could cause are absorbed downstream by deterministic ids.
    retry: { retries: config.kafka.retries, initialRetryTime: config.kafka.initialRetryTimeMs },
  });
  const compression =
    config.publish.compression === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None;
  const producer: ProducerLike = {
    connect: () => kafkaProducer.connect(),
    disconnect: () => kafkaProducer.disconnect(),
    send: (batch) => kafkaProducer.send({ ...batch, acks: -1, compression }),
  };
  const spool = new Spool(config.spool);
  const publisher = new Publisher(
    producer,
    spool,
    {
      topic: config.publish.topic,
      batchSize: config.publish.batchSize,
      lingerMs: config.publish.lingerMs,
      maxQueued: config.publish.maxQueued,
      sendTimeoutMs: config.publish.sendTimeoutMs,
      retryInitialMs: config.publish.retryInitialMs,
      retryMaxMs: config.publish.retryMaxMs,
    },
    metrics.publisherEvents(),
    log.child({ part: 'publisher' }),
  );
  publisher.start();

  const keys = new RecordKeys();
  const pipeline = createPipeline(config, {
    metrics,
    framesLent: source.lendsFrames === true,
    onTransaction: (tx) => publisher.publish(keys.of(tx.client.ip), encoder.encode(tx)),
  });

  let server: MetricsServer | null = null;
  if (config.metrics.enabled) {
    server = await startMetricsServer(registry, config.metrics, log);
    server.addCheck('spool', () =>
      spool.bytes < config.spool.maxBytes
        ? { ok: true }
        : { ok: false, detail: `spool full (${spool.bytes} bytes): records are being dropped` },
    );
    server.addCheck('kafka', () =>
      publisher.spooling
        ? { ok: false, detail: 'Kafka unreachable or slow: records go to the spool' }
        : { ok: true },
    );
  }

  const tick = setInterval(() => {
    if (source.live) pipeline.advance(Date.now() * 1000 - LIVE_CLOCK_MARGIN_US);
    metrics.spoolBytes.set(spool.bytes);
    for (const s of source.stats?.() ?? []) {
      metrics.kernelDrops.set({ interface: s.iface, kind: 'kernel' }, s.dropped);
      metrics.kernelDrops.set({ interface: s.iface, kind: 'interface' }, s.ifDropped);
    }
  }, TICK_MS);
  tick.unref();

  let stopping: Promise<void> | null = null;
  const finish = async (): Promise<void> => {
    clearInterval(tick);
    pipeline.finish();
    await publisher.stop();
    metrics.spoolBytes.set(spool.bytes);
    await server?.close();
  };
  const done = (async () => {
    try {
      await source.run(
        (frame) => pipeline.frame(frame),
        async () => {
          if (!publisher.spooling && publisher.queued >= config.publish.maxQueued / 2) {
            await publisher.drain();
          }
        },
      );
    } catch (err) {
      log.error({ err }, 'capture source failed');
      throw err;
    } finally {
      stopping ??= finish();
      await stopping;
    }
  })();
  // The caller awaits `done` or `stop()`; keep an unobserved failure from crashing here.
  done.catch(() => undefined);

  return {
    done,
    metrics,
    registry,
    metricsPort: server?.port ?? null,
    async stop(): Promise<void> {
      await source.stop();
      await done.catch(() => undefined);
    },
  };
}

/** A source that replays a pcap/pcapng file at full speed (`dnsflow collect --read`). */
export function fileSource(
  path: string,
  read: (path: string) => AsyncIterable<Frame>,
): FrameSource {
  let stopped = false;
  return {
    live: false,
    async run(onFrame, room) {
      let n = 0;
      for await (const frame of read(path)) {
        if (stopped) break;
        onFrame(frame);
        if (++n % 1024 === 0) await room();
      }
    },
    stop() {
      stopped = true;
      return Promise.resolve();
    },
  };
}
