import { createHash } from 'node:crypto';
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

/** Community ID v1 of a UDP or TCP flow, e.g. `1:LQU9qZlK+B5F3KDmev6m5PMibrg=`. */
export function communityId(
  transport: keyof typeof PROTOCOLS,
  srcIp: string,
  srcPort: number,
  dstIp: string,
  dstPort: number,
  seed = 0,
): string {
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
  return `1:${createHash('sha1').update(buf).digest('base64')}`;
}
