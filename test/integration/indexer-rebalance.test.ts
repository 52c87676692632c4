import type { Client } from '@elastic/elasticsearch';
import type { Kafka } from 'kafkajs';
import { runSetup, startIndexer, type RunningIndexer } from '@dnsflow/indexer';
import { createElasticsearch, createKafka } from '@dnsflow/runtime';
import { dnsDataStream } from '@dnsflow/schema';
import { eventually } from '../support/eventually';
import {
  countDocs,
  duplicatedIds,
  enrichedRecords,
  indexerMetric,
  produceRecords,
  testIndexerConfig,
  uniqueIndexerNames,
  waitForDocs,
} from '../support/indexer';
import { esConfig, testLog } from '../support/services';

// Two indexers in one consumer group, the second joining while the first is busy and the
// first leaving before the end: partitions move twice with documents in flight, and every
// record still ends up as exactly one document.

const N = 15_000;

describe('dnsflow index: replicas joining and leaving the group', () => {
  const names = uniqueIndexerNames('it-rebalance');
  const config = testIndexerConfig(names, {
    dataStream: { namespace: names.namespace, retention: '14d' },
    topics: { ...names.topics, partitions: 4, replicationFactor: 1 },
    // Small requests, one at a time, little in flight: slow enough for the group to change
    // while most records are still to come.
    bulk: { maxDocs: 50, concurrency: 1, maxInFlightBytes: 100_000 },
  });
  const stream = dnsDataStream(names.namespace);
  let kafka: Kafka;
  let es: Client;
  const running: RunningIndexer[] = [];

  beforeAll(async () => {
    kafka = createKafka(config.kafka, testLog);
    es = createElasticsearch(esConfig());
    await runSetup(config, testLog);
  });

  afterAll(async () => {
    for (const indexer of running) await indexer.stop();
    await es.close();
  });

  it('indexes every record exactly once across two rebalances', async () => {
    const records = enrichedRecords(N);
    // A steady stream of 500 records every 300 ms, so both replicas always have work.
    let produced = 0;
    const producing = (async () => {
      while (produced < N) {
        await produceRecords(kafka, names.topics.enriched, records.slice(produced, produced + 500));
        produced += 500;
        await new Promise((r) => setTimeout(r, 300));
      }
    })();
    const first = await startIndexer(config, testLog);
    running.push(first);
    await eventually(
      () => countDocs(es, stream),
      (n) => n > 0,
      60_000,
      100,
    );
    const second = await startIndexer(config, testLog);
    running.push(second);
    // Both take part once the group has rebalanced.
    const takenBySecond = await eventually(
      () => indexerMetric(second, 'dnsflow_indexer_received_total'),
      (n) => n > 0,
      60_000,
    );
    expect(takenBySecond).toBeGreaterThan(0);
    // The second's arrival made the first join again: its metric says the group rebalanced.
    expect(await indexerMetric(first, 'dnsflow_indexer_group_joins_total')).toBeGreaterThanOrEqual(
      2,
    );
    const atLeave = await countDocs(es, stream);
    await first.stop();
    running.splice(running.indexOf(first), 1);

    expect(atLeave).toBeLessThan(N);
    await producing;
    expect(await waitForDocs(es, stream, N, 120_000)).toBe(N);
    expect(await duplicatedIds(es, stream)).toEqual([]);
    const lag = await eventually(
      () => indexerMetric(second, 'dnsflow_indexer_consumer_lag'),
      (n) => n === 0,
      30_000,
    );
    expect(lag).toBe(0);
    // It took over the first's partitions by joining again.
    expect(await indexerMetric(second, 'dnsflow_indexer_group_joins_total')).toBeGreaterThanOrEqual(
      2,
    );
  });
});
