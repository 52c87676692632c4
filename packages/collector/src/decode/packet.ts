import type { Endpoint } from '@dnsflow/schema';
import type { Frame } from '../capture/frame';
import { ipv4AddressText, ipv6AddressText } from './address';
import { FragmentReassembler } from './fragments';
import type { FragmentOptions } from './fragments';
import { ipv6Extensions, newIpResult, parseIpv4, parseIpv6 } from './ip';
import type { IpResult } from './ip';
import { parseLink } from './link';
import type { LinkResult } from './link';
import type { DnsSegment, DropSink, PacketDropReason } from './segment';
import { TcpStreams } from './tcp-stream';
import type { TcpStreamOptions } from './tcp-stream';

/** Options of {@link createPacketDecoder}; every bound has a default. */
export interface PacketDecoderOptions {
  /** Receives every drop with its reason. */
  drops: DropSink;
  /** UDP/TCP ports that carry DNS (either side). Default [53]. */
  dnsPorts?: Iterable<number>;
  /**
   * IP fragment reassembly bounds. Defaults: 4 MiB and 30 s, Linux's ipfrag_high_thresh
   * and ipfrag_time.
   */
  fragments?: Partial<FragmentOptions>;
  /**
   * TCP reassembly bounds. Defaults: 256 KiB per direction (a few 64 KiB messages),
   * 64 MiB in all, 65536 directions, 60 s idle, 1 s reorder wait.
   */
  tcp?: Partial<TcpStreamOptions>;
}

/** Counters and gauges of a decoder. */
export interface PacketDecoderStats {
  /** Frames passed to decode(). */
  frames: number;
  /** DNS messages produced from UDP datagrams. */
  udpMessages: number;
  /** DNS messages produced from TCP streams. */
  tcpMessages: number;
  /** Datagrams waiting for fragments, and the bytes they hold. */
  fragmentDatagrams: number;
  fragmentBytes: number;
  /** TCP flow directions tracked, and the bytes they buffer. */
  tcpFlows: number;
  tcpBytes: number;
}

/** Turns captured frames into DNS messages; see {@link createPacketDecoder}. */
export interface PacketDecoder {
  /**
   * The DNS messages a frame completes: none (the reason is counted through the drop
   * sink), one for a UDP datagram, any number for a TCP segment. Never throws.
   */
  decode(frame: Frame): DnsSegment[];
  /**
   * Advances packet time to `nowUs`: gives up fragments and TCP holes that waited too
   * long and closes idle TCP flows. Returns the messages found after a TCP hole.
   * decode() calls it once a second of packet time by itself; a live source with no
   * traffic calls it on a timer.
   */
  expire(nowUs: number): DnsSegment[];
  stats(): PacketDecoderStats;
}

const PROTO_TCP = 6;
const PROTO_UDP = 17;
const FRAGMENTABLE_V4 = new Set([PROTO_TCP, PROTO_UDP]);
/** In IPv6 the fragmentable part may start with extension headers (0, 43, 60, AH 51). */
const FRAGMENTABLE_V6 = new Set([PROTO_TCP, PROTO_UDP, 0, 43, 60, 51]);
const EXPIRE_EVERY_US = 1_000_000;
const NONE: DnsSegment[] = [];
Object.freeze(NONE);

/** The keys of `o` whose value is not undefined, so they do not hide defaults. */
function definedOnly<T extends object>(o: T | undefined): Partial<T> {
  const out: Partial<T> = {};
  if (o) {
    for (const [k, v] of Object.entries(o))
      if (v !== undefined) out[k as keyof T] = v as T[keyof T];
  }
  return out;
}

/**
 * Creates a decoder of link-layer frames into DNS messages: link layer, IPv4/IPv6 with
 * fragment reassembly, UDP and TCP (with stream reassembly) on the configured DNS ports.
 * Keeps state (fragments, TCP flows) between frames, bounded by the options.
 */
export function createPacketDecoder(options: PacketDecoderOptions): PacketDecoder {
  const drops = options.drops;
  const ports = new Uint8Array(65536);
  for (const p of options.dnsPorts ?? [53]) ports[p] = 1;
  const fragments = new FragmentReassembler(
    { maxBytes: 4 << 20, timeoutMs: 30_000, ...definedOnly(options.fragments) },
    drops,
  );
  const tcp = new TcpStreams(
    {
      maxFlowBytes: 256 << 10,
      maxTotalBytes: 64 << 20,
      maxFlows: 65536,
      idleTimeoutMs: 60_000,
      reorderTimeoutMs: 1000,
      ...definedOnly(options.tcp),
    },
    drops,
  );
  const link: LinkResult = { offset: 0, ipVersion: 0 };
  const ip: IpResult = newIpResult();
  let frames = 0;
  let udpMessages = 0;
  let tcpMessages = 0;
  let nextExpireUs = -Infinity;

  const drop = (reason: PacketDropReason): DnsSegment[] => {
    drops.drop(reason);
    return NONE;
  };

  const expire = (nowUs: number): DnsSegment[] => {
    fragments.expire(nowUs);
    const out: DnsSegment[] = [];
    tcp.expire(nowUs, out);
    tcpMessages += out.length;
    return out.length > 0 ? out : NONE;
  };

  const addressText = (offset: number): string =>
    ip.ipVersion === 4 ? ipv4AddressText(ip.addrBuf, offset) : ipv6AddressText(ip.addrBuf, offset);

  /** Replaces a fragment in `ip` by its reassembled datagram, or says why not yet. */
  const reassemble = (frame: Frame): PacketDropReason | 'pending' | null => {
    const proto = ip.protocol;
    const v6 = ip.ipVersion === 6;
    // Only what could carry DNS is kept: memory spent on other traffic would be wasted.
    if (!(v6 ? FRAGMENTABLE_V6 : FRAGMENTABLE_V4).has(proto)) return 'unsupported_transport';
    // Keys: RFC 791 §3.2 (src, dst, protocol, id) and RFC 8200 §4.5 (src, dst, id).
    const key = v6
      ? `6|${ip.addrBuf.toString('latin1', ip.srcOffset, ip.srcOffset + 32)}|${ip.fragId}`
      : `4|${ip.addrBuf.readUInt32BE(ip.srcOffset)}|${ip.addrBuf.readUInt32BE(ip.dstOffset)}|${proto}|${ip.fragId}`;
    const whole = fragments.add(
      key,
      frame.tsUs,
      ip.fragOffset,
      ip.moreFragments,
      proto,
      ip.payload.subarray(ip.payloadOffset, ip.payloadEnd),
    );
    if (whole === null) return 'pending';
    if (!v6) {
      ip.payload = whole;
      ip.payloadOffset = 0;
      ip.payloadEnd = whole.length;
      return null;
    }
    // Headers after the Fragment header are part of the fragmentable payload (RFC 8200 §4.5).
    ip.fragmented = false;
    const reason = ipv6Extensions(fragments.protocol, whole, 0, whole.length, ip);
    if (reason === null && ip.fragmented) return 'bad_header';
    return reason;
  };

  const decodeUnsafe = (frame: Frame): DnsSegment[] => {
    const data = frame.data;
    let reason = parseLink(frame.linkType, data, link);
    if (reason !== null) return drop(reason);
    reason =
      link.ipVersion === 4 ? parseIpv4(data, link.offset, ip) : parseIpv6(data, link.offset, ip);
    if (reason !== null) return drop(reason);
    if (ip.fragmented) {
      const r = reassemble(frame);
      if (r === 'pending') return NONE;
      if (r !== null) return drop(r);
    }
    const buf = ip.payload;
    const pos = ip.payloadOffset;
    const end = ip.payloadEnd;
    if (ip.protocol === PROTO_UDP) {
      if (end - pos < 8) return drop('truncated');
      const sport = buf.readUInt16BE(pos);
      const dport = buf.readUInt16BE(pos + 2);
      if (ports[sport] === 0 && ports[dport] === 0) return drop('not_dns_port');
      const udpBytes = buf.readUInt16BE(pos + 4);
      if (udpBytes < 8) return drop('bad_header');
      if (pos + udpBytes > end) return drop('truncated');
      udpMessages++;
      // A view, not a copy: the frame stays alive as long as the segment does.
      return [
        {
          tsUs: frame.tsUs,
          iface: frame.iface,
          src: { ip: addressText(ip.srcOffset), port: sport },
          dst: { ip: addressText(ip.dstOffset), port: dport },
          transport: 'UDP',
          payload: buf.subarray(pos + 8, pos + udpBytes),
        },
      ];
    }
    if (ip.protocol === PROTO_TCP) {
      if (end - pos < 20) return drop('truncated');
      const sport = buf.readUInt16BE(pos);
      const dport = buf.readUInt16BE(pos + 2);
      if (ports[sport] === 0 && ports[dport] === 0) return drop('not_dns_port');
      const headerBytes = ((buf[pos + 12] ?? 0) >> 4) * 4;
      if (headerBytes < 20) return drop('bad_header');
      if (pos + headerBytes > end) return drop('truncated');
      const src: Endpoint = { ip: addressText(ip.srcOffset), port: sport };
      const dst: Endpoint = { ip: addressText(ip.dstOffset), port: dport };
      const key = `${src.ip}|${sport}|${dst.ip}|${dport}`;
      const reverseKey = `${dst.ip}|${dport}|${src.ip}|${sport}`;
      const out: DnsSegment[] = [];
      tcp.segment(
        key,
        reverseKey,
        src,
        dst,
        frame.iface,
        frame.tsUs,
        buf.readUInt32BE(pos + 4),
        buf[pos + 13] ?? 0,
        buf.subarray(pos + headerBytes, end),
        out,
      );
      tcpMessages += out.length;
      return out.length > 0 ? out : NONE;
    }
    return drop('unsupported_transport');
  };

  return {
    decode(frame: Frame): DnsSegment[] {
      frames++;
      let expired = NONE;
      let result: DnsSegment[];
      try {
        if (frame.tsUs >= nextExpireUs) {
          if (nextExpireUs !== -Infinity) expired = expire(frame.tsUs);
          nextExpireUs = frame.tsUs + EXPIRE_EVERY_US;
        }
        result = decodeUnsafe(frame);
      } catch (err) {
        // The parsers check lengths first; this is the net under them. Reading past a
        // buffer's end is a truncated packet, anything else a header nobody expected.
        result = drop(err instanceof RangeError ? 'truncated' : 'bad_header');
      }
      return expired.length > 0 ? expired.concat(result) : result;
    },
    expire,
    stats(): PacketDecoderStats {
      return {
        frames,
        udpMessages,
        tcpMessages,
        fragmentDatagrams: fragments.pendingDatagrams,
        fragmentBytes: fragments.heldBytes,
        tcpFlows: tcp.flowCount,
        tcpBytes: tcp.heldBytes,
      };
    },
  };
}
