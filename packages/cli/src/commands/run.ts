import type { Command } from 'commander';
import { spawnSync } from 'node:child_process';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ProgressTracker, renderProgress } from '../supervisor/progress';
import { Supervisor, type StageSpec } from '../supervisor/supervisor';
import type { Io } from './decode';
import { configFlags } from '../options';
import { startDemo } from './demo';

/** The stages `dnsflow run` supervises, upstream first, and their default metrics ports. */
export const PIPELINE_STAGES = [
  { name: 'collector', command: 'collect', metricsPort: 9464 },
  { name: 'enricher', command: 'enrich', metricsPort: 9465 },
  { name: 'indexer', command: 'index', metricsPort: 9466 },
] as const;

export interface RunOptions {
  /** `--<stage>.<key>=<value>` flags, routed to that stage as `--<key>=<value>`. */
  flags: string[];
  /** Skip `dnsflow setup` (topics, templates) before starting. */
  skipSetup?: boolean;
  /** Where each stage's log goes (default ~/.cache/dnsflow/logs). */
  logDir?: string;
  /** Redraw interval of the progress view. */
  refreshMs?: number;
  /** Lines printed before the progress view (what runs, where to look). */
  banner?: string[];
  /** Resolves when the pipeline should stop (default: SIGINT or SIGTERM). */
  until?: Promise<void>;
  /** Run a simulated cluster whose pods make DNS traffic, and capture it. */
  demo?: boolean;
}

const BIN = join(__dirname, '..', '..', 'bin', 'dnsflow.js');

/** What differs on one machine from a cluster: the spool lives in the user's cache. */
const LOCAL_DEFAULTS = [`--collector.spool.dir=${join(homedir(), '.cache', 'dnsflow', 'spool')}`];

/**
 * Splits `--collector.capture.interfaces=any` style flags by stage. A flag that names no
 * stage is an error: each stage has its own config schema.
 */
export function routeFlags(flags: readonly string[]): Map<string, string[]> {
  const routed = new Map<string, string[]>([
    ...PIPELINE_STAGES.map((s): [string, string[]] => [s.name, []]),
    ['setup', []],
  ]);
  for (const flag of flags) {
    const m = /^--([a-z]+)\.(.+)$/.exec(flag);
    const stage = m?.[1];
    const list = stage !== undefined ? routed.get(stage) : undefined;
    if (m === null || list === undefined) {
      throw new Error(
        `flag "${flag}" names no stage: write --collector.<key>=<value>, --enricher.<key>=<value>, --indexer.<key>=<value> or --setup.<key>=<value>`,
      );
    }
    list.push(`--${m[2]}`);
  }
  return routed;
}

function untilSignal(): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      resolve();
    };
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
  });
}

/**
 * `dnsflow run`: the whole pipeline on one machine. Runs `setup`, then the collector,
 * enricher and indexer as supervised child processes (each one is the same command a
 * cluster runs alone), shows their progress, and on Ctrl-C drains them upstream first.
 */
export async function runCommand(options: RunOptions, io: Io): Promise<number> {
  const demo = options.demo === true ? await startDemo({}, io) : undefined;
  try {
    return await runPipeline(
      {
        ...options,
        // The user's own flags come last, so they override the defaults and the demo's.
        flags: [...LOCAL_DEFAULTS, ...(demo?.flags ?? []), ...options.flags],
        banner: [...(demo?.banner ?? []), ...(options.banner ?? [])],
      },
      io,
    );
  } finally {
    await demo?.stop();
  }
}

async function runPipeline(options: RunOptions, io: Io): Promise<number> {
  const routed = routeFlags(options.flags);
  const logDir = options.logDir ?? join(homedir(), '.cache', 'dnsflow', 'logs');
  if (options.skipSetup !== true) {
    io.out('dnsflow: setup (Kafka topics, Elasticsearch templates)...\n');
    // setup reads the indexer's config (topics, data stream), then its own overrides.
    const setup = spawnSync(
      process.execPath,
      [BIN, 'setup', ...(routed.get('indexer') ?? []), ...(routed.get('setup') ?? [])],
      {
        encoding: 'utf8',
      },
    );
    io.out(setup.stdout);
    if (setup.status !== 0) {
      io.err(setup.stderr);
      io.err(`dnsflow: setup failed (exit ${setup.status}); the pipeline was not started\n`);
      return 1;
    }
  }
  const specs: StageSpec[] = PIPELINE_STAGES.map((stage) => {
    const own = routed.get(stage.name) ?? [];
    const portFlag = own.find((f) => f.startsWith('--metrics.port='));
    const metricsPort = portFlag ? Number(portFlag.split('=')[1]) : stage.metricsPort;
    return {
      name: stage.name,
      argv: [BIN, stage.command, ...(portFlag ? [] : [`--metrics.port=${metricsPort}`]), ...own],
      metricsPort,
    };
  });
  const supervisor = new Supervisor(specs, { logDir });
  const tracker = new ProgressTracker();
  const tty = process.stdout.isTTY === true;
  let drawnLines = 0;
  const draw = async (): Promise<void> => {
    const text = renderProgress(await tracker.figures(specs, supervisor.status()));
    if (tty && drawnLines > 0) io.out(`\x1b[${drawnLines}A\x1b[J`);
    io.out(`${text}\n`);
    drawnLines = tty ? text.split('\n').length : 0;
  };
  for (const line of options.banner ?? []) io.out(`${line}\n`);
  io.out(`Logs: ${logDir}/{collector,enricher,indexer}.log. Ctrl-C stops and drains.\n\n`);
  supervisor.start();
  const timer = setInterval(() => void draw(), options.refreshMs ?? (tty ? 2000 : 10_000));
  // Stop on Ctrl-C, or once every stage has failed for good (nothing left to supervise).
  let allDownTimer: NodeJS.Timeout | undefined;
  const allDown = new Promise<void>((resolve) => {
    allDownTimer = setInterval(() => {
      if (supervisor.allDown()) resolve();
    }, 500);
  });
  await Promise.race([options.until ?? untilSignal(), allDown]);
  clearInterval(allDownTimer);
  clearInterval(timer);
  io.out('\ndnsflow: stopping (collector, then enricher, then indexer drain in turn)...\n');
  await supervisor.stop();
  await draw();
  const failed = supervisor.status().filter((s) => s.state === 'failed');
  for (const s of failed) io.err(`dnsflow: ${s.name} failed: ${s.lastError ?? 'see its log'}\n`);
  return failed.length > 0 ? 1 : 0;
}

/** Adds `dnsflow run` to the program. */
export function registerRun(program: Command, io: Io, setExit: (code: number) => void): void {
  program
    .command('run')
    .description(
      'Run the whole pipeline on this machine: setup, then collector, enricher and indexer, supervised.',
    )
    .option('--skip-setup', 'do not run `dnsflow setup` first')
    .option('--demo', 'also run a simulated cluster whose pods make DNS traffic, and capture it')
    .option('--log-dir <dir>', 'where each stage logs (default ~/.cache/dnsflow/logs)')
    .allowUnknownOption()
    .allowExcessArguments()
    .action(
      async (opts: { skipSetup?: boolean; logDir?: string; demo?: boolean }, command: Command) => {
        setExit(
          await runCommand(
            {
              flags: configFlags(command, 0),
              ...(opts.skipSetup === true ? { skipSetup: true } : {}),
              ...(opts.logDir !== undefined ? { logDir: opts.logDir } : {}),
              ...(opts.demo === true ? { demo: true } : {}),
            },
            io,
          ),
        );
      },
    );
}
