import type { Client } from '@elastic/elasticsearch';
import type { Kafka } from 'kafkajs';
import {
  BulkFatalError,
  runSetup,
  startIndexer,
  type IndexerConfig,
  type RunningIndexer,
} from '@dnsflow/indexer';
import { createElasticsearch, createKafka } from '@dnsflow/runtime';
import { dnsDataStream } from '@dnsflow/schema';
import {
  countDocs,
  enrichedRecords,
  produceRecords,
  testIndexerConfig,
  uniqueIndexerNames,
  waitForDocs,
} from '../support/indexer';
import {
  ES_SECURE_CA,
  ES_SECURE_URL,
  ES_SECURE_USER,
  esConfig,
  testLog,
  uniqueName,
} from '../support/services';

// The indexer against Elasticsearch 9 with security on: TLS with the test CA, an API key that
// may only create documents in the DNS data streams, and the 8.x client's compatibility
// headers (ES 9 answers 8.x clients only when they ask for compatible-with=8). A key without
// the right to write stops the indexer with a clear error instead of dead-lettering
// every document, and commits nothing.

const tls = { enabled: true, caFile: ES_SECURE_CA, rejectUnauthorized: true };
const N = 200;

describe('dnsflow index on Elasticsearch with TLS and an API key', () => {
  let admin: Client;
  let indexer: RunningIndexer | null = null;

  beforeAll(async () => {
    admin = createElasticsearch(esConfig({ nodes: [ES_SECURE_URL], tls, ...ES_SECURE_USER }));
    // The shared templates every namespace falls back to (setup of another namespace, as
    // the setup test does here, leaves them as they are).
    const names = uniqueIndexerNames('it-secure-setup');
    await runSetup(
      testIndexerConfig(names, {
        elasticsearch: { nodes: [ES_SECURE_URL], tls, ...ES_SECURE_USER },
      }),
      testLog,
      { kafka: false },
    );
  });

  afterAll(async () => {
    await indexer?.stop();
    await admin.close();
  });

  async function apiKey(privileges: string[]): Promise<{ id: string; encoded: string }> {
    const key = await admin.security.createApiKey({
      name: uniqueName('dnsflow-it-indexer'),
      expiration: '1h',
      role_descriptors: {
        writer: { indices: [{ names: ['logs-dnsflow.dns-*'], privileges }] },
      },
    });
    return { id: key.id, encoded: key.encoded };
  }

  async function setUp(
    prefix: string,
    key: string,
  ): Promise<{ config: IndexerConfig; kafka: Kafka; stream: string }> {
    const names = uniqueIndexerNames(prefix);
    const config = testIndexerConfig(names, {
      elasticsearch: { nodes: [ES_SECURE_URL], tls, apiKey: key },
    });
    const kafka = createKafka(config.kafka, testLog);
    await runSetup(config, testLog, { elasticsearch: false });
    await produceRecords(kafka, names.topics.enriched, enrichedRecords(N));
    return { config, kafka, stream: dnsDataStream(names.namespace) };
  }

  it('indexes with a create_doc API key over TLS', async () => {
    const key = await apiKey(['create_doc', 'auto_configure']);
    const { config, stream } = await setUp('it-secure', key.encoded);
    indexer = await startIndexer(config, testLog);
    expect(await waitForDocs(admin, stream, N)).toBe(N);
    await indexer.stop();
    indexer = null;
    await admin.security.invalidateApiKey({ ids: [key.id] });
  });

  it('sends the compatibility headers and Elasticsearch 9 honours them', async () => {
    const key = await apiKey(['create_doc', 'auto_configure']);
    const es = createElasticsearch(esConfig({ nodes: [ES_SECURE_URL], tls, apiKey: key.encoded }));
    const seen: { request: Record<string, unknown>; response: Record<string, unknown> }[] = [];
    es.diagnostic.on('response', (_err, result) => {
      if (result)
        seen.push({
          request: result.meta.request.params.headers ?? {},
          response: result.headers ?? {},
        });
    });
    const names = uniqueIndexerNames('it-compat');
    await es.bulk({
      operations: [
        { create: { _index: dnsDataStream(names.namespace) } },
        { '@timestamp': new Date().toISOString() },
      ],
    });
    await es.close();
    await admin.security.invalidateApiKey({ ids: [key.id] });
    expect(seen).toHaveLength(1);
    expect(String(seen[0]?.request['accept'])).toContain('compatible-with=8');
    expect(String(seen[0]?.request['content-type'])).toContain('compatible-with=8');
    expect(String(seen[0]?.response['content-type'])).toContain('compatible-with=8');
    expect(seen[0]?.response['x-elastic-product']).toBe('Elasticsearch');
    const nodes = await admin.nodes.info({ node_id: '_local', metric: '_none' });
    expect(Object.values(nodes.nodes)[0]?.version).toMatch(/^(8|9)\./);
  });

  it('stops with a clear error when the key may not write, committing nothing', async () => {
    const key = await apiKey(['read']);
    const { config, kafka, stream } = await setUp('it-secure-denied', key.encoded);
    indexer = await startIndexer(config, testLog);
    const error = await indexer.done.then(
      () => null,
      (err: unknown) => err,
    );
    indexer = null;
    await admin.security.invalidateApiKey({ ids: [key.id] });
    expect(error).toBeInstanceOf(BulkFatalError);
    expect(error).toMatchObject({ statusCode: 403, type: 'security_exception' });
    expect((error as Error).message).toContain(stream);
    expect(await countDocs(admin, stream)).toBe(0);
    // Kafka still holds every record for the group: nothing was committed.
    const kafkaAdmin = kafka.admin();
    await kafkaAdmin.connect();
    const offsets = await kafkaAdmin.fetchOffsets({
      groupId: config.consumer.groupId,
      topics: [config.topics.enriched],
    });
    await kafkaAdmin.disconnect();
    expect(offsets[0]?.partitions.every((p) => p.offset === '-1')).toBe(true);
  });
});
