import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';

/** One pipeline stage run as its own process, as it would run in a cluster. */
export interface StageSpec {
  name: string;
  /** Arguments after `node`, e.g. `[bin, 'collect', '--metrics.port=9464']`. */
  argv: string[];
  /** Port of the stage's Prometheus endpoint, scraped for the progress view. */
  metricsPort: number;
}

export type StageState = 'starting' | 'running' | 'restarting' | 'stopping' | 'stopped' | 'failed';

export interface StageStatus {
  name: string;
  state: StageState;
  pid: number | undefined;
  restarts: number;
  /** The last line the stage logged at error level or above, if any. */
  lastError: string | undefined;
  exitCode: number | null | undefined;
}

export interface SupervisorOptions {
  /** Each stage's output goes to `<logDir>/<name>.log`. */
  logDir: string;
  /** Restart a stage that exits on its own, at most this many times in a row (default 5). */
  maxRestarts?: number;
  /** First restart delay; doubles per consecutive restart (default 1 s). */
  restartDelayMs?: number;
  /** How long one stage may take to drain on stop before it is killed (default 30 s). */
  stopTimeoutMs?: number;
  /** Called on every state change (for the terminal view and logs). */
  onChange?: (status: StageStatus) => void;
}

interface Stage {
  spec: StageSpec;
  status: StageStatus;
  child: ChildProcess | undefined;
  log: WriteStream;
  timer: NodeJS.Timeout | undefined;
  startedAt: number;
}

/** pino's numeric levels: 50 error, 60 fatal. */
const ERROR_LEVEL = 50;

/**
 * Runs the collector, enricher and indexer as child processes: restarts a stage that dies
 * (with backoff, up to a limit), and on stop drains them upstream first, so what the
 * collector flushes on its way out still reaches Elasticsearch.
 */
/**
 * Node.js options for every stage process from `STAGE_NODE_OPTIONS` (space-separated),
 * e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof` to profile the stages of a running pipeline
 * (Node.js refuses such options in NODE_OPTIONS; DNSFLOW_* names are configuration).
 */
function stageNodeArgs(): string[] {
  return (process.env['STAGE_NODE_OPTIONS'] ?? '').split(/\s+/).filter(Boolean);
}

export class Supervisor {
  private readonly stages: Stage[];
  private stopping = false;

  constructor(
    specs: readonly StageSpec[],
    private readonly options: SupervisorOptions,
  ) {
    mkdirSync(options.logDir, { recursive: true });
    this.stages = specs.map((spec) => ({
      spec,
      status: {
        name: spec.name,
        state: 'starting',
        pid: undefined,
        restarts: 0,
        lastError: undefined,
        exitCode: undefined,
      },
      child: undefined,
      log: createWriteStream(join(options.logDir, `${spec.name}.log`), { flags: 'a' }),
      timer: undefined,
      startedAt: 0,
    }));
  }

  /** Starts the stages downstream first, so nothing the collector publishes waits for a consumer. */
  start(): void {
    for (const stage of [...this.stages].reverse()) this.launch(stage);
  }

  status(): StageStatus[] {
    return this.stages.map((s) => ({ ...s.status }));
  }

  specs(): StageSpec[] {
    return this.stages.map((s) => s.spec);
  }

  logFile(name: string): string {
    return join(this.options.logDir, `${name}.log`);
  }

  private setState(stage: Stage, state: StageState): void {
    stage.status.state = state;
    this.options.onChange?.({ ...stage.status });
  }

  private launch(stage: Stage): void {
    stage.timer = undefined;
    stage.startedAt = Date.now();
    // Its own process group: a Ctrl-C on the terminal reaches only the supervisor, which
    // then stops the stages in order instead of all at once.
    const child = spawn(process.execPath, [...stageNodeArgs(), ...stage.spec.argv], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: process.env,
      detached: true,
    });
    const orphanGuard = (): void => {
      child.kill('SIGKILL');
    };
    process.once('exit', orphanGuard);
    child.once('exit', () => process.off('exit', orphanGuard));
    stage.child = child;
    stage.status.pid = child.pid;
    stage.status.exitCode = undefined;
    this.setState(stage, 'running');
    const onData = (chunk: Buffer): void => {
      stage.log.write(chunk);
      this.noteErrors(stage, chunk.toString('utf8'));
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('error', (err) => {
      stage.status.lastError = `could not start: ${err.message}`;
    });
    child.once('exit', (code, signal) => this.onExit(stage, code, signal));
  }

  private noteErrors(stage: Stage, text: string): void {
    for (const line of text.split('\n')) {
      if (line === '') continue;
      try {
        const entry = JSON.parse(line) as {
          level?: number;
          msg?: string;
          err?: { message?: string };
        };
        if ((entry.level ?? 0) >= ERROR_LEVEL) {
          stage.status.lastError = [entry.msg, entry.err?.message].filter(Boolean).join(': ');
        }
      } catch {
        // Not a log line (e.g. a stack trace from a crash): keep the first line of it.
        if (/error/i.test(line)) stage.status.lastError = line.slice(0, 200);
      }
    }
  }

  private onExit(stage: Stage, code: number | null, signal: NodeJS.Signals | null): void {
    stage.child = undefined;
    stage.status.pid = undefined;
    stage.status.exitCode = code;
    if (this.stopping) {
      this.setState(stage, 'stopped');
      return;
    }
    // A stage that ran for a while before dying starts a fresh restart count.
    if (Date.now() - stage.startedAt > 60_000) stage.status.restarts = 0;
    const max = this.options.maxRestarts ?? 5;
    if (stage.status.restarts >= max) {
      stage.status.lastError ??= `exited (${signal ?? `code ${code}`})`;
      this.setState(stage, 'failed');
      return;
    }
    const delayMs = (this.options.restartDelayMs ?? 1000) * 2 ** stage.status.restarts;
    stage.status.restarts++;
    this.setState(stage, 'restarting');
    stage.timer = setTimeout(() => this.launch(stage), delayMs);
  }

  /** True when every stage has failed for good or stopped. */
  allDown(): boolean {
    return this.stages.every((s) => s.status.state === 'failed' || s.status.state === 'stopped');
  }

  /**
   * Stops the stages upstream first (collector, then enricher, then indexer): each gets
   * SIGTERM and drains what it holds into the next, then the next one is stopped.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const stage of this.stages) {
      if (stage.timer !== undefined) clearTimeout(stage.timer);
      const child = stage.child;
      if (child === undefined) {
        if (stage.status.state !== 'failed') this.setState(stage, 'stopped');
        continue;
      }
      this.setState(stage, 'stopping');
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), this.options.stopTimeoutMs ?? 30_000);
      await exited;
      clearTimeout(killer);
    }
    await Promise.all(
      this.stages.map((s) => new Promise<void>((resolve) => s.log.end(() => resolve()))),
    );
  }
}
