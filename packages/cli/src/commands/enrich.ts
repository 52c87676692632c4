import type { Command } from 'commander';
import { enricherConfigSchema, startEnricher } from '@dnsflow/enricher';
import { createLogger, createShutdown, loadConfig } from '@dnsflow/runtime';
import type { Io } from './decode';
import { configFlags } from '../options';

export interface EnrichOptions {
  config?: string;
  flags: string[];
}

/**
 * `dnsflow enrich`: informers (or an inventory file) fill the identity store, and the
 * consumer group on dns.raw publishes every record enriched to dns.enriched. Runs until
 * SIGINT/SIGTERM, then stops consuming and closes its transactions cleanly.
 */
export async function enrichCommand(options: EnrichOptions): Promise<number> {
  const config = loadConfig(enricherConfigSchema, {
    ...(options.config ? { file: options.config } : {}),
    env: process.env,
    flags: options.flags,
  });
  const log = createLogger('enricher', config.log);
  const shutdown = createShutdown({
    timeoutMs: config.shutdown.timeoutMs,
    log,
    handleSignals: true,
  });
  const enricher = await startEnricher(config, log);
  shutdown.add('enricher', () => enricher.stop());
  log.info(
    {
      input: config.topics.input,
      output: config.topics.output,
      mode: config.delivery.mode,
      metricsPort: enricher.metricsPort,
    },
    'enricher started',
  );
  try {
    await enricher.done;
    return 0;
  } catch (err) {
    log.error({ err }, 'enricher stopped on an error');
    await shutdown.run('consumer failed');
    return 1;
  }
}

/** Adds `dnsflow enrich` to the program. */
export function registerEnrich(program: Command, _io: Io, setExit: (code: number) => void): void {
  program
    .command('enrich')
    .description(
      'Join dns.raw records with Kubernetes identity and domain features, publish to dns.enriched.',
    )
    .option(
      '-c, --config <file>',
      'enricher config file (YAML or JSON); DNSFLOW_* env and --key=value flags override it',
    )
    .allowUnknownOption()
    .allowExcessArguments()
    .action(async (opts: { config?: string }, command: Command) => {
      setExit(
        await enrichCommand({
          ...(opts.config !== undefined ? { config: opts.config } : {}),
          flags: configFlags(command, 0),
        }),
      );
    });
}
