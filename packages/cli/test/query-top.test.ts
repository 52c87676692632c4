import { groupSpec, renderTopTable, topAggregations, topRows } from '../src/query/top';

// `dnsflow top`: the aggregation request per group and the rows made of its response.

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- walking a nested request in assertions
type Aggs = Record<string, any>;

const metrics = (count: number, errors: number, p95: number | null, bytes: number) => ({
  doc_count: count,
  errors: { doc_count: errors },
  latency: { values: { '50.0': p95 === null ? null : p95 / 2, '95.0': p95 } },
  latency_max: { value: p95 },
  bytes: { value: bytes },
  rcodes: { buckets: errors > 0 ? [{ key: 'NXDOMAIN', doc_count: errors }] : [] },
});

describe('dnsflow top aggregations', () => {
  it('pods: terms on namespace then pod, ordered by the sort, with a fallback on the client IP', () => {
    const aggs = topAggregations(groupSpec('pods'), 'errors', 5) as Aggs;
    expect(aggs['group'].terms).toMatchObject({
      field: 'source.kubernetes.namespace',
      order: { errors: 'desc' },
    });
    expect(aggs['group'].aggs.group.terms).toEqual({
      field: 'source.kubernetes.pod.name',
      size: 5,
      order: { errors: 'desc' },
    });
    expect(aggs['group'].aggs.group.aggs).toMatchObject({
      errors: { filter: { term: { 'event.outcome': 'failure' } } },
      latency: { percentiles: { field: 'dnsflow.latency_us', percents: [50, 95] } },
      bytes: { sum: { field: 'network.bytes' } },
    });
    expect(aggs['fallback'].filter).toEqual({
      bool: { must_not: [{ exists: { field: 'source.kubernetes.pod.name' } }] },
    });
    expect(aggs['fallback'].aggs.group.terms.field).toBe('source.ip');
  });

  it('latency sorts by p95; domains group by registered domain unless --by name', () => {
    const aggs = topAggregations(groupSpec('domains'), 'latency', 10) as Aggs;
    expect(aggs['group'].terms).toMatchObject({
      field: 'dns.question.registered_domain',
      order: { 'latency[95.0]': 'desc' },
    });
    expect(aggs['fallback'].aggs.group.terms.field).toBe('dns.question.name');
    const byName = topAggregations(groupSpec('domains', 'name'), 'count', 10) as Aggs;
    expect(byName['group'].terms.field).toBe('dns.question.name');
    expect(byName['fallback']).toBeUndefined();
  });

  it('rows merge nested and fallback buckets, best first, limited', () => {
    const spec = groupSpec('pods');
    const aggregations = {
      group: {
        buckets: [
          {
            key: 'starwars',
            ...metrics(12, 8, 2000, 900),
            group: {
              buckets: [
                { key: 'jar-jar-binks-5d9f7c8b6-qwert', ...metrics(8, 8, 2000, 600) },
                { key: 'yoda-0', ...metrics(4, 0, 1000, 300) },
              ],
            },
          },
          {
            key: 'shop',
            ...metrics(6, 1, 210_000, 500),
            group: { buckets: [{ key: 'web-1', ...metrics(6, 1, 210_000, 500) }] },
          },
        ],
      },
      fallback: {
        doc_count: 5,
        group: { buckets: [{ key: '10.0.0.7', ...metrics(5, 0, null, 100) }] },
      },
    };
    const byErrors = topRows(spec, aggregations, 'errors', 3);
    expect(byErrors.map((r) => [r.key, r.errors])).toEqual([
      ['starwars/jar-jar-binks-5d9f7c8b6-qwert', 8],
      ['shop/web-1', 1],
      ['10.0.0.7', 0],
    ]);
    expect(byErrors[0]).toMatchObject({
      count: 8,
      errorRatio: 1,
      rcodes: { NXDOMAIN: 8 },
      latencyUs: { p50: 1000, p95: 2000, max: 2000 },
      bytes: 600,
    });
    const byLatency = topRows(spec, aggregations, 'latency', 10);
    expect(byLatency[0]!.key).toBe('shop/web-1');
    expect(byLatency[byLatency.length - 1]!.key).toBe('10.0.0.7');
    const table = renderTopTable(spec, byErrors);
    expect(table.split('\n')[0]).toMatch(
      /^POD\s+COUNT\s+ERRORS\s+ERR%\s+RCODES\s+P50\s+P95\s+MAX\s+BYTES$/,
    );
    expect(table.split('\n')[1]).toMatch(
      /^starwars\/jar-jar-binks-5d9f7c8b6-qwert\s+8\s+8\s+100\.0%\s+NXDOMAIN:8\s+1\.0ms\s+2\.0ms\s+2\.0ms\s+600B$/,
    );
  });
});
