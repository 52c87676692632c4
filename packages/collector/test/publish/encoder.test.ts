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

  it('rejects a record the schema does not accept with the codec error naming the field', () => {
    const [tx] = transactions(1);
    const encoder = new RecordEncoder(codec);
    const bad = { ...tx!, client: { ip: 42, port: 'x' } } as unknown as DnsTransaction;
    expect(() => encoder.encode(bad)).toThrow(CodecError);
    expect(() => encoder.encode(bad)).toThrow(/client/);
    expect(encoder.encode(tx!).equals(codec.encode(tx!))).toBe(true);
  });
});
