import { LinkType } from '@dnsflow/collector';
import type { DnsSegment, PacketDecoder } from '@dnsflow/collector';
import {
  dnsQuery,
  dnsResponse,
  ipv4,
  tcp,
  tcpFramed,
  TCP_ACK,
  TCP_FIN,
  TCP_PSH,
  TCP_RST,
  TCP_SYN,
} from '../support/packets';
import { decoderWithDrops, ends, frame } from '../support/decoder';

const CLIENT = '10.0.0.5';
const SERVER = '10.0.0.53';
const ISN = 0xfffffff0; // close to the wrap, so sequence arithmetic is exercised
const Q1 = dnsQuery(1, 'one.example');
const Q2 = dnsQuery(2, 'two.example');
const Q3 = dnsQuery(3, 'three.example');
const R1 = dnsResponse(1, 'one.example', '192.0.2.1');

/** Sends a client -> server segment with `data` at stream offset `at` (0 = first byte after SYN). */
function send(
  decoder: PacketDecoder,
  at: number,
  data: Buffer,
  tsUs = 1_000_000,
  flags = TCP_ACK | TCP_PSH,
): DnsSegment[] {
  const segment = tcp(40000, 53, (ISN + 1 + at) >>> 0, flags, data);
  return decoder.decode(frame(ipv4(CLIENT, SERVER, segment, { protocol: 6 }), LinkType.RAW, tsUs));
}

function syn(decoder: PacketDecoder): void {
  const segment = tcp(40000, 53, ISN, TCP_SYN);
  decoder.decode(frame(ipv4(CLIENT, SERVER, segment, { protocol: 6 }), LinkType.RAW));
}

const ids = (segments: DnsSegment[]): number[] => segments.map((s) => s.payload.readUInt16BE(0));

describe('TCP stream reassembly (RFC 7766 §8)', () => {
  it('cuts several length-prefixed messages out of one segment', () => {
    const { decoder, drops } = decoderWithDrops();
    syn(decoder);
    const out = send(decoder, 0, tcpFramed(Q1, Q2, Q3));
    expect(ids(out)).toEqual([1, 2, 3]);
    expect(ends(out[0]!)).toBe('10.0.0.5:40000 > 10.0.0.53:53 TCP');
    expect(out[2]!.payload.equals(Q3)).toBe(true);
    expect(drops).toEqual({});
  });

  it('joins a message split over segments, with the time of the completing one', () => {
    const { decoder } = decoderWithDrops();
    syn(decoder);
    const bytes = tcpFramed(Q1, Q2);
    expect(send(decoder, 0, bytes.subarray(0, 1), 10)).toHaveLength(0); // half a length prefix
    expect(send(decoder, 1, bytes.subarray(1, 20), 20)).toHaveLength(0);
    const out = send(decoder, 20, bytes.subarray(20), 30);
    expect(ids(out)).toEqual([1, 2]);
    expect(out.map((s) => s.tsUs)).toEqual([30, 30]);
    expect(out[0]!.payload.equals(Q1)).toBe(true);
  });

  it('reorders segments and ignores retransmitted and overlapping bytes', () => {
    const { decoder, drops } = decoderWithDrops();
    syn(decoder);
    const bytes = tcpFramed(Q1, Q2, Q3);
    const cut = [0, 10, 35, 60, bytes.length];
    const piece = (i: number): [number, Buffer] => [cut[i]!, bytes.subarray(cut[i], cut[i + 1])];
    const out: DnsSegment[] = [];
    for (const i of [2, 0, 0, 3]) out.push(...send(decoder, ...piece(i)));
    // Bytes 5..40 again (overlapping the first and third pieces), then the missing piece.
    out.push(...send(decoder, 5, bytes.subarray(5, 40)));
    out.push(...send(decoder, ...piece(1)));
    expect(ids(out)).toEqual([1, 2, 3]);
    expect(out.map((s) => s.payload.length)).toEqual([Q1.length, Q2.length, Q3.length]);
    expect(drops).toEqual({});
  });

  it('picks up a stream without its SYN at a plausible message boundary', () => {
    const { decoder, drops } = decoderWithDrops();
    // Starts in the middle of a message: the tail of Q1, then Q2 and Q3 whole.
    const bytes = tcpFramed(Q1, Q2, Q3);
    const out = [
      ...send(decoder, 9, bytes.subarray(9, 2 + Q1.length + 5)),
      ...send(decoder, 2 + Q1.length + 5, bytes.subarray(2 + Q1.length + 5)),
    ];
    // The first segment has no boundary that checks out; the second starts mid-message
    // too, but carries a whole Q3 behind the rest of Q2.
    expect(ids(out)).toEqual([3]);
    expect(drops.tcp_gap).toBe(1);

    const fresh = decoderWithDrops();
    expect(ids(send(fresh.decoder, 0, tcpFramed(Q2, Q3)))).toEqual([2, 3]);
    expect(fresh.drops).toEqual({});
  });

  it('counts a hole, then resynchronises after the reorder timeout', () => {
    const { decoder, drops } = decoderWithDrops({ tcp: { reorderTimeoutMs: 500 } });
    syn(decoder);
    const bytes = tcpFramed(Q1, Q2, Q3);
    const q2At = 2 + Q1.length;
    const q3At = q2At + 2 + Q2.length;
    expect(ids(send(decoder, 0, bytes.subarray(0, q2At), 1_000_000))).toEqual([1]);
    // The segment with Q2 is never seen.
    expect(send(decoder, q3At, bytes.subarray(q3At), 1_100_000)).toHaveLength(0);
    expect(decoder.expire(1_500_000)).toHaveLength(0);
    const recovered = decoder.expire(1_600_000);
    expect(ids(recovered)).toEqual([3]);
    expect(recovered[0]!.tsUs).toBe(1_100_000);
    expect(drops).toEqual({ tcp_gap: 1 });
  });

  it('forgets flows on FIN and RST, counting unfinished messages', () => {
    const { decoder, drops } = decoderWithDrops();
    syn(decoder);
    const bytes = tcpFramed(Q1, Q2);
    send(decoder, 0, bytes.subarray(0, 2 + Q1.length + 4));
    expect(decoder.stats().tcpFlows).toBe(1);
    expect(decoder.stats().tcpBytes).toBe(4);
    send(decoder, 2 + Q1.length + 4, Buffer.alloc(0), 2_000_000, TCP_ACK | TCP_FIN);
    expect(decoder.stats()).toMatchObject({ tcpFlows: 0, tcpBytes: 0 });
    expect(drops).toEqual({ truncated: 1 });

    syn(decoder);
    send(decoder, 0, tcpFramed(Q1).subarray(0, 8));
    const reply = tcp(53, 40000, 1000, TCP_RST);
    decoder.decode(frame(ipv4(SERVER, CLIENT, reply, { protocol: 6 }), LinkType.RAW));
    expect(decoder.stats()).toMatchObject({ tcpFlows: 0, tcpBytes: 0 });
    expect(drops).toEqual({ truncated: 2 });
  });

  it('closes idle flows in packet time', () => {
    const { decoder } = decoderWithDrops({ tcp: { idleTimeoutMs: 10_000 } });
    syn(decoder);
    send(decoder, 0, tcpFramed(Q1), 1_000_000);
    decoder.expire(10_999_999);
    expect(decoder.stats().tcpFlows).toBe(1);
    decoder.expire(11_000_000);
    expect(decoder.stats().tcpFlows).toBe(0);
  });

  it('treats each direction as its own stream', () => {
    const { decoder } = decoderWithDrops();
    syn(decoder);
    send(decoder, 0, tcpFramed(Q1));
    const answer = tcp(53, 40000, 5000, TCP_ACK | TCP_PSH, tcpFramed(R1));
    const out = decoder.decode(frame(ipv4(SERVER, CLIENT, answer, { protocol: 6 }), LinkType.RAW));
    expect(out.map(ends)).toEqual(['10.0.0.53:53 > 10.0.0.5:40000 TCP']);
    expect(out[0]!.payload.equals(R1)).toBe(true);
  });

  it('rejects a length prefix too short for a DNS header', () => {
    const { decoder, drops } = decoderWithDrops();
    syn(decoder);
    const bad = Buffer.from([0, 5, 1, 2, 3, 4, 5]);
    expect(send(decoder, 0, bad)).toHaveLength(0);
    expect(drops).toEqual({ tcp_bad_length: 1 });
    // The stream resynchronises on the next plausible message.
    expect(ids(send(decoder, bad.length, tcpFramed(Q2)))).toEqual([2]);
  });

  it('bounds the bytes buffered per direction and overall', () => {
    const perFlow = decoderWithDrops({ tcp: { maxFlowBytes: 100 } });
    syn(perFlow.decoder);
    const big = tcpFramed(Buffer.concat([Q1, Buffer.alloc(300)]));
    big.writeUInt16BE(Q1.length + 300, 0);
    send(perFlow.decoder, 0, big.subarray(0, 150));
    expect(perFlow.drops).toEqual({ tcp_overflow: 1 });
    expect(perFlow.decoder.stats().tcpBytes).toBe(0);

    const global = decoderWithDrops({ tcp: { maxTotalBytes: 40 } });
    const half = tcpFramed(Q1).subarray(0, 30);
    for (const port of [1001, 1002]) {
      const segment = tcp(port, 53, 1, TCP_ACK | TCP_PSH, half);
      global.decoder.decode(frame(ipv4(CLIENT, SERVER, segment, { protocol: 6 }), LinkType.RAW));
    }
    // The older flow's 30 bytes are given up for the newer one's.
    expect(global.drops).toEqual({ tcp_overflow: 1 });
    expect(global.decoder.stats().tcpBytes).toBe(30);
  });
});
