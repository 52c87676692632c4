import { Command, CommanderError, Option } from 'commander';
import { ConfigError } from '@dnsflow/runtime';
import { collectCommand } from './commands/collect';
import { decodeCommand, type Io } from './commands/decode';
import { registerEnrich } from './commands/enrich';
import { registerIndex } from './commands/index';
import { registerSetup } from './commands/setup';
import { configFlags, portList, positiveInt } from './options';
import { registerRun } from './commands/run';
import { registerObserve } from './commands/observe';
import { registerTop } from './commands/top';

const stdio: Io = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};

/** Builds the `dnsflow` command tree; `io` receives all output. */
export function buildProgram(
  io: Io = stdio,
  setExit: (code: number) => void = () => undefined,
): Command {
  const program = new Command('dnsflow')
    .description('DNS observability for Kubernetes: capture, pair, enrich, index, query.')
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) })
    .exitOverride()
    .showHelpAfterError();

  program
    .command('decode')
    .description('Print the DNS transactions in a pcap/pcapng file (no Kafka needed).')
    .argument('<file>', 'capture file (pcap or pcapng)')
    .addOption(
      new Option('-f, --format <format>', 'output format')
        .choices(['ndjson', 'table'])
        .default('table'),
    )
    .option('-p, --port <port>', 'extra DNS port besides 53 (repeatable)', portList, [])
    .option('--timeout-ms <ms>', 'unanswered after this long (default 5000)', positiveInt)
    .option('--node <name>', 'node name written into the records')
    .option('-c, --config <file>', 'collector config file (YAML or JSON)')
    .allowUnknownOption()
    .allowExcessArguments()
    .action(
      async (
        file: string,
        opts: {
          format: 'ndjson' | 'table';
          port: number[];
          timeoutMs?: number;
          node?: string;
          config?: string;
        },
        command: Command,
      ) => {
        setExit(
          await decodeCommand(
            file,
            {
              format: opts.format,
              ports: opts.port,
              ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
              ...(opts.node !== undefined ? { node: opts.node } : {}),
              ...(opts.config !== undefined ? { config: opts.config } : {}),
              flags: configFlags(command, 1),
            },
            io,
          ),
        );
      },
    );

  program
    .command('collect')
    .description(
      'Capture DNS (or replay a file), pair queries with responses, publish Avro to Kafka.',
    )
    .option(
      '-c, --config <file>',
      'collector config file (YAML or JSON); DNSFLOW_* env and --key=value flags override it',
    )
    .option('-r, --read <file>', 'replay a pcap/pcapng file instead of capturing live')
    .allowUnknownOption()
    .allowExcessArguments()
    .action(async (opts: { config?: string; read?: string }, command: Command) => {
      setExit(
        await collectCommand({
          ...(opts.config !== undefined ? { config: opts.config } : {}),
          ...(opts.read !== undefined ? { read: opts.read } : {}),
          flags: configFlags(command, 0),
        }),
      );
    });
  registerRun(program, io, setExit);
  registerObserve(program, io, setExit);
  registerTop(program, io, setExit);
  // Further commands register themselves here, one line each: register<Name>(program, io, setExit).
  registerEnrich(program, io, setExit);
  registerSetup(program, io, setExit);
  registerIndex(program, io, setExit);
  return program;
}

/**
 * Entry point of the `dnsflow` binary; resolves to the exit code. Bad usage and bad
 * config exit 2 with a message naming what was wrong.
 */
export async function main(argv: readonly string[], io: Io = stdio): Promise<number> {
  let code = 0;
  const program = buildProgram(io, (c) => {
    code = c;
  });
  try {
    await program.parseAsync([...argv]);
    return code;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    if (err instanceof ConfigError) {
      io.err(`dnsflow: ${err.message}\n`);
      return 2;
    }
    io.err(`dnsflow: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}
