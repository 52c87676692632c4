// Real captures from the peer corpus (see /work/shared/corpus/MANIFEST.md). Expected
// values come from the upstream tests' own expectations (zeek dns.log baselines,
// suricata test.yaml) or from tcpdump's reading of the same file, never from this decoder.
import { readCaptureFile } from '@dnsflow/collector';
import type { DnsSegment, PacketDecoderOptions } from '@dnsflow/collector';
import * as dnsPacket from 'dns-packet';
import { decoderWithDrops, ends } from '../support/decoder';

const CORPUS = '/work/shared/corpus';

/** Every segment of a capture, including those found when time runs out at the end. */
async function decodeCapture(
  path: string,
  options: Partial<PacketDecoderOptions> = {},
): Promise<{ segments: DnsSegment[]; drops: Record<string, number | undefined> }> {
  const { decoder, drops } = decoderWithDrops(options);
  const segments: DnsSegment[] = [];
  for await (const frame of readCaptureFile(`${CORPUS}/${path}`)) {
    segments.push(...decoder.decode(frame));
  }
  segments.push(...decoder.expire(Number.MAX_SAFE_INTEGER));
  return { segments, drops };
}

const isResponse = (s: DnsSegment): boolean => (s.payload[2]! & 0x80) !== 0;

describe('real captures', () => {
  it('reassembles IPv6 fragments of a large TXT answer (zeek core.ipv6-frag)', async () => {
    const { segments, drops } = await decodeCapture(
      'zeek/core.ipv6-frag/traces/ipv6-fragmented-dns.pcap',
    );
    // Three queries and two answers; the first fragment-only answer never completes.
    expect(segments.map(ends)).toEqual([
      '2001:470:1f11:81f:d138:5f55:6d4:1fe2:51850 > 2607:f740:b::f93:53 UDP',
      '2607:f740:b::f93:53 > 2001:470:1f11:81f:d138:5f55:6d4:1fe2:51850 UDP',
      '2001:470:1f11:81f:d138:5f55:6d4:1fe2:51851 > 2607:f740:b::f93:53 UDP',
      '2001:470:1f11:81f:d138:5f55:6d4:1fe2:51851 > 2607:f740:b::f93:53 UDP',
      '2607:f740:b::f93:53 > 2001:470:1f11:81f:d138:5f55:6d4:1fe2:51851 UDP',
    ]);
    // Fragments 0|1432, 1432|1432, 2864|374 as tcpdump lists them, minus the UDP header.
    const big = segments[4]!;
    expect(big.payload.length).toBe(1432 + 1432 + 374 - 8);
    const message = dnsPacket.decode(big.payload);
    expect(message.id).toBe(40849);
    expect(message.questions?.[0]?.name).toBe('txtpadding_3230.n1.netalyzr.icsi.berkeley.edu');
    expect(message.answers?.[0]?.type).toBe('TXT');
    expect(drops.fragment_timeout).toBe(1);
  });

  it('reassembles IPv4 fragments and picks up mid-stream TCP (zeek dns-edns-ecs)', async () => {
    const { segments } = await decodeCapture(
      'zeek/scripts.base.protocols.dns.dns-edns-ecs/traces/dns-edns-ecs.pcap',
    );
    const udp = segments.filter((s) => s.transport === 'UDP');
    const tcp = segments.filter((s) => s.transport === 'TCP');
    // tcpdump: 76 UDP packets on port 53, 4 of them first fragments whose second halves
    // follow; 9 TCP segments without handshake, each one whole length-prefixed message:
    // 8 answers and one DNSKEY query (id 1754).
    expect(udp).toHaveLength(76);
    expect(tcp.filter(isResponse)).toHaveLength(8);
    expect(tcp.filter((s) => !isResponse(s)).map((s) => dnsPacket.decode(s.payload).id)).toEqual([
      1754,
    ]);
    expect(udp.every((s) => typeof dnsPacket.decode(s.payload).id === 'number')).toBe(true);
  });

  it('cuts 20 queries out of one TCP buffer (suricata dns-tcp-multirequest-buffer)', async () => {
    const { segments } = await decodeCapture(
      'suricata-verify/dns__dns-tcp-multirequest-buffer/dns-tcp-multirequest-buffer.pcap',
    );
    expect(segments.filter((s) => !isResponse(s))).toHaveLength(20);
    expect(segments.filter(isResponse)).toHaveLength(20);
    expect(segments.every((s) => s.transport === 'TCP')).toBe(true);
  });

  it('counts a missing TCP segment and still finds the later answers (suricata dns-tcp-ts-gap)', async () => {
    const { segments, drops } = await decodeCapture('suricata-verify/dns-tcp-ts-gap/input.pcap');
    expect(segments.filter((s) => !isResponse(s))).toHaveLength(2);
    expect(segments.filter(isResponse)).toHaveLength(3);
    expect(drops.tcp_gap).toBe(1);
  });

  it('takes a TCP answer seen without its handshake (suricata dns-reversed-tcp-1)', async () => {
    const { segments } = await decodeCapture('suricata-verify/dns-reversed-tcp-1/dns.pcap');
    expect(segments.map(ends)).toEqual(['8.8.4.4:53 > 10.16.1.11:38195 TCP']);
    expect(isResponse(segments[0]!)).toBe(true);
  });

  it('reads through 802.1Q tags (zeek notify, VLAN 120)', async () => {
    const { segments } = await decodeCapture(
      'zeek/scripts.base.protocols.dns.notify/traces/dns/dns_notify2.pcap',
    );
    // The clients and servers of zeek's dns.log baseline; the capture starts with the
    // answer to 214.187.42.114, whose query it does not hold.
    expect(segments.map(ends)).toEqual(
      expect.arrayContaining([
        '203.0.113.82:57394 > 203.0.113.22:53 UDP',
        '203.0.113.26:53 > 214.187.42.114:53669 UDP',
        '122.243.120.210:56882 > 203.0.113.26:53 UDP',
      ]),
    );
    expect(segments).toHaveLength(4);
  });

  it.each([
    ['BSD loopback (0)', 'zeek/scripts.base.protocols.dns.svcb/traces/dns-svcb.pcap', 2],
    ['raw IP (101), IPv6', 'zeek/scripts.base.protocols.dns.ech/traces/dns/ech.pcap', 4],
    [
      'raw IPv4 (228)',
      'zeek/scripts.base.protocols.dns.edns-rcode/traces/dns/dns_extended_rcode.pcap',
      2,
    ],
  ])('decodes link type %s', async (_name, path, count) => {
    const { segments, drops } = await decodeCapture(path);
    expect(segments).toHaveLength(count);
    expect(drops).toEqual({});
  });

  it('finds mDNS when 5353 is a DNS port (suricata mdns, IPv6 multicast)', async () => {
    const path = 'suricata-verify/mdns/referenced__frag-9.pcap';
    expect((await decodeCapture(path)).segments).toHaveLength(0);
    const { segments } = await decodeCapture(path, { dnsPorts: [53, 5353] });
    expect(segments.map(ends)).toEqual([
      'fe80::4b6:2b35:b860:803f:5353 > ff02::fb:5353 UDP',
      'fe80::4b6:2b35:b860:803f:5353 > ff02::fb:5353 UDP',
    ]);
  });
});
