import type { Command } from 'commander';
import { SetupError, indexerConfigSchema, runSetup, type SetupReport } from '@dnsflow/indexer';
import { createLogger, loadConfig } from '@dnsflow/runtime';
import { renderTable } from '../format';
import { configFlags } from '../options';
import type { Io } from './decode';

export interface SetupCommandOptions {
  config?: string;
  /** Only the Kafka topics, or only Elasticsearch. */
  only?: 'kafka' | 'elasticsearch';
  format: 'table' | 'json';
  flags: string[];
}

/**
 * `dnsflow setup`: Kafka topics, Elasticsearch templates and the data stream, idempotently.
 * Prints what was created, updated or already there. Exit 0; 1 when something could not
 * be created (the message says what and why: version, permission, unreachable).
 */
export async function setupCommand(options: SetupCommandOptions, io: Io): Promise<number> {
  const config = loadConfig(indexerConfigSchema, {
    ...(options.config ? { file: options.config } : {}),
    env: process.env,
    flags: options.flags,
  });
  // Progress goes to the log on stderr; stdout carries the report only.
  const log = createLogger('setup', {
    level: config.log.level === 'info' ? 'warn' : config.log.level,
  });
  let report: SetupReport;
  try {
    report = await runSetup(config, log, {
      kafka: options.only !== 'elasticsearch',
      elasticsearch: options.only !== 'kafka',
    });
  } catch (err) {
    if (err instanceof SetupError) {
      io.err(`dnsflow setup: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
  if (options.format === 'json') {
    io.out(`${JSON.stringify(report, null, 2)}\n`);
    return 0;
  }
  const rows = report.items.map((i) => [i.kind, i.name, i.action, i.detail ?? '']);
  io.out(`${renderTable([['KIND', 'NAME', 'RESULT', 'DETAIL'], ...rows])}\n`);
  if (report.elasticsearchVersion !== null) {
    io.out(
      `Elasticsearch ${report.elasticsearchVersion}; retention ${report.templateRetention ?? 'none'} in the index template` +
        `${report.dataStreamRetention !== null ? `, ${report.dataStreamRetention} on the data stream` : ''}\n`,
    );
  }
  return 0;
}

/** Registers `dnsflow setup`. */
export function registerSetup(program: Command, io: Io, setExit: (code: number) => void): void {
  program
    .command('setup')
    .description(
      'Create the Kafka topics, Elasticsearch templates and data stream the pipeline needs (safe to run again).',
    )
    .option(
      '-c, --config <file>',
      'indexer config file (YAML or JSON); DNSFLOW_* env and --key=value flags override it',
    )
    .option('--only <part>', 'set up only "kafka" or only "elasticsearch"')
    .option('--json', 'print the report as JSON')
    .allowUnknownOption()
    .allowExcessArguments()
    .action(async (opts: { config?: string; only?: string; json?: boolean }, command: Command) => {
      if (opts.only !== undefined && opts.only !== 'kafka' && opts.only !== 'elasticsearch') {
        command.error(`error: --only expects "kafka" or "elasticsearch", found "${opts.only}"`, {
          exitCode: 2,
        });
      }
      setExit(
        await setupCommand(
          {
            ...(opts.config !== undefined ? { config: opts.config } : {}),
            ...(opts.only !== undefined ? { only: opts.only } : {}),
            format: opts.json ? 'json' : 'table',
            flags: configFlags(command, 0),
          },
          io,
        ),
      );
    });
}
