import { LinkType } from '@dnsflow/collector';
import {
  dnsQuery,
  ethernet,
  ipv4,
  ipv4Bytes,
  ipv6,
  ipv6Bytes,
  ipv6Extension,
  ipv6Fragment,
  loopback,
  sll,
  sll2,
  udp,
} from '../support/packets';
import { decoderWithDrops, ends, frame } from '../support/decoder';

const Q = dnsQuery(0x1234, 'example.com');
const V6_CLIENT = ipv6Bytes([0x2001, 0xdb8, 0, 0, 0, 0, 0, 1]);
const V6_SERVER = ipv6Bytes([0x2001, 0xdb8, 0, 1, 0, 0, 0, 0x53]);
const udp4 = (payload = Q, sport = 40000, dport = 53): Buffer =>
  ipv4('10.0.0.1', '10.96.0.10', udp(sport, dport, payload));
const udp6 = (src = V6_CLIENT, dst = V6_SERVER): Buffer => ipv6(src, dst, 17, udp(40000, 53, Q));

describe('UDP over the link layers', () => {
  it('gives the DNS payload with addresses, ports, time and interface', () => {
    const { decoder, drops } = decoderWithDrops();
    const segments = decoder.decode(frame(ethernet(0x0800, udp4()), LinkType.ETHERNET, 42));
    expect(segments).toHaveLength(1);
    const [s] = segments;
    expect(ends(s!)).toBe('10.0.0.1:40000 > 10.96.0.10:53 UDP');
    expect(s!.payload.equals(Q)).toBe(true);
    expect(s!.tsUs).toBe(42);
    expect(s!.iface).toBe('eth0');
    expect(drops).toEqual({});
  });

  it.each([
    ['802.1Q', [[0x8100, 100]]],
    [
      '802.1ad QinQ',
      [
        [0x88a8, 10],
        [0x8100, 20],
      ],
    ],
    [
      'three tags, old QinQ first',
      [
        [0x9100, 1],
        [0x88a8, 2],
        [0x8100, 3],
      ],
    ],
  ] as [string, [number, number][]][])('skips VLAN tags: %s', (_name, tags) => {
    const { decoder } = decoderWithDrops();
    const [s] = decoder.decode(frame(ethernet(0x0800, udp4(), tags)));
    expect(ends(s!)).toBe('10.0.0.1:40000 > 10.96.0.10:53 UDP');
    expect(s!.payload.equals(Q)).toBe(true);
  });

  it('decodes Linux cooked captures v1 and v2, IPv4 and IPv6', () => {
    const { decoder } = decoderWithDrops();
    const out = [
      ...decoder.decode(frame(sll(0x0800, udp4()), LinkType.LINUX_SLL)),
      ...decoder.decode(frame(sll(0x86dd, udp6()), LinkType.LINUX_SLL)),
      ...decoder.decode(frame(sll2(0x0800, udp4()), LinkType.LINUX_SLL2)),
      ...decoder.decode(frame(sll2(0x86dd, udp6()), LinkType.LINUX_SLL2)),
    ];
    expect(out.map(ends)).toEqual([
      '10.0.0.1:40000 > 10.96.0.10:53 UDP',
      '2001:db8::1:40000 > 2001:db8:0:1::53:53 UDP',
      '10.0.0.1:40000 > 10.96.0.10:53 UDP',
      '2001:db8::1:40000 > 2001:db8:0:1::53:53 UDP',
    ]);
  });

  it('decodes raw IP link types 101, 228 and 229', () => {
    const { decoder, drops } = decoderWithDrops();
    expect(decoder.decode(frame(udp4(), LinkType.RAW))).toHaveLength(1);
    expect(decoder.decode(frame(udp6(), LinkType.RAW))).toHaveLength(1);
    expect(decoder.decode(frame(udp4(), LinkType.IPV4))).toHaveLength(1);
    expect(decoder.decode(frame(udp6(), LinkType.IPV6))).toHaveLength(1);
    // LINKTYPE_IPV4 promises IPv4: an IPv6 packet there is a broken header.
    expect(decoder.decode(frame(udp6(), LinkType.IPV4))).toHaveLength(0);
    expect(drops).toEqual({ bad_header: 1 });
  });

  it('decodes BSD loopback with either byte order and every AF_INET6 value', () => {
    const { decoder, drops } = decoderWithDrops();
    for (const linkType of [LinkType.NULL, LinkType.LOOP]) {
      for (const le of [true, false]) {
        expect(decoder.decode(frame(loopback(2, udp4(), le), linkType))).toHaveLength(1);
        for (const af of [24, 28, 30]) {
          expect(decoder.decode(frame(loopback(af, udp6(), le), linkType))).toHaveLength(1);
        }
      }
    }
    expect(decoder.decode(frame(loopback(7, udp4(), true), LinkType.NULL))).toHaveLength(0);
    expect(drops).toEqual({ unsupported_network: 1 });
  });

  it('counts frames it cannot decode by reason', () => {
    const { decoder, drops } = decoderWithDrops();
    decoder.decode(frame(udp4(), 147)); // a DLT_USER link type
    decoder.decode(frame(ethernet(0x0806, Buffer.alloc(28)))); // ARP
    decoder.decode(frame(ethernet(0x0800, udp4()).subarray(0, 13)));
    decoder.decode(frame(ethernet(0x0800, udp4(Q, 40000, 80))));
    decoder.decode(
      frame(ethernet(0x0800, ipv4('10.0.0.1', '10.0.0.2', Buffer.alloc(8), { protocol: 1 }))),
    );
    expect(drops).toEqual({
      unsupported_link: 1,
      unsupported_network: 1,
      truncated: 1,
      not_dns_port: 1,
      unsupported_transport: 1,
    });
  });

  it('uses the configured DNS ports on either side', () => {
    const { decoder, drops } = decoderWithDrops({ dnsPorts: [53, 5353] });
    expect(decoder.decode(frame(ethernet(0x0800, udp4(Q, 5353, 5353))))).toHaveLength(1);
    expect(decoder.decode(frame(ethernet(0x0800, udp4(Q, 53, 33000))))).toHaveLength(1);
    expect(decoder.decode(frame(ethernet(0x0800, udp4(Q, 5355, 40000))))).toHaveLength(0);
    expect(drops).toEqual({ not_dns_port: 1 });
  });
});

describe('IPv4 headers', () => {
  it('skips IP options and ignores Ethernet padding after the datagram', () => {
    const { decoder } = decoderWithDrops();
    const packet = ipv4('192.0.2.1', '192.0.2.53', udp(1000, 53, Q), {
      options: Buffer.from([0x94, 0x04, 0, 0, 1, 1, 1, 0]), // router alert, NOPs, EOL
    });
    const [s] = decoder.decode(frame(ethernet(0x0800, Buffer.concat([packet, Buffer.alloc(6)]))));
    expect(ends(s!)).toBe('192.0.2.1:1000 > 192.0.2.53:53 UDP');
    expect(s!.payload.equals(Q)).toBe(true);
  });

  it('rejects impossible header lengths and counts snaplen-cut datagrams as truncated', () => {
    const { decoder, drops } = decoderWithDrops();
    const short = udp4();
    short[0] = 0x44; // IHL 4 words < 5
    decoder.decode(frame(short, LinkType.RAW));
    const lying = ipv4('10.0.0.1', '10.0.0.2', udp(1, 53, Q), { totalLength: 10 });
    decoder.decode(frame(lying, LinkType.RAW));
    decoder.decode(frame(udp4().subarray(0, 40), LinkType.RAW));
    expect(drops).toEqual({ bad_header: 2, truncated: 1 });
  });

  it('uses the captured length when the total length is 0 (segmentation offload)', () => {
    const { decoder } = decoderWithDrops();
    const packet = ipv4('10.0.0.1', '10.0.0.2', udp(1, 53, Q), { totalLength: 0 });
    expect(decoder.decode(frame(packet, LinkType.RAW))).toHaveLength(1);
  });
});

describe('IPv6 headers and addresses', () => {
  it('walks hop-by-hop, routing and destination options headers', () => {
    const { decoder } = decoderWithDrops();
    const chain = Buffer.concat([
      ipv6Extension(43),
      ipv6Extension(60, 22), // 24 bytes of routing header
      ipv6Extension(17, 14),
      udp(40000, 53, Q),
    ]);
    const [s] = decoder.decode(frame(ipv6(V6_CLIENT, V6_SERVER, 0, chain), LinkType.RAW));
    expect(ends(s!)).toBe('2001:db8::1:40000 > 2001:db8:0:1::53:53 UDP');
    expect(s!.payload.equals(Q)).toBe(true);
  });

  it('stops at No Next Header and at a truncated extension header', () => {
    const { decoder, drops } = decoderWithDrops();
    decoder.decode(frame(ipv6(V6_CLIENT, V6_SERVER, 59, Buffer.alloc(0)), LinkType.RAW));
    const cut = ipv6(V6_CLIENT, V6_SERVER, 0, Buffer.from([17, 3, 0, 0, 0, 0, 0, 0]));
    decoder.decode(frame(cut, LinkType.RAW));
    expect(drops).toEqual({ unsupported_transport: 1, truncated: 1 });
  });

  it('passes an atomic fragment (offset 0, no more fragments) straight through', () => {
    const { decoder } = decoderWithDrops();
    const payload = Buffer.concat([ipv6Fragment(17, 0, false, 7), udp(40000, 53, Q)]);
    expect(
      decoder.decode(frame(ipv6(V6_CLIENT, V6_SERVER, 44, payload), LinkType.RAW)),
    ).toHaveLength(1);
  });

  it.each([
    [[0x2001, 0xdb8, 0, 0, 1, 0, 0, 1], '2001:db8::1:0:0:1'],
    [[0x2001, 0xdb8, 0, 1, 0, 0, 0, 1], '2001:db8:0:1::1'],
    [[0x2001, 0xdb8, 0, 1, 1, 1, 1, 1], '2001:db8:0:1:1:1:1:1'],
    [[0, 0, 0, 0, 0, 0, 0, 1], '::1'],
    [[0xfe80, 0, 0, 0, 0xabcd, 0xef, 0, 0], 'fe80::abcd:ef:0:0'],
    [[0, 0, 0, 0, 0, 0xffff, 0xc000, 0x0201], '::ffff:192.0.2.1'],
    [[0xff02, 0, 0, 0, 0, 0, 0, 0xfb], 'ff02::fb'],
  ])('writes %j as %s (RFC 5952)', (groups, text) => {
    const { decoder } = decoderWithDrops();
    const [s] = decoder.decode(frame(udp6(ipv6Bytes(groups), V6_SERVER), LinkType.RAW));
    expect(s!.src.ip).toBe(text);
  });

  it('writes IPv4 addresses as dotted quads', () => {
    const { decoder } = decoderWithDrops();
    const packet = ipv4('255.0.10.1', '0.0.0.0', udp(53, 53, Q));
    expect(ipv4Bytes('255.0.10.1')).toEqual(packet.subarray(12, 16));
    const [s] = decoder.decode(frame(packet, LinkType.RAW));
    expect([s!.src.ip, s!.dst.ip]).toEqual(['255.0.10.1', '0.0.0.0']);
  });
});

describe('robustness', () => {
  it('never throws on random or mutated frames, and counts every frame with no message', () => {
    const { decoder, drops } = decoderWithDrops();
    let seed = 7;
    const random = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    const seeds = [ethernet(0x0800, udp4()), ethernet(0x86dd, udp6()), sll2(0x0800, udp4())];
    let messages = 0;
    const rounds = 5000;
    for (let i = 0; i < rounds; i++) {
      const base = seeds[i % seeds.length]!;
      const bytes = Buffer.from(base.subarray(0, random(base.length + 1)));
      for (let k = random(6); k > 0 && bytes.length > 0; k--)
        bytes[random(bytes.length)] = random(256);
      const linkType = [LinkType.ETHERNET, LinkType.ETHERNET, LinkType.LINUX_SLL2][i % 3]!;
      messages += decoder.decode(frame(bytes, linkType, i)).length;
    }
    const dropped = Object.values(drops).reduce((a, b) => a + b, 0);
    // Fragments count once when held and again when they expire, so >= rather than ===.
    expect(messages + dropped).toBeGreaterThanOrEqual(rounds);
    expect(messages).toBeGreaterThan(0);
  });
});
