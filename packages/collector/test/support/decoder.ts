import { createPacketDecoder, LinkType } from '@dnsflow/collector';
import type {
  DnsSegment,
  Frame,
  PacketDecoder,
  PacketDecoderOptions,
  PacketDropReason,
} from '@dnsflow/collector';

/** A decoder whose drops are tallied by reason. */
export function decoderWithDrops(options: Partial<PacketDecoderOptions> = {}): {
  decoder: PacketDecoder;
  drops: Partial<Record<PacketDropReason, number>>;
} {
  const drops: Partial<Record<PacketDropReason, number>> = {};
  const decoder = createPacketDecoder({
    ...options,
    drops: {
      drop(reason, count = 1) {
        drops[reason] = (drops[reason] ?? 0) + count;
      },
    },
  });
  return { decoder, drops };
}

export function frame(data: Buffer, linkType: number = LinkType.ETHERNET, tsUs = 1_000_000): Frame {
  return { tsUs, linkType, data, origLen: data.length, iface: 'eth0' };
}

/** "ip:port" of both ends, for short assertions. */
export function ends(s: DnsSegment): string {
  return `${s.src.ip}:${s.src.port} > ${s.dst.ip}:${s.dst.port} ${s.transport}`;
}
