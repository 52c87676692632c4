import type { Client } from '@elastic/elasticsearch';
import { runSetup, startIndexer, type RunningIndexer } from '@dnsflow/indexer';
import { createElasticsearch, createKafka } from '@dnsflow/runtime';
import { dnsDataStream } from '@dnsflow/schema';
import { eventually } from '../support/eventually';
import {
  countDocs,
  encodeEnriched,
  enrichedRecords,
  indexerMetric,
  testIndexerConfig,
  uniqueIndexerNames,
  waitForDocs,
} from '../support/indexer';
import { esConfig, testLog, uniqueName } from '../support/services';

// The enricher writes dns.enriched in Kafka transactions (its exactly-once mode). The indexer
// reads committed records only — an aborted transaction's records never become documents —
// and commits past the transaction markers, so a caught-up group shows no lag.

describe('dnsflow index: records written in Kafka transactions', () => {
  const names = uniqueIndexerNames('it-tx');
  const config = testIndexerConfig(names, {
    dataStream: { namespace: names.namespace, retention: '14d' },
    topics: { ...names.topics, partitions: 1, replicationFactor: 1 },
  });
  const stream = dnsDataStream(names.namespace);
  const records = enrichedRecords(300);
  let es: Client;
  let indexer: RunningIndexer | null = null;

  beforeAll(async () => {
    es = createElasticsearch(esConfig());
    await runSetup(config, testLog);
    const kafka = createKafka(config.kafka, testLog);
    const producer = kafka.producer({
      transactionalId: uniqueName('it-tx-producer'),
      idempotent: true,
      maxInFlightRequests: 1,
    });
    await producer.connect();
    const send = async (slice: typeof records, commit: boolean) => {
      const tx = await producer.transaction();
      await tx.send({
        topic: names.topics.enriched,
        messages: slice.map((r) => ({ value: encodeEnriched(r) })),
      });
      await (commit ? tx.commit() : tx.abort());
    };
    await send(records.slice(0, 100), true);
    await send(records.slice(100, 200), false);
    await send(records.slice(200), true);
    await producer.disconnect();
  });

  afterAll(async () => {
    await indexer?.stop();
    await es.close();
  });

  it('indexes the committed records only and catches up to zero lag', async () => {
    indexer = await startIndexer(config, testLog);
    expect(await waitForDocs(es, stream, 200)).toBe(200);
    const lag = await eventually(
      () => indexerMetric(indexer!, 'dnsflow_indexer_consumer_lag'),
      (n) => n === 0,
      30_000,
    );
    expect(lag).toBe(0);
    await new Promise((r) => setTimeout(r, 2000));
    expect(await countDocs(es, stream)).toBe(200);
    const aborted = await es.count({
      index: stream,
      query: { range: { '@timestamp': { gte: isoOf(records[100]!), lte: isoOf(records[199]!) } } },
    });
    expect(aborted.count).toBe(0);
    expect(await indexerMetric(indexer, 'dnsflow_indexer_received_total')).toBe(200);
  });
});

function isoOf(record: ReturnType<typeof enrichedRecords>[number]): string {
  return new Date(record.transaction.startTimeUs / 1000).toISOString();
}
