import type { IHeaders, Producer } from 'kafkajs';
import type { Logger } from '@dnsflow/runtime';
import { backoffMs, sleep, type BackoffOptions } from './retry';

/** Where in the indexer a record failed. */
export type DeadLetterStage = 'decode' | 'encode' | 'index';

/** A record that cannot be indexed, with why and where it came from. */
export interface DeadLetter {
  stage: DeadLetterStage;
  /** Short machine-readable reason: a codec reason or Elasticsearch's error type. */
  reason: string;
  /** The full explanation (which field, what was found). */
  detail: string;
  /** The original Kafka record, byte for byte, so it can be replayed once fixed. */
  key: Buffer | null;
  value: Buffer | null;
  source: { topic: string; partition: number; offset: string };
}

/**
 * Header names on dead-letter records (values are UTF-8 text); the enricher's dead letters
 * on the same topic use the same names.
 */
export const DLQ_HEADERS = {
  reason: 'dnsflow-reason',
  detail: 'dnsflow-error',
  stage: 'dnsflow-stage',
  topic: 'dnsflow-source-topic',
  partition: 'dnsflow-source-partition',
  offset: 'dnsflow-source-offset',
  failedAt: 'dnsflow-failed-at',
} as const;

/** Elasticsearch explanations can quote a whole field value; headers stay small. */
const MAX_DETAIL_CHARS = 4096;

/**
 * Sends dead letters to the DLQ topic: the original key and value unchanged, the reason
 * and source position in headers. A send that fails is retried with backoff until it
 * succeeds or the queue is closed, since the source offset is committed only after it.
 */
export class DeadLetterQueue {
  private closed = false;

  constructor(
    private readonly producer: Pick<Producer, 'send'>,
    private readonly topic: string,
    private readonly retry: BackoffOptions,
    private readonly log: Logger,
  ) {}

  async send(letter: DeadLetter): Promise<void> {
    const headers: IHeaders = {
      [DLQ_HEADERS.stage]: letter.stage,
      [DLQ_HEADERS.reason]: letter.reason,
      [DLQ_HEADERS.detail]: letter.detail.slice(0, MAX_DETAIL_CHARS),
      [DLQ_HEADERS.topic]: letter.source.topic,
      [DLQ_HEADERS.partition]: String(letter.source.partition),
      [DLQ_HEADERS.offset]: letter.source.offset,
      [DLQ_HEADERS.failedAt]: new Date().toISOString(),
    };
    this.log.warn(
      { stage: letter.stage, reason: letter.reason, detail: letter.detail, ...letter.source },
      'record sent to the dead-letter topic',
    );
    for (let attempt = 1; ; attempt++) {
      try {
        await this.producer.send({
          topic: this.topic,
          acks: -1,
          messages: [{ key: letter.key, value: letter.value, headers }],
        });
        return;
      } catch (err) {
        if (this.closed) throw err;
        this.log.warn({ err, attempt, topic: this.topic }, 'dead-letter send failed: retrying');
        await sleep(backoffMs(attempt, this.retry));
      }
    }
  }

  /** Lets a running send give up after its current attempt. */
  close(): void {
    this.closed = true;
  }
}
