import type { Logger } from '@dnsflow/runtime';
import type { Spool, SpoolRecord } from './spool';

/** The part of a kafkajs producer the publisher uses (a real producer in every test). */
export interface ProducerLike {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  send(batch: { topic: string; messages: { key: Buffer; value: Buffer }[] }): Promise<unknown>;
}

export interface PublisherOptions {
  topic: string;
  /**
   * Records per Kafka send when traffic is light. When records queue up (Kafka round trips
   * slower than arrivals) or the spool is replaying, one send takes up to
   * `batchSize * BACKLOG_BATCHES`: bigger batches, not more in flight, keep order and
   * let throughput grow with load.
   */
  batchSize: number;
  /** A partly filled batch is sent after this long. */
  lingerMs: number;
  /**
   * Records held in memory waiting for Kafka. Past this Kafka counts as slow and records
   * go to the spool, so memory stays bounded whatever Kafka does.
   */
  maxQueued: number;
  /**
   * A send not acknowledged within this long counts as failed and its records go to the
   * spool, so a hung broker cannot hold records (or memory) indefinitely. Should the send
   * still complete, those records arrive twice; the indexer's deterministic ids make that
   * harmless.
   */
  sendTimeoutMs: number;
  /** Backoff between replay attempts while Kafka is unreachable: first and cap. */
  retryInitialMs: number;
  retryMaxMs: number;
}

/** Counters the publisher reports (wired to Prometheus by the collector). */
export interface PublisherEvents {
  sent(count: number): void;
  spooled(count: number): void;
  /** Records lost: the spool was full. The only way the publisher drops. */
  dropped(reason: 'spool_full', count: number): void;
  /** Bytes of damaged spool frames skipped during replay. */
  spoolCorrupt(bytes: number): void;
  publishError(): void;
}

type Mode = 'direct' | 'spooling';

const BACKLOG_BATCHES = 8;
/**
 * Upper bound of one send's uncompressed bytes. Kafka refuses a record batch above the
 * broker's message.max.bytes (1 MiB by default) for good, which would wedge the spool
 * replay on that batch; staying below it holds with compression off too.
 */
const MAX_BATCH_BYTES = 900 * 1024;

/** Takes records off the front of `queue`: up to `maxRecords` and MAX_BATCH_BYTES. */
function takeBatch(queue: SpoolRecord[], maxRecords: number): SpoolRecord[] {
  let bytes = 0;
  let n = 0;
  while (n < queue.length && n < maxRecords) {
    const r = queue[n] as SpoolRecord;
    bytes += r.key.length + r.value.length + 64;
    if (bytes > MAX_BATCH_BYTES && n > 0) break;
    n++;
  }
  return queue.splice(0, n);
}

/**
 * Sends records to Kafka in batches. When a send fails or Kafka falls behind, records go
 * to the disk spool instead, and a replay loop sends the spool in order once Kafka answers
 * again; new records keep going to the spool until it is drained, so order is kept.
 */
export class Publisher {
  private mode: Mode = 'direct';
  private queue: SpoolRecord[] = [];
  private timer: NodeJS.Timeout | null = null;
  private sending: Promise<void> | null = null;
  private replaying: Promise<void> | null = null;
  private connected = false;
  private stopped = false;
  private backoffMs: number;
  private wake: (() => void) | null = null;

  constructor(
    private readonly producer: ProducerLike,
    private readonly spool: Spool,
    private readonly options: PublisherOptions,
    private readonly events: PublisherEvents,
    private readonly log: Logger,
  ) {
    this.backoffMs = options.retryInitialMs;
  }

  /** Spool contents from an earlier run are replayed before anything new. */
  start(): void {
    if (!this.spool.empty) {
      this.log.info({ spoolBytes: this.spool.bytes }, 'spool holds records from before; replaying');
      this.enterSpooling();
    }
  }

  get spooling(): boolean {
    return this.mode === 'spooling';
  }

  get queued(): number {
    return this.queue.length;
  }

  /** Takes one record; never blocks, never throws. */
  publish(key: Buffer, value: Buffer): void {
    this.queue.push({ key, value });
    if (this.mode === 'spooling') {
      // Straight to disk in batches, whatever a hung send is doing: memory stays bounded.
      if (this.queue.length >= this.options.batchSize) this.toSpool(this.queue.splice(0));
      else this.timer ??= setTimeout(() => this.onLinger(), this.options.lingerMs);
      return;
    }
    if (this.mode === 'direct' && this.queue.length > this.options.maxQueued) {
      this.log.warn({ queued: this.queue.length }, 'Kafka is not keeping up; spooling to disk');
      this.enterSpooling();
    }
    if (this.queue.length >= this.options.batchSize) this.kick();
    else this.timer ??= setTimeout(() => this.onLinger(), this.options.lingerMs);
  }

  private onLinger(): void {
    this.timer = null;
    if (this.mode === 'spooling') {
      if (this.queue.length > 0) this.toSpool(this.queue.splice(0));
      return;
    }
    this.kick();
  }

  /** Sends or spools everything queued; resolves when nothing is left in memory. */
  async drain(): Promise<void> {
    while (this.queue.length > 0 || this.sending !== null) {
      this.kick();
      await this.sending;
    }
  }

  /**
   * Drains memory to Kafka or the spool, stops replaying and disconnects. What is still in
   * the spool stays there for the next start.
   */
  async stop(): Promise<void> {
    await this.drain();
    this.stopped = true;
    this.wake?.();
    await this.replaying;
    if (this.timer !== null) clearTimeout(this.timer);
    this.spool.close();
    if (this.connected) await this.producer.disconnect().catch(() => undefined);
  }

  private kick(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.sending !== null || this.queue.length === 0) return;
    this.sending = this.flush().finally(() => {
      this.sending = null;
      if (this.queue.length >= this.options.batchSize) this.kick();
      else if (this.queue.length > 0)
        this.timer ??= setTimeout(() => this.onLinger(), this.options.lingerMs);
    });
  }

  private async flush(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = takeBatch(this.queue, this.options.batchSize * BACKLOG_BATCHES);
      if (this.mode === 'spooling') {
        this.toSpool(batch);
        continue;
      }
      try {
        await this.send(batch);
      } catch (err) {
        this.connected = false;
        this.events.publishError();
        this.log.warn({ err, records: batch.length }, 'Kafka send failed; spooling to disk');
        // The failed batch goes first: it is older than anything still queued.
        this.toSpool(batch);
        this.enterSpooling();
      }
    }
  }

  private async send(batch: SpoolRecord[]): Promise<void> {
    if (!this.connected) {
      await this.producer.connect();
      this.connected = true;
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(new Error(`Kafka did not acknowledge within ${this.options.sendTimeoutMs} ms`)),
        this.options.sendTimeoutMs,
      );
    });
    try {
      await Promise.race([
        this.producer.send({ topic: this.options.topic, messages: batch }),
        timeout,
      ]);
    } finally {
      clearTimeout(timer);
    }
    this.events.sent(batch.length);
  }

  private toSpool(batch: SpoolRecord[]): void {
    const { written, refused } = this.spool.append(batch);
    if (written > 0) this.events.spooled(written);
    if (refused > 0) {
      this.events.dropped('spool_full', refused);
      this.log.error({ refused, spoolBytes: this.spool.bytes }, 'spool full; records dropped');
    }
  }

  private enterSpooling(): void {
    this.mode = 'spooling';
    const moved = this.queue.splice(0);
    if (moved.length > 0) this.toSpool(moved);
    this.replaying ??= this.replay().finally(() => {
      this.replaying = null;
    });
  }

  private async replay(): Promise<void> {
    while (!this.stopped) {
      // Records queued while spooling are written first, so the spool holds them in order.
      if (this.queue.length > 0) this.toSpool(this.queue.splice(0));
      const { records, corruptBytes } = this.spool.read(
        this.options.batchSize * BACKLOG_BATCHES,
        MAX_BATCH_BYTES,
      );
      if (corruptBytes > 0) {
        this.events.spoolCorrupt(corruptBytes);
        this.log.error({ corruptBytes }, 'damaged spool frames skipped');
      }
      if (records.length === 0) {
        this.spool.ack();
        if (this.queue.length === 0 && this.spool.empty) {
          this.mode = 'direct';
          this.backoffMs = this.options.retryInitialMs;
          this.log.info('spool replayed; publishing directly again');
          return;
        }
        // Records arrive faster than the spool can be read back: let the queue fill.
        await this.sleep(this.options.lingerMs);
        continue;
      }
      try {
        await this.send(records);
        this.spool.ack();
        this.backoffMs = this.options.retryInitialMs;
      } catch (err) {
        this.connected = false;
        this.events.publishError();
        this.log.warn({ err, retryInMs: this.backoffMs }, 'Kafka still unreachable; spool kept');
        await this.sleep(this.backoffMs);
        // Exponential backoff with full jitter on top, capped.
        this.backoffMs = Math.min(
          this.options.retryMaxMs,
          this.backoffMs * 2 + Math.floor(Math.random() * this.backoffMs),
        );
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.wake = null;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(t);
        this.wake = null;
        resolve();
      };
    });
  }
}
