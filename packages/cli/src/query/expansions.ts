import type { Hit } from './search';

// Search-list folding for `dnsflow observe`. A resolver with `ndots:5` and three search
// domains turns one lookup of `unknown-galaxy` into queries for every expansion
// (`unknown-galaxy.starwars.svc.cluster.local`, ...) before the bare name, A and AAAA each.
// The expansions that failed (NXDOMAIN: the resolver moved on) are folded into the line of
// the name the application asked for, from the same client, as "+N expansions".

/** One output line: a transaction and how many failed expansions were folded into it. */
export interface Line {
  hit: Hit;
  expansions: number;
}

/** A failed search-list expansion: hidden unless --include-expansions. */
export function isFailedExpansion(hit: Hit): boolean {
  return hit.doc.dnsflow.search?.is_expansion === true && hit.doc.dns.response_code === 'NXDOMAIN';
}

function groupKey(hit: Hit): string {
  return `${hit.doc.source.ip} ${hit.doc.dnsflow.search?.asked_name ?? hit.doc.dns.question?.name ?? ''}`;
}

/** Options of {@link ExpansionFolder}. */
export interface FolderOptions {
  /** An expansion and its asked name are folded when this close in time. */
  windowUs: number;
  /** Bound on held transactions; past it the oldest are released unfolded. */
  maxBuffered: number;
}

/**
 * Folds failed expansions into the line of their asked name. Hits come in time order;
 * lines leave in time order once nothing later can fold into them (one window after), so
 * memory holds one window of traffic, bounded by `maxBuffered`. An expansion with no asked
 * name within the window is shown as its own line, never dropped.
 */
export class ExpansionFolder {
  /** Lines not yet final, in time order. */
  private readonly queue: Line[] = [];
  /** The newest pending line per (client, asked name). */
  private readonly lastLine = new Map<string, Line>();
  /** Failed expansions waiting for their asked name, per (client, asked name). */
  private readonly waiting = new Map<string, Hit[]>();
  private waitingCount = 0;
  /** Everything before this has been emitted. */
  private emittedUntilUs = -Infinity;

  constructor(
    private readonly options: FolderOptions,
    private readonly emit: (line: Line) => void,
  ) {}

  /** Adds a hit; emits the lines that became final. */
  push(hit: Hit): void {
    if (hit.timeUs < this.emittedUntilUs) {
      // Later than its neighbours (e.g. --follow saw it late): shown on its own.
      this.emit({ hit, expansions: 0 });
      return;
    }
    const key = groupKey(hit);
    if (isFailedExpansion(hit)) {
      const line = this.lastLine.get(key);
      if (line !== undefined && hit.timeUs - line.hit.timeUs <= this.options.windowUs) {
        line.expansions++;
      } else {
        const list = this.waiting.get(key) ?? [];
        list.push(hit);
        this.waiting.set(key, list);
        this.waitingCount++;
      }
    } else {
      let folded = 0;
      for (const w of this.waiting.get(key) ?? []) {
        if (hit.timeUs - w.timeUs <= this.options.windowUs) folded++;
        else this.insert({ hit: w, expansions: 0 });
      }
      this.waitingCount -= this.waiting.get(key)?.length ?? 0;
      this.waiting.delete(key);
      const line = { hit, expansions: folded };
      this.insert(line);
      this.lastLine.set(key, line);
    }
    this.advance(hit.timeUs - this.options.windowUs);
    while (this.queue.length + this.waitingCount > this.options.maxBuffered) {
      const oldest = Math.min(this.queue[0]?.hit.timeUs ?? Infinity, this.oldestWaitingUs());
      this.advance(oldest + 1);
    }
  }

  /** Nothing older than `timeUs` will come: releases lines and unclaimed expansions before it. */
  advance(timeUs: number): void {
    for (const [key, list] of this.waiting) {
      const keep = list.filter((w) => w.timeUs >= timeUs);
      for (const w of list) if (w.timeUs < timeUs) this.insert({ hit: w, expansions: 0 });
      this.waitingCount -= list.length - keep.length;
      if (keep.length === 0) this.waiting.delete(key);
      else this.waiting.set(key, keep);
    }
    while (this.queue.length > 0 && this.queue[0]!.hit.timeUs < timeUs) {
      const line = this.queue.shift()!;
      const key = groupKey(line.hit);
      if (this.lastLine.get(key) === line) this.lastLine.delete(key);
      this.emit(line);
    }
    this.emittedUntilUs = Math.max(this.emittedUntilUs, timeUs);
  }

  /** Releases everything held. */
  finish(): void {
    this.advance(Infinity);
  }

  private oldestWaitingUs(): number {
    let oldest = Infinity;
    for (const list of this.waiting.values()) oldest = Math.min(oldest, list[0]?.timeUs ?? oldest);
    return oldest;
  }

  /** Inserts in time order; lines arrive nearly ordered, so the scan from the end is short. */
  private insert(line: Line): void {
    let i = this.queue.length;
    while (i > 0 && this.queue[i - 1]!.hit.timeUs > line.hit.timeUs) i--;
    this.queue.splice(i, 0, line);
  }
}
