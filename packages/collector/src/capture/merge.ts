/**
 * Merges the frames of several capture handles into one stream in capture-time order.
 *
 * Each libpcap handle hands its frames over in blocks (the kernel ring's block timeout), so
 * with one handle per interface a block from the DNS pod's interface, holding a query after
 * DNAT and its response, can arrive before the block from the client's interface that holds
 * the query as the client sent it. Pairing needs the order the packets had on the wire: the
 * first sighting of a query is what the client asked, and a copy seen later across the NAT
 * merges into it. So frames wait here until no handle can still deliver an earlier one:
 * until every handle has delivered something later, or `windowUs` of wall time has passed
 * (an idle handle delivers nothing and must not hold the others back).
 *
 * Memory is bounded by `maxQueued` frames: past it the oldest frames leave at once, in
 * order among themselves (counted by `onEarly`); nothing is dropped.
 */
export interface Timed {
  tsUs: number;
}

export interface TimeOrderedMergeOptions<T extends Timed> {
  /** Number of sources (handles); `push` takes an index below it. */
  sources: number;
  /** How long a frame may wait for earlier frames of the other sources. */
  windowUs: number;
  /** Frames held at most, across sources. */
  maxQueued: number;
  deliver: (item: T) => void;
  /** Called with how many frames left before their window because the bound was reached. */
  onEarly?: (count: number) => void;
}

/** A FIFO that keeps its array and moves a head index (no `shift()` per item). */
class Queue<T> {
  private items: T[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  peek(): T | undefined {
    return this.items[this.head];
  }

  push(item: T): void {
    this.items.push(item);
  }

  take(): T {
    const item = this.items[this.head]!;
    this.items[this.head] = undefined as T;
    this.head += 1;
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }
}

export class TimeOrderedMerge<T extends Timed> {
  private readonly queues: Queue<T>[];
  /** Latest capture time each source delivered. */
  private readonly latestUs: number[];
  private queued = 0;

  constructor(private readonly options: TimeOrderedMergeOptions<T>) {
    if (!Number.isInteger(options.sources) || options.sources < 1) {
      throw new RangeError(
        `TimeOrderedMerge: expected at least 1 source, found ${options.sources}`,
      );
    }
    this.queues = Array.from({ length: options.sources }, () => new Queue<T>());
    this.latestUs = new Array<number>(options.sources).fill(0);
  }

  /** Frames waiting. */
  get size(): number {
    return this.queued;
  }

  /** Takes a frame from `source`; frames of one source arrive in their capture order. */
  push(source: number, item: T): void {
    this.queues[source]!.push(item);
    if (item.tsUs > this.latestUs[source]!) this.latestUs[source] = item.tsUs;
    this.queued += 1;
    if (this.queued > this.options.maxQueued) {
      const early = this.queued - this.options.maxQueued;
      this.releaseCount(early);
      this.options.onEarly?.(early);
    }
  }

  /**
   * Delivers, in capture-time order, every frame no source can still precede: those at or
   * before the earliest of the sources' latest times, and all those older than `windowUs`
   * before `nowUs`.
   */
  release(nowUs: number): void {
    if (this.queued === 0) return;
    const floor = nowUs - this.options.windowUs;
    let horizon = Number.POSITIVE_INFINITY;
    for (const latest of this.latestUs) horizon = Math.min(horizon, Math.max(latest, floor));
    for (;;) {
      const source = this.earliest();
      if (source < 0 || this.queues[source]!.peek()!.tsUs > horizon) return;
      this.take(source);
    }
  }

  /** Delivers everything waiting, in order (end of capture). */
  flush(): void {
    this.releaseCount(this.queued);
  }

  private releaseCount(count: number): void {
    for (let i = 0; i < count; i++) {
      const source = this.earliest();
      if (source < 0) return;
      this.take(source);
    }
  }

  private take(source: number): void {
    const item = this.queues[source]!.take();
    this.queued -= 1;
    this.options.deliver(item);
  }

  /** The source whose next frame is the earliest, or -1 when none waits. */
  private earliest(): number {
    let best = -1;
    let bestTs = Number.POSITIVE_INFINITY;
    for (let s = 0; s < this.queues.length; s++) {
      const head = this.queues[s]!.peek();
      if (head !== undefined && head.tsUs < bestTs) {
        best = s;
        bestTs = head.tsUs;
      }
    }
    return best;
  }
}
