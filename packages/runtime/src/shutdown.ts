import type { Logger } from './logger';

/** Something to drain and close on shutdown, e.g. "flush the producer". */
export type ShutdownStep = () => Promise<void> | void;

/** Coordinates a graceful stop: steps run in reverse registration order, each awaited. */
export interface Shutdown {
  /** Registers a step; later registrations run first (a consumer stops before its producer). */
  add(name: string, step: ShutdownStep): void;
  /** Runs every step once; resolves true when all finished within the deadline. */
  run(reason: string): Promise<boolean>;
  /** True once `run` started: loops use it to stop taking new work. */
  readonly stopping: boolean;
}

/** Options for {@link createShutdown}. */
export interface ShutdownOptions {
  timeoutMs: number;
  log?: Logger;
  /** Install SIGINT/SIGTERM handlers that run the shutdown and exit the process. */
  handleSignals?: boolean;
  /** Called with the exit code after a signal-triggered shutdown; default process.exit. */
  exit?: (code: number) => void;
}

/**
 * Creates the shutdown coordinator. A second signal while draining exits at once with code
 * 130, for the user who does not want to wait.
 */
export function createShutdown(options: ShutdownOptions): Shutdown {
  const steps: { name: string; step: ShutdownStep }[] = [];
  let running: Promise<boolean> | undefined;
  const exit = options.exit ?? ((code: number) => process.exit(code));

  const run = (reason: string): Promise<boolean> => {
    if (running) return running;
    options.log?.info({ reason, steps: steps.length }, 'shutting down');
    running = (async () => {
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), options.timeoutMs);
        timer.unref();
      });
      let clean = true;
      for (const { name, step } of [...steps].reverse()) {
        try {
          const outcome = await Promise.race([Promise.resolve().then(step), deadline]);
          if (outcome === 'timeout') {
            options.log?.error(
              { step: name, timeoutMs: options.timeoutMs },
              'shutdown deadline passed; giving up on the remaining steps',
            );
            clean = false;
            break;
          }
        } catch (err) {
          clean = false;
          options.log?.error({ step: name, err }, 'shutdown step failed');
        }
      }
      clearTimeout(timer);
      options.log?.info({ clean }, 'shutdown finished');
      return clean;
    })();
    return running;
  };

  if (options.handleSignals) {
    const onSignal = (signal: NodeJS.Signals): void => {
      if (running) {
        options.log?.warn({ signal }, 'second signal while draining: exiting now');
        exit(130);
        return;
      }
      void run(signal).then((clean) => exit(clean ? 0 : 1));
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }

  return {
    add: (name, step) => void steps.push({ name, step }),
    run,
    get stopping() {
      return running !== undefined;
    },
  };
}
