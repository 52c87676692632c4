import { LinkType } from '../capture/frame';
import type { PacketDropReason } from './segment';

/** Where the network layer starts in a frame, filled by {@link parseLink}. */
export interface LinkResult {
  /** Byte offset of the IP header. */
  offset: number;
  /** 4 or 6. */
  ipVersion: number;
}

const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_IPV6 = 0x86dd;
/** 802.1Q C-tag, 802.1ad S-tag, and the pre-standard QinQ tag some switches still send. */
const ETHERTYPE_VLAN = 0x8100;
const ETHERTYPE_QINQ = 0x88a8;
const ETHERTYPE_QINQ_OLD = 0x9100;
const AF_INET = 2;
/** BSD loopback AF_INET6 differs by OS: NetBSD/OpenBSD 24, FreeBSD 28, Darwin 30. */
const AF_INET6 = new Set([24, 28, 30]);
const SLL_HEADER_BYTES = 16;
const SLL2_HEADER_BYTES = 20;

/**
 * Finds the IP header of a frame. Fills `out` and returns null, or returns why the frame
 * carries no IP packet we decode. Writes into a caller-owned object so the hot path
 * allocates nothing.
 */
export function parseLink(
  linkType: number,
  data: Buffer,
  out: LinkResult,
): PacketDropReason | null {
  switch (linkType) {
    case LinkType.ETHERNET:
      if (data.length < 14) return 'truncated';
      return etherType(data, 12, 14, out);
    case LinkType.LINUX_SLL:
      if (data.length < SLL_HEADER_BYTES) return 'truncated';
      return etherType(data, 14, SLL_HEADER_BYTES, out);
    case LinkType.LINUX_SLL2:
      if (data.length < SLL2_HEADER_BYTES) return 'truncated';
      return etherType(data, 0, SLL2_HEADER_BYTES, out);
    case LinkType.RAW:
      return rawIp(data, 0, out);
    case LinkType.IPV4:
      return ipVersionAt(data, 0, 4, out);
    case LinkType.IPV6:
      return ipVersionAt(data, 0, 6, out);
    case LinkType.NULL:
    case LinkType.LOOP: {
      if (data.length < 4) return 'truncated';
      // NULL is in the capturing host's byte order and LOOP in network order, but files
      // moved between hosts get both wrong, so both orders are tried.
      const le = data.readUInt32LE(0);
      const be = data.readUInt32BE(0);
      if (le === AF_INET || be === AF_INET) return ipVersionAt(data, 4, 4, out);
      if (AF_INET6.has(le) || AF_INET6.has(be)) return ipVersionAt(data, 4, 6, out);
      return 'unsupported_network';
    }
    default:
      return 'unsupported_link';
  }
}

/**
 * Reads the ethertype at `typeOffset`, skipping any number of VLAN tags (each 4 bytes:
 * TCI then the next ethertype) until IPv4 or IPv6.
 */
function etherType(
  data: Buffer,
  typeOffset: number,
  payloadOffset: number,
  out: LinkResult,
): PacketDropReason | null {
  let type = data.readUInt16BE(typeOffset);
  let offset = payloadOffset;
  while (type === ETHERTYPE_VLAN || type === ETHERTYPE_QINQ || type === ETHERTYPE_QINQ_OLD) {
    if (data.length < offset + 4) return 'truncated';
    type = data.readUInt16BE(offset + 2);
    offset += 4;
  }
  if (type === ETHERTYPE_IPV4) return ipVersionAt(data, offset, 4, out);
  if (type === ETHERTYPE_IPV6) return ipVersionAt(data, offset, 6, out);
  return 'unsupported_network';
}

function rawIp(data: Buffer, offset: number, out: LinkResult): PacketDropReason | null {
  if (data.length <= offset) return 'truncated';
  const version = (data[offset] ?? 0) >> 4;
  if (version !== 4 && version !== 6) return 'unsupported_network';
  out.offset = offset;
  out.ipVersion = version;
  return null;
}

function ipVersionAt(
  data: Buffer,
  offset: number,
  version: number,
  out: LinkResult,
): PacketDropReason | null {
  if (data.length <= offset) return 'truncated';
  // The link layer says which IP version follows; a different version nibble means a
  // broken header, not another protocol.
  if ((data[offset] ?? 0) >> 4 !== version) return 'bad_header';
  out.offset = offset;
  out.ipVersion = version;
  return null;
}
