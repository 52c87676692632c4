import type { Client } from '@elastic/elasticsearch';
import type { Kafka } from 'kafkajs';
import { runSetup, startIndexer, type RunningIndexer } from '@dnsflow/indexer';
import { createElasticsearch, createKafka } from '@dnsflow/runtime';
import { dnsDataStream } from '@dnsflow/schema';
import { eventually } from '../support/eventually';
import {
  countDocs,
  indexerMetric,
  duplicatedIds,
  enrichedRecords,
  produceRecords,
  servicesAsync,
  testIndexerConfig,
  uniqueIndexerNames,
  waitForDocs,
} from '../support/indexer';
import { esConfig, testLog } from '../support/services';

// Elasticsearch stops for 60 s while records keep arriving, then starts again: the indexer
// waits (bounded memory, no more pulling than it can hold), retries, and in the end every
// record is one document. Uses the es-outage node only; `es` and `es-secure` stay up.

const ES_OUTAGE = 'http://127.0.0.1:9202';
const TOTAL = 6000;
const IN_FLIGHT_BYTES = 512 * 1024;

describe('dnsflow index: Elasticsearch down for 60 s mid-stream', () => {
  const names = uniqueIndexerNames('it-outage');
  const config = testIndexerConfig(names, {
    elasticsearch: { nodes: [ES_OUTAGE], requestTimeoutMs: 10_000, maxRetries: 1 },
    bulk: { maxDocs: 200, flushIntervalMs: 200, concurrency: 2, maxInFlightBytes: IN_FLIGHT_BYTES },
  });
  const stream = dnsDataStream(names.namespace);
  const records = enrichedRecords(TOTAL);
  let kafka: Kafka;
  let es: Client;
  let indexer: RunningIndexer | null = null;

  let startedHere = false;

  beforeAll(async () => {
    startedHere = !(await servicesAsync('status', 'es-outage').then(
      () => true,
      () => false,
    ));
    // A node left stopped by an earlier run starts on empty data; the restart mid-test keeps it.
    await servicesAsync('up', '--fresh', 'es-outage');
    kafka = createKafka(config.kafka, testLog);
    es = createElasticsearch(esConfig({ nodes: [ES_OUTAGE] }));
    await runSetup(config, testLog);
  }, 180_000);

  afterAll(async () => {
    // Up again (if the test failed mid-outage) so the indexer can stop cleanly; then the node
    // is left as it was found, like the services the global setup starts.
    await servicesAsync('up', 'es-outage');
    await indexer?.stop();
    await es.close();
    if (startedHere && process.env['DNSFLOW_KEEP_SERVICES'] !== '1') {
      await servicesAsync('down', 'es-outage');
    }
  }, 180_000);

  it('loses nothing and duplicates nothing', async () => {
    indexer = await startIndexer(config, testLog);
    // A steady stream: 250 records every 500 ms, before, during and after the outage.
    let produced = 0;
    const producing = (async () => {
      while (produced < TOTAL) {
        await produceRecords(kafka, names.topics.enriched, records.slice(produced, produced + 250));
        produced += 250;
        await new Promise((r) => setTimeout(r, 500));
      }
    })();

    const before = await eventually(
      () => countDocs(es, stream),
      (n) => n >= 500,
      60_000,
    );
    expect(before).toBeGreaterThanOrEqual(500);
    await servicesAsync('down', 'es-outage');
    const downAt = Date.now();

    // While it is down: records keep arriving, the indexer holds at most its bound and
    // stops pulling, and Kafka keeps the rest (lag grows).
    let maxInFlight = 0;
    while (Date.now() - downAt < 60_000) {
      maxInFlight = Math.max(
        maxInFlight,
        await indexerMetric(indexer, 'dnsflow_indexer_inflight_bytes'),
      );
      await new Promise((r) => setTimeout(r, 500));
    }
    await producing;
    const receivedWhileDown = await indexerMetric(indexer, 'dnsflow_indexer_received_total');
    expect(maxInFlight).toBeGreaterThan(0);
    // One document beyond the bound may be admitted; this fixture's documents are < 8 KB.
    expect(maxInFlight).toBeLessThanOrEqual(IN_FLIGHT_BYTES + 8192);
    expect(receivedWhileDown).toBeLessThan(TOTAL);
    expect(await indexerMetric(indexer, 'dnsflow_indexer_retries_total')).toBeGreaterThan(0);

    await servicesAsync('up', 'es-outage');
    expect(await waitForDocs(es, stream, TOTAL, 180_000)).toBe(TOTAL);
    expect(await duplicatedIds(es, stream)).toEqual([]);
    expect(await indexerMetric(indexer, 'dnsflow_indexer_docs_rejected_total')).toBe(0);
    // Nothing more arrives later either.
    await new Promise((r) => setTimeout(r, 3000));
    expect(await countDocs(es, stream)).toBe(TOTAL);
  }, 420_000);
});
