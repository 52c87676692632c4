import {
  collectorConfigSchema,
  fileSource,
  liveSource,
  readCaptureFile,
  startCollector,
} from '@dnsflow/collector';
import { createLogger, createShutdown, loadConfig } from '@dnsflow/runtime';

export interface CollectOptions {
  config?: string;
  /** Replay this capture file instead of capturing live. */
  read?: string;
  flags: string[];
}

/**
 * `dnsflow collect`: capture (or replay a file), pair, publish to Kafka. Runs until the
 * file ends or SIGINT/SIGTERM, then drains to Kafka or the spool.
 */
export async function collectCommand(options: CollectOptions): Promise<number> {
  const config = loadConfig(collectorConfigSchema, {
    ...(options.config ? { file: options.config } : {}),
    env: process.env,
    flags: options.flags,
  });
  const log = createLogger('collector', config.log);
  const source =
    options.read !== undefined
      ? fileSource(options.read, readCaptureFile)
      : liveSource(
          {
            interfaces: config.capture.interfaces,
            ports: config.capture.ports,
            metadataPorts: config.capture.metadataPorts,
            ...(config.capture.filter !== undefined ? { filter: config.capture.filter } : {}),
            snaplenBytes: config.capture.snaplenBytes,
            bufferBytes: config.capture.bufferBytes,
            promiscuous: config.capture.promiscuous,
            reorderWindowMs: config.capture.reorderWindowMs,
          },
          log,
        );
  const collector = await startCollector(config, source, log);
  log.info(
    {
      node: config.node,
      source: options.read ?? config.capture.interfaces,
      topic: config.publish.topic,
      metricsPort: collector.metricsPort,
    },
    'collector started',
  );
  const shutdown = createShutdown({
    timeoutMs: config.shutdown.timeoutMs,
    log,
    handleSignals: true,
  });
  shutdown.add('collector', () => collector.stop());
  try {
    await collector.done;
    return 0;
  } catch (err) {
    log.error({ err }, 'collector stopped on an error');
    return 1;
  }
}
