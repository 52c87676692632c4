import * as dnsPacket from 'dns-packet';
import { decodeMessage, newMessageScan, scanMessage, type DnsMessage } from '../../src/dns/message';

function decoded(buf: Buffer): DnsMessage {
  const result = decodeMessage(buf);
  if (result.status !== 'ok')
    throw new Error(`expected ok, got ${result.reason}: ${result.detail}`);
  return result.message;
}

describe('decodeMessage', () => {
  it('normalises the question name and keeps the 0x20 case in nameRaw', () => {
    const buf = dnsPacket.encode({
      type: 'query',
      id: 4242,
      flags: dnsPacket.RECURSION_DESIRED,
      questions: [{ type: 'AAAA', name: 'WwW.ExAmPlE.Org.' }],
    });
    const m = decoded(buf);
    expect(m.id).toBe(4242);
    expect(m.qr).toBe(false);
    expect(m.flags.rd).toBe(true);
    expect(m.question).toEqual({
      name: 'www.example.org',
      nameRaw: 'WwW.ExAmPlE.Org',
      type: 'AAAA',
      class: 'IN',
    });
    expect(m.sizeBytes).toBe(buf.length);
  });

  it('presents answers, authorities and EDNS with client subnet and the extended rcode', () => {
    const buf = dnsPacket.encode({
      type: 'response',
      id: 7,
      flags: dnsPacket.AUTHORITATIVE_ANSWER | dnsPacket.RECURSION_AVAILABLE,
      questions: [{ type: 'A', name: 'example.org' }],
      answers: [
        { type: 'CNAME', name: 'example.org', ttl: 60, data: 'Edge.Example.NET' },
        { type: 'A', name: 'edge.example.net', ttl: 30, data: '192.0.2.10' },
        { type: 'AAAA', name: 'edge.example.net', ttl: 30, data: '2001:db8:0:0:0:0:0:1' },
        {
          type: 'MX',
          name: 'example.org',
          ttl: 5,
          data: { preference: 10, exchange: 'mx.example.org' },
        },
        { type: 'TXT', name: 'example.org', ttl: 5, data: ['v=spf1 -all', 'say "hi"'] },
        {
          type: 'SRV',
          name: '_x._tcp.example.org',
          ttl: 5,
          data: { priority: 1, weight: 2, port: 53, target: 'ns.example.org' },
        },
      ],
      authorities: [
        {
          type: 'SOA',
          name: 'example.org',
          ttl: 300,
          data: {
            mname: 'ns.example.org',
            rname: 'hostmaster.example.org',
            serial: 1,
            refresh: 2,
            retry: 3,
            expire: 4,
            minimum: 5,
          },
        },
      ],
      additionals: [
        {
          type: 'OPT',
          name: '.',
          udpPayloadSize: 1232,
          extendedRcode: 1,
          flags: dnsPacket.DNSSEC_OK,
          options: [
            {
              code: 'CLIENT_SUBNET',
              family: 1,
              sourcePrefixLength: 24,
              scopePrefixLength: 0,
              ip: '198.51.100.0',
            },
          ],
        } as unknown as dnsPacket.Answer,
      ],
    });
    const m = decoded(buf);
    expect(m.flags).toMatchObject({ aa: true, ra: true, tc: false });
    expect(m.answers.map((a) => `${a.name} ${a.ttl} ${a.type} ${a.data}`)).toEqual([
      'example.org 60 CNAME edge.example.net',
      'edge.example.net 30 A 192.0.2.10',
      'edge.example.net 30 AAAA 2001:db8::1',
      'example.org 5 MX 10 mx.example.org',
      'example.org 5 TXT "v=spf1 -all" "say \\"hi\\""',
      '_x._tcp.example.org 5 SRV 1 2 53 ns.example.org',
    ]);
    expect(m.authorities[0]?.data).toBe('ns.example.org hostmaster.example.org 1 2 3 4 5');
    expect(m.additionals).toEqual([]);
    expect(m.additionalCount).toBe(1);
    expect(m.edns).toMatchObject({
      version: 0,
      udpSize: 1232,
      do: true,
      clientSubnet: '198.51.100.0/24',
    });
    expect(m.edns?.options.map((o) => o.code)).toEqual([8]);
    // Header RCODE 0 with extended bits 1: 16 = BADVERS (RFC 6891 §6.1.3).
    expect(m.rcodeValue).toBe(16);
  });

  it('reports a short message as malformed with the reason', () => {
    const result = decodeMessage(Buffer.from([1, 2, 3]));
    expect(result).toMatchObject({ status: 'malformed', reason: 'header_truncated', header: null });
  });

  it('reports a compression pointer loop in the question as malformed, keeping the header', () => {
    const buf = Buffer.from([0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1]);
    const result = decodeMessage(buf);
    expect(result.status).toBe('malformed');
    if (result.status !== 'malformed') return;
    expect(result.reason).toBe('bad_question');
    expect(result.header?.id).toBe(0x1234);
    expect(result.detail).toMatch(/pointer/);
  });

  it('follows a compression pointer to a later name, as resolvers do', () => {
    const owner = Buffer.from([7, ...Buffer.from('example'), 3, ...Buffer.from('com'), 0]);
    const buf = Buffer.concat([
      Buffer.from([0xab, 0xcd, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0]),
      Buffer.from([0xc0, 18, 0, 1, 0, 1]), // question: pointer forward to the answer's owner
      owner,
      Buffer.from([0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1]),
    ]);
    const m = decoded(buf);
    expect(m.question?.name).toBe('example.com');
    expect(m.answers).toEqual([
      { name: 'example.com', type: 'A', class: 'IN', ttl: 60, data: '192.0.2.1' },
    ]);
  });

  it('keeps the records before a broken one and says where it broke', () => {
    const good = dnsPacket.encode({
      type: 'response',
      id: 1,
      questions: [{ type: 'A', name: 'a.example' }],
      answers: [
        { type: 'A', name: 'a.example', ttl: 1, data: '192.0.2.1' },
        { type: 'A', name: 'a.example', ttl: 1, data: '192.0.2.2' },
      ],
    });
    const cut = good.subarray(0, good.length - 3);
    const m = decoded(cut);
    expect(m.answers.map((a) => a.data)).toEqual(['192.0.2.1']);
    expect(m.answerCount).toBe(2);
    expect(m.recordsError).toMatch(/answer record 2/);
  });

  it('names unknown types and classes the RFC 3597 way', () => {
    const buf = dnsPacket.encode({
      type: 'response',
      id: 1,
      questions: [{ type: 'A', name: 'x.example' }],
      answers: [
        {
          type: 'UNKNOWN_65280' as 'A',
          name: 'x.example',
          ttl: 1,
          data: Buffer.from('abcd', 'hex') as unknown as string,
        },
      ],
    });
    const m = decoded(buf);
    expect(m.answers[0]).toMatchObject({ type: 'TYPE65280', data: '\\# 2 abcd' });
  });
});

describe('record data text', () => {
  it('cuts the text of huge RDATA and marks the cut', () => {
    const big = Buffer.alloc(20_000, 1);
    const strings = [];
    for (let i = 0; i < big.length; i += 255) strings.push(big.subarray(i, i + 255));
    const buf = dnsPacket.encode({
      type: 'response',
      id: 1,
      questions: [{ type: 'TXT', name: 'big.example' }],
      answers: [{ type: 'TXT', name: 'big.example', ttl: 1, data: strings }],
    });
    const result = decodeMessage(buf);
    expect(result.status).toBe('ok');
    if (result.status !== 'ok') return;
    const text = result.message.answers[0]?.data ?? '';
    expect(text.endsWith('...(truncated)')).toBe(true);
    expect(text.length).toBeLessThan(4 * 4096 + 2000);
  });
});

describe('scanMessage', () => {
  /** A small deterministic generator, so a failure replays. */
  function lcg(seed: number): () => number {
    let x = seed;
    return () => {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      return x / 4294967296;
    };
  }

  it('accepts exactly what decodeMessage decodes and agrees on incomplete records', () => {
    const base = dnsPacket.encode({
      type: 'response',
      id: 9,
      flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE,
      questions: [{ type: 'A', name: 'Www.Example.org' }],
      answers: [
        { type: 'CNAME', name: 'www.example.org', ttl: 5, data: 'edge.example.net' },
        { type: 'A', name: 'edge.example.net', ttl: 5, data: '192.0.2.1' },
      ],
      authorities: [{ type: 'NS', name: 'example.org', ttl: 5, data: 'ns.example.org' }],
    });
    const random = lcg(7);
    const scan = newMessageScan();
    let malformed = 0;
    let incomplete = 0;
    for (let n = 0; n < 20000; n++) {
      // Bytes overwritten with values that matter to names (pointers, lengths) and cuts.
      const buf = Buffer.from(base.subarray(0, 12 + Math.floor(random() * (base.length - 11))));
      for (let k = Math.floor(random() * 4); k > 0; k--) {
        const at = Math.floor(random() * buf.length);
        const pick = [0, 0xc0, 0xc0 | Math.floor(random() * 64), 12, 63, 64, 0x80, 255];
        buf[at] = random() < 0.5 ? (pick[Math.floor(random() * pick.length)] ?? 0) : random() * 256;
      }
      const decoded = decodeMessage(buf);
      const scanned = scanMessage(buf, scan);
      expect(scanned).toBe(decoded.status === 'ok');
      if (decoded.status !== 'ok') {
        malformed++;
        continue;
      }
      const m = decoded.message;
      expect(scan.recordsComplete).toBe(m.recordsError === null);
      expect([scan.id, scan.qr, scan.hasQuestion]).toEqual([m.id, m.qr, m.question !== null]);
      if (!scan.recordsComplete) incomplete++;
    }
    // The mutations reach every outcome.
    expect(malformed).toBeGreaterThan(100);
    expect(incomplete).toBeGreaterThan(100);
  });
});
