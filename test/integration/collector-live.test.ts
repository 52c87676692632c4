import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Kafka } from 'kafkajs';
import {
  collectorConfigSchema,
  liveSource,
  startCollector,
  type RunningCollector,
} from '@dnsflow/collector';
import { createKafka, loadConfig } from '@dnsflow/runtime';
import type { DnsTransaction } from '@dnsflow/schema';
import { createTopic, metricValue, readTopic } from '../support/collector';
import { startDnsServer, type TestDnsServer } from '../support/dns';
import { kafkaConfig, testLog, uniqueName } from '../support/services';

// The whole collector live: libpcap on loopback, a real DNS server (dnsmasq) and client
// (dig), pairing, Avro to the real Kafka. What a user checks: every lookup becomes one
// record with the right status, latency, answers and transport.

const PAIRING_TIMEOUT_MS = 1500;

describe('collector live on loopback (dnsmasq + dig + Kafka)', () => {
  let dns: TestDnsServer;
  let kafka: Kafka;
  let spoolDir: string;
  let collector: RunningCollector;
  let records: DnsTransaction[];
  const topic = uniqueName('it-dns-live');

  /** The records for one question name, in capture order. */
  const about = (name: string): DnsTransaction[] =>
    records.filter((r) => r.question?.name === name).sort((a, b) => a.startTimeUs - b.startTimeUs);

  beforeAll(async () => {
    dns = await startDnsServer();
    kafka = createKafka(kafkaConfig(), testLog);
    await createTopic(kafka, topic);
    spoolDir = mkdtempSync(join(tmpdir(), 'dnsflow-it-live-'));
    const config = loadConfig(collectorConfigSchema, {});
    config.node = 'node-live';
    config.capture.interfaces = ['lo'];
    config.capture.ports = [dns.port];
    config.pairing.timeoutMs = PAIRING_TIMEOUT_MS;
    config.kafka = kafkaConfig();
    config.publish.topic = topic;
    config.spool.dir = spoolDir;
    config.metrics = { ...config.metrics, port: 0, host: '127.0.0.1' };
    const source = liveSource(
      {
        interfaces: config.capture.interfaces,
        ports: config.capture.ports,
        snaplenBytes: config.capture.snaplenBytes,
        bufferBytes: config.capture.bufferBytes,
      },
      testLog,
    );
    collector = await startCollector(config, source, testLog);
    // Give libpcap a moment to attach before the first packet.
    await new Promise((r) => setTimeout(r, 300));

    const n = dns.names;
    const results = [
      await dns.query(n.a),
      await dns.query(n.a, { type: 'AAAA', ipv6: true }),
      await dns.query(n.cname),
      await dns.query(n.a, { tcp: true }),
      await dns.query(n.large, { type: 'TXT' }), // TC=1 over UDP, then dig retries over TCP
      await dns.query(n.nxdomain),
      await dns.query(n.unanswered, { timeoutSeconds: 1, tries: 1 }),
    ];
    // Make sure the client side did what the test needs before judging the collector.
    expect(results.map((r) => r.status)).toEqual([
      'NOERROR',
      'NOERROR',
      'NOERROR',
      'NOERROR',
      'NOERROR',
      'NXDOMAIN',
      null,
    ]);
    // Let the unanswered query time out on the collector's clock, then drain.
    await new Promise((r) => setTimeout(r, PAIRING_TIMEOUT_MS + 1000));
    await collector.stop();
    records = await readTopic(kafka, topic, 8);
  });

  afterAll(async () => {
    await dns.stop();
    rmSync(spoolDir, { recursive: true, force: true });
  });

  it('publishes exactly one record per DNS exchange on the wire', () => {
    expect(
      records.map((r) => `${r.transport} ${r.question?.type} ${r.question?.name}`).sort(),
    ).toEqual(
      [
        `UDP A ${dns.names.a}`,
        `UDP AAAA ${dns.names.a}`,
        `UDP A ${dns.names.cname}`,
        `TCP A ${dns.names.a}`,
        `UDP TXT ${dns.names.large}`,
        `TCP TXT ${dns.names.large}`,
        `UDP A ${dns.names.nxdomain}`,
        `UDP A ${dns.names.unanswered}`,
      ].sort(),
    );
  });

  it('pairs a UDP lookup with its answer, latency and addresses', () => {
    const [udp] = about(dns.names.a).filter(
      (r) => r.transport === 'UDP' && r.question?.type === 'A',
    );
    expect(udp).toMatchObject({
      status: 'ANSWERED',
      node: 'node-live',
      iface: 'lo',
      client: { ip: '127.0.0.1' },
      server: { ip: '127.0.0.1', port: dns.port },
      rcode: 'NOERROR',
      answers: [{ name: dns.names.a, type: 'A', data: dns.records.a[dns.names.a] }],
    });
    expect(udp?.latencyUs).toBeGreaterThan(0);
    expect(udp?.latencyUs).toBeLessThan(1_000_000);
    expect(udp?.requestBytes).toBeGreaterThan(12);
    expect(udp?.flags.rd).toBe(true);
  });

  it('captures IPv6 and CNAME chains', () => {
    const v6 = about(dns.names.a).find((r) => r.question?.type === 'AAAA');
    expect(v6).toMatchObject({ status: 'ANSWERED', client: { ip: '::1' }, server: { ip: '::1' } });
    expect(v6?.answers.map((a) => a.data)).toEqual([dns.records.aaaa[dns.names.a]]);
    const [cname] = about(dns.names.cname);
    expect(cname?.answers.map((a) => a.type)).toEqual(['CNAME', 'A']);
  });

  it('sees a truncated UDP answer and the retry over TCP as two transactions', () => {
    const [udp, tcp] = about(dns.names.large);
    expect(udp).toMatchObject({ transport: 'UDP', status: 'ANSWERED', flags: { tc: true } });
    expect(tcp).toMatchObject({ transport: 'TCP', status: 'ANSWERED', flags: { tc: false } });
    expect(tcp?.answers.length).toBeGreaterThan(0);
    expect(tcp?.responseBytes).toBeGreaterThan(1232);
    const [plainTcp] = about(dns.names.a).filter((r) => r.transport === 'TCP');
    expect(plainTcp?.status).toBe('ANSWERED');
  });

  it('reports NXDOMAIN and the query nobody answered', () => {
    expect(about(dns.names.nxdomain)[0]).toMatchObject({ status: 'ANSWERED', rcode: 'NXDOMAIN' });
    expect(about(dns.names.unanswered)[0]).toMatchObject({
      status: 'UNANSWERED',
      rcode: null,
      latencyUs: null,
    });
  });

  it('counts them in the Hubble-compatible metrics without kernel drops', async () => {
    expect(await metricValue(collector, 'dnsflow_dns_queries_total')).toBe(8);
    expect(await metricValue(collector, 'dnsflow_dns_responses_total')).toBe(7);
    expect(await metricValue(collector, 'dnsflow_collector_transactions_total')).toBe(8);
    expect(await metricValue(collector, 'dnsflow_collector_kernel_dropped_packets')).toBe(0);
    expect(await metricValue(collector, 'dnsflow_collector_published_total')).toBe(8);
  });
});
