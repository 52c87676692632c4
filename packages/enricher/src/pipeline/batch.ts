import type { Logger } from '@dnsflow/runtime';
import type { K8sIdentity } from '@dnsflow/schema';
import type { Enrichment } from '../enrich';
import type { DeadLetterReason, EnricherMetrics, JoinSide, UnknownIpReason } from '../metrics';
import { deadLetter } from './dead-letter';
import { RecordTranscoder, type BatchCodecs, type DecodedInput } from './transcoder';
import type { Delivery, IdentityProgress, Joiner, OutputRecord } from './types';

/** A consumed message as the batch processor needs it. */
export interface InputMessage {
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
}

/** The consumer's controls during one batch (kafkajs' eachBatch payload, narrowed). */
export interface BatchControl {
  heartbeat(): Promise<void>;
  /** False once the consumer is stopping. */
  isRunning(): boolean;
  /** True once the partition was revoked by a rebalance. */
  isStale(): boolean;
  /** Marks everything up to `offset` as processed in the consumer's position. */
  resolveOffset(offset: string): void;
}

export interface BatchProcessorOptions {
  outputTopic: string;
  deadLetterTopic: string;
  /** Longest wait of a record with a pending address (from its arrival). */
  maxWaitMs: number;
  /** Records held across all partitions before waiting records are released early. */
  maxHeldRecords: number;
  /** How often a waiting batch looks again and heartbeats, at most this long apart. */
  pollMs?: number;
  nowMs?: () => number;
}

export type { BatchCodecs } from './transcoder';

type Entry =
  | {
      kind: 'record';
      offset: string;
      key: Buffer;
      input: DecodedInput;
      message: InputMessage;
      waited: boolean;
    }
  | { kind: 'dead'; offset: string; output: OutputRecord; reason: DeadLetterReason };

const SIDES: readonly JoinSide[] = ['client', 'server', 'answered_by'];
const FOUND = new Set(['POD', 'HOST_POD', 'NODE', 'SERVICE']);

/**
 * The counts of one delivery's records, added to the metrics once it is delivered (a
 * retried delivery does not count twice): per label set once per delivery, not per record,
 * as prom-client hashes the labels on every increment.
 */
class Tally {
  /** Per side: hits, misses, unknown. */
  private readonly sides = SIDES.map(() => ({ hit: 0, miss: 0, unknown: 0 }));
  private readonly deadLetters = new Map<DeadLetterReason, number>();

  constructor(private readonly unknownReason: UnknownIpReason) {}

  joined(value: Enrichment): void {
    this.side(0, value.client);
    this.side(1, value.server);
    this.side(2, value.answeredBy);
  }

  dead(reason: DeadLetterReason): void {
    this.deadLetters.set(reason, (this.deadLetters.get(reason) ?? 0) + 1);
  }

  count(metrics: EnricherMetrics): void {
    this.sides.forEach((n, i) => {
      const side = SIDES[i]!;
      if (n.hit > 0) metrics.joins.inc({ side, result: 'hit' }, n.hit);
      if (n.miss > 0) metrics.joins.inc({ side, result: 'miss' }, n.miss);
      if (n.unknown > 0) metrics.unknown.inc({ side, reason: this.unknownReason }, n.unknown);
    });
    for (const [reason, n] of this.deadLetters) metrics.deadLetters.inc({ reason }, n);
  }

  private side(i: number, identity: K8sIdentity | null): void {
    if (identity === null) return;
    const n = this.sides[i]!;
    if (FOUND.has(identity.kind)) n.hit++;
    else n.miss++;
    if (identity.kind === 'UNKNOWN') n.unknown++;
  }
}

/**
 * Processes one fetched batch of one input partition: decode, join, encode, deliver, in
 * offset order. A record whose address is pending (the informers may not have seen its pod
 * yet) waits in place, and so do the records behind it: offsets are committed only up to
 * the last delivered record, and with transactions a record's output and its offset commit
 * must be one unit, so nothing behind a waiting record may go out first. While it waits the
 * partition takes no new fetches (backpressure), the records before it are delivered, and
 * the wait ends when the join succeeds, the record waited `maxWaitMs`, or the held records
 * exceed `maxHeldRecords`; it is then emitted with the address UNKNOWN, counted.
 *
 * Undecodable records (and records the join or the encoder rejects) go to the dead-letter
 * topic in the same delivery, so they never stop the partition.
 */
export class BatchProcessor {
  /** Records fetched and not yet delivered, across partitions. */
  private held = 0;
  private readonly nowMs: () => number;
  private readonly transcoder: RecordTranscoder;

  constructor(
    private readonly codecs: BatchCodecs,
    private readonly joiner: Joiner,
    private readonly progress: IdentityProgress,
    private readonly delivery: Delivery,
    private readonly options: BatchProcessorOptions,
    private readonly metrics: EnricherMetrics,
    private readonly log: Logger,
  ) {
    this.nowMs = options.nowMs ?? Date.now;
    this.transcoder = new RecordTranscoder(codecs);
  }

  /** Records held in the delay buffer now. */
  get heldRecords(): number {
    return this.held;
  }

  async process(
    source: { topic: string; partition: number },
    messages: readonly InputMessage[],
    control: BatchControl,
  ): Promise<void> {
    if (messages.length === 0) return;
    const arrivedMs = this.nowMs();
    this.metrics.stage.received.inc(messages.length);
    const values: Buffer[] = [];
    for (const m of messages) if (m.value) values.push(m.value);
    await this.codecs.input.prepare(values);
    const entries = messages.map((m) => this.decode(source, m));
    this.hold(entries.length);
    let next = 0;
    try {
      while (next < entries.length) {
        if (!control.isRunning() || control.isStale()) return;
        const expired = this.nowMs() - arrivedMs >= this.options.maxWaitMs;
        const full = this.held > this.options.maxHeldRecords;
        const reason: UnknownIpReason = !expired ? 'buffer_full' : 'wait_expired';
        const { outputs, end, sent, tally } = this.take(
          source,
          entries,
          next,
          expired || full,
          reason,
        );
        if (end > next) {
          const last = entries[end - 1]!.offset;
          await this.delivery.deliver(source, outputs, (BigInt(last) + 1n).toString());
          control.resolveOffset(last);
          // Counted once delivered, so a retried delivery does not count twice.
          this.metrics.stage.sent.inc(sent);
          tally.count(this.metrics);
          this.hold(next - end);
          next = end;
        }
        if (next < entries.length) {
          const head = entries[next]!;
          if (head.kind === 'record' && !head.waited) {
            head.waited = true;
            this.metrics.delayed.inc();
          }
          const leftMs = this.options.maxWaitMs - (this.nowMs() - arrivedMs);
          await this.progress.changed(Math.max(0, Math.min(leftMs, this.options.pollMs ?? 250)));
        }
        await control.heartbeat();
      }
    } finally {
      this.hold(next - entries.length);
    }
  }

  private hold(delta: number): void {
    this.held += delta;
    this.metrics.delayBuffer.set(this.held);
  }

  /**
   * Joins entries from `start` on until one is pending (unless `final`); returns their
   * outputs, the index after the last one taken and how many went to the output topic.
   */
  private take(
    source: { topic: string; partition: number },
    entries: Entry[],
    start: number,
    final: boolean,
    reason: UnknownIpReason,
  ): { outputs: OutputRecord[]; end: number; sent: number; tally: Tally } {
    const outputs: OutputRecord[] = [];
    const tally = new Tally(final ? reason : 'unresolved');
    let sent = 0;
    let i = start;
    for (; i < entries.length; i++) {
      const entry = entries[i]!;
      if (entry.kind === 'dead') {
        outputs.push(entry.output);
        tally.dead(entry.reason);
        continue;
      }
      let outcome;
      try {
        outcome = this.joiner.join(entry.input.record, final);
      } catch (err) {
        // A record that breaks the join must not stop the partition behind it.
        this.log.error(
          { offset: entry.offset, err },
          'join failed; record goes to the dead-letter topic',
        );
        outputs.push(this.deadLetterOf(source, entry, 'enrich_failed', err));
        tally.dead('enrich_failed');
        continue;
      }
      if (outcome.status === 'pending') break;
      let value: Buffer;
      try {
        value = this.transcoder.encode(entry.input, outcome.value);
      } catch (err) {
        this.log.error(
          { offset: entry.offset, err },
          'enriched record does not encode; the input goes to the dead-letter topic',
        );
        outputs.push(this.deadLetterOf(source, entry, 'unencodable', err));
        tally.dead('unencodable');
        continue;
      }
      tally.joined(outcome.value);
      outputs.push({ topic: this.options.outputTopic, key: entry.key, value });
      sent++;
    }
    return { outputs, end: i, sent, tally };
  }

  private decode(source: { topic: string; partition: number }, message: InputMessage): Entry {
    if (message.value === null || message.value.length === 0) {
      const at = { ...source, offset: message.offset };
      return this.dead(at, message, 'undecodable', 'empty record value (a tombstone?)');
    }
    const decoded = this.transcoder.decode(message.value);
    if (decoded.status !== 'ok') {
      const at = { ...source, offset: message.offset };
      this.log.warn(
        { ...at, reason: decoded.error.reason, err: decoded.error.message },
        'undecodable record; it goes to the dead-letter topic',
      );
      return this.dead(
        at,
        message,
        'undecodable',
        `${decoded.error.reason}: ${decoded.error.message}`,
      );
    }
    // Key = client IP, like the collector's, so one client's records stay in one partition.
    const key = this.transcoder.key(decoded.value.record.client.ip);
    return {
      kind: 'record',
      offset: message.offset,
      key,
      input: decoded.value,
      message,
      waited: false,
    };
  }

  private dead(
    at: { topic: string; partition: number; offset: string },
    message: InputMessage,
    reason: DeadLetterReason,
    error: string,
  ): Entry {
    return {
      kind: 'dead',
      offset: message.offset,
      reason,
      output: deadLetter(this.options.deadLetterTopic, at, message, reason, error),
    };
  }

  private deadLetterOf(
    source: { topic: string; partition: number },
    entry: Extract<Entry, { kind: 'record' }>,
    reason: DeadLetterReason,
    err: unknown,
  ): OutputRecord {
    const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    return deadLetter(
      this.options.deadLetterTopic,
      { ...source, offset: entry.offset },
      entry.message,
      reason,
      message,
    );
  }
}
