import pino, { type DestinationStream, type Logger } from 'pino';
import type { LogConfig } from './schemas';

export type { Logger } from 'pino';

/** Paths pino blanks out wherever they appear: credentials must never reach a log. */
export const REDACTED_PATHS = [
  'password',
  '*.password',
  '*.*.password',
  'apiKey',
  '*.apiKey',
  '*.*.apiKey',
  'sasl',
  '*.sasl',
  'authorization',
  '*.authorization',
  '*.headers.authorization',
  '*.*.headers.authorization',
];

/** Creates the process logger: JSON lines on stdout (or `destination`), secrets redacted. */
export function createLogger(
  name: string,
  config: Partial<LogConfig> = {},
  destination?: DestinationStream,
): Logger {
  const options = {
    name,
    level: config.level ?? 'info',
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    base: { component: name },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
  };
  return destination ? pino(options, destination) : pino(options);
}
