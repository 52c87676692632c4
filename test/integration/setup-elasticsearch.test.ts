import { spawnSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import type { Client } from '@elastic/elasticsearch';
import { SetupError, runSetup, type IndexerConfig, type SetupReport } from '@dnsflow/indexer';
import { createElasticsearch } from '@dnsflow/runtime';
import { DNS_INDEX_TEMPLATE, dnsDataStream, dnsIndexTemplate } from '@dnsflow/schema';
import { buildCli, testIndexerConfig, uniqueIndexerNames } from '../support/indexer';
import {
  ES_SECURE_CA,
  ES_SECURE_URL,
  ES_SECURE_USER,
  esConfig,
  testLog,
  uniqueName,
} from '../support/services';

// dnsflow setup against the real Kafka and the TLS + security Elasticsearch node (es-secure):
// it creates what is missing, is a no-op the second time, stores the retention where it can
// be read back, keeps each namespace's retention and shards apart, and says plainly when the
// user lacks a privilege.

const tls = { enabled: true, caFile: ES_SECURE_CA, rejectUnauthorized: true };

describe('dnsflow setup', () => {
  const names = uniqueIndexerNames('it-setup');
  // A retention of its own, so reading it back proves this run wrote it.
  const retention = `${randomInt(40, 400)}d`;
  const config: IndexerConfig = testIndexerConfig(names, {
    elasticsearch: { nodes: [ES_SECURE_URL], tls, ...ES_SECURE_USER },
    dataStream: { namespace: names.namespace, retention },
  });
  let admin: Client;
  let bin = '';
  /** Whether the node has the data streams module (the full distribution, not integ-test). */
  let dataStreams = false;

  beforeAll(async () => {
    bin = buildCli();
    admin = createElasticsearch(esConfig({ nodes: [ES_SECURE_URL], tls, ...ES_SECURE_USER }));
    const info = await admin.nodes.info({ node_id: '_local', metric: 'plugins' });
    dataStreams = Object.values(info.nodes).some((n) =>
      (n.modules ?? []).some((m) => m.name === 'data-streams'),
    );
  });
  afterAll(() => admin.close());

  it('creates topics and templates, then finds everything in place the second time', async () => {
    const first = await runSetup(config, testLog);
    const topics = first.items.filter((i) => i.kind === 'topic');
    expect(topics.map((t) => [t.name, t.action])).toEqual(
      [names.topics.raw, names.topics.enriched, names.topics.alerts, names.topics.dlq].map((n) => [
        n,
        'created',
      ]),
    );
    expect(topics[0]?.detail).toBe('3 partitions, replication 1');
    // The namespace is new: its own template is created; the shared ones may be in place.
    expect(first.items.find((i) => i.name === dnsIndexTemplate(names.namespace))).toMatchObject({
      kind: 'index template',
      action: 'created',
    });
    expect(first.templateRetention).toBe(retention);

    const second = await runSetup(config, testLog);
    const changed = second.items.filter((i) => i.action === 'created' || i.action === 'updated');
    expect(changed).toEqual([]);
    // The integ-test node has no _data_stream API: the stream is left to the first document,
    // and setup says so instead of failing.
    expect(second.items.find((i) => i.kind === 'data stream')).toMatchObject({
      action: dataStreams ? 'exists' : 'deferred',
    });
    expectReport(second, retention, dataStreams);

    const { index_templates } = await admin.indices.getIndexTemplate({
      name: dnsIndexTemplate(names.namespace),
    });
    expect(index_templates[0]?.index_template.template?.lifecycle?.data_retention).toBe(retention);
  });

  it('keeps the retention and shards of each namespace when another is set up', async () => {
    const other = uniqueIndexerNames('it-setup-other');
    const otherRetention = `${randomInt(401, 800)}d`;
    const otherConfig = testIndexerConfig(other, {
      elasticsearch: { nodes: [ES_SECURE_URL], tls, ...ES_SECURE_USER },
      dataStream: { namespace: other.namespace, retention: otherRetention, shards: 2 },
    });
    const otherFirst = await runSetup(otherConfig, testLog, { kafka: false });
    // Only what is the other namespace's own is new; what both share is already in place.
    expect(
      otherFirst.items.filter((i) => i.action !== 'exists').map((i) => [i.kind, i.name]),
    ).toEqual([
      ['index template', dnsIndexTemplate(other.namespace)],
      ['data stream', dnsDataStream(other.namespace)],
    ]);
    expectReport(otherFirst, otherRetention, dataStreams);

    // Back to the first namespace: nothing to change, its retention is still its own.
    const again = await runSetup(config, testLog, { kafka: false });
    expect(again.items.filter((i) => i.action === 'created' || i.action === 'updated')).toEqual([]);
    expectReport(again, retention, dataStreams);

    // What a new backing index of each stream would get: its namespace's shards and retention.
    const simulated = async (namespace: string) => {
      const { template } = await admin.indices.simulateIndexTemplate({
        name: dnsDataStream(namespace),
      });
      // The 8.x client's types lack the lifecycle the node answers with.
      const { lifecycle } = template as { lifecycle?: { data_retention?: string } };
      return {
        shards: template.settings?.index?.number_of_shards?.toString(),
        retention: lifecycle?.data_retention,
      };
    };
    expect(await simulated(names.namespace)).toEqual({ shards: '1', retention });
    expect(await simulated(other.namespace)).toEqual({ shards: '2', retention: otherRetention });
    // A namespace nobody set up falls back to the shared template and its defaults.
    expect(await simulated('never_set_up')).toEqual({ shards: '1', retention: '30d' });
    const { index_templates } = await admin.indices.getIndexTemplate({ name: DNS_INDEX_TEMPLATE });
    expect(index_templates[0]?.index_template.template?.lifecycle?.data_retention).toBe('30d');
  });

  it('prints the report and exits 0 from the command line', () => {
    const result = spawnSync(
      process.execPath,
      [
        bin,
        'setup',
        '--only',
        'elasticsearch',
        '--json',
        // A flag, not DNSFLOW_..._CA_FILE: a variable ending in _FILE means "read the value
        // of elasticsearch.tls.ca from this file".
        `--elasticsearch.tls.caFile=${ES_SECURE_CA}`,
      ],
      {
        encoding: 'utf8',
        env: {
          ...process.env,
          DNSFLOW_ELASTICSEARCH__NODES: ES_SECURE_URL,
          DNSFLOW_ELASTICSEARCH__USERNAME: ES_SECURE_USER.username,
          DNSFLOW_ELASTICSEARCH__PASSWORD: ES_SECURE_USER.password,
          DNSFLOW_ELASTICSEARCH__TLS__ENABLED: 'true',
          DNSFLOW_DATA_STREAM__NAMESPACE: names.namespace,
          DNSFLOW_DATA_STREAM__RETENTION: retention,
        },
      },
    );
    expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: '' });
    const report = JSON.parse(result.stdout) as SetupReport;
    expect(report.items.filter((i) => i.action === 'created' || i.action === 'updated')).toEqual(
      [],
    );
    expectReport(report, retention, dataStreams);
  });

  it('fails with a permission error naming the missing privilege', async () => {
    const key = await admin.security.createApiKey({
      name: uniqueName('dnsflow-it-setup'),
      expiration: '1h',
      // Can read the version, cannot manage index templates.
      role_descriptors: { reader: { cluster: ['monitor'] } },
    });
    // Another retention, so the template has to be written (reading it is allowed).
    const limited = testIndexerConfig(names, {
      elasticsearch: { nodes: [ES_SECURE_URL], tls, apiKey: key.encoded },
      dataStream: { namespace: names.namespace, retention: '1d' },
    });
    let error: unknown;
    try {
      await runSetup(limited, testLog, { kafka: false });
    } catch (err) {
      error = err;
    }
    await admin.security.invalidateApiKey({ ids: [key.id] });
    expect(error).toBeInstanceOf(SetupError);
    expect(error).toMatchObject({ problem: 'permission', statusCode: 403 });
    expect((error as Error).message).toMatch(
      /^(component|index) template logs-dnsflow\.dns(@\w+|-\w+)?: permission denied \(403\): .*manage_index_templates/,
    );
  });

  it('fails with an authentication error on a wrong password', async () => {
    const wrong = testIndexerConfig(names, {
      elasticsearch: {
        nodes: [ES_SECURE_URL],
        tls,
        username: ES_SECURE_USER.username,
        password: 'wrong',
        maxRetries: 0,
      },
    });
    await expect(runSetup(wrong, testLog, { kafka: false })).rejects.toMatchObject({
      problem: 'permission',
      statusCode: 401,
    });
  });
});

function expectReport(report: SetupReport, retention: string, dataStreams: boolean): void {
  expect(report.elasticsearchVersion).toMatch(/^(8|9)\./);
  expect(report.templateRetention).toBe(retention);
  // Where the node has the data streams module, the stream itself reports the retention; the
  // integ-test node has no stream lifecycle to report.
  expect(report.dataStreamRetention).toBe(dataStreams ? retention : null);
}
