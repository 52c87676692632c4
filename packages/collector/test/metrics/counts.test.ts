import { Counter, Histogram, Registry } from 'prom-client';
import type { DnsTransaction } from '@dnsflow/schema';
import { CollectorMetrics, type SourceContext } from '../../src/metrics';
import { WorkloadMap } from '../../src/workloads';

const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
const STATUSES = ['ANSWERED', 'UNANSWERED', 'ORPHAN', 'MALFORMED'] as const;
const RCODES = ['NOERROR', 'NXDOMAIN', 'SERVFAIL'];
const QTYPES = ['A', 'AAAA', 'PTR', 'TYPE65280'];
const ANSWER_TYPES = ['A', 'AAAA', 'CNAME', 'TXT'];

/** A varied, repeatable stream of transactions (a linear congruential generator). */
function transactions(n: number): DnsTransaction[] {
  let seed = 12345;
  const next = (m: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 8) % m;
  };
  const out: DnsTransaction[] = [];
  for (let i = 0; i < n; i++) {
    const status = STATUSES[next(4)]!;
    const answered = status === 'ANSWERED' || status === 'ORPHAN' || next(3) === 0;
    const noQuestion = status === 'MALFORMED' && next(2) === 0;
    out.push({
      status,
      client: { ip: `10.244.${next(3)}.${next(5)}`, port: 40000 + i },
      question: noQuestion
        ? null
        : { name: 'example.org', nameRaw: 'example.org', type: QTYPES[next(4)]!, class: 'IN' },
      rcode: answered ? RCODES[next(3)]! : null,
      answers: answered
        ? Array.from({ length: next(4) }, () => ({ type: ANSWER_TYPES[next(4)] }))
        : [],
      latencyUs: answered && status !== 'ORPHAN' ? next(3_000_000) + 0.5 : null,
    } as unknown as DnsTransaction);
  }
  return out;
}

/** What the metrics counted before: one prom-client call per count, labels built each time. */
function referenceMetrics(
  registry: Registry,
  prefix: string,
  sourceContext: SourceContext,
  workloads: WorkloadMap,
) {
  const registers = [registry];
  const ctx = sourceContext === 'none' ? [] : ['source'];
  const counter = (name: string, labelNames: string[]) =>
    new Counter({ name, help: name, labelNames, registers });
  const packets = counter('dnsflow_collector_packets_total', []);
  const statuses = counter('dnsflow_collector_transactions_total', ['status']);
  const duplicates = counter('dnsflow_collector_capture_duplicates_total', ['kind']);
  const queries = counter(`${prefix}dns_queries_total`, [
    ...ctx,
    'rcode',
    'qtypes',
    'ips_returned',
  ]);
  const responses = counter(`${prefix}dns_responses_total`, [
    ...ctx,
    'rcode',
    'qtypes',
    'ips_returned',
  ]);
  const types = counter(`${prefix}dns_response_types_total`, [...ctx, 'type', 'qtypes']);
  const seconds = new Histogram({
    name: `${prefix}dns_response_seconds`,
    help: 'seconds',
    labelNames: [...ctx, 'rcode'],
    buckets: BUCKETS,
    registers,
  });
  const source = (tx: DnsTransaction): Record<string, string> =>
    sourceContext === 'ip'
      ? { source: tx.client.ip }
      : sourceContext === 'workload'
        ? { source: workloads.lookup(tx.client.ip) }
        : {};
  return {
    packet: () => packets.inc(),
    duplicate: (kind: string) => duplicates.inc({ kind }),
    transaction(tx: DnsTransaction): void {
      statuses.inc({ status: tx.status });
      if (tx.status === 'MALFORMED' && tx.question === null) return;
      const s = source(tx);
      const qtypes = tx.question?.type ?? '';
      if (tx.status !== 'ORPHAN') queries.inc({ ...s, rcode: '', qtypes, ips_returned: '0' });
      if (tx.rcode === null) return;
      const ips = tx.answers.filter((a) => a.type === 'A' || a.type === 'AAAA').length;
      responses.inc({ ...s, rcode: tx.rcode, qtypes, ips_returned: String(ips) });
      for (const a of tx.answers) types.inc({ ...s, type: a.type, qtypes });
      if (tx.latencyUs !== null) seconds.observe({ ...s, rcode: tx.rcode }, tx.latencyUs / 1e6);
    },
  };
}

/** The sample lines of the metric families both registries have (HELP texts differ). */
async function samples(registry: Registry): Promise<string> {
  const text = await registry.metrics();
  return text
    .split('\n')
    .filter((line) =>
      /^(dnsflow_collector_(packets|transactions|capture_duplicates)|hubble_)/.test(line),
    )
    .join('\n');
}

describe('collector metrics', () => {
  const workloads = new WorkloadMap({
    'default/web': ['10.244.1.0/24'],
    'kube-system/coredns': ['10.244.2.0/24'],
  });

  it.each<SourceContext>(['none', 'ip', 'workload'])(
    'scrape exactly what one inc() per count gave, between and after bursts (source context %s)',
    async (sourceContext) => {
      const registry = new Registry();
      const metrics = new CollectorMetrics(registry, {
        dnsPrefix: 'hubble_',
        sourceContext,
        workloads,
      });
      const events = metrics.pairingEvents();
      const expected = new Registry();
      const reference = referenceMetrics(expected, 'hubble_', sourceContext, workloads);
      const all = transactions(3000);
      for (let i = 0; i < all.length; i++) {
        const tx = all[i]!;
        for (let copy = 0; copy < 1 + (i % 4); copy++) {
          metrics.packet();
          reference.packet();
        }
        if (i % 3 === 0) {
          const kind = i % 2 === 0 ? 'query' : 'response';
          events.captureDuplicate(kind);
          reference.duplicate(kind);
        }
        metrics.transaction(tx);
        reference.transaction(tx);
        // Scrapes in the middle: counts folded in, then counted on from there.
        if (i === 0 || i === 777 || i === 2000) {
          expect(await samples(registry)).toBe(await samples(expected));
        }
      }
      const scraped = await samples(registry);
      expect(scraped).toBe(await samples(expected));
      expect(scraped).toContain('dnsflow_collector_packets_total 7500');
      expect(scraped).toMatch(/hubble_dns_response_seconds_bucket\{le="\+Inf",.*\} \d+/);
      // A second scrape with nothing new changes nothing.
      expect(await samples(registry)).toBe(scraped);
    },
  );
});
