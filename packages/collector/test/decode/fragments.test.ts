import { LinkType } from '@dnsflow/collector';
import * as dnsPacket from 'dns-packet';
import { ipv4, ipv6, ipv6Bytes, ipv6Fragment, udp } from '../support/packets';
import { decoderWithDrops, ends, frame } from '../support/decoder';

/** A response big enough to need fragments: 40 A records. */
const BIG = udp(
  53,
  40000,
  dnsPacket.encode({
    type: 'response',
    id: 7,
    questions: [{ type: 'A', class: 'IN', name: 'big.example' }],
    answers: Array.from({ length: 40 }, (_, i) => ({
      type: 'A' as const,
      class: 'IN' as const,
      name: 'big.example',
      ttl: 60,
      data: `192.0.2.${i + 1}`,
    })),
  }),
);
const SRC6 = ipv6Bytes([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x53]);
const DST6 = ipv6Bytes([0x2001, 0xdb8, 0, 0, 0, 0, 0, 1]);

/** Cuts a UDP datagram (header included) into IPv4 fragments of `size` bytes. */
function fragments4(datagram: Buffer, size: number, id = 99): Buffer[] {
  const out: Buffer[] = [];
  for (let off = 0; off < datagram.length; off += size) {
    out.push(
      ipv4('192.0.2.53', '192.0.2.10', datagram.subarray(off, off + size), {
        id,
        fragOffset: off,
        moreFragments: off + size < datagram.length,
      }),
    );
  }
  return out;
}

function fragments6(datagram: Buffer, size: number, id = 0x01020304): Buffer[] {
  const out: Buffer[] = [];
  for (let off = 0; off < datagram.length; off += size) {
    const more = off + size < datagram.length;
    const body = Buffer.concat([
      ipv6Fragment(17, off, more, id),
      datagram.subarray(off, off + size),
    ]);
    out.push(ipv6(SRC6, DST6, 44, body));
  }
  return out;
}

describe('IP fragment reassembly', () => {
  it('reassembles IPv4 fragments arriving in any order, at the last fragment', () => {
    const { decoder, drops } = decoderWithDrops();
    const parts = fragments4(BIG, 24);
    expect(parts.length).toBeGreaterThan(2);
    const order = [parts.length - 1, ...parts.keys()].filter((v, i, a) => a.indexOf(v) === i);
    const out = order.flatMap((i) => decoder.decode(frame(parts[i]!, LinkType.RAW, 100 + i)));
    expect(out).toHaveLength(1);
    expect(ends(out[0]!)).toBe('192.0.2.53:53 > 192.0.2.10:40000 UDP');
    expect(out[0]!.payload.equals(BIG.subarray(8))).toBe(true);
    expect(out[0]!.tsUs).toBe(100 + order[order.length - 1]!);
    expect(drops).toEqual({ fragment_pending: parts.length - 1 });
    expect(decoder.stats().fragmentBytes).toBe(0);
  });

  it('reassembles IPv6 fragments (RFC 8200 §4.5)', () => {
    const { decoder, drops } = decoderWithDrops();
    const parts = fragments6(BIG, 32);
    const out = [...parts].reverse().flatMap((p) => decoder.decode(frame(p, LinkType.RAW)));
    expect(out).toHaveLength(1);
    expect(ends(out[0]!)).toBe('2001:db8::53:53 > 2001:db8::1:40000 UDP');
    expect(out[0]!.payload.equals(BIG.subarray(8))).toBe(true);
    expect(drops).toEqual({ fragment_pending: parts.length - 1 });
  });

  it('keeps datagrams with different ids apart and ignores duplicate fragments', () => {
    const { decoder } = decoderWithDrops();
    const a = fragments4(BIG, 64, 1);
    const b = fragments4(BIG, 64, 2);
    const out = [a[0]!, b[0]!, a[0]!, b[1]!, a[1]!, ...b.slice(2), ...a.slice(2)].flatMap((p) =>
      decoder.decode(frame(p, LinkType.RAW)),
    );
    expect(out).toHaveLength(2);
    expect(out.every((s) => s.payload.equals(BIG.subarray(8)))).toBe(true);
  });

  it('abandons a datagram with overlapping fragments', () => {
    const { decoder, drops } = decoderWithDrops();
    const parts = fragments6(BIG, 32);
    const overlap = ipv6(
      SRC6,
      DST6,
      44,
      Buffer.concat([ipv6Fragment(17, 16, true, 0x01020304), BIG.subarray(16, 48)]),
    );
    const out = [parts[0]!, overlap, ...parts.slice(1)].flatMap((p) =>
      decoder.decode(frame(p, LinkType.RAW)),
    );
    expect(out).toHaveLength(0);
    expect(drops.bad_header).toBe(2); // the held first fragment and the overlapping one
  });

  it('gives up datagrams after the timeout, in packet time', () => {
    const { decoder, drops } = decoderWithDrops({ fragments: { timeoutMs: 5000 } });
    const parts = fragments4(BIG, 64);
    decoder.decode(frame(parts[0]!, LinkType.RAW, 1_000_000));
    decoder.decode(frame(parts[1]!, LinkType.RAW, 2_000_000));
    decoder.expire(5_999_999);
    expect(decoder.stats().fragmentDatagrams).toBe(1);
    decoder.expire(6_000_000);
    expect(decoder.stats().fragmentDatagrams).toBe(0);
    expect(drops).toEqual({ fragment_pending: 2, fragment_timeout: 2 });
    // The rest arrives too late: no message.
    const late = parts.slice(2).flatMap((p) => decoder.decode(frame(p, LinkType.RAW, 6_500_000)));
    expect(late).toHaveLength(0);
  });

  it('bounds the bytes held, giving up the oldest datagrams first', () => {
    const maxBytes = BIG.length + 10;
    const { decoder, drops } = decoderWithDrops({ fragments: { maxBytes } });
    const stale = fragments4(BIG, 64, 1);
    const fresh = fragments4(BIG, 64, 2);
    decoder.decode(frame(stale[0]!, LinkType.RAW));
    // The fresh datagram fits only without the stale fragment, which is given up for it.
    const out = fresh.flatMap((p) => decoder.decode(frame(p, LinkType.RAW)));
    expect(out).toHaveLength(1);
    expect(drops.fragment_overflow).toBe(1);
    expect(decoder.stats().fragmentBytes).toBe(0);
  });

  it('rejects fragments that cannot be placed', () => {
    const { decoder, drops } = decoderWithDrops();
    // A non-final fragment whose length is not a multiple of 8.
    const odd = ipv4('192.0.2.1', '192.0.2.2', Buffer.alloc(13), { moreFragments: true });
    decoder.decode(frame(odd, LinkType.RAW));
    // ICMP fragments are not kept: they cannot carry DNS.
    const icmp = ipv4('192.0.2.1', '192.0.2.2', Buffer.alloc(16), {
      protocol: 1,
      moreFragments: true,
    });
    decoder.decode(frame(icmp, LinkType.RAW));
    expect(drops).toEqual({ bad_header: 1, unsupported_transport: 1 });
    expect(decoder.stats().fragmentDatagrams).toBe(0);
  });
});
