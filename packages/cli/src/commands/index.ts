import type { Command } from 'commander';
import { indexerConfigSchema, startIndexer } from '@dnsflow/indexer';
import { createLogger, createShutdown, loadConfig } from '@dnsflow/runtime';
import { configFlags } from '../options';
import type { Io } from './decode';

export interface IndexOptions {
  config?: string;
  flags: string[];
}

/**
 * `dnsflow index`: consume `dns.enriched`, write ECS documents to the data stream. Runs
 * until SIGINT/SIGTERM, then flushes, commits and exits 0; exits 1 when Elasticsearch
 * refuses the writer for good (credentials, privileges).
 */
export async function indexCommand(options: IndexOptions): Promise<number> {
  const config = loadConfig(indexerConfigSchema, {
    ...(options.config ? { file: options.config } : {}),
    env: process.env,
    flags: options.flags,
  });
  const log = createLogger('indexer', config.log);
  const indexer = await startIndexer(config, log);
  log.info(
    {
      topic: config.topics.enriched,
      groupId: config.consumer.groupId,
      namespace: config.dataStream.namespace,
      nodes: config.elasticsearch.nodes,
      metricsPort: indexer.metricsPort,
    },
    'indexer started',
  );
  const shutdown = createShutdown({
    timeoutMs: config.shutdown.timeoutMs,
    log,
    handleSignals: true,
  });
  shutdown.add('indexer', () => indexer.stop());
  try {
    await indexer.done;
    return 0;
  } catch (err) {
    log.error({ err }, 'indexer stopped on an error');
    return 1;
  }
}

/** Registers `dnsflow index`. */
export function registerIndex(program: Command, _io: Io, setExit: (code: number) => void): void {
  program
    .command('index')
    .description(
      'Consume enriched records from Kafka and index them into Elasticsearch as ECS documents.',
    )
    .option(
      '-c, --config <file>',
      'indexer config file (YAML or JSON); DNSFLOW_* env and --key=value flags override it',
    )
    .allowUnknownOption()
    .allowExcessArguments()
    .action(async (opts: { config?: string }, command: Command) => {
      setExit(
        await indexCommand({
          ...(opts.config !== undefined ? { config: opts.config } : {}),
          flags: configFlags(command, 0),
        }),
      );
    });
}
