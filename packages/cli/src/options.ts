// Option parsers shared by the dnsflow commands.
import { type Command, InvalidArgumentError } from 'commander';

export function portList(value: string, previous: number[] = []): number[] {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new InvalidArgumentError(`expected a port 1-65535, found "${value}"`);
  }
  return [...previous, port];
}

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0)
    throw new InvalidArgumentError(`expected a positive integer, found "${value}"`);
  return n;
}

/**
 * Config flags are whatever the command's own options did not take: `--a.b=value`. Any
 * other leftover argument is a usage error, named.
 */
export function configFlags(command: Command, operands: number): string[] {
  const rest = command.args.slice(operands);
  const stray = rest.find((a) => !a.startsWith('--'));
  if (stray !== undefined) command.error(`error: unexpected argument '${stray}'`, { exitCode: 2 });
  return rest;
}
