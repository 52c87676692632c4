import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import type { DnsTransaction } from '@dnsflow/schema';
import { CollectorMetrics } from '../../src/metrics';
import { WorkloadMapError } from '../../src/errors';
import { loadWorkloadMap } from '../../src/workloads';
import { collectorConfigSchema } from '../../src/config';
import { loadConfig } from '@dnsflow/runtime';

const dir = mkdtempSync(join(tmpdir(), 'dnsflow-workloads-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function mapFile(name: string, content: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

const MAP = {
  workloads: {
    'kube-system/coredns': ['10.244.0.3', '10.244.0.4'],
    'default/web': ['10.244.1.0/24', 'fd00:10:244:1::/64'],
    'default/web-canary': ['10.244.1.128/25'],
  },
};

describe('workload map', () => {
  it('names the workload of an address: exact, by CIDR, the most specific entry first', () => {
    const map = loadWorkloadMap(mapFile('ok.json', MAP));
    expect(map.lookup('10.244.0.4')).toBe('kube-system/coredns');
    expect(map.lookup('10.244.1.7')).toBe('default/web');
    expect(map.lookup('10.244.1.200')).toBe('default/web-canary');
    expect(map.lookup('fd00:10:244:1::42')).toBe('default/web');
    expect(map.lookup('10.244.9.9')).toBe('unknown');
    expect(map.lookup('2001:db8::1')).toBe('unknown');
  });

  it('refuses a file that is not JSON or has bad entries, naming each', () => {
    expect(() => loadWorkloadMap(mapFile('bad.json', '{ workloads'))).toThrow(WorkloadMapError);
    expect(() => loadWorkloadMap(join(dir, 'missing.json'))).toThrow(/missing\.json: cannot read/);
    const bad = mapFile('entries.json', {
      workloads: { web: ['10.0.0.1'], 'default/db': ['10.0.0.300', '10.0.0.0/33'] },
    });
    expect(() => loadWorkloadMap(bad)).toThrow(
      /workloads\.web: expected namespace\/workload.*default\/db\.0: expected an IPv4 or IPv6 address.*default\/db\.1/,
    );
  });

  it('is required by the workload context in the config', () => {
    expect(() =>
      loadConfig(collectorConfigSchema, { flags: ['--dnsMetrics.sourceContext=workload'] }),
    ).toThrow(/dnsMetrics\.workloadsFile/);
  });

  it('labels the DNS metrics with the client workload, bounded by the map', async () => {
    const registry = new Registry();
    const metrics = new CollectorMetrics(registry, {
      dnsPrefix: 'hubble_',
      sourceContext: 'workload',
      workloads: loadWorkloadMap(mapFile('metrics.json', MAP)),
    });
    const tx = (clientIp: string): DnsTransaction =>
      ({
        status: 'UNANSWERED',
        client: { ip: clientIp, port: 40000 },
        question: { name: 'example.org', nameRaw: 'example.org', type: 'A', class: 'IN' },
        rcode: null,
        answers: [],
        latencyUs: null,
      }) as unknown as DnsTransaction;
    metrics.transaction(tx('10.244.1.7'));
    metrics.transaction(tx('10.244.1.8'));
    metrics.transaction(tx('192.0.2.1'));
    const text = await registry.getSingleMetricAsString('hubble_dns_queries_total');
    expect(text).toContain('source="default/web",rcode="",qtypes="A",ips_returned="0"} 2');
    expect(text).toContain('source="unknown",rcode="",qtypes="A",ips_returned="0"} 1');
  });
});
