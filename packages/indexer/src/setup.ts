import { createHash } from 'node:crypto';
import { errors, type Client, type estypes } from '@elastic/elasticsearch';
import type { Admin, ITopicConfig } from 'kafkajs';
import { createElasticsearch, createKafka, type Logger } from '@dnsflow/runtime';
import { dnsDataStream, dnsTemplates, type NamedTemplate } from '@dnsflow/schema';
import type { DataStreamConfig, IndexerConfig, TopicsConfig } from './config';
import { SetupError } from './errors';

// dnsflow setup: creates what the pipeline needs, and is safe to run again.
//
// - Kafka topics that are missing are created; existing ones are left as they are (changing
//   partitions or retention of a live topic is an operator's decision), and reported.
// - Elasticsearch templates carry a hash of their body in _meta.dnsflow_hash: a template
//   with the same hash is left alone; one with another hash (an older dnsflow, or another
//   retention) is replaced and reported "updated". Mappings and settings of a replaced
//   template apply to backing indices created after it (the next rollover), never to data
//   already written.
// - Retention and shards live in the namespace's own index template (logs-dnsflow.dns-<ns>,
//   matching that data stream only), so setting up another namespace with other values
//   leaves this one's alone. The shared template logs-dnsflow.dns (logs-dnsflow.dns-*, lower
//   priority) carries the defaults for a namespace nobody set up.
// - An existing data stream keeps the lifecycle it was created with: a retention other than
//   the configured one is set on the stream itself (PUT _data_stream/<name>/_lifecycle) and
//   reported "updated". A node without the data stream lifecycle (the integ-test
//   distribution) has no stream retention to read or change, nor does it enforce one.
// - The data stream is created with PUT _data_stream where the node has that API; where it
//   has not (the integ-test distribution), the first document creates it from the template
//   and setup reports that instead of failing.

/** What setup did with one item. */
export type SetupAction = 'created' | 'exists' | 'updated' | 'deferred';

/** One line of the setup report. */
export interface SetupItem {
  kind: 'topic' | 'component template' | 'index template' | 'data stream';
  name: string;
  action: SetupAction;
  detail?: string;
}

/** Everything setup did, and the retention Elasticsearch reports back. */
export interface SetupReport {
  items: SetupItem[];
  /** Version of the Elasticsearch node, when Elasticsearch was set up. */
  elasticsearchVersion: string | null;
  /** `data_retention` read back from the namespace's index template. */
  templateRetention: string | null;
  /** `data_retention` read back from the data stream, where the node has that API. */
  dataStreamRetention: string | null;
}

/** Which halves of setup to run (both by default). */
export interface SetupOptions {
  kafka?: boolean;
  elasticsearch?: boolean;
}

/** Oldest Elasticsearch whose index templates take a data stream `lifecycle`. */
export const MIN_ELASTICSEARCH = { major: 8, minor: 11 } as const;

/**
 * Runs `dnsflow setup`. Throws {@link SetupError} naming the item and the problem (version,
 * permission, unreachable, rejected); items before it stay created.
 */
export async function runSetup(
  config: IndexerConfig,
  log: Logger,
  options: SetupOptions = {},
): Promise<SetupReport> {
  const report: SetupReport = {
    items: [],
    elasticsearchVersion: null,
    templateRetention: null,
    dataStreamRetention: null,
  };
  if (options.kafka ?? true) {
    const admin = createKafka(config.kafka, log).admin();
    try {
      await kafkaStep('Kafka', () => admin.connect());
      report.items.push(...(await setupTopics(admin, config.topics)));
    } finally {
      await admin.disconnect();
    }
  }
  if (options.elasticsearch ?? true) {
    const es = createElasticsearch(config.elasticsearch);
    try {
      await setupElasticsearch(es, config.dataStream, report);
    } finally {
      await es.close();
    }
  }
  for (const item of report.items) log.info({ ...item }, `${item.kind} ${item.action}`);
  return report;
}

async function setupTopics(admin: Admin, topics: TopicsConfig): Promise<SetupItem[]> {
  const existing = new Set(await kafkaStep('Kafka topics', () => admin.listTopics()));
  const wanted = [topics.raw, topics.enriched, topics.alerts, topics.dlq];
  const missing: ITopicConfig[] = wanted
    .filter((name, i) => !existing.has(name) && wanted.indexOf(name) === i)
    .map((name) => ({
      topic: name,
      numPartitions: topics.partitions,
      replicationFactor: topics.replicationFactor,
      configEntries: [
        {
          name: 'retention.ms',
          value: String(name === topics.dlq ? topics.dlqRetentionMs : topics.retentionMs),
        },
      ],
    }));
  if (missing.length > 0) {
    await kafkaStep(`topics ${missing.map((t) => t.topic).join(', ')}`, () =>
      admin.createTopics({ topics: missing, waitForLeaders: true }),
    );
  }
  const metadata = await kafkaStep('Kafka topic metadata', () =>
    admin.fetchTopicMetadata({ topics: [...new Set(wanted)] }),
  );
  const created = new Set(missing.map((t) => t.topic));
  const order = (name: string): number => wanted.indexOf(name);
  const sorted = [...metadata.topics].sort((a, b) => order(a.name) - order(b.name));
  return sorted.map((t) => ({
    kind: 'topic' as const,
    name: t.name,
    action: created.has(t.name) ? ('created' as const) : ('exists' as const),
    detail: `${t.partitions.length} partitions, replication ${t.partitions[0]?.replicas.length ?? '?'}`,
  }));
}

async function setupElasticsearch(
  es: Client,
  dataStream: DataStreamConfig,
  report: SetupReport,
): Promise<void> {
  const version = await elasticsearchVersion(es);
  report.elasticsearchVersion = version;
  assertSupportedVersion(version);

  const set = dnsTemplates({
    namespace: dataStream.namespace,
    retention: dataStream.retention,
    numberOfShards: dataStream.shards,
  });
  const templates: [TemplateKind, NamedTemplate][] = [
    ...set.componentTemplates.map((t): [TemplateKind, NamedTemplate] => ['component template', t]),
    // The shared template first: the namespace's own composes the same components and
    // outranks it.
    ['index template', set.sharedTemplate],
    ['index template', set.indexTemplate],
  ];
  for (const [kind, template] of templates) {
    report.items.push(
      await putIfChanged(
        kind,
        template.name,
        template.body,
        templateAccess(es, kind, template.name),
      ),
    );
  }
  const readBack = await readIndexTemplate(es, set.indexTemplate.name);
  report.templateRetention = readBack?.template?.lifecycle?.data_retention?.toString() ?? null;

  const stream = dnsDataStream(dataStream.namespace);
  const item = await createDataStream(es, stream);
  report.items.push(item);
  report.dataStreamRetention = await dataStreamRetention(es, stream);
  if (
    item.action === 'exists' &&
    report.dataStreamRetention !== null &&
    report.dataStreamRetention !== dataStream.retention
  ) {
    // A template's lifecycle is copied into a data stream when the stream is created; an
    // existing stream keeps its own until it is changed on the stream itself.
    await esStep(item.name, 'manage_data_stream_lifecycle on logs-dnsflow.dns-*', () =>
      es.indices.putDataLifecycle({ name: stream, data_retention: dataStream.retention }),
    );
    item.action = 'updated';
    item.detail = `retention ${report.dataStreamRetention} -> ${dataStream.retention}`;
    report.dataStreamRetention = await dataStreamRetention(es, stream);
  }
}

/**
 * Throws a {@link SetupError} (`version`) when Elasticsearch `version` is older than
 * {@link MIN_ELASTICSEARCH}: its index templates would refuse the data stream lifecycle.
 */
export function assertSupportedVersion(version: string): void {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  const { major: needMajor, minor: needMinor } = MIN_ELASTICSEARCH;
  if (major > needMajor || (major === needMajor && minor >= needMinor)) return;
  throw new SetupError(
    'version',
    'Elasticsearch',
    `version ${version} is too old: dnsflow needs ${needMajor}.${needMinor} or later (index templates with a data stream lifecycle)`,
  );
}

async function readIndexTemplate(
  es: Client,
  name: string,
): Promise<estypes.IndicesIndexTemplate | null> {
  const found = await esStep(`index template ${name}`, 'manage_index_templates', () =>
    es.indices.getIndexTemplate({ name }, { ignore: [404] }),
  );
  return found.index_templates?.[0]?.index_template ?? null;
}

type TemplateKind = 'component template' | 'index template';

interface TemplateAccess {
  /** `_meta` of the stored template; null where there is none. */
  read(): Promise<Record<string, unknown> | null>;
  write(body: Record<string, unknown>): Promise<unknown>;
}

function templateAccess(es: Client, kind: TemplateKind, name: string): TemplateAccess {
  const step = <T>(call: () => Promise<T>): Promise<T> =>
    esStep(`${kind} ${name}`, 'manage_index_templates', call);
  if (kind === 'component template') {
    return {
      read: async () => {
        const found = await step(() =>
          es.cluster.getComponentTemplate({ name }, { ignore: [404] }),
        );
        return found.component_templates?.[0]?.component_template._meta ?? null;
      },
      write: (body) => step(() => es.cluster.putComponentTemplate({ name, ...body })),
    };
  }
  return {
    read: async () => (await readIndexTemplate(es, name))?._meta ?? null,
    write: (body) => step(() => es.indices.putIndexTemplate({ name, ...body })),
  };
}

async function putIfChanged(
  kind: TemplateKind,
  name: string,
  body: Record<string, unknown>,
  access: TemplateAccess,
): Promise<SetupItem> {
  const hash = bodyHash(body);
  const meta = await access.read();
  if (meta?.['dnsflow_hash'] === hash) return { kind, name, action: 'exists' };
  await access.write({
    ...body,
    _meta: { ...(body['_meta'] as Record<string, unknown> | undefined), dnsflow_hash: hash },
  });
  return meta === null
    ? { kind, name, action: 'created' }
    : { kind, name, action: 'updated', detail: 'replaced a template with another body' };
}

async function createDataStream(es: Client, stream: string): Promise<SetupItem> {
  const item = `data stream ${stream}`;
  const resolved = await esStep(item, 'view_index_metadata on logs-dnsflow.dns-*', () =>
    es.indices.resolveIndex({ name: stream }, { ignore: [404] }),
  );
  if ((resolved.data_streams ?? []).some((d) => d.name === stream)) {
    return { kind: 'data stream', name: stream, action: 'exists' };
  }
  try {
    await es.indices.createDataStream({ name: stream });
    return { kind: 'data stream', name: stream, action: 'created' };
  } catch (err) {
    if (lacksDataStreamApi(err)) {
      return {
        kind: 'data stream',
        name: stream,
        action: 'deferred',
        detail:
          'this node has no _data_stream API: the first document creates it from the template',
      };
    }
    throw toSetupError(item, 'create_index on logs-dnsflow.dns-*', err);
  }
}

async function dataStreamRetention(es: Client, stream: string): Promise<string | null> {
  try {
    const lifecycle = await es.indices.getDataLifecycle({ name: stream });
    return lifecycle.data_streams[0]?.lifecycle?.data_retention?.toString() ?? null;
  } catch (err) {
    if (
      lacksDataStreamApi(err) ||
      (err instanceof errors.ResponseError && err.statusCode === 404)
    ) {
      return null;
    }
    throw toSetupError(`data stream ${stream}`, 'view_index_metadata on logs-dnsflow.dns-*', err);
  }
}

/** The node's version from `GET /`, or from the node info where `GET /` is absent. */
async function elasticsearchVersion(es: Client): Promise<string> {
  try {
    const info = await es.info();
    return info.version.number;
  } catch (err) {
    // The integ-test distribution has no handler for GET /; the nodes API has the version.
    if (!(err instanceof errors.ResponseError) || err.statusCode !== 405) {
      throw toSetupError('Elasticsearch', 'monitor', err);
    }
  }
  const nodes = await esStep('Elasticsearch', 'monitor', () =>
    es.nodes.info({ node_id: '_local', metric: '_none' }),
  );
  const version = Object.values(nodes.nodes)[0]?.version;
  if (!version) throw new SetupError('rejected', 'Elasticsearch', 'node info has no version');
  return version;
}

function lacksDataStreamApi(err: unknown): boolean {
  if (!(err instanceof errors.ResponseError)) return false;
  const text = JSON.stringify(err.body ?? '');
  return [400, 404, 405].includes(err.statusCode ?? 0) && /no handler found/i.test(text);
}

async function esStep<T>(item: string, privilege: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw toSetupError(item, privilege, err);
  }
}

function toSetupError(item: string, privilege: string, err: unknown): SetupError {
  if (err instanceof SetupError) return err;
  if (err instanceof errors.ResponseError) {
    const status = err.statusCode ?? 0;
    const reason = esReason(err.body) ?? err.message;
    if (status === 401) {
      return new SetupError(
        'permission',
        item,
        `authentication failed (401): ${reason}; check elasticsearch.username/password or apiKey`,
        { cause: err, statusCode: status },
      );
    }
    if (status === 403) {
      return new SetupError(
        'permission',
        item,
        `permission denied (403): ${reason}; the user or API key needs the ${privilege} privilege`,
        { cause: err, statusCode: status },
      );
    }
    return new SetupError('rejected', item, `Elasticsearch answered ${status}: ${reason}`, {
      cause: err,
      statusCode: status,
    });
  }
  if (err instanceof errors.ElasticsearchClientError) {
    return new SetupError('unreachable', item, `unreachable: ${err.message}`, {
      cause: err,
    });
  }
  return new SetupError('rejected', item, err instanceof Error ? err.message : String(err), {
    cause: err,
  });
}

function esReason(body: unknown): string | undefined {
  const error = (body as { error?: { reason?: string } | string } | undefined)?.error;
  return typeof error === 'string' ? error : error?.reason;
}

async function kafkaStep<T>(item: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    const type = (err as { type?: string }).type ?? '';
    const nested = (err as { errors?: { type?: string }[] }).errors?.map((e) => e.type) ?? [];
    const types = [type, ...nested].filter(Boolean);
    const message = err instanceof Error ? err.message : String(err);
    if (types.some((t) => t?.includes('AUTHORIZATION_FAILED'))) {
      throw new SetupError(
        'permission',
        item,
        `Kafka refused (${types.join(', ')}): ${message}; the principal needs CREATE and DESCRIBE on the topics`,
        { cause: err },
      );
    }
    if (types.some((t) => t?.startsWith('INVALID_'))) {
      throw new SetupError('rejected', item, `Kafka refused (${types.join(', ')}): ${message}`, {
        cause: err,
      });
    }
    throw new SetupError('unreachable', item, `unreachable: ${message}`, { cause: err });
  }
}

/** Hash of a template body with keys sorted, so key order never counts as a change. */
function bodyHash(body: unknown): string {
  return createHash('sha256').update(canonical(body)).digest('hex').slice(0, 16);
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) =>
      a < b ? -1 : a > b ? 1 : 0,
    );
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
