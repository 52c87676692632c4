import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Registry } from 'prom-client';
import {
  createKafka,
  createRegistry,
  startMetricsServer,
  type Logger,
  type MetricsServer,
} from '@dnsflow/runtime';
import { createCodec, type DnsTransaction, type EnrichedDnsTransaction } from '@dnsflow/schema';
import type { EnricherConfig } from './config';
import { createEnrichment } from './enrich';
import { applyInventory, loadInventoryFile } from './inventory';
import { RESOURCE_KINDS } from './identity/kube';
import { InformerSet } from './informers/informer-set';
import { createKubeTransport } from './informers/kube-client';
import { storeSink } from './informers/store-sink';
import type { KubeTransport } from './informers/types';
import { EnricherMetrics } from './metrics';
import { startPipeline, type RunningPipeline } from './pipeline/consumer';
import { enrichmentJoiner } from './pipeline/join';
import type { IdentityProgress } from './pipeline/types';

/** A running `dnsflow enrich`. */
export interface RunningEnricher {
  /** Rejects when the consumer stopped on an error it does not recover from. */
  readonly done: Promise<void>;
  readonly registry: Registry;
  readonly metrics: EnricherMetrics;
  /** Port of the metrics server, when enabled. */
  readonly metricsPort: number | null;
  /** The informers, when a Kubernetes source is configured. */
  readonly informers: InformerSet | null;
  /** Stops consuming (running batches finish or give up), then the informers and server. */
  stop(): Promise<void>;
}

/** Seams for tests and embedding: a transport other than client-node's. */
export interface EnricherOptions {
  transport?: KubeTransport;
}

/** How often the watermark moves on while every watch is open. */
const TICK_MS = 100;

/** The Kubernetes source `auto` stands for here: in a pod, with a kubeconfig, or none. */
export function resolveKubeSource(
  config: EnricherConfig['kubernetes'],
  env: NodeJS.ProcessEnv = process.env,
): 'in-cluster' | 'kubeconfig' | 'none' {
  if (config.source !== 'auto') return config.source;
  if (env['KUBERNETES_SERVICE_HOST']) return 'in-cluster';
  if (config.kubeconfig || env['KUBECONFIG'] || existsSync(join(homedir(), '.kube', 'config'))) {
    return 'kubeconfig';
  }
  return 'none';
}

/** Never changes: without informers nothing a waiting record needs can arrive. */
const STATIC_PROGRESS: IdentityProgress = {
  changed: (timeoutMs) => new Promise((resolve) => setTimeout(resolve, timeoutMs)),
};

/**
 * Starts `dnsflow enrich`: informers (or the inventory file) fill the identity store, then
 * the consumer group on the input topic enriches every record and produces it to the output
 * topic, exactly once or at least once; metrics and health on /metrics, /healthz, /readyz.
 */
export async function startEnricher(
  config: EnricherConfig,
  log: Logger,
  options: EnricherOptions = {},
): Promise<RunningEnricher> {
  const registry = createRegistry('enricher');
  const metrics = new EnricherMetrics(registry);
  const enrichment = createEnrichment(config.enrichment);
  const source = options.transport ? 'kubeconfig' : resolveKubeSource(config.kubernetes);
  const store = enrichment.store;

  if (config.inventoryFile !== undefined) {
    // Before any connection: a bad file throws an InventoryError naming the file, the entry
    // and what is wrong with it.
    const loaded = applyInventory(store, loadInventoryFile(config.inventoryFile), {
      authoritative: source === 'none',
    });
    log.info({ file: config.inventoryFile, ...loaded }, 'inventory loaded');
  }

  let informers: InformerSet | null = null;
  if (source !== 'none') {
    const transport =
      options.transport ??
      (await createKubeTransport({
        source,
        ...(config.kubernetes.kubeconfig ? { kubeconfig: config.kubernetes.kubeconfig } : {}),
        ...(config.kubernetes.context ? { context: config.kubernetes.context } : {}),
      }));
    informers = new InformerSet(
      transport,
      storeSink(store, log.child({ part: 'store' })),
      {
        pageSize: config.kubernetes.listPageSize,
        watchTimeoutSeconds: config.kubernetes.watchTimeoutSeconds,
        retryInitialMs: config.kubernetes.retryInitialMs,
        retryMaxMs: config.kubernetes.retryMaxMs,
      },
      metrics,
      log,
    );
    log.info({ server: transport.server, source }, 'watching the Kubernetes API');
    informers.start();
  }
  if (informers === null) {
    // No informers: whatever the store holds (the inventory) is all there will be, so an
    // unknown address is external at once instead of pending.
    for (const kind of RESOURCE_KINDS) store.markSynced(kind);
    store.advance(Number.POSITIVE_INFINITY);
    if (config.inventoryFile === undefined) {
      log.warn('no Kubernetes source and no inventory file: every address is external');
    }
  }

  const tick = setInterval(() => {
    if (informers && !informers.catchingUp) store.advance(Date.now() * 1000);
  }, TICK_MS);
  tick.unref();

  if (informers) {
    const synced = await informers.waitSynced(config.kubernetes.syncTimeoutMs);
    if (!synced) {
      log.warn(
        { timeoutMs: config.kubernetes.syncTimeoutMs },
        'informers not synced yet; consuming anyway (records wait in the delay buffer, then go out with unknown identities)',
      );
    }
  }

  const codecs = {
    input: createCodec<DnsTransaction>('DnsTransaction'),
    output: createCodec<EnrichedDnsTransaction>('EnrichedDnsTransaction'),
  };
  const kafka = createKafka(config.kafka, log);
  let pipeline: RunningPipeline;
  try {
    pipeline = await startPipeline(
      kafka,
      config,
      codecs,
      enrichmentJoiner(enrichment),
      informers ?? STATIC_PROGRESS,
      metrics,
      log,
    );
  } catch (err) {
    clearInterval(tick);
    await informers?.stop();
    throw err;
  }

  let server: MetricsServer | null = null;
  if (config.metrics.enabled) {
    server = await startMetricsServer(registry, config.metrics, log);
    const consuming = pipeline;
    server.addCheck('kafka', () =>
      consuming.failure === null
        ? { ok: true }
        : { ok: false, detail: `consumer stopped: ${consuming.failure.message}` },
    );
    if (informers) {
      const set = informers;
      server.addCheck('kubernetes', () => {
        const behind = set.informers.filter((i) => i.catchingUp).map((i) => i.resource.name);
        return behind.length === 0
          ? { ok: true }
          : { ok: false, detail: `informers catching up: ${behind.join(', ')}` };
      });
    }
  }

  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      clearInterval(tick);
      await pipeline.stop();
      await informers?.stop();
      await server?.close();
    })();
    return stopping;
  };
  return {
    done: pipeline.done,
    registry,
    metrics,
    metricsPort: server?.port ?? null,
    informers,
    stop,
  };
}
