import type { PacketDropReason } from './segment';

/** The network layer of one packet, filled by {@link parseIpv4} / {@link parseIpv6}. */
export interface IpResult {
  ipVersion: number;
  /** Buffer holding the addresses (the frame). */
  addrBuf: Buffer;
  srcOffset: number;
  dstOffset: number;
  /** Transport protocol number (after IPv6 extension headers). */
  protocol: number;
  /** Buffer holding the transport bytes: the frame, or a reassembled datagram. */
  payload: Buffer;
  payloadOffset: number;
  /** End of the IP payload in `payload` (link-layer padding and trailers excluded). */
  payloadEnd: number;
  /** True when the packet is a fragment that needs reassembly. */
  fragmented: boolean;
  /** Fragment offset in bytes. */
  fragOffset: number;
  moreFragments: boolean;
  fragId: number;
}

/** An empty result to reuse across packets. */
export function newIpResult(): IpResult {
  return {
    ipVersion: 0,
    addrBuf: Buffer.alloc(0),
    srcOffset: 0,
    dstOffset: 0,
    protocol: 0,
    payload: Buffer.alloc(0),
    payloadOffset: 0,
    payloadEnd: 0,
    fragmented: false,
    fragOffset: 0,
    moreFragments: false,
    fragId: 0,
  };
}

const IPV6_HEADER_BYTES = 40;
const NH_HOP_BY_HOP = 0;
const NH_ROUTING = 43;
const NH_FRAGMENT = 44;
const NH_AH = 51;
const NH_NO_NEXT = 59;
const NH_DEST_OPTS = 60;

/** Reads the IPv4 header at `data[offset]` (RFC 791 §3.1). */
export function parseIpv4(data: Buffer, offset: number, out: IpResult): PacketDropReason | null {
  if (data.length < offset + 20) return 'truncated';
  const headerBytes = ((data[offset] ?? 0) & 0x0f) * 4;
  if (headerBytes < 20) return 'bad_header';
  let totalBytes = data.readUInt16BE(offset + 2);
  // A total length of 0 is what captures of TCP segmentation offload show: the kernel
  // fills it in later, so the captured length is the best there is.
  if (totalBytes === 0) totalBytes = data.length - offset;
  if (totalBytes < headerBytes) return 'bad_header';
  if (data.length < offset + totalBytes) return 'truncated';
  const flagsOffset = data.readUInt16BE(offset + 6);
  out.ipVersion = 4;
  out.addrBuf = data;
  out.srcOffset = offset + 12;
  out.dstOffset = offset + 16;
  out.protocol = data[offset + 9] ?? 0;
  out.payload = data;
  out.payloadOffset = offset + headerBytes;
  out.payloadEnd = offset + totalBytes;
  out.moreFragments = (flagsOffset & 0x2000) !== 0;
  out.fragOffset = (flagsOffset & 0x1fff) * 8;
  out.fragmented = out.moreFragments || out.fragOffset !== 0;
  out.fragId = data.readUInt16BE(offset + 4);
  return null;
}

/** Reads the IPv6 header at `data[offset]` and its extension headers (RFC 8200 §3, §4). */
export function parseIpv6(data: Buffer, offset: number, out: IpResult): PacketDropReason | null {
  if (data.length < offset + IPV6_HEADER_BYTES) return 'truncated';
  let payloadBytes = data.readUInt16BE(offset + 4);
  // 0 means a jumbogram (RFC 2675) or a segmentation-offload capture: use what is there.
  if (payloadBytes === 0) payloadBytes = data.length - offset - IPV6_HEADER_BYTES;
  const end = offset + IPV6_HEADER_BYTES + payloadBytes;
  if (data.length < end) return 'truncated';
  out.ipVersion = 6;
  out.addrBuf = data;
  out.srcOffset = offset + 8;
  out.dstOffset = offset + 24;
  out.fragmented = false;
  return ipv6Extensions(data[offset + 6] ?? 0, data, offset + IPV6_HEADER_BYTES, end, out);
}

/**
 * Walks IPv6 extension headers from `nextHeader` at `data[offset]` up to the transport
 * header. Stops at a Fragment header that needs reassembly (setting `fragmented`, with
 * `protocol` the header that follows it), and is called again on the reassembled bytes.
 */
export function ipv6Extensions(
  nextHeader: number,
  data: Buffer,
  offset: number,
  end: number,
  out: IpResult,
): PacketDropReason | null {
  let next = nextHeader;
  let pos = offset;
  for (;;) {
    switch (next) {
      case NH_HOP_BY_HOP:
      case NH_ROUTING:
      case NH_DEST_OPTS: {
        // Length in 8-octet units, not counting the first 8 (RFC 8200 §4.3-4.6).
        if (pos + 2 > end) return 'truncated';
        const len = ((data[pos + 1] ?? 0) + 1) * 8;
        if (pos + len > end) return 'truncated';
        next = data[pos] ?? 0;
        pos += len;
        break;
      }
      case NH_AH: {
        // AH counts 4-octet units, minus 2 (RFC 4302 §2.2).
        if (pos + 2 > end) return 'truncated';
        const len = ((data[pos + 1] ?? 0) + 2) * 4;
        if (pos + len > end) return 'truncated';
        next = data[pos] ?? 0;
        pos += len;
        break;
      }
      case NH_FRAGMENT: {
        if (pos + 8 > end) return 'truncated';
        const field = data.readUInt16BE(pos + 2);
        const fragOffset = field & 0xfff8;
        const more = (field & 1) !== 0;
        next = data[pos] ?? 0;
        out.fragId = data.readUInt32BE(pos + 4);
        pos += 8;
        // An atomic fragment (offset 0, no more) is a whole packet (RFC 6946 §4).
        if (fragOffset === 0 && !more) break;
        out.fragmented = true;
        out.fragOffset = fragOffset;
        out.moreFragments = more;
        out.protocol = next;
        out.payload = data;
        out.payloadOffset = pos;
        out.payloadEnd = end;
        return null;
      }
      case NH_NO_NEXT:
        return 'unsupported_transport';
      default:
        out.protocol = next;
        out.payload = data;
        out.payloadOffset = pos;
        out.payloadEnd = end;
        return null;
    }
  }
}
