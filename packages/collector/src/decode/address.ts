/**
 * Canonical text of IP addresses read straight from packet bytes, cached because the same
 * few resolvers and clients appear in nearly every packet: a cache hit costs a few integer
 * reads instead of building the text again.
 */

/**
 * Slots of each cache. Direct-mapped: an address has one slot (by a hash of its bytes) and
 * a new address there replaces the old one, so a lookup is a few integer operations, and
 * nothing is allocated unless the text is new. Thousands of clients fit; a busier node
 * only rebuilds the text more often.
 */
const SLOTS = 1 << 14;
const MASK = SLOTS - 1;

const v4Keys = new Int32Array(SLOTS);
const v4Texts: (string | undefined)[] = new Array<string | undefined>(SLOTS).fill(undefined);
const v6Keys = new Int32Array(SLOTS * 4);
const v6Texts: (string | undefined)[] = new Array<string | undefined>(SLOTS).fill(undefined);

function slotOf(h: number): number {
  const x = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d);
  return (x ^ (x >>> 12)) & MASK;
}

/** Dotted quad of the IPv4 address at `buf[offset]`. */
export function ipv4AddressText(buf: Buffer, offset: number): string {
  const key = buf.readInt32BE(offset);
  const slot = slotOf(key);
  const cached = v4Texts[slot];
  if (cached !== undefined && v4Keys[slot] === key) return cached;
  const text = `${(key >>> 24) & 255}.${(key >>> 16) & 255}.${(key >>> 8) & 255}.${key & 255}`;
  v4Keys[slot] = key;
  v4Texts[slot] = text;
  return text;
}

/**
 * RFC 5952 text of the IPv6 address at `buf[offset]`: lowercase hex without leading
 * zeros (§4.1, §4.3), the longest run of two or more zero groups as `::`, the first one
 * on a tie (§4.2), and IPv4-mapped addresses as `::ffff:a.b.c.d` (§5).
 */
export function ipv6AddressText(buf: Buffer, offset: number): string {
  const a = buf.readInt32BE(offset);
  const b = buf.readInt32BE(offset + 4);
  const c = buf.readInt32BE(offset + 8);
  const d = buf.readInt32BE(offset + 12);
  const slot = slotOf(Math.imul(a ^ Math.imul(b ^ Math.imul(c ^ d, 31), 31), 31) ^ d);
  const cached = v6Texts[slot];
  const k = slot * 4;
  if (
    cached !== undefined &&
    v6Keys[k] === a &&
    v6Keys[k + 1] === b &&
    v6Keys[k + 2] === c &&
    v6Keys[k + 3] === d
  ) {
    return cached;
  }
  const text = formatIpv6(buf, offset);
  v6Keys[k] = a;
  v6Keys[k + 1] = b;
  v6Keys[k + 2] = c;
  v6Keys[k + 3] = d;
  v6Texts[slot] = text;
  return text;
}

/** The eight groups of the address being formatted. */
const groups = new Uint16Array(8);

function formatIpv6(buf: Buffer, offset: number): string {
  for (let i = 0; i < 8; i++) {
    groups[i] = ((buf[offset + 2 * i] as number) << 8) | (buf[offset + 2 * i + 1] as number);
  }
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
  if (runLen < 2) runStart = 8;
  let text = '';
  for (let i = 0; i < 8; i++) {
    if (i === runStart) {
      text += '::';
      i += runLen - 1;
    } else {
      if (i > 0 && i !== runStart + runLen) text += ':';
      text += (groups[i] as number).toString(16);
    }
  }
  return text;
}
