/**
 * One captured link-layer frame, as a pcap/pcapng file or a live libpcap handle
 * delivers it. Every capture source produces these, so the rest of the pipeline is the
 * same for replay and live capture.
 */
export interface Frame {
  /** Capture time, epoch microseconds (integer). */
  tsUs: number;
  /** libpcap LINKTYPE_* value of the interface the frame came from. */
  linkType: number;
  /**
   * The captured bytes (may be shorter than origLen when the snaplen cut it). From a
   * source that lends its frames (`FrameSource.lendsFrames`), valid only until the
   * consumer returns.
   */
  data: Buffer;
  /** Length of the frame on the wire. */
  origLen: number;
  /** Interface name when known (live capture, pcapng IDB name), else null. */
  iface: string | null;
}

/** libpcap LINKTYPE_* values the decoder understands. */
export const LinkType = {
  NULL: 0, // BSD loopback: 4-byte address family in host byte order
  ETHERNET: 1,
  RAW: 101, // raw IPv4 or IPv6
  LOOP: 108, // OpenBSD loopback: 4-byte address family in network byte order
  LINUX_SLL: 113,
  IPV4: 228,
  IPV6: 229,
  LINUX_SLL2: 276,
} as const;
