import type { Logger } from '@dnsflow/runtime';

// Which Kafka offsets may be committed. A record is "done" when Elasticsearch acknowledged its
// document (or it went to the dead-letter topic); documents finish out of order (several bulk
// requests in flight, retries), but a commit says "everything below this offset is done", so
// per partition only the contiguous run of done offsets from the oldest taken one counts.

/** One taken record's place in its partition; {@link OffsetTracker.done} marks it finished. */
export interface Ticket {
  readonly track: object;
  readonly offset: bigint;
  done: boolean;
}

interface Entry extends Ticket {
  readonly track: Track;
}

/** A committable position: the offset of the next record to read, as Kafka wants it. */
export interface TopicPartitionOffset {
  topic: string;
  partition: number;
  offset: string;
}

class Track {
  private entries: Entry[] = [];
  private head = 0;
  lastTaken = -1n;
  /** Next offset to commit (one past the contiguous done run), or -1 before any. */
  next = -1n;
  committed = -1n;
  /** Replaced by a fresh track (a rewind, a rebalance): its tickets no longer count. */
  retired = false;

  constructor(
    readonly topic: string,
    readonly partition: number,
  ) {}

  take(offset: bigint): Entry {
    if (offset <= this.lastTaken) this.rewind(offset);
    const entry: Entry = { track: this, offset, done: false };
    this.entries.push(entry);
    this.lastTaken = offset;
    return entry;
  }

  /**
   * Kafka delivers from `offset` again within the same generation: kafkajs fetches from the
   * first record the handler did not get through (a heartbeat that failed while a record
   * waited for room, with no rejoin after it), or the consumer was moved back. Tickets at and
   * after `offset` are void (their records come again and take new ones; a document of theirs
   * still in flight is a 409 or a create, either way harmless); the ones before it still hold
   * the commit back. Replacing the whole track instead let the commit pass documents that
   * were still in flight, which a crash then lost.
   */
  private rewind(offset: bigint): void {
    let keep = this.entries.length;
    while (keep > this.head && this.entries[keep - 1]!.offset >= offset) keep--;
    this.entries.length = keep;
  }

  advance(): void {
    while (this.head < this.entries.length && this.entries[this.head]!.done) {
      this.next = this.entries[this.head]!.offset + 1n;
      this.head += 1;
    }
    // Drop the finished prefix now and then instead of shifting on every record.
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
  }

  get pending(): number {
    return this.entries.length - this.head;
  }
}

/** Tracks taken and finished offsets per partition. */
export class OffsetTracker {
  private tracks = new Map<string, Track>();
  /** The track the last take used: records come a partition's batch at a time. */
  private last: Track | null = null;

  /**
   * Registers a record taken from Kafka, in the order Kafka delivered it. An offset at or
   * below the last one taken means Kafka delivers from there again: the tickets from there on
   * no longer count, and those before it still hold the commit back (see Track.rewind). A
   * rebalance is {@link reset}.
   */
  take(topic: string, partition: number, offset: string): Ticket {
    const value = BigInt(offset);
    let track = this.last;
    if (track?.partition !== partition || track.topic !== topic) {
      track = this.tracks.get(`${topic}\u0000${partition}`) ?? null;
    }
    if (!track) {
      track = new Track(topic, partition);
      this.tracks.set(`${topic}\u0000${partition}`, track);
    }
    this.last = track;
    return track.take(value);
  }

  /** Marks a record finished. */
  done(ticket: Ticket): void {
    ticket.done = true;
    const track = ticket.track as Track;
    if (!track.retired) track.advance();
  }

  /** Positions that moved past what was committed. */
  committable(): TopicPartitionOffset[] {
    const out: TopicPartitionOffset[] = [];
    for (const t of this.tracks.values()) {
      if (t.next > t.committed) {
        out.push({ topic: t.topic, partition: t.partition, offset: t.next.toString() });
      }
    }
    return out;
  }

  /** Records a successful commit of `offsets`. */
  committed(offsets: readonly TopicPartitionOffset[]): void {
    for (const o of offsets) {
      const track = this.tracks.get(`${o.topic}\u0000${o.partition}`);
      const value = BigInt(o.offset);
      if (track && value > track.committed) track.committed = value;
    }
  }

  /** Forgets every partition (after a rebalance: the new assignment starts from Kafka). */
  reset(): void {
    for (const track of this.tracks.values()) track.retired = true;
    this.tracks = new Map();
    this.last = null;
  }

  /** Records taken and not finished, over all partitions. */
  get pending(): number {
    let n = 0;
    for (const t of this.tracks.values()) n += t.pending;
    return n;
  }
}

/**
 * Commits what the tracker allows, one commit at a time and at most one per `intervalMs`: a
 * call while a commit is running, or sooner than that after the last one, marks another one
 * due, so a stream of acknowledgements becomes a commit now and then. Each commit is a write
 * to the broker's offsets log; what a crash loses by waiting is only the repeat of the
 * records since the last commit, whose creates are 409s.
 */
export class Committer {
  private running: Promise<void> | null = null;
  private again = false;
  private timer: NodeJS.Timeout | null = null;
  private lastStartMs = -Infinity;

  constructor(
    private readonly tracker: OffsetTracker,
    private readonly commit: (offsets: TopicPartitionOffset[]) => Promise<void>,
    private readonly log: Logger,
    private readonly onResult: (ok: boolean) => void = () => undefined,
    private readonly intervalMs = 0,
  ) {}

  /** Asks for a commit of everything committable: now, or when the interval allows. */
  request(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.timer) return;
    const waitMs = this.lastStartMs + this.intervalMs - Date.now();
    if (waitMs > 0) {
      this.timer = setTimeout(() => {
        this.timer = null;
        this.request();
      }, waitMs);
      this.timer.unref();
      return;
    }
    void this.start();
  }

  /** Commits everything committable now (the interval aside), after a running commit. */
  async flush(): Promise<void> {
    // A commit that ends may start the one asked for meanwhile: wait for that too.
    while (this.running) await this.running;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    await this.start();
  }

  private start(): Promise<void> {
    this.lastStartMs = Date.now();
    this.running = this.loop().finally(() => {
      this.running = null;
      // Asked again while committing: the next one waits for its interval.
      if (this.again) {
        this.again = false;
        this.request();
      }
    });
    return this.running;
  }

  private async loop(): Promise<void> {
    this.again = false;
    const offsets = this.tracker.committable();
    if (offsets.length === 0) return;
    try {
      await this.commit(offsets);
      this.tracker.committed(offsets);
      this.onResult(true);
    } catch (err) {
      // A rebalance took the partition, or the coordinator moved: the records will be
      // read again by whoever owns the partition and their creates are 409s.
      this.onResult(false);
      this.log.warn({ err, offsets }, 'offset commit failed; the next one will carry it');
    }
  }
}
