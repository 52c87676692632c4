/**
 * Canonical text of IP addresses read straight from packet bytes, cached because the same
 * few resolvers and clients appear in nearly every packet: a cache hit costs one integer
 * (IPv4) or one hex string (IPv6) instead of building the text again.
 */

/** Bound of each cache; when full it is emptied, which is cheaper than tracking recency. */
const MAX_CACHED = 8192;

const v4Cache = new Map<number, string>();
const v6Cache = new Map<string, string>();

/** Dotted quad of the IPv4 address at `buf[offset]`. */
export function ipv4AddressText(buf: Buffer, offset: number): string {
  const key = buf.readUInt32BE(offset);
  let text = v4Cache.get(key);
  if (text === undefined) {
    text = `${key >>> 24}.${(key >>> 16) & 255}.${(key >>> 8) & 255}.${key & 255}`;
    if (v4Cache.size >= MAX_CACHED) v4Cache.clear();
    v4Cache.set(key, text);
  }
  return text;
}

/**
 * RFC 5952 text of the IPv6 address at `buf[offset]`: lowercase hex without leading
 * zeros (§4.1, §4.3), the longest run of two or more zero groups as `::`, the first one
 * on a tie (§4.2), and IPv4-mapped addresses as `::ffff:a.b.c.d` (§5).
 */
export function ipv6AddressText(buf: Buffer, offset: number): string {
  const key = buf.toString('hex', offset, offset + 16);
  let text = v6Cache.get(key);
  if (text === undefined) {
    text = formatIpv6(buf, offset);
    if (v6Cache.size >= MAX_CACHED) v6Cache.clear();
    v6Cache.set(key, text);
  }
  return text;
}

function formatIpv6(buf: Buffer, offset: number): string {
  const groups = new Array<number>(8);
  for (let i = 0; i < 8; i++) groups[i] = buf.readUInt16BE(offset + 2 * i);
  if (
    groups[0] === 0 &&
    groups[1] === 0 &&
    groups[2] === 0 &&
    groups[3] === 0 &&
    groups[4] === 0 &&
    groups[5] === 0xffff
  ) {
    return `::ffff:${buf[offset + 12]}.${buf[offset + 13]}.${buf[offset + 14]}.${buf[offset + 15]}`;
  }
  let runStart = -1;
  let runLen = 0;
  for (let i = 0, start = -1; i <= 8; i++) {
    if (i < 8 && groups[i] === 0) {
      if (start < 0) start = i;
    } else if (start >= 0) {
      if (i - start > runLen) {
        runStart = start;
        runLen = i - start;
      }
      start = -1;
    }
  }
  // A single zero group is not shortened to '::' (RFC 5952 §4.2.2).
  if (runLen < 2) return groups.map((g) => g.toString(16)).join(':');
  const head = groups.slice(0, runStart).map((g) => g.toString(16));
  const tail = groups.slice(runStart + runLen).map((g) => g.toString(16));
  return `${head.join(':')}::${tail.join(':')}`;
}
