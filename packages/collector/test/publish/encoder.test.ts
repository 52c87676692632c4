import { CodecError, createCodec, type DnsTransaction } from '@dnsflow/schema';
import { Pairer } from '../../src/pairing/pairer';
import { RecordEncoder } from '../../src/publish/encoder';
import { dnsQuery, dnsResponse } from '../support/packets';

/** `count` answered transactions with names of growing length. */
function transactions(count: number): DnsTransaction[] {
  const out: DnsTransaction[] = [];
  const pairer = new Pairer(
    { timeoutMs: 5000, maxPending: 100, duplicateWindowMs: 0, dnsPorts: new Set([53]), node: 'n' },
    (tx) => out.push(tx),
  );
  const client = { ip: '10.0.0.1', port: 40000 };
  const server = { ip: '10.96.0.10', port: 53 };
  for (let i = 0; i < count; i++) {
    const name = `host-${i}.${'x'.repeat(i % 60)}.example.org`;
    const tsUs = 1_000_000 * (i + 1);
    const id = i % 65536;
    pairer.handle({
      tsUs,
      iface: 'eth0',
      src: client,
      dst: server,
      transport: 'UDP',
      payload: dnsQuery(id, name),
    });
    pairer.handle({
      tsUs: tsUs + 100,
      iface: 'eth0',
      src: server,
      dst: client,
      transport: 'UDP',
      payload: dnsResponse(id, name, '192.0.2.1'),
    });
  }
  pairer.flush();
  return out;
}

describe('RecordEncoder', () => {
  const codec = createCodec<DnsTransaction>('DnsTransaction');

  it('writes the bytes codec.encode writes, across slabs, and earlier records stay intact', () => {
    const txs = transactions(6000);
    const encoder = new RecordEncoder(codec);
    const views = txs.map((tx) => encoder.encode(tx));
    // 6000 records of 150-250 bytes fill more than one 1 MiB slab.
    expect(views.reduce((n, v) => n + v.length, 0)).toBeGreaterThan(1 << 20);
    views.forEach((view, i) => expect(view.equals(codec.encode(txs[i]!))).toBe(true));
    const decoded = codec.decode(views[5999]!);
    expect(decoded.status === 'ok' && decoded.value.question?.name).toBe(txs[5999]!.question?.name);
  });

  it('writes version 1 byte for byte as avsc does, whatever the values', () => {
    const [base] = transactions(1);
    const tx = base!;
    const long = 'l'.repeat(64);
    const variants: DnsTransaction[] = [
      tx,
      { ...tx, question: null, rcode: null, rcodeValue: null, endTimeUs: null, latencyUs: null },
      { ...tx, iface: null, answeredBy: { ip: '10.244.0.3', port: 53 }, transport: 'TCP' },
      { ...tx, status: 'MALFORMED', malformedReason: 'bad_question: x', notes: ['a', 'b'] },
      { ...tx, status: 'ORPHAN', duplicateResponses: 3, requestBytes: null, responseBytes: 70000 },
      // Strings around avsc's 64-byte switch, outside ASCII, a lone surrogate.
      { ...tx, node: long, iface: `${long}x`, opcode: 'é'.repeat(32), notes: ['\ud800', '日本'] },
      {
        ...tx,
        answers: [
          { name: 'ü.example', type: 'TXT', class: 'IN', ttl: 4294967295, data: 'x'.repeat(5000) },
        ],
      },
      // Numbers on both sides of 2^30 and negative ones.
      {
        ...tx,
        captureTimeUs: 9007199254740990,
        endTimeUs: -(2 ** 40) - 3,
        requestBytes: -1073741825,
        responseBytes: 1073741824,
        startTimeUs: -5,
        latencyUs: 2 ** 30,
        dnsId: 1073741823,
      },
      {
        ...tx,
        queryEdns: {
          version: 0,
          udpSize: 1232,
          do: true,
          clientSubnet: '192.0.2.0/24',
          options: [
            { code: 10, data: Buffer.from('0011223344556677', 'hex') },
            { code: 8, data: Buffer.alloc(0) },
          ],
        },
        responseEdns: { version: 1, udpSize: 512, do: false, clientSubnet: null, options: [] },
      },
    ];
    const encoder = new RecordEncoder(codec);
    // What avsc refuses is refused too: a long it cannot hold exactly, a fractional int.
    expect(() => encoder.encode({ ...tx, captureTimeUs: 2 ** 53 })).toThrow(/captureTimeUs/);
    expect(() => encoder.encode({ ...tx, dnsId: 1.5 })).toThrow(/dnsId/);
    for (const v of variants)
      expect(encoder.encode(v).toString('hex')).toBe(codec.encode(v).toString('hex'));
  });

  it('rejects a record the schema does not accept with the codec error naming the field', () => {
    const [tx] = transactions(1);
    const encoder = new RecordEncoder(codec);
    const bad = { ...tx!, client: { ip: 42, port: 'x' } } as unknown as DnsTransaction;
    expect(() => encoder.encode(bad)).toThrow(CodecError);
    expect(() => encoder.encode(bad)).toThrow(/client/);
    expect(encoder.encode(tx!).equals(codec.encode(tx!))).toBe(true);
  });
});
