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
