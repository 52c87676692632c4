import type { DeadLetterReason } from '../metrics';
import type { OutputRecord } from './types';

/** Headers of a dead-letter record: why, and where the original came from. */
export const DEAD_LETTER_HEADERS = {
  reason: 'dnsflow-reason',
  error: 'dnsflow-error',
  sourceTopic: 'dnsflow-source-topic',
  sourcePartition: 'dnsflow-source-partition',
  sourceOffset: 'dnsflow-source-offset',
  stage: 'dnsflow-stage',
} as const;

/** Longest error text carried in a header; codec messages are short, stack traces are not. */
const MAX_ERROR_CHARS = 1000;

/**
 * The dead-letter copy of an input record: the original key and bytes unchanged (so it can
 * be replayed once the cause is fixed), the reason and the error text in headers, and the
 * topic, partition and offset it was read from.
 */
export function deadLetter(
  topic: string,
  source: { topic: string; partition: number; offset: string },
  message: { key: Buffer | null; value: Buffer | null },
  reason: DeadLetterReason,
  error: string,
): OutputRecord {
  return {
    topic,
    key: message.key,
    value: message.value ?? Buffer.alloc(0),
    headers: {
      [DEAD_LETTER_HEADERS.reason]: reason,
      [DEAD_LETTER_HEADERS.error]: error.slice(0, MAX_ERROR_CHARS),
      [DEAD_LETTER_HEADERS.sourceTopic]: source.topic,
      [DEAD_LETTER_HEADERS.sourcePartition]: String(source.partition),
      [DEAD_LETTER_HEADERS.sourceOffset]: source.offset,
      [DEAD_LETTER_HEADERS.stage]: 'enricher',
    },
  };
}
