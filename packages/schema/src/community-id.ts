import { hash } from 'node:crypto';
import { isIPv4 } from 'node:net';

// Community ID v1 flow hash (https://github.com/corelight/community-id-spec): lets a DNS
// transaction be joined with the same flow in Zeek, Suricata or Elastic's network data.

const PROTOCOLS = { UDP: 17, TCP: 6 } as const;

function ipBytes(ip: string): Buffer {
  if (isIPv4(ip)) return Buffer.from(ip.split('.').map(Number));
  // An IPv6 address may end in a dotted quad (::ffff:192.0.2.1): rewrite it as two groups.
  const v6 = ip.replace(/(\d+)\.(\d+)\.(\d+)\.(\d+)$/, (_m, a, b, c, d) =>
    [(Number(a) << 8) | Number(b), (Number(c) << 8) | Number(d)]
      .map((g) => g.toString(16))
      .join(':'),
  );
  const [head = '', tail] = v6.split('::');
  const groups = (part: string | undefined): number[] =>
    part ? part.split(':').map((g) => parseInt(g, 16)) : [];
  const left = groups(head);
  const right = groups(tail);
  const all = [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  const out = Buffer.alloc(16);
  all.forEach((g, i) => out.writeUInt16BE(g, i * 2));
  return out;
}

/**
 * The dotted-quad IPv4 address in `bytes[start..end)` (ASCII) as a 32-bit unsigned number, or -1
 * when it is not one in the canonical form `isIPv4` accepts (four decimal octets, no leading
 * zeros): those take the general path. Every indexed document needs a Community ID, and this
 * spares the common case the split, the array and the Buffer; the indexer reads addresses
 * straight from the Avro bytes with it.
 */
export function ipv4NumberOfBytes(bytes: Uint8Array, start: number, end: number): number {
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = start; i < end; i++) {
    const c = bytes[i]!;
    if (c === 46) {
      if (digits === 0 || dots === 3) return -1;
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
      dots++;
    } else if (c >= 48 && c <= 57) {
      if (digits === 1 && octet === 0) return -1;
      octet = octet * 10 + (c - 48);
      if (octet > 255) return -1;
      digits++;
    } else {
      return -1;
    }
  }
  if (digits === 0 || dots !== 3) return -1;
  return value * 256 + octet;
}

/** Room for the UTF-8 of any string of up to 15 characters (the longest dotted quad). */
const v4Text = Buffer.alloc(64);

/** {@link ipv4NumberOfBytes} of a string. */
function ipv4Number(ip: string): number {
  if (ip.length > 15) return -1;
  return ipv4NumberOfBytes(v4Text, 0, v4Text.write(ip, 0));
}

/** Reused for every IPv4 flow: the hash is taken before the next call can write into it. */
const v4Tuple = Buffer.alloc(2 + 4 + 4 + 6);

/**
 * Community ID v1 of an IPv4 flow, its addresses as numbers ({@link ipv4NumberOfBytes});
 * `protocol` is the IANA number (17 UDP, 6 TCP).
 */
export function communityIdV4(
  protocol: number,
  src: number,
  srcPort: number,
  dst: number,
  dstPort: number,
  seed = 0,
): string {
  const swap = src > dst || (src === dst && srcPort > dstPort);
  const buf = v4Tuple;
  buf.writeUInt16BE(seed, 0);
  buf.writeUInt32BE(swap ? dst : src, 2);
  buf.writeUInt32BE(swap ? src : dst, 6);
  buf[10] = protocol;
  buf[11] = 0;
  buf.writeUInt16BE(swap ? dstPort : srcPort, 12);
  buf.writeUInt16BE(swap ? srcPort : dstPort, 14);
  return `1:${hash('sha1', buf, 'base64')}`;
}

/** Value of an ASCII hex digit, or -1. */
function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  const lower = c | 0x20;
  return lower >= 97 && lower <= 102 ? lower - 87 : -1;
}

/**
 * Writes the 16 bytes of the IPv6 address spelled at bytes[start, end) to out[at, at + 16).
 * Only plain spellings: hex groups of 1 to 4 digits, at most one `::`, and maybe a canonical
 * dotted quad at the end. False for anything else (which the string path then reads as it
 * always did), so both agree wherever this answers.
 */
export function ipv6OfBytes(
  bytes: Uint8Array,
  start: number,
  end: number,
  out: Uint8Array,
  at: number,
): boolean {
  let i = start;
  let groups = 0;
  let gap = -1;
  if (end - start < 2) return false;
  if (bytes[i] === 58) {
    if (bytes[i + 1] !== 58) return false;
    gap = 0;
    i += 2;
  }
  while (i < end) {
    const token = i;
    let value = 0;
    let digits = 0;
    for (; i < end; i++) {
      const h = hexValue(bytes[i]!);
      if (h < 0) break;
      if (++digits > 4) return false;
      value = value * 16 + h;
    }
    if (i < end && bytes[i] === 46) {
      // A dotted quad: the last 32 bits.
      const v4 = groups <= 6 ? ipv4NumberOfBytes(bytes, token, end) : -1;
      if (v4 < 0) return false;
      out[at + 2 * groups] = v4 >>> 24;
      out[at + 2 * groups + 1] = (v4 >>> 16) & 0xff;
      out[at + 2 * groups + 2] = (v4 >>> 8) & 0xff;
      out[at + 2 * groups + 3] = v4 & 0xff;
      groups += 2;
      break;
    }
    if (digits === 0 || groups === 8) return false;
    out[at + 2 * groups] = value >>> 8;
    out[at + 2 * groups + 1] = value & 0xff;
    groups++;
    if (i === end) break;
    if (bytes[i] !== 58 || ++i === end) return false;
    if (bytes[i] === 58) {
      if (gap >= 0) return false;
      gap = groups;
      i++;
    }
  }
  if (gap < 0) return groups === 8;
  if (groups > 7) return false;
  // The groups after `::` go to the end, zeros in between.
  const tail = 2 * (groups - gap);
  out.copyWithin(at + 16 - tail, at + 2 * gap, at + 2 * groups);
  out.fill(0, at + 2 * gap, at + 16 - tail);
  return true;
}

/** The flow tuple of {@link communityIdOfBytes}: seed, both addresses, protocol, 0, both ports. */
const tuple = Buffer.alloc(2 + 16 + 16 + 6);
/** Each address as hashed: 4 bytes for IPv4, 16 for IPv6. */
const addressA = Buffer.alloc(16);
const addressB = Buffer.alloc(16);
/** Views of `tuple` the length of each pair of families: 4 + 4, 4 + 16, 16 + 16 address bytes. */
const tupleOf: Record<number, Buffer> = {
  8: tuple.subarray(0, 2 + 8 + 6),
  20: tuple.subarray(0, 2 + 20 + 6),
  32: tuple.subarray(0, 2 + 32 + 6),
};

/**
 * The address spelled at bytes[start, end) into `out`: its length (4 for a canonical dotted
 * quad, 16 for a plain IPv6 spelling), or 0 when it is neither.
 */
function addressOfBytes(bytes: Uint8Array, start: number, end: number, out: Buffer): number {
  const v4 = ipv4NumberOfBytes(bytes, start, end);
  if (v4 >= 0) {
    out.writeUInt32BE(v4, 0);
    return 4;
  }
  return ipv6OfBytes(bytes, start, end, out, 0) ? 16 : 0;
}

/**
 * Community ID v1 of a flow between the addresses spelled at bytes[aStart, aEnd) and
 * bytes[bStart, bEnd), each IPv4 or IPv6 (a flow seen through NAT64 mixes them), with no string
 * or Buffer made on the way; null unless both are spellings {@link ipv4NumberOfBytes} or
 * {@link ipv6OfBytes} takes. The addresses are ordered as the spec orders their bytes: byte by
 * byte, a shorter one (IPv4) first when it is a prefix of the other.
 */
export function communityIdOfBytes(
  protocol: number,
  bytes: Uint8Array,
  aStart: number,
  aEnd: number,
  aPort: number,
  bStart: number,
  bEnd: number,
  bPort: number,
  seed = 0,
): string | null {
  const aLength = addressOfBytes(bytes, aStart, aEnd, addressA);
  const bLength = aLength === 0 ? 0 : addressOfBytes(bytes, bStart, bEnd, addressB);
  if (bLength === 0) return null;
  let order = 0;
  const common = Math.min(aLength, bLength);
  for (let k = 0; k < common && order === 0; k++) order = addressA[k]! - addressB[k]!;
  if (order === 0) order = aLength - bLength;
  const swap = order > 0 || (order === 0 && aPort > bPort);
  const buf = tupleOf[aLength + bLength]!;
  buf.writeUInt16BE(seed, 0);
  let at: number;
  if (swap) {
    addressB.copy(buf, 2, 0, bLength);
    at = 2 + bLength + addressA.copy(buf, 2 + bLength, 0, aLength);
  } else {
    addressA.copy(buf, 2, 0, aLength);
    at = 2 + aLength + addressB.copy(buf, 2 + aLength, 0, bLength);
  }
  buf[at] = protocol;
  buf[at + 1] = 0;
  buf.writeUInt16BE(swap ? bPort : aPort, at + 2);
  buf.writeUInt16BE(swap ? aPort : bPort, at + 4);
  return `1:${hash('sha1', buf, 'base64')}`;
}

const v6Text = Buffer.alloc(2 * 64);

/** Community ID v1 of a UDP or TCP flow, e.g. `1:LQU9qZlK+B5F3KDmev6m5PMibrg=`. */
export function communityId(
  transport: keyof typeof PROTOCOLS,
  srcIp: string,
  srcPort: number,
  dstIp: string,
  dstPort: number,
  seed = 0,
): string {
  const a4 = ipv4Number(srcIp);
  const b4 = a4 < 0 ? -1 : ipv4Number(dstIp);
  if (b4 >= 0) return communityIdV4(PROTOCOLS[transport], a4, srcPort, b4, dstPort, seed);
  // As bytes only when both are ASCII (as many UTF-8 bytes as characters), so that no other
  // character can pass for one of an address.
  const aEnd = srcIp.length <= 64 ? v6Text.write(srcIp, 0) : -1;
  const bEnd = dstIp.length <= 64 ? 64 + v6Text.write(dstIp, 64) : -1;
  if (aEnd === srcIp.length && bEnd === 64 + dstIp.length) {
    const id = communityIdOfBytes(
      PROTOCOLS[transport],
      v6Text,
      0,
      aEnd,
      srcPort,
      64,
      bEnd,
      dstPort,
      seed,
    );
    if (id !== null) return id;
  }
  let a = ipBytes(srcIp);
  let b = ipBytes(dstIp);
  let ap = srcPort;
  let bp = dstPort;
  const order = Buffer.compare(a, b);
  if (order > 0 || (order === 0 && ap > bp)) {
    [a, b, ap, bp] = [b, a, bp, ap];
  }
  const buf = Buffer.alloc(2 + a.length + b.length + 6);
  let off = buf.writeUInt16BE(seed, 0);
  off += a.copy(buf, off);
  off += b.copy(buf, off);
  off = buf.writeUInt8(PROTOCOLS[transport], off);
  off = buf.writeUInt8(0, off);
  off = buf.writeUInt16BE(ap, off);
  buf.writeUInt16BE(bp, off);
  return `1:${hash('sha1', buf, 'base64')}`;
}
