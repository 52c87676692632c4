import * as dnsPacket from 'dns-packet';
import type { DnsTransaction, Endpoint } from '@dnsflow/schema';
import type { DnsSegment } from '../../src/decode/segment';
import { ENTRY_OVERHEAD_BYTES, Pairer, type PairingEvents } from '../../src/pairing/pairer';

const client: Endpoint = { ip: '10.244.1.7', port: 40000 };
const serviceIp: Endpoint = { ip: '10.96.0.10', port: 53 };
const corednsPod: Endpoint = { ip: '10.244.0.3', port: 53 };

function query(id: number, name = 'api.example.org', type: 'A' | 'AAAA' = 'A'): Buffer {
  return dnsPacket.encode({
    type: 'query',
    id,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ type, name }],
  });
}

function answer(id: number, name = 'api.example.org', ip = '192.0.2.1'): Buffer {
  return dnsPacket.encode({
    type: 'response',
    id,
    flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE,
    questions: [{ type: 'A', name }],
    answers: [{ type: 'A', name, ttl: 30, data: ip }],
  });
}

function seg(tsUs: number, src: Endpoint, dst: Endpoint, payload: Buffer): DnsSegment {
  return { tsUs, iface: 'eth0', src, dst, transport: 'UDP', payload };
}

interface Harness {
  pairer: Pairer;
  out: DnsTransaction[];
  counts: Record<string, number>;
}

function harness(overrides: Partial<ConstructorParameters<typeof Pairer>[0]> = {}): Harness {
  const out: DnsTransaction[] = [];
  const counts: Record<string, number> = {};
  const bump = (k: string) => () => {
    counts[k] = (counts[k] ?? 0) + 1;
  };
  const events: PairingEvents = {
    malformed: (reason) => bump(`malformed:${reason}`)(),
    captureDuplicate: (kind) => bump(`dup:${kind}`)(),
    evicted: bump('evicted'),
    recordsIncomplete: bump('incomplete'),
  };
  const pairer = new Pairer(
    {
      timeoutMs: 5000,
      maxPending: 1000,
      duplicateWindowMs: 50,
      dnsPorts: new Set([53]),
      node: 'node-a',
      nowUs: () => 1,
      ...overrides,
    },
    (tx) => out.push(tx),
    events,
  );
  return { pairer, out, counts };
}

const T0 = 1_700_000_000_000_000;

describe('Pairer', () => {
  it('pairs a query with its response and measures latency from packet times', () => {
    const h = harness();
    h.pairer.handle(seg(T0, client, serviceIp, query(1)));
    h.pairer.handle(seg(T0 + 1500, serviceIp, client, answer(1)));
    expect(h.out).toHaveLength(0); // waits out the duplicate window
    h.pairer.advance(T0 + 1500 + 50_000);
    expect(h.out).toHaveLength(1);
    const tx = h.out[0];
    expect(tx).toMatchObject({
      status: 'ANSWERED',
      client,
      server: serviceIp,
      answeredBy: null,
      latencyUs: 1500,
      startTimeUs: T0,
      endTimeUs: T0 + 1500,
      rcode: 'NOERROR',
      node: 'node-a',
      iface: 'eth0',
    });
    expect(tx?.answers.map((a) => a.data)).toEqual(['192.0.2.1']);
    expect(tx?.flags).toMatchObject({ rd: true, ra: true });
    expect(tx?.requestBytes).toBe(query(1).length);
  });

  it('emits a query without a response as UNANSWERED after the timeout, not before', () => {
    const h = harness({ timeoutMs: 2000 });
    h.pairer.handle(seg(T0, client, serviceIp, query(9)));
    h.pairer.advance(T0 + 1_999_000);
    expect(h.out).toHaveLength(0);
    h.pairer.advance(T0 + 2_000_000);
    expect(h.out.map((t) => [t.status, t.latencyUs, t.rcode])).toEqual([
      ['UNANSWERED', null, null],
    ]);
    expect(h.pairer.pendingCount).toBe(0);
  });

  it('emits a response nobody asked for as ORPHAN', () => {
    const h = harness();
    h.pairer.handle(seg(T0, serviceIp, client, answer(77)));
    expect(h.out.map((t) => [t.status, t.client.ip, t.server.ip])).toEqual([
      ['ORPHAN', client.ip, serviceIp.ip],
    ]);
  });

  it('merges the copy of a query seen after service NAT and keeps the pod that answered', () => {
    const h = harness();
    h.pairer.handle(seg(T0, client, serviceIp, query(5))); // client veth
    h.pairer.handle(seg(T0 + 20, client, corednsPod, query(5))); // after DNAT
    h.pairer.handle(seg(T0 + 900, corednsPod, client, answer(5))); // CoreDNS side
    h.pairer.handle(seg(T0 + 930, serviceIp, client, answer(5))); // after un-NAT
    h.pairer.flush();
    expect(h.out).toHaveLength(1);
    expect(h.out[0]).toMatchObject({
      status: 'ANSWERED',
      server: serviceIp,
      answeredBy: corednsPod,
      latencyUs: 930,
      duplicateResponses: 0,
    });
    expect(h.counts).toMatchObject({ 'dup:query': 1, 'dup:response': 1 });
  });

  it('keeps 2,000 NAT copies apart while pending, and forgets them once emitted', () => {
    const h = harness({ maxPending: 5000 });
    const clients = Array.from({ length: 2000 }, (_, i) => ({
      ip: `10.244.${i >> 8}.${i & 255}`,
      port: 40000 + (i % 7),
    }));
    // Every query twice (client veth, then after DNAT), all pending at once; then the
    // responses newest first, each seen on the pod side and after un-NAT.
    clients.forEach((c, i) => {
      h.pairer.handle(seg(T0 + i, c, serviceIp, query(i & 0xffff)));
      h.pairer.handle(seg(T0 + i + 1, c, corednsPod, query(i & 0xffff)));
    });
    expect(h.pairer.pendingCount).toBe(2000);
    for (let i = clients.length - 1; i >= 0; i--) {
      h.pairer.handle(seg(T0 + 5000, corednsPod, clients[i]!, answer(i & 0xffff)));
      h.pairer.handle(seg(T0 + 5001, serviceIp, clients[i]!, answer(i & 0xffff)));
    }
    h.pairer.advance(T0 + 5001 + 50_000);
    expect(h.out).toHaveLength(2000);
    expect(new Set(h.out.map((t) => `${t.status} ${t.server.ip} ${t.answeredBy?.ip}`))).toEqual(
      new Set(['ANSWERED 10.96.0.10 10.244.0.3']),
    );
    expect(new Set(h.out.map((t) => `${t.client.ip}:${t.client.port}`)).size).toBe(2000);
    expect(h.counts).toMatchObject({ 'dup:query': 2000, 'dup:response': 2000 });
    // The same clients and ids again: the old aliases are gone, so the pod-side response
    // without a query is an orphan, and a new query pairs afresh.
    h.pairer.handle(seg(T0 + 200_000, corednsPod, clients[0]!, answer(0)));
    h.pairer.handle(seg(T0 + 200_001, clients[1]!, serviceIp, query(1)));
    h.pairer.handle(seg(T0 + 200_002, serviceIp, clients[1]!, answer(1)));
    h.pairer.flush();
    expect(h.out.slice(2000).map((t) => [t.status, t.client.ip, t.server.ip])).toEqual([
      ['ORPHAN', clients[0]!.ip, corednsPod.ip],
      ['ANSWERED', clients[1]!.ip, serviceIp.ip],
    ]);
  });

  it('notes a second, different response to the same query', () => {
    const h = harness();
    h.pairer.handle(seg(T0, client, serviceIp, query(3)));
    h.pairer.handle(seg(T0 + 100, serviceIp, client, answer(3)));
    h.pairer.handle(seg(T0 + 200, serviceIp, client, answer(3, 'api.example.org', '192.0.2.99')));
    h.pairer.flush();
    expect(h.out.map((t) => [t.status, t.duplicateResponses])).toEqual([['ANSWERED', 1]]);
  });

  it('counts the same response sent twice by the server as a duplicate, latency from the first', () => {
    const h = harness();
    h.pairer.handle(seg(T0, client, serviceIp, query(4)));
    h.pairer.handle(seg(T0 + 214, serviceIp, client, answer(4)));
    h.pairer.handle(seg(T0 + 302, serviceIp, client, answer(4)));
    h.pairer.flush();
    expect(h.out.map((t) => [t.status, t.latencyUs, t.duplicateResponses])).toEqual([
      ['ANSWERED', 214, 1],
    ]);
    expect(h.counts['dup:response']).toBeUndefined();
  });

  it('closes a pending query with a note when its id is reused for a new question', () => {
    const h = harness();
    h.pairer.handle(seg(T0, client, serviceIp, query(11, 'one.example')));
    h.pairer.handle(seg(T0 + 1000, client, serviceIp, query(11, 'two.example')));
    h.pairer.handle(seg(T0 + 2000, serviceIp, client, answer(11, 'two.example')));
    h.pairer.flush();
    expect(h.out.map((t) => [t.question?.name, t.status, t.notes])).toEqual([
      ['one.example', 'UNANSWERED', ['id reused by a new query while pending']],
      ['two.example', 'ANSWERED', []],
    ]);
  });

  it('never holds more than maxPending queries and counts what it had to emit early', () => {
    const h = harness({ maxPending: 3 });
    for (let id = 0; id < 5; id++) h.pairer.handle(seg(T0 + id, client, serviceIp, query(id)));
    expect(h.pairer.pendingCount).toBe(3);
    expect(h.counts.evicted).toBe(2);
    expect(h.out.map((t) => [t.dnsId, t.status, t.notes[0]])).toEqual([
      [0, 'UNANSWERED', 'emitted early: pending table full'],
      [1, 'UNANSWERED', 'emitted early: pending table full'],
    ]);
    h.pairer.flush();
    expect(h.out).toHaveLength(5);
  });

  it('bounds the pending table by memory too: big queries are emitted early', () => {
    const h = harness({ maxPendingBytes: 3 * (query(0).length + ENTRY_OVERHEAD_BYTES) });
    for (let id = 0; id < 5; id++) h.pairer.handle(seg(T0 + id, client, serviceIp, query(id)));
    expect(h.pairer.pendingCount).toBe(3);
    expect(h.pairer.pendingMemoryBytes).toBeLessThanOrEqual(
      3 * (query(0).length + ENTRY_OVERHEAD_BYTES),
    );
    expect(h.counts.evicted).toBe(2);
    h.pairer.flush();
    expect(h.pairer.pendingMemoryBytes).toBe(0);
  });

  it('turns an undecodable message into a MALFORMED record and keeps going', () => {
    const h = harness();
    h.pairer.handle(seg(T0, client, serviceIp, Buffer.from('not dns')));
    h.pairer.handle(seg(T0 + 1, client, serviceIp, query(1)));
    h.pairer.handle(seg(T0 + 2, serviceIp, client, answer(1)));
    h.pairer.flush();
    expect(h.out.map((t) => t.status)).toEqual(['MALFORMED', 'ANSWERED']);
    expect(h.out[0]?.malformedReason).toMatch(/^header_truncated/);
    expect(h.out[0]?.client).toEqual(client);
    expect(h.counts['malformed:header_truncated']).toBe(1);
  });

  it('reports a query answered by an unreadable response as MALFORMED with its latency', () => {
    const h = harness();
    h.pairer.handle(seg(T0, client, serviceIp, query(21)));
    const broken = Buffer.from(answer(21).subarray(0, 14));
    h.pairer.handle(seg(T0 + 400, serviceIp, client, broken));
    expect(h.out.map((t) => [t.status, t.latencyUs, t.question?.name])).toEqual([
      ['MALFORMED', 400, 'api.example.org'],
    ]);
  });

  it('keeps pairing while the pending table grows past its first columns', () => {
    const h = harness({ maxPending: 5000 });
    const clients = Array.from({ length: 3000 }, (_, i) => ({
      ip: `10.244.${i >> 8}.${i & 255}`,
      port: 40000 + (i % 7),
    }));
    clients.forEach((c, i) => h.pairer.handle(seg(T0 + i, c, serviceIp, query(i % 65536))));
    expect(h.pairer.pendingCount).toBe(3000);
    // Answered newest first, so every lookup crosses the rebuilt indexes.
    for (let i = clients.length - 1; i >= 0; i--) {
      h.pairer.handle(seg(T0 + 10_000 + i, serviceIp, clients[i]!, answer(i % 65536)));
    }
    h.pairer.flush();
    expect(h.out).toHaveLength(3000);
    expect(h.out.every((t) => t.status === 'ANSWERED' && t.latencyUs === 10_000)).toBe(true);
    expect(new Set(h.out.map((t) => `${t.client.ip}:${t.client.port}`)).size).toBe(3000);
    expect(h.pairer.pendingCount).toBe(0);
    expect(h.pairer.pendingMemoryBytes).toBe(0);
  });
});
