import type { Endpoint } from '@dnsflow/schema';
import type { DnsSegment, DropSink } from './segment';

/** Bounds and timeouts of TCP stream reassembly. */
export interface TcpStreamOptions {
  /** Bytes buffered at most per direction of a flow (partial message plus out-of-order data). */
  maxFlowBytes: number;
  /** Bytes buffered at most over all flows. */
  maxTotalBytes: number;
  /** Flow directions tracked at most; the least recently active one goes first. */
  maxFlows: number;
  /** A direction with no packet for this long (packet time) is closed. */
  idleTimeoutMs: number;
  /** How long out-of-order data waits for the missing bytes before they count as lost. */
  reorderTimeoutMs: number;
}

interface Pending {
  seq: number;
  data: Buffer;
  tsUs: number;
}

/** One direction of a TCP connection: a byte stream of length-prefixed DNS messages. */
interface Direction {
  src: Endpoint;
  dst: Endpoint;
  iface: string | null;
  /** Sequence number of the next byte expected; meaningful once `started`. */
  nextSeq: number;
  started: boolean;
  /** True when `partial` starts at a message boundary. */
  synced: boolean;
  /** Bytes of the message being assembled, from its length prefix on. */
  partial: Buffer | null;
  /** Segments after a hole, ordered by sequence number. */
  outOfOrder: Pending[];
  outOfOrderBytes: number;
  finished: boolean;
  lastSeenUs: number;
}

/** DNS header length (RFC 1035 §4.1.1): a length prefix below it cannot start a message. */
const DNS_HEADER_BYTES = 12;
/** Segments held after a hole before the hole is taken as lost. */
const MAX_OUT_OF_ORDER_SEGMENTS = 32;
/** Opcodes in use: QUERY, IQUERY, STATUS, NOTIFY, UPDATE, DSO (RFC 8490). */
const KNOWN_OPCODES = new Set([0, 1, 2, 4, 5, 6]);

/** Signed distance from `b` to `a` in 32-bit sequence space (RFC 9293 §3.4). */
const seqDiff = (a: number, b: number): number => (a - b) | 0;

/**
 * Whether `buf[pos]` can start a DNS-over-TCP message of `len` bytes (RFC 7766 §8): a
 * header with a known opcode, at most one question, and record counts that fit in `len`
 * (each record takes at least 11 bytes, each question 5).
 */
function saneHeader(buf: Buffer, pos: number, len: number): boolean {
  if (len < DNS_HEADER_BYTES || buf.length < pos + DNS_HEADER_BYTES) return false;
  if (!KNOWN_OPCODES.has(((buf[pos + 2] ?? 0) >> 3) & 0x0f)) return false;
  const qd = buf.readUInt16BE(pos + 4);
  if (qd > 1) return false;
  const records =
    buf.readUInt16BE(pos + 6) + buf.readUInt16BE(pos + 8) + buf.readUInt16BE(pos + 10);
  return qd * 5 + records * 11 <= len - DNS_HEADER_BYTES;
}

/**
 * Finds where a message starts in `data` when the stream was picked up mid-way: a length
 * prefix and a sane header, confirmed by ending exactly at the end of the data or by
 * another sane message right after. A message that runs past the data is accepted only at
 * offset 0, where clients usually start their writes. Returns -1 when nothing fits.
 */
export function findMessageBoundary(data: Buffer): number {
  for (let i = 0; i + 2 + DNS_HEADER_BYTES <= data.length; i++) {
    const len = data.readUInt16BE(i);
    if (!saneHeader(data, i + 2, len)) continue;
    const next = i + 2 + len;
    if (next === data.length) return i;
    if (next > data.length) {
      if (i === 0) return i;
      continue;
    }
    if (data.length - next < 2 + DNS_HEADER_BYTES) return i;
    if (saneHeader(data, next + 2, data.readUInt16BE(next))) return i;
  }
  return -1;
}

/**
 * Cuts TCP byte streams into DNS messages (RFC 1035 §4.2.2, RFC 7766 §8: each message is
 * preceded by a 2-byte length). Handles segments in any order, retransmissions and
 * overlaps (the first copy of a byte wins), streams picked up without their SYN, holes
 * (counted `tcp_gap`, then resynchronised at a plausible boundary), FIN/RST, idle flows,
 * and bounds memory per direction and overall (counted `tcp_overflow`).
 */
export class TcpStreams {
  /** Directions keyed "src|sport|dst|dport", in order of last activity (oldest first). */
  private readonly flows = new Map<string, Direction>();
  /** Directions holding out-of-order data, checked against the reorder timeout. */
  private readonly stalled = new Set<string>();
  private total = 0;
  private readonly idleUs: number;
  private readonly reorderUs: number;

  constructor(
    private readonly options: TcpStreamOptions,
    private readonly drops: DropSink,
  ) {
    this.idleUs = options.idleTimeoutMs * 1000;
    this.reorderUs = options.reorderTimeoutMs * 1000;
  }

  /** Bytes buffered over all flows. */
  get heldBytes(): number {
    return this.total;
  }

  /** Flow directions tracked. */
  get flowCount(): number {
    return this.flows.size;
  }

  /**
   * Feeds one TCP segment of the direction `key` and appends every message it completes
   * to `out`. `reverseKey` names the opposite direction, which an RST closes too.
   */
  segment(
    key: string,
    reverseKey: string,
    src: Endpoint,
    dst: Endpoint,
    iface: string | null,
    tsUs: number,
    seq: number,
    flags: number,
    data: Buffer,
    out: DnsSegment[],
  ): void {
    const syn = (flags & 0x02) !== 0;
    const fin = (flags & 0x01) !== 0;
    if (flags & 0x04) {
      // RST: the connection is gone both ways; what is half-assembled never completes.
      this.close(key, 'truncated');
      this.close(reverseKey, 'truncated');
      return;
    }
    let d = this.flows.get(key);
    if (d === undefined) {
      if (data.length === 0 && !syn) return;
      d = this.open(key, src, dst, iface);
    } else {
      // Re-inserting keeps the map in order of activity for eviction and idle expiry.
      this.flows.delete(key);
      this.flows.set(key, d);
    }
    d.lastSeenUs = tsUs;
    let start = seq;
    if (syn) {
      // A SYN (also a new connection reusing the ports) puts a boundary right after it.
      this.clear(d);
      d.nextSeq = (seq + 1) >>> 0;
      d.started = true;
      d.synced = true;
      d.finished = false;
      start = d.nextSeq;
    }
    if (data.length > 0) {
      if (!d.started) {
        d.started = true;
        d.nextSeq = start;
        d.synced = false;
      }
      this.accept(key, d, start, data, tsUs, out);
    }
    if (fin) d.finished = true;
    if (d.finished && d.outOfOrder.length === 0) this.close(key, 'truncated');
  }

  /**
   * Resolves holes older than the reorder timeout and closes directions idle longer than
   * the idle timeout, at packet time `nowUs`. Appends messages found after a hole to `out`.
   */
  expire(nowUs: number, out: DnsSegment[]): void {
    for (const key of this.stalled) {
      const d = this.flows.get(key);
      const first = d?.outOfOrder[0];
      if (d && first && first.tsUs + this.reorderUs <= nowUs) this.skipHole(key, d, out);
    }
    for (const [key, d] of this.flows) {
      if (d.lastSeenUs + this.idleUs > nowUs) break;
      if (d.outOfOrder.length > 0) this.skipHole(key, d, out);
      this.close(key, 'truncated');
    }
  }

  private open(key: string, src: Endpoint, dst: Endpoint, iface: string | null): Direction {
    if (this.flows.size >= this.options.maxFlows) {
      const oldest = this.flows.keys().next();
      if (!oldest.done) this.close(oldest.value, 'tcp_overflow');
    }
    const d: Direction = {
      src,
      dst,
      iface,
      nextSeq: 0,
      started: false,
      synced: false,
      partial: null,
      outOfOrder: [],
      outOfOrderBytes: 0,
      finished: false,
      lastSeenUs: 0,
    };
    this.flows.set(key, d);
    return d;
  }

  private accept(
    key: string,
    d: Direction,
    seq: number,
    data: Buffer,
    tsUs: number,
    out: DnsSegment[],
  ): void {
    let bytes = data;
    const diff = seqDiff(seq, d.nextSeq);
    if (diff < 0) {
      // Retransmitted or overlapping: only bytes beyond what was seen are new.
      if (-diff >= bytes.length) return;
      bytes = bytes.subarray(-diff);
    } else if (diff > 0) {
      this.hold(key, d, seq, bytes, tsUs, out);
      return;
    }
    this.append(d, bytes, tsUs, out);
    this.drain(key, d, out);
  }

  /** Keeps a segment that arrived ahead of a hole. */
  private hold(
    key: string,
    d: Direction,
    seq: number,
    data: Buffer,
    tsUs: number,
    out: DnsSegment[],
  ): void {
    let i = d.outOfOrder.length;
    while (i > 0 && seqDiff(d.outOfOrder[i - 1]!.seq, seq) > 0) i--;
    const before = d.outOfOrder[i - 1];
    if (before && before.seq === seq && before.data.length >= data.length) return;
    if (!this.reserve(d, data.length)) return;
    d.outOfOrder.splice(i, 0, { seq, data: Buffer.from(data), tsUs });
    d.outOfOrderBytes += data.length;
    this.stalled.add(key);
    if (d.outOfOrder.length > MAX_OUT_OF_ORDER_SEGMENTS) this.skipHole(key, d, out);
  }

  /** Appends in-order segments that the latest bytes made contiguous. */
  private drain(key: string, d: Direction, out: DnsSegment[]): void {
    while (d.outOfOrder.length > 0) {
      const next = d.outOfOrder[0]!;
      const diff = seqDiff(next.seq, d.nextSeq);
      if (diff > 0) return;
      d.outOfOrder.shift();
      d.outOfOrderBytes -= next.data.length;
      this.total -= next.data.length;
      if (-diff < next.data.length) this.append(d, next.data.subarray(-diff), next.tsUs, out);
    }
    this.stalled.delete(key);
  }

  /** Gives up the bytes of the first hole and continues after it, at a new boundary. */
  private skipHole(key: string, d: Direction, out: DnsSegment[]): void {
    const first = d.outOfOrder[0];
    if (!first) return;
    this.drops.drop('tcp_gap');
    this.dropPartial(d);
    d.synced = false;
    d.nextSeq = first.seq;
    this.drain(key, d, out);
  }

  /** Appends contiguous bytes and emits every message they complete. */
  private append(d: Direction, data: Buffer, tsUs: number, out: DnsSegment[]): void {
    d.nextSeq = (d.nextSeq + data.length) >>> 0;
    let bytes = data;
    if (!d.synced) {
      const at = findMessageBoundary(bytes);
      if (at < 0) {
        // No boundary yet: these bytes belong to a message whose start we never saw.
        this.drops.drop('tcp_gap');
        return;
      }
      bytes = bytes.subarray(at);
      d.synced = true;
    }
    let buf = bytes;
    if (d.partial) {
      buf = Buffer.concat([d.partial, bytes]);
      this.dropPartial(d);
    }
    let pos = 0;
    while (buf.length - pos >= 2) {
      const len = buf.readUInt16BE(pos);
      if (len < DNS_HEADER_BYTES) {
        this.drops.drop('tcp_bad_length');
        d.synced = false;
        return;
      }
      if (buf.length - pos - 2 < len) break;
      out.push({
        tsUs,
        iface: d.iface,
        src: d.src,
        dst: d.dst,
        transport: 'TCP',
        payload: buf.subarray(pos + 2, pos + 2 + len),
      });
      pos += 2 + len;
    }
    const rest = buf.length - pos;
    if (rest > 0 && this.reserve(d, rest)) {
      // A copy: the frame's buffer is not ours to keep.
      d.partial = Buffer.from(buf.subarray(pos));
    }
  }

  /**
   * Accounts `bytes` more for `d`. Over the per-direction bound, the direction's buffers
   * are given up; over the global bound, the least recently active directions' are.
   */
  private reserve(d: Direction, bytes: number): boolean {
    const held = (d.partial?.length ?? 0) + d.outOfOrderBytes;
    if (held + bytes > this.options.maxFlowBytes) {
      this.drops.drop('tcp_overflow');
      this.clear(d);
      return false;
    }
    for (const other of this.flows.values()) {
      if (this.total + bytes <= this.options.maxTotalBytes) break;
      if (other === d || (other.partial === null && other.outOfOrderBytes === 0)) continue;
      this.drops.drop('tcp_overflow');
      this.clear(other);
    }
    if (this.total + bytes > this.options.maxTotalBytes) {
      this.drops.drop('tcp_overflow');
      this.clear(d);
      return false;
    }
    this.total += bytes;
    return true;
  }

  private dropPartial(d: Direction): void {
    if (d.partial) this.total -= d.partial.length;
    d.partial = null;
  }

  /** Forgets a direction's buffered bytes; it resynchronises on later data. */
  private clear(d: Direction): void {
    this.dropPartial(d);
    this.total -= d.outOfOrderBytes;
    d.outOfOrder = [];
    d.outOfOrderBytes = 0;
    d.synced = false;
  }

  private close(key: string, reason: 'truncated' | 'tcp_overflow'): void {
    const d = this.flows.get(key);
    if (!d) return;
    // Bytes still buffered belong to a message that will never complete.
    if (d.partial !== null || d.outOfOrderBytes > 0) this.drops.drop(reason);
    this.clear(d);
    this.flows.delete(key);
    this.stalled.delete(key);
  }
}
