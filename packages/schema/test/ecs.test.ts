import {
  DNS_INDEX_TEMPLATE,
  dnsIndexTemplate,
  dnsMappings,
  dnsTemplates,
  dnsDataStream,
  isoMicros,
  latestSchema,
  toEcs,
} from '../src/index';
import type { EnrichedDnsTransaction } from '../src/index';
import { fullEnriched } from './fixtures/records';

type Props = Record<string, { type?: string; properties?: Props }>;

/** Leaf paths of a document (array elements share their parent's path). */
function leafPaths(value: unknown, prefix = ''): string[] {
  if (Array.isArray(value)) return value.flatMap((v) => leafPaths(v, prefix));
  if (value !== null && typeof value === 'object' && !Buffer.isBuffer(value)) {
    return Object.entries(value).flatMap(([k, v]) => leafPaths(v, prefix ? `${prefix}.${k}` : k));
  }
  return [prefix];
}

/** The mapping type of a dotted path, following object properties; flattened fields own their subtree. */
function mappedType(path: string, props: Props): string | undefined {
  const [head, ...rest] = path.split('.');
  const field = props[head!];
  if (!field) return undefined;
  if (field.type === 'flattened') return 'flattened';
  if (rest.length === 0) return field.type ?? 'object';
  return field.properties ? mappedType(rest.join('.'), field.properties) : undefined;
}

const properties = dnsMappings()['properties'] as Props;

describe('ECS mapping', () => {
  it('maps a resolved transaction onto the ECS fields a user searches by', () => {
    const doc = toEcs(fullEnriched(), { namespace: 'prod' });
    expect(doc['@timestamp']).toBe('2025-11-24T16:00:00.000001Z');
    expect(doc.data_stream).toEqual({ type: 'logs', dataset: 'dnsflow.dns', namespace: 'prod' });
    expect(doc.event).toMatchObject({
      category: ['network'],
      dataset: 'dnsflow.dns',
      duration: 4_320_000,
      outcome: 'success',
    });
    expect(doc.network).toMatchObject({
      transport: 'udp',
      protocol: 'dns',
      type: 'ipv4',
      iana_number: '17',
      bytes: 242,
    });
    expect(doc.network.community_id).toMatch(/^1:[A-Za-z0-9+/]{27}=$/);
    expect(doc.source).toMatchObject({ ip: '10.244.1.17', port: 40123, bytes: 62 });
    expect(doc.source.kubernetes).toMatchObject({
      kind: 'pod',
      namespace: 'shop',
      pod: { name: 'checkout-7d9f8c6b5-x2x9z' },
      workload: { kind: 'Deployment', name: 'checkout' },
      node: { name: 'node-a' },
    });
    expect(doc.destination.kubernetes).toMatchObject({
      kind: 'service',
      service: { name: 'kube-dns', type: 'ClusterIP' },
    });
    // client.* and server.* are mapping aliases of source.* and destination.*.
    expect(doc).not.toHaveProperty('client');
    expect(doc).not.toHaveProperty('server');
    expect(doc.dns).toMatchObject({
      id: '4242',
      op_code: 'QUERY',
      type: 'answer',
      response_code: 'NOERROR',
      header_flags: ['RD', 'RA', 'AD', 'DO'],
      question: {
        name: 'www.example.co.uk',
        type: 'A',
        registered_domain: 'example.co.uk',
        subdomain: 'www',
        top_level_domain: 'co.uk',
      },
      resolved_ip: ['192.0.2.10', '2001:db8::10'],
    });
    expect(doc.dns.answers).toHaveLength(3);
    expect(doc.dnsflow.answered_by?.kubernetes?.pod?.name).toBe('coredns-5d78c9869d-abcde');
    expect(doc.related.ip).toEqual([
      '10.244.1.17',
      '10.96.0.10',
      '10.244.0.5',
      '192.0.2.10',
      '2001:db8::10',
    ]);
  });

  it('marks an unanswered query as a failed query without response fields', () => {
    const record = fullEnriched();
    Object.assign(record.transaction, {
      status: 'UNANSWERED',
      endTimeUs: null,
      latencyUs: null,
      rcode: null,
      rcodeValue: null,
      answers: [],
      authorities: [],
      additionals: [],
      responseBytes: null,
      responseEdns: null,
    });
    const doc = toEcs(record);
    expect(doc.event.outcome).toBe('failure');
    expect(doc.event).not.toHaveProperty('duration');
    expect(doc.dns.type).toBe('query');
    expect(doc.dns).not.toHaveProperty('response_code');
    expect(doc.dns).not.toHaveProperty('answers');
    expect(doc.dnsflow.status).toBe('unanswered');
    expect(doc.network.bytes).toBe(62);
  });

  it('keeps microseconds in timestamps', () => {
    expect(isoMicros(1_764_000_000_000_001)).toBe('2025-11-24T16:00:00.000001Z');
    expect(isoMicros(1_764_000_000_999_999)).toBe('2025-11-24T16:00:00.999999Z');
  });

  it('maps every field of a full record', () => {
    const unmapped = leafPaths(toEcs(fullEnriched())).filter(
      (p) => mappedType(p, properties) === undefined,
    );
    expect(unmapped).toEqual([]);
  });

  it('maps every field the mapping function emits for random records', () => {
    const type = latestSchema('EnrichedDnsTransaction').type;
    const unmapped = new Set<string>();
    for (let i = 0; i < 500; i++) {
      const record = type.random() as unknown as EnrichedDnsTransaction;
      // Random strings are not addresses; the mapping needs real ones to hash the flow.
      record.transaction.client.ip = i % 2 ? '10.0.0.1' : 'fd00::1';
      record.transaction.server.ip = '10.0.0.53';
      for (const path of leafPaths(toEcs(record))) {
        if (mappedType(path, properties) === undefined) unmapped.add(path);
      }
    }
    expect([...unmapped]).toEqual([]);
  });

  it('types addresses as ip, times as date_nanos and counts as numbers', () => {
    expect(mappedType('source.ip', properties)).toBe('ip');
    expect(mappedType('dns.resolved_ip', properties)).toBe('ip');
    expect(mappedType('@timestamp', properties)).toBe('date_nanos');
    expect(mappedType('event.duration', properties)).toBe('long');
    expect(mappedType('dns.question.name', properties)).toBe('keyword');
    expect(dnsMappings()['dynamic']).toBe('strict');
  });
});

describe('Elasticsearch templates', () => {
  interface Body {
    index_patterns: string[];
    data_stream: object;
    priority: number;
    composed_of: string[];
    template: {
      settings?: Record<string, unknown>;
      lifecycle: { data_retention: string };
    };
  }
  const matches = (body: Body, name: string): boolean =>
    body.index_patterns.some((p) =>
      new RegExp(`^${p.replace(/\./g, '\\.').replace('*', '.*')}$`).test(name),
    );

  it('gives a namespace a template of its own with the configured retention and shards', () => {
    const set = dnsTemplates({ namespace: 'prod', retention: '7d', numberOfShards: 3 });
    const own = set.indexTemplate.body as unknown as Body;
    expect(set.indexTemplate.name).toBe(dnsIndexTemplate('prod'));
    expect(own.data_stream).toEqual({});
    expect(own.template.lifecycle.data_retention).toBe('7d');
    expect(own.template.settings).toEqual({ 'index.number_of_shards': 3 });
    expect([...own.composed_of].sort()).toEqual(set.componentTemplates.map((c) => c.name).sort());
    expect(matches(own, dnsDataStream('prod'))).toBe(true);
    expect(matches(own, dnsDataStream('staging'))).toBe(false);
    expect(matches(own, dnsDataStream('prod-eu'))).toBe(false);
  });

  it('falls back to the shared template, with the defaults, in a namespace nobody set up', () => {
    const prod = dnsTemplates({ namespace: 'prod', retention: '7d', numberOfShards: 3 });
    const shared = prod.sharedTemplate.body as unknown as Body;
    expect(prod.sharedTemplate.name).toBe(DNS_INDEX_TEMPLATE);
    expect(matches(shared, dnsDataStream('default'))).toBe(true);
    expect(matches(shared, dnsDataStream('staging'))).toBe(true);
    expect(shared.template.lifecycle.data_retention).toBe('30d');
    expect((prod.indexTemplate.body as unknown as Body).priority).toBeGreaterThan(shared.priority);
    // Everything but the namespace's own template is the same whatever the options, so
    // setting up one namespace never rewrites what another relies on.
    const staging = dnsTemplates({ namespace: 'staging', retention: '90d' });
    expect(staging.componentTemplates).toEqual(prod.componentTemplates);
    expect(staging.sharedTemplate).toEqual(prod.sharedTemplate);
    expect(dnsTemplates().indexTemplate).toMatchObject({
      name: dnsIndexTemplate('default'),
      body: { template: { lifecycle: { data_retention: '30d' } } },
    });
  });
});
