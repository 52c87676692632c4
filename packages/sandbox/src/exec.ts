import { execFile } from 'node:child_process';

/** A system command (ip, nft, tc, ...) that failed; the message names the command and its stderr. */
export class CommandError extends Error {
  constructor(
    readonly argv: readonly string[],
    readonly exitCode: number | null,
    readonly stderr: string,
  ) {
    super(
      `command failed (exit ${exitCode ?? 'signal'}): ${argv.join(' ')}${stderr ? `: ${stderr.trim()}` : ''}`,
    );
    this.name = 'CommandError';
  }
}

export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export interface RunOptions {
  /** Kill the command after this long (default 30 s). */
  timeoutMs?: number;
  /** Resolve with the exit code instead of rejecting when the command fails. */
  allowFailure?: boolean;
  env?: NodeJS.ProcessEnv;
}

/** Runs a command without a shell; rejects with a {@link CommandError} unless `allowFailure`. */
export function run(argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const [file, ...args] = argv;
  if (file === undefined) return Promise.reject(new Error('run: empty command'));
  return new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      {
        timeout: options.timeoutMs ?? 30_000,
        maxBuffer: 16 * 1024 * 1024,
        encoding: 'utf8',
        ...(options.env !== undefined ? { env: options.env } : {}),
      },
      (err, stdout, stderr) => {
        if (err === null) {
          resolve({ stdout, stderr, exitCode: 0 });
          return;
        }
        const code = typeof err.code === 'number' ? err.code : null;
        if (options.allowFailure === true && code !== null) {
          resolve({ stdout, stderr, exitCode: code });
          return;
        }
        reject(new CommandError(argv, code, stderr || err.message));
      },
    );
  });
}
