import type { K8sIdentity } from '@dnsflow/schema';

// A key (an IP, an IP and port, a service or pod DNS name) maps to intervals [fromUs, toUs)
// with the identity that held the key then. At most one interval per key is open (toUs =
// Infinity); a new holder closes it. Closed intervals (tombstones) stay for a window so that
// delayed and replayed records still join the identity that held the key at their time, then
// they are pruned; a cap on the number of intervals evicts the oldest tombstones first.

/** One holder of a key over a time range. */
interface Interval {
  readonly fromUs: number;
  toUs: number;
  readonly identity: K8sIdentity;
  /** The lookup answer for this interval, built once: joins allocate nothing. */
  readonly found: TimelineFound;
  /** Canonical text of the identity, to tell a real change from a repeated event. */
  readonly identityKey: string;
  /** Pinned intervals (static inventory) are never pruned or evicted. */
  readonly pinned: boolean;
}

interface Slot {
  intervals: Interval[];
  /** Records before this time may have joined a holder that was pruned or evicted. */
  forgottenBeforeUs: number;
}

/** A holder found by {@link Timeline.lookup}. */
export interface TimelineFound {
  readonly status: 'found';
  readonly identity: K8sIdentity;
}

/** What {@link Timeline.lookup} knows about a key at a time. */
export type TimelineLookup =
  | TimelineFound
  /** Nothing held the key then (and the history for that time is complete). */
  | { status: 'free' }
  /** A holder of that time may have been pruned or evicted. */
  | { status: 'forgotten' };

export interface TimelineOptions {
  /** How long a closed interval is kept after it ended. */
  tombstoneWindowUs: number;
  /** Cap on intervals (open and closed); over it the oldest tombstones are evicted. */
  maxEntries: number;
}

/** Counters of a {@link Timeline}. */
export interface TimelineStats {
  keys: number;
  intervals: number;
  open: number;
  /** Tombstones dropped after the window. */
  pruned: number;
  /** Tombstones dropped early because of the cap. */
  evicted: number;
}

/** Options of {@link Timeline.set}. */
export interface TimelineSetOptions {
  /**
   * When the new holder came into existence (e.g. the pod's creationTimestamp). Used only
   * when the key is free: the holder's interval then starts there (not before the previous
   * holder's end) instead of at the time the change was observed, because the watch event
   * that announces an IP arrives after the IP is in use.
   */
  sinceUs?: number | null;
  /**
   * The open holder no longer exists (deleted, or absent from a re-list): it let go of the
   * key at some point before now, so the new holder may start at `sinceUs` even while the
   * old interval is still open. Without this, a holder still present keeps the key until
   * `atUs`.
   */
  previousGone?: boolean;
  pinned?: boolean;
}

/** Canonical text of an identity: equal identities, equal text. */
export function identityKey(identity: K8sIdentity): string {
  const labels = Object.keys(identity.labels)
    .sort()
    .map((k) => `${k}=${identity.labels[k]}`)
    .join(',');
  return [
    identity.kind,
    identity.namespace,
    identity.pod,
    identity.podUid,
    identity.node,
    identity.workloadKind,
    identity.workloadName,
    identity.service,
    identity.serviceNamespace,
    identity.serviceType,
    labels,
  ].join('|');
}

/** Time-indexed map from keys to identities. */
export class Timeline {
  private readonly slots = new Map<string, Slot>();
  /** Keys with no interval left that only remember having forgotten some, oldest first. */
  private readonly emptySlots = new Set<string>();
  /** Closed, unpinned intervals in the order they were closed (oldest first). */
  private closed: { key: string; interval: Interval }[] = [];
  private closedHead = 0;
  private intervalCount = 0;
  private openCount = 0;
  private prunedCount = 0;
  private evictedCount = 0;

  constructor(private readonly options: TimelineOptions) {}

  /**
   * Makes `identity` (or nobody, for null) the holder of `key` from `atUs` on. Returns true
   * when the timeline changed (a repeated identical holder changes nothing).
   */
  set(
    key: string,
    identity: K8sIdentity | null,
    atUs: number,
    options: TimelineSetOptions = {},
  ): boolean {
    let slot = this.slots.get(key);
    const last = slot?.intervals[slot.intervals.length - 1];
    const open = last && last.toUs === Infinity ? last : undefined;
    if (identity === null) {
      if (!open || !slot) return false;
      this.close(key, slot, open, atUs);
      this.dropSlotIfEmpty(key, slot);
      return true;
    }
    const idKey = identityKey(identity);
    if (open && open.identityKey === idKey) return false;

    const since = Math.min(options.sinceUs ?? atUs, atUs);
    let fromUs: number;
    if (open && slot) {
      // A previous holder that still exists keeps the key until the change was observed:
      // backdating would take time away from a holder we know was there.
      fromUs = Math.max(open.fromUs, options.previousGone ? since : atUs);
      this.close(key, slot, open, fromUs);
    } else {
      fromUs = Math.max(since, last ? last.toUs : -Infinity);
    }
    if (!slot) {
      slot = { intervals: [], forgottenBeforeUs: -Infinity };
      this.slots.set(key, slot);
    }
    this.emptySlots.delete(key);
    slot.intervals.push({
      fromUs,
      toUs: Infinity,
      identity,
      found: Object.freeze({ status: 'found', identity }),
      identityKey: idKey,
      pinned: options.pinned ?? false,
    });
    this.intervalCount++;
    this.openCount++;
    this.enforceCap();
    return true;
  }

  /** Who held `key` at `atUs`. */
  lookup(key: string, atUs: number): TimelineLookup {
    const slot = this.slots.get(key);
    if (!slot) return FREE;
    const intervals = slot.intervals;
    // Newest first: most records join the current holder.
    for (let i = intervals.length - 1; i >= 0; i--) {
      const interval = intervals[i]!;
      if (atUs >= interval.fromUs) {
        return atUs < interval.toUs ? interval.found : FREE;
      }
    }
    return atUs < slot.forgottenBeforeUs ? FORGOTTEN : FREE;
  }

  /** The current (open) holder of `key`, if any. */
  current(key: string): K8sIdentity | null {
    const intervals = this.slots.get(key)?.intervals;
    const last = intervals?.[intervals.length - 1];
    return last && last.toUs === Infinity ? last.identity : null;
  }

  /** Drops tombstones that ended more than the window before `nowUs`; returns how many. */
  prune(nowUs: number): number {
    let dropped = 0;
    const limit = nowUs - this.options.tombstoneWindowUs;
    while (this.closedHead < this.closed.length) {
      const entry = this.closed[this.closedHead]!;
      if (entry.interval.toUs > limit) break;
      this.closedHead++;
      if (this.drop(entry.key, entry.interval)) dropped++;
    }
    this.compactQueue();
    this.prunedCount += dropped;
    return dropped;
  }

  stats(): TimelineStats {
    return {
      keys: this.slots.size,
      intervals: this.intervalCount,
      open: this.openCount,
      pruned: this.prunedCount,
      evicted: this.evictedCount,
    };
  }

  private close(key: string, slot: Slot, open: Interval, atUs: number): void {
    open.toUs = Math.max(open.fromUs, atUs);
    this.openCount--;
    if (open.toUs <= open.fromUs) {
      // Held for no time at all (a holder replaced at the instant it appeared): no tombstone.
      // The caller drops the slot if that left it empty.
      slot.intervals.pop();
      this.intervalCount--;
      return;
    }
    if (!open.pinned) this.closed.push({ key, interval: open });
  }

  /** Removes one closed interval; false when it was already gone. */
  private drop(key: string, interval: Interval): boolean {
    const slot = this.slots.get(key);
    if (!slot) return false;
    const index = slot.intervals.indexOf(interval);
    if (index === -1) return false;
    slot.intervals.splice(index, 1);
    this.intervalCount--;
    slot.forgottenBeforeUs = Math.max(slot.forgottenBeforeUs, interval.toUs);
    this.dropSlotIfEmpty(key, slot);
    return true;
  }

  private dropSlotIfEmpty(key: string, slot: Slot): void {
    // An empty slot that forgot nothing can go; one that forgot something keeps the mark so
    // an old record is reported as forgotten rather than as never held.
    if (slot.intervals.length > 0) return;
    if (slot.forgottenBeforeUs === -Infinity) {
      this.slots.delete(key);
      return;
    }
    this.emptySlots.add(key);
    // Those marks are bounded too: past the cap the oldest go, and a very old record for
    // such a key then reads as free instead of forgotten.
    if (this.emptySlots.size > this.options.maxEntries) {
      const oldest = this.emptySlots.values().next().value as string;
      this.emptySlots.delete(oldest);
      this.slots.delete(oldest);
    }
  }

  private enforceCap(): void {
    while (this.intervalCount > this.options.maxEntries && this.closedHead < this.closed.length) {
      const entry = this.closed[this.closedHead++]!;
      if (this.drop(entry.key, entry.interval)) this.evictedCount++;
    }
    this.compactQueue();
  }

  private compactQueue(): void {
    if (this.closedHead > 1024 && this.closedHead * 2 > this.closed.length) {
      this.closed = this.closed.slice(this.closedHead);
      this.closedHead = 0;
    }
  }
}

const FREE: TimelineLookup = Object.freeze({ status: 'free' });
const FORGOTTEN: TimelineLookup = Object.freeze({ status: 'forgotten' });
