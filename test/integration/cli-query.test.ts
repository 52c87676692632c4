import { createServer } from 'node:net';
import type { Client } from '@elastic/elasticsearch';
import { main } from '@dnsflow/cli';
import { createElasticsearch } from '@dnsflow/runtime';
import {
  dnsDataStream,
  latestSchema,
  toEcs,
  type EcsDocument,
  type EnrichedDnsTransaction,
} from '@dnsflow/schema';
import { eventually } from '../support/eventually';
import { enrichedFixture } from '../support/indexer';
import { Relay } from '../support/relay';
import {
  ES_SECURE_CA,
  ES_SECURE_URL,
  ES_SECURE_USER,
  esConfig,
  installDnsTemplates,
  uniqueName,
} from '../support/services';

// `dnsflow observe` and `dnsflow top` against the real Elasticsearch: documents made by
// packages/schema's ECS mapping from enriched transactions, in a data stream of their own,
// and the command run the way a user runs it, output captured.

const fixture = enrichedFixture();
// Avro's clone keeps the Buffers of EDNS options (structuredClone would not).
const recordType = latestSchema('EnrichedDnsTransaction').type;

const JAR_JAR = 'jar-jar-binks-5d9f7c8b6-qwert';
const SEARCH = ['starwars.svc.cluster.local', 'svc.cluster.local', 'cluster.local'];

interface Spec {
  atUs: number;
  name: string;
  type?: string;
  rcode?: string | null;
  latencyUs?: number | null;
  /** Fixture record whose client identity is reused (0: jar-jar, 8: shop/web). */
  from?: number;
  pod?: { namespace: string; name: string; ip: string; workload: string };
  asked?: string;
  /** IP of a server outside the cluster (default: the kube-dns service). */
  server?: string;
  answers?: string[];
}

let dnsId = 0;

/** An enriched transaction shaped like the enricher's, from the fixture's first record. */
function transaction(spec: Spec): EnrichedDnsTransaction {
  const r = recordType.clone(fixture[spec.from ?? 0]!) as EnrichedDnsTransaction;
  const tx = r.transaction;
  const rcode = spec.rcode === undefined ? 'NXDOMAIN' : spec.rcode;
  const latencyUs = spec.latencyUs === undefined ? 1800 : spec.latencyUs;
  tx.startTimeUs = spec.atUs;
  tx.captureTimeUs = spec.atUs + (latencyUs ?? 5_000_000) + 1000;
  tx.latencyUs = rcode === null ? null : latencyUs;
  tx.endTimeUs = rcode === null ? null : spec.atUs + (latencyUs ?? 0);
  tx.status = rcode === null ? 'UNANSWERED' : 'ANSWERED';
  tx.rcode = rcode;
  tx.rcodeValue = rcode === null ? null : rcode === 'NXDOMAIN' ? 3 : 0;
  tx.dnsId = dnsId++ % 65536;
  tx.question = { name: spec.name, nameRaw: `${spec.name}.`, type: spec.type ?? 'A', class: 'IN' };
  tx.answers = (spec.answers ?? []).map((data) => ({
    name: spec.name,
    type: spec.type ?? 'A',
    class: 'IN',
    ttl: 30,
    data,
  }));
  tx.answerCount = tx.answers.length;
  if (rcode === null) tx.responseBytes = null;
  if (spec.pod !== undefined && r.client !== null) {
    tx.client.ip = spec.pod.ip;
    r.client.namespace = spec.pod.namespace;
    r.client.pod = spec.pod.name;
    r.client.podUid = `uid-${spec.pod.name}`;
    r.client.workloadName = spec.pod.workload;
  }
  if (spec.server !== undefined) {
    // A resolver outside the cluster: no Kubernetes identity, no NAT.
    tx.server.ip = spec.server;
    tx.answeredBy = null;
    r.answeredBy = null;
    r.server = null;
  }
  const asked = spec.asked ?? spec.name;
  r.searchList = {
    askedName: asked,
    isExpansion: asked !== spec.name,
    suffix: asked !== spec.name ? spec.name.slice(asked.length + 1) : null,
  };
  const labels = spec.name.split('.');
  const internal = spec.name.endsWith('.cluster.local');
  // Public Suffix List answers for these names: the last two labels, none for one label.
  const registered = internal || labels.length < 2 ? null : labels.slice(-2).join('.');
  r.domain = {
    registeredDomain: registered,
    topLevelDomain: registered === null ? null : labels[labels.length - 1]!,
    subdomain: registered !== null && labels.length > 2 ? labels.slice(0, -2).join('.') : null,
    labelCount: labels.length,
    longestLabel: Math.max(...labels.map((l) => l.length)),
    nameLength: spec.name.length,
    entropy: 3,
    digitRatio: 0,
  };
  r.queryTarget = { internal, kind: null, namespace: null, name: null };
  return r;
}

/** glibc's lookup of `unknown-galaxy` with ndots:5: each expansion, then the bare name; A and AAAA. */
function storm(atUs: number): Spec[] {
  const names = [...SEARCH.map((s) => `unknown-galaxy.${s}`), 'unknown-galaxy'];
  return names.flatMap((name, i) =>
    ['A', 'AAAA'].map((type, j) => ({
      atUs: atUs + (i * 2 + j) * 900,
      name,
      type,
      asked: 'unknown-galaxy',
    })),
  );
}

interface Run {
  code: number;
  out: string;
  err: string;
}

function capture(): { io: { out(t: string): void; err(t: string): void }; seen: Run } {
  const seen: Run = { code: -1, out: '', err: '' };
  return {
    seen,
    io: {
      out: (t) => {
        seen.out += t;
      },
      err: (t) => {
        seen.err += t;
      },
    },
  };
}

/** A port nothing listens on right now, for a relay. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return typeof address === 'object' && address !== null ? address.port : 0;
}

describe('dnsflow observe and top (real Elasticsearch)', () => {
  const es: Client = createElasticsearch(esConfig());
  const namespace = uniqueName('cliq').replace(/-/g, '');
  const stream = dnsDataStream(namespace);
  // Five minutes ago, so the default range (15m) holds everything and 1m holds nothing.
  const baseUs = (Date.now() - 5 * 60_000) * 1000;
  const cart = {
    namespace: 'shop',
    name: 'cart-6b8d9f-x2x2x',
    ip: '10.244.2.40',
    workload: 'cart',
  };
  const report = {
    namespace: 'batch',
    name: 'report-28841-kx7',
    ip: '10.244.3.7',
    workload: 'report',
  };
  const specs: Spec[] = [
    ...storm(baseUs),
    ...storm(baseUs + 30_000_000),
    ...[0, 1, 2, 3, 4].map((i) => ({
      atUs: baseUs + 1_000_000 + i * 5_000_000,
      name: 'api.github.com',
      rcode: 'NOERROR',
      from: 8,
      answers: ['140.82.121.6'],
    })),
    {
      atUs: baseUs + 2_000_000,
      name: 'db.shop.svc.cluster.local',
      asked: 'db',
      rcode: 'NOERROR',
      from: 8,
      answers: ['10.96.14.2'],
    },
    { atUs: baseUs + 3_000_000, name: 'slow.example.org', rcode: null, from: 8 },
    { atUs: baseUs + 4_000_000, name: 'nonexistent.example.com', pod: cart },
    ...[0, 1, 2].map((i) => ({
      atUs: baseUs + 10_000_000 + i * 1_000_000,
      name: 'reports.example.net',
      rcode: 'NOERROR',
      latencyUs: 200_000 + i * 3000,
      pod: report,
      server: '10.0.0.53',
      answers: ['198.51.100.7'],
    })),
  ];

  async function dnsflow(...args: string[]): Promise<Run> {
    const { io, seen } = capture();
    seen.code = await main(['node', 'dnsflow', ...args, '--data-stream', stream], io);
    return seen;
  }

  async function index(records: EnrichedDnsTransaction[]): Promise<void> {
    const operations = records.flatMap((r) => [
      { create: { _index: stream } },
      toEcs(r, { namespace }),
    ]);
    const result = await es.bulk({ operations, refresh: 'wait_for' });
    expect(result.items.filter((i) => i.create?.error).map((i) => i.create?.error)).toEqual([]);
  }

  beforeAll(async () => {
    await installDnsTemplates(es, { namespace });
    // Shuffled: the commands order by time, not by arrival.
    await index(specs.map(transaction).reverse());
  });
  afterAll(() => es.close());

  it('top pods --rcode NXDOMAIN puts the pod with the search-path storm first', async () => {
    const r = await dnsflow('top', 'pods', '--rcode', 'NXDOMAIN', '--since', '10m');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const rows = r.out.trim().split('\n');
    expect(rows[0]).toMatch(/^POD\s+COUNT\s+ERRORS\s+ERR%\s+RCODES\s+P50\s+P95\s+MAX\s+BYTES/);
    // Two lookups, A and AAAA each: the names the application asked. The 12 failed
    // expansions are search-path noise, counted with --include-expansions.
    expect(rows[1]).toMatch(new RegExp(`^starwars/${JAR_JAR}\\s+4\\s+4\\s+100\\.0%\\s+NXDOMAIN:4`));
    expect(rows[2]).toMatch(/^shop\/cart-6b8d9f-x2x2x\s+1\s+1\s+100\.0%/);
    expect(rows).toHaveLength(3);

    const all = await dnsflow(
      'top',
      'pods',
      '--rcode',
      'NXDOMAIN',
      '--include-expansions',
      '-o',
      'json',
    );
    const first = JSON.parse(all.out.split('\n')[0]!) as {
      key: string;
      count: number;
      errors: number;
    };
    expect(first).toMatchObject({ key: `starwars/${JAR_JAR}`, count: 16, errors: 16 });
  });

  it('top servers --sort latency shows the slow server first at about 200 ms', async () => {
    const r = await dnsflow('top', 'servers', '--sort', 'latency', '-o', 'json');
    expect(r.code).toBe(0);
    const rows = r.out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { key: string; detail?: string; latencyUs: { p95: number } });
    expect(rows[0]!.key).toBe('10.0.0.53');
    expect(rows[0]!.latencyUs.p95).toBeGreaterThanOrEqual(200_000);
    expect(rows[0]!.latencyUs.p95).toBeLessThan(210_000);
    expect(rows[1]).toMatchObject({ key: '10.96.0.10', detail: 'kube-system/kube-dns' });
  });

  it('top domains groups by registered domain, --by name by the full name', async () => {
    const byDomain = await dnsflow('top', 'domains', '-o', 'json', '--external');
    const keys = byDomain.out
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { key: string }).key);
    expect(keys[0]).toBe('github.com');
    expect(keys).toEqual(expect.arrayContaining(['example.org', 'unknown-galaxy']));
    const byName = await dnsflow(
      'top',
      'domains',
      '--by',
      'name',
      '-o',
      'json',
      '--query',
      '*.example.*',
    );
    const rows = byName.out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { key: string; errors: number; rcodes: object });
    expect(rows.map((row) => row.key).sort()).toEqual([
      'nonexistent.example.com',
      'reports.example.net',
      'slow.example.org',
    ]);
    expect(rows.find((row) => row.key === 'slow.example.org')).toMatchObject({
      errors: 1,
      rcodes: { UNANSWERED: 1 },
    });
  });

  it('observe --pod lists the lookups in time order, the failed expansions folded under the asked name', async () => {
    const r = await dnsflow('observe', '--pod', `starwars/${JAR_JAR}`, '-o', 'compact');
    expect(r.code).toBe(0);
    const lines = r.out.trim().split('\n');
    expect(lines).toHaveLength(4);
    expect(lines.map((l) => l.split(/\s+/).slice(3, 6).join(' '))).toEqual([
      'unknown-galaxy A NXDOMAIN',
      'unknown-galaxy AAAA NXDOMAIN',
      'unknown-galaxy A NXDOMAIN',
      'unknown-galaxy AAAA NXDOMAIN',
    ]);
    expect(lines[0]).toMatch(
      new RegExp(
        `^\\S+Z  starwars/${JAR_JAR}  kube-system/kube-dns  unknown-galaxy  A  NXDOMAIN  1\\.8ms  -  \\(\\+6 expansions\\)$`,
      ),
    );
    expect(lines[2]).toMatch(/\(\+6 expansions\)$/);
    expect(r.err).toMatch(
      /12 failed search-list expansions not listed \(12 folded into the names asked as \+N\); --include-expansions lists them/,
    );
    const times = lines.map((l) => l.split(' ')[0]!);
    expect(times).toEqual([...times].sort());
  });

  it('observe --include-expansions lists every expansion on its own line', async () => {
    const r = await dnsflow(
      'observe',
      '--pod',
      `starwars/${JAR_JAR}`,
      '--include-expansions',
      '-o',
      'compact',
    );
    const lines = r.out.trim().split('\n');
    expect(lines).toHaveLength(16);
    expect(lines.slice(0, 8).map((l) => l.split(/\s+/).slice(3, 5).join(' '))).toEqual([
      'unknown-galaxy.starwars.svc.cluster.local A',
      'unknown-galaxy.starwars.svc.cluster.local AAAA',
      'unknown-galaxy.svc.cluster.local A',
      'unknown-galaxy.svc.cluster.local AAAA',
      'unknown-galaxy.cluster.local A',
      'unknown-galaxy.cluster.local AAAA',
      'unknown-galaxy A',
      'unknown-galaxy AAAA',
    ]);
    expect(lines[0]).toMatch(/\(expansion of unknown-galaxy\)$/);
  });

  it('observe --status unanswered shows the query that got no response', async () => {
    const r = await dnsflow('observe', '--status', 'unanswered', '-o', 'table');
    const lines = r.out.trim().split('\n');
    expect(lines[0]).toMatch(
      /^TIME\s+CLIENT\s+SERVER\s+QUERY\s+TYPE\s+RCODE\s+LATENCY\s+ANSWERS\s+SEARCH/,
    );
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(
      /shop\/web-7f9c6d5b4-zx8kp\s+kube-system\/kube-dns\s+slow\.example\.org\s+A\s+UNANSWERED\s+-/,
    );
  });

  it('observe -o json prints ECS documents, one per line, in time order', async () => {
    const r = await dnsflow('observe', '--query', 'API.GitHub.com', '-o', 'json');
    const docs = r.out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as EcsDocument);
    expect(docs).toHaveLength(5);
    for (const doc of docs) {
      expect(doc).toMatchObject({
        data_stream: { namespace },
        dns: {
          question: { name: 'api.github.com', type: 'A' },
          response_code: 'NOERROR',
          resolved_ip: ['140.82.121.6'],
        },
        source: { kubernetes: { namespace: 'shop', pod: { name: 'web-7f9c6d5b4-zx8kp' } } },
        event: { category: ['network'], outcome: 'success' },
      });
    }
    const times = docs.map((d) => d['@timestamp']);
    expect(times).toEqual([...times].sort());
  });

  it('each filter selects the transactions it names', async () => {
    const names = async (...args: string[]): Promise<string[]> => {
      const r = await dnsflow('observe', '-o', 'json', ...args);
      expect(r.code).toBe(0);
      return r.out
        .trim()
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => (JSON.parse(l) as EcsDocument).dns.question?.name ?? '-');
    };
    const unique = (list: string[]): string[] => [...new Set(list)].sort();
    expect(unique(await names('--server', '10.0.0.53'))).toEqual(['reports.example.net']);
    expect(await names('--server', '10.0.0.0/24')).toHaveLength(3);
    expect(unique(await names('--server', 'kube-system/kube-dns', '--namespace', 'shop'))).toEqual([
      'api.github.com',
      'db.shop.svc.cluster.local',
      'nonexistent.example.com',
      'slow.example.org',
    ]);
    expect(await names('--workload', 'deployment/cart')).toEqual(['nonexistent.example.com']);
    expect(await names('--workload', 'StatefulSet/cart')).toEqual([]);
    expect(await names('--pod', 'batch/report-*')).toHaveLength(3);
    // The storm's expansions are internal names but their asked name is not: without
    // --include-expansions they are not listed, as top does not count them.
    expect(unique(await names('--internal'))).toEqual(['db.shop.svc.cluster.local']);
    expect(unique(await names('--internal', '--include-expansions'))).toEqual([
      'db.shop.svc.cluster.local',
      'unknown-galaxy.cluster.local',
      'unknown-galaxy.starwars.svc.cluster.local',
      'unknown-galaxy.svc.cluster.local',
    ]);
    expect(await names('--node', 'node-a', '--qtype', 'AAAA')).toEqual([
      'unknown-galaxy',
      'unknown-galaxy',
    ]);
    expect(await names('--node', 'node-z')).toEqual([]);
    expect(await names('--rcode', 'NOERROR,NXDOMAIN', '--query', '*.example.com')).toEqual([
      'nonexistent.example.com',
    ]);
  });

  it('observe --last 2 shows the newest two in time order', async () => {
    const r = await dnsflow('observe', '--last', '2', '--qtype', 'A', '-o', 'compact');
    const lines = r.out.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines.map((l) => l.split(/\s+/)[3])).toEqual(['api.github.com', 'unknown-galaxy']);
    expect(lines[1]).toMatch(/\(\+3 expansions\)$/);
  });

  it('says when the range holds no data, and where the newest document is', async () => {
    const r = await dnsflow('observe', '--since', '1m');
    expect(r.code).toBe(0);
    expect(r.out).toBe('');
    expect(r.err).toMatch(
      new RegExp(
        `no DNS transactions in ${stream.replace(/\./g, '\\.')} between .* and now; the newest document is from \\S+ \\(\\d+m \\d+s ago\\): try --since [5-7]m`,
      ),
    );
    const none = await dnsflow('top', 'pods', '--rcode', 'SERVFAIL');
    expect(none.err).toMatch(/match the filters; the range does hold data/);
  });

  it('an unknown rcode is a usage error listing the valid codes', async () => {
    const r = await dnsflow('top', 'pods', '--rcode', 'NXDOMIAN');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(
      /unknown response code "NXDOMIAN"; valid names: NOERROR, FORMERR, SERVFAIL, NXDOMAIN/,
    );
  });

  it('an unreachable Elasticsearch is named with what to try', async () => {
    const r = await dnsflow(
      'observe',
      '--elasticsearch.nodes=http://127.0.0.1:9',
      '--elasticsearch.maxRetries=0',
    );
    expect(r.code).toBe(1);
    expect(r.err).toMatch(
      /Elasticsearch is not reachable at http:\/\/127\.0\.0\.1:9 .*npm run services -- up es/,
    );
  });

  it('a search Elasticsearch rejects is reported with its reason', async () => {
    const { io, seen } = capture();
    const code = await main(
      ['node', 'dnsflow', 'observe', '--data-stream', '_bad', '--last', '1'],
      io,
    );
    expect(code).toBe(1);
    expect(seen.err).toMatch(
      /rejected the search of _bad \(400 invalid_index_name_exception\): Invalid index name \[_bad\]/,
    );
  });

  it('reaches a secured Elasticsearch with its CA and credentials, and names refused credentials', async () => {
    const tls = [
      `--elasticsearch.nodes=${ES_SECURE_URL}`,
      '--elasticsearch.tls.enabled=true',
      `--elasticsearch.tls.caFile=${ES_SECURE_CA}`,
    ];
    const ok = await dnsflow(
      'top',
      'pods',
      ...tls,
      `--elasticsearch.username=${ES_SECURE_USER.username}`,
      `--elasticsearch.password=${ES_SECURE_USER.password}`,
    );
    expect(ok.code).toBe(0);
    expect(ok.err).toMatch(/holds no documents/);
    const bad = await dnsflow(
      'top',
      'pods',
      ...tls,
      `--elasticsearch.username=${ES_SECURE_USER.username}`,
      '--elasticsearch.password=wrong',
    );
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/refused the credentials \(401\)/);
    expect(bad.err).not.toContain('wrong');
  });

  it('observe --follow prints a transaction indexed after it started and stops on Ctrl-C', async () => {
    const { io, seen } = capture();
    const running = main(
      [
        'node',
        'dnsflow',
        'observe',
        '--follow',
        '-o',
        'compact',
        '--data-stream',
        stream,
        '--observe.followIntervalMs=200',
      ],
      io,
    );
    await eventually(
      () => Promise.resolve(seen.err),
      (err) => err.includes('following'),
    );
    expect(seen.out).toBe('');
    await index([
      transaction({
        atUs: Date.now() * 1000,
        name: 'late-night.example.com',
        rcode: 'NOERROR',
        from: 8,
        answers: ['192.0.2.1'],
      }),
    ]);
    const out = await eventually(
      () => Promise.resolve(seen.out),
      (text) => text.includes('late-night.example.com'),
    );
    expect(out.trim().split('\n')).toHaveLength(1);
    expect(out).toMatch(
      /shop\/web-7f9c6d5b4-zx8kp\s+kube-system\/kube-dns\s+late-night\.example\.com\s+A\s+NOERROR\s+1\.8ms\s+192\.0\.2\.1/,
    );
    process.emit('SIGINT');
    expect(await running).toBe(0);
  });

  it('observe --last 1 --follow prints the newest, then only what is indexed after', async () => {
    const { io, seen } = capture();
    // A lookback reaching over every document of this suite: history it must not replay.
    const running = main(
      [
        'node',
        'dnsflow',
        'observe',
        '--last',
        '1',
        '--follow',
        '-o',
        'compact',
        '--data-stream',
        stream,
        '--observe.followIntervalMs=200',
        '--observe.followLookbackMs=3600000',
      ],
      io,
    );
    await eventually(
      () => Promise.resolve(seen.err),
      (err) => err.includes('following'),
    );
    await index([
      transaction({
        atUs: Date.now() * 1000,
        name: 'later-still.example.com',
        rcode: 'NOERROR',
        from: 8,
        answers: ['192.0.2.3'],
      }),
    ]);
    const out = await eventually(
      () => Promise.resolve(seen.out),
      (text) => text.includes('later-still.example.com'),
    );
    process.emit('SIGINT');
    expect(await running).toBe(0);
    expect(
      out
        .trim()
        .split('\n')
        .map((l) => l.split(/\s+/)[3]),
    ).toEqual(['late-night.example.com', 'later-still.example.com']);
  });

  it('observe --follow rides out Elasticsearch going away and prints what was indexed meanwhile', async () => {
    const port = await freePort();
    const relay = new Relay(port, { host: '127.0.0.1', port: 9200 });
    await relay.restore();
    const { io, seen } = capture();
    const running = main(
      [
        'node',
        'dnsflow',
        'observe',
        '--follow',
        '-o',
        'compact',
        '--data-stream',
        stream,
        `--elasticsearch.nodes=http://127.0.0.1:${port}`,
        '--observe.followIntervalMs=200',
      ],
      io,
    );
    try {
      await eventually(
        () => Promise.resolve(seen.err),
        (err) => err.includes('following'),
      );
      await relay.cut();
      const down = await eventually(
        () => Promise.resolve(seen.err),
        (err) => err.includes('(retrying)'),
      );
      expect(down).toMatch(
        new RegExp(`Elasticsearch is not reachable at http://127\\.0\\.0\\.1:${port}`),
      );
      await index([
        transaction({
          atUs: Date.now() * 1000,
          name: 'during-outage.example.com',
          rcode: 'NOERROR',
          from: 8,
          answers: ['192.0.2.2'],
        }),
      ]);
      await relay.restore();
      const out = await eventually(
        () => Promise.resolve(seen.out),
        (text) => text.includes('during-outage.example.com'),
        60_000,
      );
      expect(out).toMatch(/during-outage\.example\.com\s+A\s+NOERROR/);
      expect(seen.err).toContain('Elasticsearch is back');
    } finally {
      process.emit('SIGINT');
      await relay.cut();
    }
    expect(await running).toBe(0);
  });
});
