import type { Client } from '@elastic/elasticsearch';
import type { Kafka } from 'kafkajs';
import { runSetup, startIndexer, type IndexerConfig, type RunningIndexer } from '@dnsflow/indexer';
import { createElasticsearch, createKafka } from '@dnsflow/runtime';
import { dnsDataStream, type EcsDocument, type EnrichedDnsTransaction } from '@dnsflow/schema';
import { eventually } from '../support/eventually';
import {
  countDocs,
  indexerMetric,
  duplicatedIds,
  enrichedRecords,
  produceRecords,
  testIndexerConfig,
  uniqueIndexerNames,
  waitForDocs,
} from '../support/indexer';
import { esConfig, testLog } from '../support/services';

// dns.enriched -> dnsflow index -> logs-dnsflow.dns-<ns> against the real Kafka and the real
// Elasticsearch: every record becomes exactly one document, and the documents answer the
// searches a user runs (by name, response code, client address, pod, over time).

const N = 3000;

describe('dnsflow index: enriched records into Elasticsearch', () => {
  const names = uniqueIndexerNames('it-index');
  // Retention as the other Elasticsearch tests set it: the index template is shared by every
  // namespace, so tests running side by side must not flip it.
  const config: IndexerConfig = testIndexerConfig(names, {
    dataStream: { namespace: names.namespace, retention: '14d' },
    bulk: { maxDocs: 250, concurrency: 3, flushIntervalMs: 200 },
  });
  const stream = dnsDataStream(names.namespace);
  const baseUs = Date.UTC(2026, 0, 15, 12, 0, 0) * 1000;
  // One every 200 ms: 300 a minute over ten minutes.
  const records: EnrichedDnsTransaction[] = enrichedRecords(N, baseUs, 200_000);
  let kafka: Kafka;
  let es: Client;
  let indexer: RunningIndexer | null = null;

  beforeAll(async () => {
    kafka = createKafka(config.kafka, testLog);
    es = createElasticsearch(esConfig());
    await runSetup(config, testLog);
    await produceRecords(kafka, names.topics.enriched, records);
  });

  afterAll(async () => {
    await indexer?.stop();
    await es.close();
  });

  it('indexes N records as exactly N documents and commits their offsets', async () => {
    indexer = await startIndexer(config, testLog);
    expect(await waitForDocs(es, stream, N)).toBe(N);
    expect(await duplicatedIds(es, stream)).toEqual([]);
    expect(
      await indexerMetric(indexer, 'dnsflow_indexer_docs_indexed_total', { result: 'created' }),
    ).toBe(N);
    expect(await indexerMetric(indexer, 'dnsflow_indexer_received_total')).toBe(N);
    // Lag comes from Kafka's committed offsets: zero once every document was acknowledged.
    const lag = await eventually(
      () => indexerMetric(indexer!, 'dnsflow_indexer_consumer_lag'),
      (n) => n === 0,
      30_000,
    );
    expect(lag).toBe(0);
    // Bulk requests of at most 250 documents: at least N / 250 of them, timed.
    const text = await indexer.registry.metrics();
    const bulkCount = Number(
      /^dnsflow_indexer_bulk_seconds_count\{[^}]*\} (\d+)$/m.exec(text)?.[1],
    );
    expect(bulkCount).toBeGreaterThanOrEqual(N / 250);
    await indexer.stop();

    // The same group again finds nothing left to read: the offsets were committed.
    indexer = await startIndexer(config, testLog);
    await new Promise((r) => setTimeout(r, 5000));
    expect(await indexerMetric(indexer, 'dnsflow_indexer_received_total')).toBe(0);
    expect(await countDocs(es, stream)).toBe(N);
    await indexer.stop();
    indexer = null;
  });

  it('finds documents by query name, response code, client address and Kubernetes fields', async () => {
    const count = async (query: object): Promise<number> =>
      (await es.count({ index: stream, query })).count;
    const expectCount = async (
      field: string,
      value: string,
      pick: (r: EnrichedDnsTransaction) => unknown,
    ) => {
      const expected = records.filter((r) => pick(r) === value).length;
      expect(expected).toBeGreaterThan(0);
      expect({ field, value, count: await count({ term: { [field]: value } }) }).toEqual({
        field,
        value,
        count: expected,
      });
    };
    await expectCount('dns.question.name', 'api.github.com', (r) => r.transaction.question?.name);
    await expectCount('dns.response_code', 'NXDOMAIN', (r) => r.transaction.rcode);
    await expectCount('source.ip', '10.244.1.17', (r) => r.transaction.client.ip);
    await expectCount(
      'source.kubernetes.pod.name',
      'jar-jar-binks-5d9f7c8b6-qwert',
      (r) => r.client?.pod,
    );
    await expectCount('source.kubernetes.namespace', 'starwars', (r) => r.client?.namespace);
    await expectCount('destination.kubernetes.service.name', 'kube-dns', (r) => r.server?.service);
    // ECS client.* and server.* are the same ends (mapping aliases): queries, aggregations
    // and the fields API answer them without the documents repeating source/destination.
    await expectCount('client.ip', '10.244.1.17', (r) => r.transaction.client.ip);
    await expectCount('client.kubernetes.namespace', 'starwars', (r) => r.client?.namespace);
    await expectCount('server.kubernetes.service.name', 'kube-dns', (r) => r.server?.service);
    const byServer = await es.search({
      index: stream,
      size: 1,
      query: { term: { 'client.kubernetes.pod.name': 'jar-jar-binks-5d9f7c8b6-qwert' } },
      fields: ['client.ip', 'server.ip'],
      aggs: { servers: { terms: { field: 'server.ip' } } },
    });
    const sample = records.find((r) => r.client?.pod === 'jar-jar-binks-5d9f7c8b6-qwert')!;
    expect(byServer.hits.hits[0]?.fields?.['client.ip']).toEqual([sample.transaction.client.ip]);
    const servers = (byServer.aggregations?.['servers'] as { buckets: { key: string }[] }).buckets;
    expect(servers.map((b) => b.key)).toContain(sample.transaction.server.ip);

    const hit = await es.search<EcsDocument>({
      index: stream,
      size: 1,
      query: { term: { 'dns.question.name': 'api.github.com' } },
    });
    expect(hit.hits.hits[0]?._source?.data_stream.namespace).toBe(names.namespace);
  });

  it('counts transactions per minute with a date histogram', async () => {
    const result = await es.search({
      index: stream,
      size: 0,
      aggs: { perMinute: { date_histogram: { field: '@timestamp', fixed_interval: '1m' } } },
    });
    const buckets = (result.aggregations?.['perMinute'] as { buckets: { doc_count: number }[] })
      .buckets;
    expect(buckets.map((b) => b.doc_count)).toEqual(new Array(10).fill(300));
  });
});
