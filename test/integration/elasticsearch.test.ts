import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createElasticsearch } from '@dnsflow/runtime';
import {
  dnsDataStream,
  dnsIndexTemplate,
  toEcs,
  type EcsDocument,
  type EnrichedDnsTransaction,
} from '@dnsflow/schema';
import {
  ES_SECURE_CA,
  ES_SECURE_URL,
  ES_SECURE_USER,
  ROOT,
  esConfig,
  installDnsTemplates,
  uniqueName,
} from '../support/services';

// Against the real Elasticsearch node from scripts/services.sh: the templates install, a
// `create` into logs-dnsflow.dns-<ns> creates the data stream, and the documents answer the
// searches and aggregations the CLI and dashboard will run.

const fixture = JSON.parse(
  readFileSync(join(ROOT, 'test', 'fixtures', 'enriched-transactions.json'), 'utf8'),
  (key, value: unknown) =>
    key === 'data' && typeof value === 'string' && value.startsWith('base64:')
      ? Buffer.from(value.slice(7), 'base64')
      : value,
) as EnrichedDnsTransaction[];

/** The fixture, spread over a few minutes from `baseUs` so histograms have several buckets. */
function transactions(baseUs: number): EnrichedDnsTransaction[] {
  return Array.from({ length: 120 }, (_, i) => {
    const record = structuredClone(fixture[i % fixture.length]!);
    record.transaction.startTimeUs = baseUs + i * 2_000_000; // one every 2 s: 30 per minute
    record.transaction.captureTimeUs = record.transaction.startTimeUs + 10_000;
    if (record.transaction.endTimeUs !== null)
      record.transaction.endTimeUs =
        record.transaction.startTimeUs + (record.transaction.latencyUs ?? 0);
    record.transaction.dnsId = i;
    return record;
  });
}

describe('Elasticsearch (real node)', () => {
  const es = createElasticsearch(esConfig());
  const namespace = uniqueName('it').replace(/-/g, '');
  const stream = dnsDataStream(namespace);
  const baseUs = Date.UTC(2026, 0, 15, 12, 0, 0) * 1000;
  const docs = transactions(baseUs).map((r) => toEcs(r, { namespace }));

  beforeAll(async () => {
    await installDnsTemplates(es, { namespace, retention: '14d' });
    const operations = docs.flatMap((doc) => [{ create: { _index: stream } }, doc]);
    const result = await es.bulk({ operations, refresh: 'wait_for' });
    const failed = result.items.filter((item) => item.create?.error);
    expect(failed.map((f) => f.create?.error)).toEqual([]);
  });
  afterAll(() => es.close());

  it('creates the data stream from the index template on the first create', async () => {
    const resolved = await es.indices.resolveIndex({ name: stream });
    expect(resolved.data_streams.map((d) => d.name)).toEqual([stream]);
    const count = await es.count({ index: stream });
    expect(count.count).toBe(docs.length);
  });

  it('finds transactions by query name, response code and pod', async () => {
    const nx = await es.search<EcsDocument>({
      index: stream,
      size: 200,
      query: {
        bool: {
          filter: [
            { term: { 'dns.response_code': 'NXDOMAIN' } },
            { term: { 'source.kubernetes.pod.name': 'jar-jar-binks-5d9f7c8b6-qwert' } },
          ],
        },
      },
    });
    const expected = docs.filter(
      (d) =>
        d.dns.response_code === 'NXDOMAIN' &&
        d.source.kubernetes?.pod?.name === 'jar-jar-binks-5d9f7c8b6-qwert',
    );
    expect(expected.length).toBeGreaterThan(0);
    expect(nx.hits.hits.map((h) => h._source?.dns.question?.name).sort()).toEqual(
      expected.map((d) => d.dns.question?.name).sort(),
    );

    const byName = await es.search<EcsDocument>({
      index: stream,
      size: 200,
      query: { term: { 'dns.question.name': 'api.github.com' } },
    });
    expect(byName.hits.hits.length).toBe(
      docs.filter((d) => d.dns.question?.name === 'api.github.com').length,
    );
    const a = byName.hits.hits.find((h) => h._source?.dns.question?.type === 'A');
    expect(a?._source?.dns.resolved_ip).toEqual(['140.82.121.6']);
  });

  it('counts transactions per minute with a date histogram', async () => {
    const result = await es.search({
      index: stream,
      size: 0,
      aggs: { perMinute: { date_histogram: { field: '@timestamp', fixed_interval: '1m' } } },
    });
    const buckets = (
      result.aggregations?.['perMinute'] as {
        buckets: { key_as_string: string; doc_count: number }[];
      }
    ).buckets;
    expect(buckets.map((b) => [b.key_as_string, b.doc_count])).toEqual([
      ['2026-01-15T12:00:00.000Z', 30],
      ['2026-01-15T12:01:00.000Z', 30],
      ['2026-01-15T12:02:00.000Z', 30],
      ['2026-01-15T12:03:00.000Z', 30],
    ]);
  });

  it('keeps microsecond timestamps and nanosecond durations', async () => {
    const result = await es.search<EcsDocument>({
      index: stream,
      size: 1,
      sort: [{ '@timestamp': 'asc' }],
      query: { match_all: {} },
    });
    expect(result.hits.hits[0]?._source?.['@timestamp']).toBe('2026-01-15T12:00:00.000000Z');
    const p = await es.search({
      index: stream,
      size: 0,
      aggs: { latency: { percentiles: { field: 'event.duration', percents: [50] } } },
    });
    expect(
      (p.aggregations?.['latency'] as { values: Record<string, number> }).values['50.0'],
    ).toBeGreaterThan(0);
  });

  it('rejects a document with a field the mapping does not define', async () => {
    const bad = { ...docs[0]!, dns: { ...docs[0]!.dns, not_in_ecs: 'x' } };
    const result = await es.bulk({ operations: [{ create: { _index: stream } }, bad] });
    expect(result.errors).toBe(true);
    expect(result.items[0]?.create?.error?.type).toBe('strict_dynamic_mapping_exception');
  });

  it("stores the configured retention in the namespace's index template", async () => {
    const { index_templates } = await es.indices.getIndexTemplate({
      name: dnsIndexTemplate(namespace),
    });
    expect(index_templates[0]?.index_template.template?.lifecycle?.data_retention).toBe('14d');
  });
});

describe('Elasticsearch with security on (TLS, basic auth, API keys)', () => {
  const tls = { enabled: true, caFile: ES_SECURE_CA, rejectUnauthorized: true };

  it('connects over TLS with the CA and basic auth', async () => {
    const es = createElasticsearch(esConfig({ nodes: [ES_SECURE_URL], tls, ...ES_SECURE_USER }));
    const auth = await es.security.authenticate();
    expect(auth.username).toBe(ES_SECURE_USER.username);
    await es.close();
  });

  it('connects with an API key created for it', async () => {
    const admin = createElasticsearch(esConfig({ nodes: [ES_SECURE_URL], tls, ...ES_SECURE_USER }));
    const key = await admin.security.createApiKey({
      name: uniqueName('dnsflow-it'),
      expiration: '1h',
      role_descriptors: {
        writer: {
          indices: [
            { names: ['logs-dnsflow.dns-*'], privileges: ['create_doc', 'auto_configure'] },
          ],
        },
      },
    });
    const es = createElasticsearch(esConfig({ nodes: [ES_SECURE_URL], tls, apiKey: key.encoded }));
    const auth = await es.security.authenticate();
    expect(auth.authentication_type).toBe('api_key');
    // Least privilege: the key may write DNS documents but not read cluster settings.
    await expect(es.cluster.getSettings()).rejects.toMatchObject({ statusCode: 403 });
    await Promise.all([admin.close(), es.close()]);
  });

  it('reports a wrong password as a 401', async () => {
    const es = createElasticsearch(
      esConfig({
        nodes: [ES_SECURE_URL],
        tls,
        username: 'dnsflow',
        password: 'wrong',
        maxRetries: 0,
      }),
    );
    await expect(es.security.authenticate()).rejects.toMatchObject({ statusCode: 401 });
    await es.close();
  });

  it('refuses a server certificate it cannot verify', async () => {
    const es = createElasticsearch(
      esConfig({
        nodes: [ES_SECURE_URL],
        tls: { enabled: true, rejectUnauthorized: true },
        ...ES_SECURE_USER,
        maxRetries: 0,
      }),
    );
    await expect(es.info()).rejects.toThrow(/certificate/i);
    await es.close();
  });
});
