import type { DropSink } from './segment';

/** Bounds of IP fragment reassembly. */
export interface FragmentOptions {
  /** Fragment bytes held at most, over all datagrams (Linux's ipfrag_high_thresh is 4 MiB). */
  maxBytes: number;
  /** How long, in packet time, a datagram may wait for its missing fragments. */
  timeoutMs: number;
}

interface Piece {
  offset: number;
  data: Buffer;
}

interface Datagram {
  firstSeenUs: number;
  pieces: Piece[];
  bytes: number;
  /** Payload length, known once the last fragment (MF = 0) arrived; -1 before. */
  totalBytes: number;
  /** Protocol after the fragment header, from the fragment at offset 0; -1 before. */
  protocol: number;
}

/** Largest IP payload a fragment offset can describe (13-bit offset in 8-byte units). */
const MAX_DATAGRAM_BYTES = 65535;

/**
 * Reassembles IPv4 and IPv6 fragments, keyed by the caller (addresses, protocol, id).
 * Memory is bounded by `maxBytes`: when full, the oldest datagrams are given up first
 * (counted as `fragment_overflow`), so a flood of fragments that never complete cannot
 * block new traffic. Datagrams older than `timeoutMs` are given up by {@link expire}
 * (counted as `fragment_timeout`, one per fragment held).
 */
export class FragmentReassembler {
  private readonly datagrams = new Map<string, Datagram>();
  private held = 0;
  private readonly timeoutUs: number;
  /** Protocol of the datagram the last successful {@link add} returned. */
  protocol = -1;

  constructor(
    private readonly options: FragmentOptions,
    private readonly drops: DropSink,
  ) {
    this.timeoutUs = options.timeoutMs * 1000;
  }

  /** Fragment bytes held now. */
  get heldBytes(): number {
    return this.held;
  }

  /** Datagrams waiting for fragments now. */
  get pendingDatagrams(): number {
    return this.datagrams.size;
  }

  /**
   * Adds one fragment (its payload after the IP header / fragment header). Returns the
   * whole reassembled payload when this fragment completes it, else null; every fragment
   * that does not complete a datagram is counted through the drop sink.
   */
  add(
    key: string,
    tsUs: number,
    fragOffset: number,
    more: boolean,
    protocol: number,
    data: Buffer,
  ): Buffer | null {
    const len = data.length;
    const end = fragOffset + len;
    // Every fragment but the last carries a multiple of 8 bytes (RFC 791 §3.2, RFC 8200
    // §4.5); anything else cannot be placed.
    if ((more && (len === 0 || len % 8 !== 0)) || end > MAX_DATAGRAM_BYTES) {
      this.drops.drop('bad_header');
      return null;
    }
    if (len > this.options.maxBytes) {
      this.drops.drop('fragment_overflow');
      return null;
    }
    let dg = this.datagrams.get(key);
    if (dg) {
      for (const p of dg.pieces) {
        const pEnd = p.offset + p.data.length;
        if (p.offset === fragOffset && pEnd === end) {
          // A duplicate (a retransmission, or the same packet seen on two interfaces).
          this.drops.drop('fragment_pending');
          return null;
        }
        if (p.offset < end && fragOffset < pEnd) {
          // Overlapping fragments are an evasion technique; the datagram is abandoned, as
          // RFC 8200 §4.5 requires for IPv6 and Linux does for IPv4 too.
          this.discard(key, dg, 'bad_header', 1);
          return null;
        }
      }
      const total = more ? dg.totalBytes : end;
      if (total >= 0 && (end > total || (!more && dg.totalBytes >= 0 && dg.totalBytes !== end))) {
        this.discard(key, dg, 'bad_header', 1);
        return null;
      }
    }
    this.makeRoom(len, key);
    dg = this.datagrams.get(key);
    if (!dg) {
      dg = { firstSeenUs: tsUs, pieces: [], bytes: 0, totalBytes: -1, protocol: -1 };
      this.datagrams.set(key, dg);
    }
    if (!more) {
      dg.totalBytes = end;
      if (dg.pieces.some((p) => p.offset + p.data.length > end)) {
        this.discard(key, dg, 'bad_header', 1);
        return null;
      }
    }
    if (fragOffset === 0) dg.protocol = protocol;
    // A copy: a live capture reuses the frame's buffer after the callback returns.
    dg.pieces.push({ offset: fragOffset, data: Buffer.from(data) });
    dg.bytes += len;
    this.held += len;
    if (dg.totalBytes < 0 || dg.bytes !== dg.totalBytes) {
      this.drops.drop('fragment_pending');
      return null;
    }
    // No overlaps and every byte below totalBytes: the sum of lengths proves coverage.
    const whole = Buffer.allocUnsafe(dg.totalBytes);
    for (const p of dg.pieces) p.data.copy(whole, p.offset);
    this.datagrams.delete(key);
    this.held -= dg.bytes;
    this.protocol = dg.protocol;
    return whole;
  }

  /** Gives up datagrams whose first fragment is older than the timeout at `nowUs`. */
  expire(nowUs: number): void {
    // Map order is arrival order of each datagram's first fragment, so the scan stops at
    // the first one still in time (packet times from merged interfaces may be slightly
    // out of order; such a datagram waits until the next call).
    for (const [key, dg] of this.datagrams) {
      if (dg.firstSeenUs + this.timeoutUs > nowUs) break;
      this.discard(key, dg, 'fragment_timeout', 0);
    }
  }

  private makeRoom(len: number, keep: string): void {
    for (const [key, dg] of this.datagrams) {
      if (this.held + len <= this.options.maxBytes) return;
      if (key !== keep) this.discard(key, dg, 'fragment_overflow', 0);
    }
    // Only the datagram this fragment belongs to is left and it is too large together.
    const own = this.datagrams.get(keep);
    if (own && this.held + len > this.options.maxBytes) {
      this.discard(keep, own, 'fragment_overflow', 0);
    }
  }

  private discard(
    key: string,
    dg: Datagram,
    reason: 'bad_header' | 'fragment_timeout' | 'fragment_overflow',
    extra: number,
  ): void {
    this.datagrams.delete(key);
    this.held -= dg.bytes;
    this.drops.drop(reason, dg.pieces.length + extra);
  }
}
