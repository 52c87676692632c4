import type { Endpoint, Transport } from '@dnsflow/schema';

/**
 * One DNS message's bytes with where it came from: a UDP payload, or one
 * length-prefixed message cut out of a reassembled TCP stream (prefix removed).
 */
export interface DnsSegment {
  /** Capture time of the packet that completed the message, epoch microseconds. */
  tsUs: number;
  iface: string | null;
  src: Endpoint;
  dst: Endpoint;
  transport: Transport;
  /** The DNS message, without the TCP 2-byte length prefix. */
  payload: Buffer;
}

/**
 * Why a frame (or part of it) produced no DNS message. Every value is a label of the
 * `dnsflow_collector_packets_dropped_total{reason}` counter, so the set is closed.
 */
export type PacketDropReason =
  | 'truncated' // shorter than its headers say (snaplen or a broken packet)
  | 'unsupported_link' // link type the decoder does not know
  | 'unsupported_network' // ethertype / address family other than IPv4/IPv6
  | 'unsupported_transport' // IP protocol other than UDP/TCP
  | 'bad_header' // impossible header values (IHL < 5, bad version, ...)
  | 'not_dns_port' // neither port is a configured DNS port
  | 'fragment_pending' // fragment kept for reassembly (not a loss)
  | 'fragment_timeout' // fragments expired before the datagram was complete
  | 'fragment_overflow' // reassembly memory bound reached
  | 'tcp_gap' // bytes missing in a TCP stream; the stream resynchronises
  | 'tcp_overflow' // per-flow or global TCP buffer bound reached
  | 'tcp_bad_length'; // a length prefix that cannot start a DNS message

/** Counts and reports every frame that yields no DNS message. */
export interface DropSink {
  drop(reason: PacketDropReason, count?: number): void;
}
