import { FAILED_EXPANSION, buildQuery, filterClauses, normaliseGlob } from '../src/query/filters';
import { filtersFrom } from '../src/query/options';

// The Elasticsearch query each filter becomes, on the fields toEcs writes.

describe('filters to Elasticsearch clauses', () => {
  it('a pod is its namespace and name; a glob in the name becomes a wildcard', () => {
    expect(filterClauses({ pod: 'starwars/jar-jar-binks-5d9f7c8b6-qwert' })).toEqual([
      { term: { 'source.kubernetes.namespace': 'starwars' } },
      { term: { 'source.kubernetes.pod.name': 'jar-jar-binks-5d9f7c8b6-qwert' } },
    ]);
    expect(filterClauses({ pod: 'starwars/jar-jar-*' })[1]).toEqual({
      wildcard: { 'source.kubernetes.pod.name': { value: 'jar-jar-*', case_insensitive: false } },
    });
  });

  it('a query glob is lowercased, loses its trailing dot, and matches the asked name too', () => {
    expect(normaliseGlob('*.Example.COM.')).toBe('*.example.com');
    expect(filterClauses({ query: '*.Example.com' })).toEqual([
      {
        bool: {
          should: [
            {
              wildcard: { 'dns.question.name': { value: '*.example.com', case_insensitive: true } },
            },
            {
              wildcard: {
                'dnsflow.search.asked_name': { value: '*.example.com', case_insensitive: true },
              },
            },
          ],
          minimum_should_match: 1,
        },
      },
    ]);
  });

  it('a workload kind matches whatever case Kubernetes spells it in', () => {
    expect(filterClauses({ workload: 'deployment/web' })).toEqual([
      {
        term: {
          'source.kubernetes.workload.kind': { value: 'deployment', case_insensitive: true },
        },
      },
      { term: { 'source.kubernetes.workload.name': 'web' } },
    ]);
  });

  it('a server IP matches the address asked or the pod that answered; a name matches service or pod', () => {
    const [byIp] = filterClauses({ server: '10.96.0.10' });
    expect(JSON.stringify(byIp)).toContain('"destination.ip":"10.96.0.10"');
    expect(JSON.stringify(byIp)).toContain('"dnsflow.answered_by.ip":"10.96.0.10"');
    const [byName] = filterClauses({ server: 'kube-system/kube-dns' });
    const text = JSON.stringify(byName);
    expect(text).toContain('"destination.kubernetes.namespace":"kube-system"');
    expect(text).toContain('"destination.kubernetes.service.name":"kube-dns"');
    expect(text).toContain('"dnsflow.answered_by.kubernetes.pod.name":"kube-dns"');
    expect(JSON.stringify(filterClauses({ server: '10.96.0.0/12' }))).toContain(
      '"destination.ip":"10.96.0.0/12"',
    );
  });

  it('types, codes, statuses and internal/external are exact terms', () => {
    expect(
      filterClauses({
        qtypes: ['A', 'AAAA'],
        rcodes: ['NXDOMAIN'],
        statuses: ['unanswered'],
        internal: false,
      }),
    ).toEqual([
      { terms: { 'dns.question.type': ['A', 'AAAA'] } },
      { terms: { 'dns.response_code': ['NXDOMAIN'] } },
      { terms: { 'dnsflow.status': ['unanswered'] } },
      { term: { 'dnsflow.query_target.internal': false } },
    ]);
  });

  it('failed search-list expansions are hidden unless asked for', () => {
    expect(buildQuery({})).toEqual({ bool: { filter: [], must_not: [FAILED_EXPANSION] } });
    expect(buildQuery({ includeExpansions: true })).toEqual({ bool: { filter: [] } });
    expect(buildQuery({}, 'only')).toEqual({ bool: { filter: [FAILED_EXPANSION] } });
  });

  it('the time range comes from --since and --until against now', () => {
    const now = Date.UTC(2026, 0, 15, 12, 0, 0);
    const filters = filtersFrom({ since: '10m', until: '2m', external: true }, now, 900_000);
    expect(filters).toEqual({ fromMs: now - 600_000, toMs: now - 120_000, internal: false });
    expect(filterClauses(filters)[0]).toEqual({
      range: { '@timestamp': { gte: now - 600_000, lt: now - 120_000, format: 'epoch_millis' } },
    });
    expect(filtersFrom({}, now, 900_000)).toEqual({ fromMs: now - 900_000 });
    expect(filtersFrom({}, now, undefined)).toEqual({});
  });
});
