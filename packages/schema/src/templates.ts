import { ECS_VERSION, DNS_DATASET } from './ecs';

// Elasticsearch composable templates for the data stream logs-dnsflow.dns-<namespace>.
// Mappings are explicit and strict: a field the ECS mapping emits but the template lacks is a
// rejected document (and a failing test), never a silently guessed dynamic mapping.

type Mapping = Record<string, unknown>;

const keyword = (): Mapping => ({ type: 'keyword', ignore_above: 1024 });
const long = (): Mapping => ({ type: 'long' });
const int = (): Mapping => ({ type: 'integer' });
const ip = (): Mapping => ({ type: 'ip' });
const bool = (): Mapping => ({ type: 'boolean' });
const nanos = (): Mapping => ({ type: 'date_nanos' });
const object = (properties: Record<string, Mapping>): Mapping => ({ properties });

const kubernetes = (): Mapping =>
  object({
    kind: keyword(),
    namespace: keyword(),
    pod: object({ name: keyword(), uid: keyword() }),
    // Label keys are open-ended (an allow-list bounds them in the enricher); flattened keeps
    // them searchable as keywords without one mapping field per key.
    labels: { type: 'flattened' },
    node: object({ name: keyword() }),
    workload: object({ kind: keyword(), name: keyword() }),
    service: object({ name: keyword(), namespace: keyword(), type: keyword() }),
  });

const endpoint = (): Mapping =>
  object({ ip: ip(), port: long(), bytes: long(), kubernetes: kubernetes() });

/**
 * Field aliases of every leaf of `mapping`, pointing under `target`. A DNS transaction's
 * client is its query's source and its server the destination, always: documents carry
 * each end once (a quarter less to serialize, index and store), and `client.*` and
 * `server.*` still answer in queries, aggregations, sorting and the fields API (Kibana).
 */
function aliasesOf(target: string, mapping: Mapping): Mapping {
  const properties = mapping['properties'] as Record<string, Mapping> | undefined;
  if (properties === undefined) return { type: 'alias', path: target };
  return object(
    Object.fromEntries(
      Object.entries(properties).map(([key, child]) => [key, aliasesOf(`${target}.${key}`, child)]),
    ),
  );
}

const record = (): Mapping =>
  object({ name: keyword(), type: keyword(), class: keyword(), ttl: long(), data: keyword() });

const edns = (): Mapping =>
  object({
    version: int(),
    udp_size: int(),
    do: bool(),
    client_subnet: keyword(),
    options: object({ code: int(), data: { type: 'binary' } }),
  });

/** The `mappings` of every dnsflow DNS document (see {@link toEcs}). */
export function dnsMappings(): Mapping {
  return {
    dynamic: 'strict',
    _meta: { ecs_version: ECS_VERSION, managed_by: 'dnsflow' },
    properties: {
      '@timestamp': nanos(),
      ecs: object({ version: keyword() }),
      data_stream: object({ type: keyword(), dataset: keyword(), namespace: keyword() }),
      event: object({
        kind: keyword(),
        category: keyword(),
        type: keyword(),
        dataset: keyword(),
        module: keyword(),
        outcome: keyword(),
        created: nanos(),
        start: nanos(),
        end: nanos(),
        duration: long(),
      }),
      network: object({
        transport: keyword(),
        protocol: keyword(),
        type: keyword(),
        iana_number: keyword(),
        community_id: keyword(),
        bytes: long(),
      }),
      source: endpoint(),
      destination: endpoint(),
      client: aliasesOf('source', endpoint()),
      server: aliasesOf('destination', endpoint()),
      related: object({ ip: ip(), hosts: keyword() }),
      host: object({ name: keyword(), hostname: keyword() }),
      observer: object({
        hostname: keyword(),
        type: keyword(),
        product: keyword(),
        vendor: keyword(),
        ingress: object({ interface: object({ name: keyword() }) }),
      }),
      dns: object({
        id: keyword(),
        op_code: keyword(),
        type: keyword(),
        response_code: keyword(),
        header_flags: keyword(),
        question: object({
          name: keyword(),
          type: keyword(),
          class: keyword(),
          registered_domain: keyword(),
          subdomain: keyword(),
          top_level_domain: keyword(),
        }),
        answers: record(),
        resolved_ip: ip(),
      }),
      dnsflow: object({
        status: keyword(),
        latency_us: long(),
        question_count: int(),
        question: object({ name_raw: keyword() }),
        rcode_value: int(),
        answer_count: int(),
        authority_count: int(),
        additional_count: int(),
        authorities: record(),
        additionals: record(),
        edns: object({ query: edns(), response: edns() }),
        malformed_reason: keyword(),
        duplicate_responses: int(),
        notes: keyword(),
        answered_by: endpoint(),
        query_target: object({
          internal: bool(),
          kind: keyword(),
          namespace: keyword(),
          name: keyword(),
        }),
        domain: object({
          label_count: int(),
          longest_label: int(),
          name_length: int(),
          entropy: { type: 'float' },
          digit_ratio: { type: 'float' },
        }),
        search: object({ asked_name: keyword(), is_expansion: bool(), suffix: keyword() }),
      }),
    },
  };
}

/** Options for {@link dnsTemplates}. */
export interface TemplateOptions {
  /** Data stream namespace the settings below are for; default `default`. */
  namespace?: string;
  /** Data stream lifecycle retention, an Elasticsearch time value; default 30d. */
  retention?: string;
  /** Shards per backing index; default 1. */
  numberOfShards?: number;
}

/** One named template body, as PUT _component_template or _index_template takes it. */
export interface NamedTemplate {
  name: string;
  body: Record<string, unknown>;
}

/**
 * A composable template set: the shared component templates, the shared index template every
 * dnsflow DNS data stream falls back to, and the index template of one namespace.
 */
export interface TemplateSet {
  componentTemplates: NamedTemplate[];
  /** `logs-dnsflow.dns`: pattern `logs-dnsflow.dns-*`, default retention and shards. */
  sharedTemplate: NamedTemplate;
  /** `logs-dnsflow.dns-<namespace>`: that one data stream, its own retention and shards. */
  indexTemplate: NamedTemplate;
}

/** Shared index template name and the data stream pattern it matches. */
export const DNS_INDEX_TEMPLATE = `logs-${DNS_DATASET}`;
export const DNS_DATA_STREAM_PATTERN = `logs-${DNS_DATASET}-*`;
export const DEFAULT_RETENTION = '30d';

/** Name of the data stream for one namespace, e.g. logs-dnsflow.dns-default. */
export function dnsDataStream(namespace = 'default'): string {
  return `logs-${DNS_DATASET}-${namespace}`;
}

/** Name of the index template of one namespace: the name of its data stream. */
export function dnsIndexTemplate(namespace = 'default'): string {
  return dnsDataStream(namespace);
}

/**
 * Component and index templates for the DNS data streams. Each namespace has an index
 * template of its own, matching exactly its data stream, so namespaces set up with another
 * retention or shard count never rewrite each other; the shared template (lower priority,
 * defaults) gives a namespace nobody set up the same strict mappings. Retention goes in the
 * index template's lifecycle, which Elasticsearch copies into the data stream it creates.
 */
export function dnsTemplates(options: TemplateOptions = {}): TemplateSet {
  const meta = { managed_by: 'dnsflow', ecs_version: ECS_VERSION };
  const mappingsName = `${DNS_INDEX_TEMPLATE}@mappings`;
  const settingsName = `${DNS_INDEX_TEMPLATE}@settings`;
  const composed = {
    data_stream: {},
    composed_of: [settingsName, mappingsName],
    _meta: meta,
  };
  const lifecycle = (retention: string) => ({ enabled: true, data_retention: retention });
  const namespace = options.namespace ?? 'default';
  return {
    componentTemplates: [
      { name: mappingsName, body: { template: { mappings: dnsMappings() }, _meta: meta } },
      {
        name: settingsName,
        body: {
          template: {
            settings: {
              'index.number_of_shards': 1,
              // One replica where a second node exists, none on a single node (stays green).
              'index.auto_expand_replicas': '0-1',
              'index.codec': 'best_compression',
              'index.sort.field': '@timestamp',
              'index.sort.order': 'desc',
            },
          },
          _meta: meta,
        },
      },
    ],
    sharedTemplate: {
      name: DNS_INDEX_TEMPLATE,
      body: {
        index_patterns: [DNS_DATA_STREAM_PATTERN],
        // Above the built-in logs-*-* template (priority 100) of a full distribution.
        priority: 200,
        template: { lifecycle: lifecycle(DEFAULT_RETENTION) },
        ...composed,
      },
    },
    indexTemplate: {
      name: dnsIndexTemplate(namespace),
      body: {
        index_patterns: [dnsDataStream(namespace)],
        // Above the shared template: a pattern without a wildcard overlaps no other namespace.
        priority: 300,
        template: {
          settings: { 'index.number_of_shards': options.numberOfShards ?? 1 },
          lifecycle: lifecycle(options.retention ?? DEFAULT_RETENTION),
        },
        ...composed,
        _meta: { ...meta, namespace },
      },
    },
  };
}
