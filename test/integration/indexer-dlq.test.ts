import type { Client } from '@elastic/elasticsearch';
import type { Kafka } from 'kafkajs';
import { DLQ_HEADERS, runSetup, startIndexer, type RunningIndexer } from '@dnsflow/indexer';
import { createElasticsearch, createKafka } from '@dnsflow/runtime';
import { dnsDataStream } from '@dnsflow/schema';
import {
  countDocs,
  indexerMetric,
  encodeEnriched,
  enrichedRecords,
  produce,
  readDlq,
  testIndexerConfig,
  uniqueIndexerNames,
  waitForDocs,
} from '../support/indexer';
import { esConfig, testLog } from '../support/services';

// A record whose document Elasticsearch rejects for good (an A record whose data is not an
// IP address: the `ip` fields refuse it) and bytes that are not Avro at all: both land in the
// dead-letter topic with the reason and the original bytes, the rest of their batch is
// indexed, and the partition moves on (its offsets are committed past them).

describe('dnsflow index: dead letters', () => {
  const names = uniqueIndexerNames('it-dlq');
  const config = testIndexerConfig(names, {
    dataStream: { namespace: names.namespace, retention: '14d' },
    // One partition and one bulk request for all 40: the bad document shares its batch.
    topics: { ...names.topics, partitions: 1, replicationFactor: 1 },
    bulk: { maxDocs: 1000, flushIntervalMs: 500 },
  });
  const stream = dnsDataStream(names.namespace);
  const records = enrichedRecords(40);
  const bad = records[17]!;
  bad.transaction.status = 'ANSWERED';
  bad.transaction.answers = [
    { name: 'broken.example', type: 'A', class: 'IN', ttl: 5, data: 'not-an-ip' },
  ];
  bad.transaction.answerCount = 1;
  const badBytes = encodeEnriched(bad);
  const garbage = Buffer.from('this is not an Avro record');
  let kafka: Kafka;
  let es: Client;
  let indexer: RunningIndexer | null = null;

  beforeAll(async () => {
    kafka = createKafka(config.kafka, testLog);
    es = createElasticsearch(esConfig());
    await runSetup(config, testLog);
    await produce(kafka, names.topics.enriched, [
      ...records.slice(0, 20).map((r) => ({ value: r === bad ? badBytes : encodeEnriched(r) })),
      { key: 'garbage', value: garbage },
      ...records.slice(20).map((r) => ({ value: encodeEnriched(r) })),
    ]);
  });

  afterAll(async () => {
    await indexer?.stop();
    await es.close();
  });

  it('indexes the rest of the batch and sends the rejected and undecodable records to the DLQ', async () => {
    indexer = await startIndexer(config, testLog);
    expect(await waitForDocs(es, stream, records.length - 1)).toBe(records.length - 1);

    const letters = await readDlq(kafka, names.topics.dlq, 2);
    expect(letters).toHaveLength(2);
    const rejected = letters.find((l) => l.headers[DLQ_HEADERS.stage] === 'index');
    expect(rejected?.headers[DLQ_HEADERS.reason]).toBe('document_parsing_exception');
    expect(rejected?.headers[DLQ_HEADERS.detail]).toMatch(
      /^400: .*\[(dns\.resolved_ip|related\.ip)\].*not-an-ip/,
    );
    expect(rejected?.value?.equals(badBytes)).toBe(true);
    expect(rejected?.headers[DLQ_HEADERS.topic]).toBe(names.topics.enriched);
    expect(rejected?.headers[DLQ_HEADERS.offset]).toBe('17');

    const undecodable = letters.find((l) => l.headers[DLQ_HEADERS.stage] === 'decode');
    expect(undecodable?.headers[DLQ_HEADERS.reason]).toBe('bad-magic');
    expect(undecodable?.value?.equals(garbage)).toBe(true);
    expect(undecodable?.key).toBe('garbage');
    expect(undecodable?.headers[DLQ_HEADERS.offset]).toBe('20');

    const dlqMetric = await indexer.registry.getSingleMetric('dnsflow_indexer_dlq_total')?.get();
    expect(
      dlqMetric?.values.map((v) => [v.labels['stage'], v.labels['reason'], v.value]).sort(),
    ).toEqual([
      ['decode', 'bad-magic', 1],
      ['index', 'document_parsing_exception', 1],
    ]);
    await indexer.stop();

    // Offsets moved past both dead letters: a restart reads nothing again.
    indexer = await startIndexer(config, testLog);
    await new Promise((r) => setTimeout(r, 5000));
    expect(await indexerMetric(indexer, 'dnsflow_indexer_received_total')).toBe(0);
    expect(await countDocs(es, stream)).toBe(records.length - 1);
  });
});
