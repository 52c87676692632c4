// Byte-by-byte builders of link, IP, UDP and TCP headers for decoder tests. Checksums
// are left zero: the decoder does not verify them (captures of offloaded traffic carry
// wrong ones), so tests must not depend on them either.
import * as dnsPacket from 'dns-packet';

const u16 = (n: number): Buffer => {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
};

/** Bytes of an IPv4 address in dotted-quad text. */
export function ipv4Bytes(text: string): Buffer {
  return Buffer.from(text.split('.').map(Number));
}

/** Bytes of an IPv6 address given as 8 groups (no '::' shorthand, to keep it obvious). */
export function ipv6Bytes(groups: number[]): Buffer {
  return Buffer.concat(groups.map(u16));
}

/** A DNS query for `name` (type A) with the given id, as dns-packet encodes it. */
export function dnsQuery(id: number, name: string): Buffer {
  return dnsPacket.encode({
    type: 'query',
    id,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type: 'A', class: 'IN', name }],
  });
}

/** A DNS response for `name` with one A answer. */
export function dnsResponse(id: number, name: string, address: string): Buffer {
  return dnsPacket.encode({
    type: 'response',
    id,
    flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE,
    questions: [{ type: 'A', class: 'IN', name }],
    answers: [{ type: 'A', class: 'IN', name, ttl: 60, data: address }],
  });
}

/** The 2-byte length prefix plus the message, as DNS over TCP sends it (RFC 1035 §4.2.2). */
export function tcpFramed(...messages: Buffer[]): Buffer {
  return Buffer.concat(messages.flatMap((m) => [u16(m.length), m]));
}

export function udp(sport: number, dport: number, payload: Buffer): Buffer {
  return Buffer.concat([u16(sport), u16(dport), u16(8 + payload.length), u16(0), payload]);
}

export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;

/** A TCP segment; `options` must be a multiple of 4 bytes. */
export function tcp(
  sport: number,
  dport: number,
  seq: number,
  flags: number,
  payload: Buffer = Buffer.alloc(0),
  options: Buffer = Buffer.alloc(0),
): Buffer {
  const h = Buffer.alloc(20);
  h.writeUInt16BE(sport, 0);
  h.writeUInt16BE(dport, 2);
  h.writeUInt32BE(seq >>> 0, 4);
  h.writeUInt32BE(0, 8);
  h[12] = ((20 + options.length) / 4) << 4;
  h[13] = flags;
  h.writeUInt16BE(65535, 14);
  return Buffer.concat([h, options, payload]);
}

export interface Ipv4Options {
  protocol?: number;
  id?: number;
  /** Fragment offset in bytes (a multiple of 8). */
  fragOffset?: number;
  moreFragments?: boolean;
  /** IP options, a multiple of 4 bytes. */
  options?: Buffer;
  /** Overrides the total length field. */
  totalLength?: number;
}

export function ipv4(src: string, dst: string, payload: Buffer, o: Ipv4Options = {}): Buffer {
  const options = o.options ?? Buffer.alloc(0);
  const h = Buffer.alloc(20);
  h[0] = 0x40 | ((20 + options.length) / 4);
  h.writeUInt16BE(o.totalLength ?? 20 + options.length + payload.length, 2);
  h.writeUInt16BE(o.id ?? 1, 4);
  h.writeUInt16BE(((o.fragOffset ?? 0) / 8) | (o.moreFragments ? 0x2000 : 0), 6);
  h[8] = 64;
  h[9] = o.protocol ?? 17;
  ipv4Bytes(src).copy(h, 12);
  ipv4Bytes(dst).copy(h, 16);
  return Buffer.concat([h, options, payload]);
}

/** An IPv6 extension header in the generic format: next header, length, padded body. */
export function ipv6Extension(next: number, bodyBytes = 6): Buffer {
  const len = Math.ceil((bodyBytes + 2) / 8) * 8;
  const h = Buffer.alloc(len);
  h[0] = next;
  h[1] = len / 8 - 1;
  return h;
}

/** An IPv6 Fragment header (RFC 8200 §4.5). */
export function ipv6Fragment(next: number, offset: number, more: boolean, id: number): Buffer {
  const h = Buffer.alloc(8);
  h[0] = next;
  h.writeUInt16BE(offset | (more ? 1 : 0), 2);
  h.writeUInt32BE(id, 4);
  return h;
}

/** An IPv6 packet; `nextHeader` names the first header in `payload`. */
export function ipv6(src: Buffer, dst: Buffer, nextHeader: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(40);
  h[0] = 0x60;
  h.writeUInt16BE(payload.length, 4);
  h[6] = nextHeader;
  h[7] = 64;
  src.copy(h, 8);
  dst.copy(h, 24);
  return Buffer.concat([h, payload]);
}

const MAC_A = Buffer.from('020000000001', 'hex');
const MAC_B = Buffer.from('020000000002', 'hex');

/** Ethernet II with optional VLAN tags, outermost first: [tpid, vid]. */
export function ethernet(
  etherType: number,
  payload: Buffer,
  vlans: [number, number][] = [],
): Buffer {
  const tags = vlans.map(([tpid, vid]) => Buffer.concat([u16(tpid), u16(vid)]));
  return Buffer.concat([MAC_A, MAC_B, ...tags, u16(etherType), payload]);
}

/** Linux cooked capture v1 (LINKTYPE_LINUX_SLL). */
export function sll(protocol: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(16);
  h.writeUInt16BE(0, 0); // packet type: to us
  h.writeUInt16BE(1, 2); // ARPHRD_ETHER
  h.writeUInt16BE(6, 4);
  MAC_A.copy(h, 6);
  h.writeUInt16BE(protocol, 14);
  return Buffer.concat([h, payload]);
}

/** Linux cooked capture v2 (LINKTYPE_LINUX_SLL2). */
export function sll2(protocol: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(20);
  h.writeUInt16BE(protocol, 0);
  h.writeUInt32BE(3, 4); // interface index
  h.writeUInt16BE(1, 8); // ARPHRD_ETHER
  h[10] = 4; // outgoing
  h[11] = 6;
  MAC_A.copy(h, 12);
  return Buffer.concat([h, payload]);
}

/** BSD loopback header: the address family in the given byte order. */
export function loopback(family: number, payload: Buffer, littleEndian: boolean): Buffer {
  const h = Buffer.alloc(4);
  if (littleEndian) h.writeUInt32LE(family);
  else h.writeUInt32BE(family);
  return Buffer.concat([h, payload]);
}
