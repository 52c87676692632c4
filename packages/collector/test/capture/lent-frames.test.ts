import { loadConfig } from '@dnsflow/runtime';
import type { DnsTransaction } from '@dnsflow/schema';
import { LinkType, type Frame } from '../../src/capture/frame';
import { collectorConfigSchema } from '../../src/config';
import { createPipeline } from '../../src/pipeline';
import {
  dnsQuery,
  dnsResponse,
  ipv4,
  tcp,
  tcpFramed,
  TCP_ACK,
  TCP_PSH,
  udp,
} from '../support/packets';

const T0 = 1_700_000_000_000_000;

/**
 * Raw-IP frames of cluster DNS as a node's `any` capture sees it: each UDP query before
 * and after service DNAT, each response from the pod and after un-NAT, some twice, some
 * never answered, an orphan, an undecodable message, a TCP exchange split across
 * segments, and a response in two IPv4 fragments.
 */
function traffic(): Frame[] {
  const frames: Frame[] = [];
  let t = T0;
  const add = (data: Buffer): void => {
    t += 137;
    frames.push({ tsUs: t, linkType: LinkType.RAW, data, origLen: data.length, iface: 'any' });
  };
  for (let i = 0; i < 300; i++) {
    const client = `10.244.${1 + (i % 3)}.${10 + (i % 50)}`;
    const port = 40000 + i;
    const name = `svc-${i % 17}.default.svc.cluster.local`;
    add(ipv4(client, '10.96.0.10', udp(port, 53, dnsQuery(i, name))));
    add(ipv4(client, '10.244.0.3', udp(port, 53, dnsQuery(i, name))));
    if (i % 10 === 9) continue; // never answered
    const answer = dnsResponse(i, name, `10.100.${i % 200}.1`);
    add(ipv4('10.244.0.3', client, udp(53, port, answer)));
    add(ipv4('10.96.0.10', client, udp(53, port, answer)));
    if (i % 7 === 0) add(ipv4('10.96.0.10', client, udp(53, port, answer)));
  }
  add(
    ipv4('10.96.0.10', '10.244.9.9', udp(53, 41000, dnsResponse(9, 'lost.example', '192.0.2.9'))),
  );
  add(ipv4('10.244.9.9', '10.96.0.10', udp(41001, 53, Buffer.from('0102', 'hex'))));
  // TCP: the query in two segments, the response in one.
  const q = tcpFramed(dnsQuery(4242, 'tcp.example.org'));
  add(
    ipv4('10.244.5.5', '10.96.0.10', tcp(45000, 53, 1000, TCP_ACK | TCP_PSH, q.subarray(0, 9)), {
      protocol: 6,
    }),
  );
  add(
    ipv4('10.244.5.5', '10.96.0.10', tcp(45000, 53, 1009, TCP_ACK | TCP_PSH, q.subarray(9)), {
      protocol: 6,
    }),
  );
  const r = tcpFramed(dnsResponse(4242, 'tcp.example.org', '192.0.2.42'));
  add(
    ipv4('10.96.0.10', '10.244.5.5', tcp(53, 45000, 7000, TCP_ACK | TCP_PSH, r), { protocol: 6 }),
  );
  // A UDP response in two fragments, after its query.
  add(ipv4('10.244.6.6', '10.96.0.10', udp(46000, 53, dnsQuery(77, 'frag.example.org'))));
  const datagram = udp(53, 46000, dnsResponse(77, 'frag.example.org', '192.0.2.77'));
  add(ipv4('10.96.0.10', '10.244.6.6', datagram.subarray(0, 32), { id: 99, moreFragments: true }));
  add(
    ipv4('10.96.0.10', '10.244.6.6', datagram.subarray(32), {
      id: 99,
      fragOffset: 32,
      totalLength: 20 + datagram.length - 32,
    }),
  );
  return frames;
}

function run(frames: Frame[], lend: boolean): DnsTransaction[] {
  const config = loadConfig(collectorConfigSchema, {});
  const out: DnsTransaction[] = [];
  const pipeline = createPipeline(config, {
    onTransaction: (tx) => out.push(tx),
    nowUs: () => T0,
    framesLent: lend,
  });
  // As libpcap does: every packet in the same buffer, overwritten by the next one.
  const shared = Buffer.alloc(65535);
  for (const frame of frames) {
    if (!lend) {
      pipeline.frame(frame);
      continue;
    }
    frame.data.copy(shared);
    pipeline.frame({ ...frame, data: shared.subarray(0, frame.data.length) });
    shared.fill(0xa5);
  }
  pipeline.finish();
  return out;
}

describe('frames lent by the capture', () => {
  it('give the same transactions as frames the pipeline may keep', () => {
    const frames = traffic();
    const kept = run(frames, false);
    const lent = run(frames, true);
    expect(kept.length).toBeGreaterThan(300);
    expect(new Set(kept.map((t) => t.status))).toEqual(
      new Set(['ANSWERED', 'UNANSWERED', 'ORPHAN', 'MALFORMED']),
    );
    expect(kept.find((t) => t.question?.name === 'frag.example.org')?.status).toBe('ANSWERED');
    expect(kept.find((t) => t.transport === 'TCP')?.answers.map((a) => a.data)).toEqual([
      '192.0.2.42',
    ]);
    expect(JSON.stringify(lent)).toBe(JSON.stringify(kept));
  });
});
