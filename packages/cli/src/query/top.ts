import { renderTable } from '../format';
import { formatLatency } from './render';

// `dnsflow top`: the busiest (or most failing, slowest, heaviest) pods, workloads, servers
// or domains, computed by Elasticsearch aggregations: terms per group, and under each a
// filter for failures, percentiles and max of latency, a sum of bytes and the top rcodes.

export const TOP_GROUPS = ['pods', 'workloads', 'servers', 'domains'] as const;
export type TopGroup = (typeof TOP_GROUPS)[number];
export const TOP_SORTS = ['count', 'errors', 'latency', 'bytes'] as const;
export type TopSort = (typeof TOP_SORTS)[number];
export const DOMAIN_KEYS = ['registered-domain', 'name'] as const;
export type DomainKey = (typeof DOMAIN_KEYS)[number];

/** How one kind of group is keyed: nested terms levels, and a key for documents without them. */
interface GroupSpec {
  header: string;
  levels: string[];
  /** Documents lacking the last level's field are grouped by this field instead. */
  fallback?: string;
  /** Fields of one sample document shown beside the key (e.g. the service behind a server IP). */
  identity?: string[];
}

export function groupSpec(group: TopGroup, by: DomainKey = 'registered-domain'): GroupSpec {
  switch (group) {
    case 'pods':
      return {
        header: 'POD',
        levels: ['source.kubernetes.namespace', 'source.kubernetes.pod.name'],
        fallback: 'source.ip',
      };
    case 'workloads':
      return {
        header: 'WORKLOAD',
        levels: ['source.kubernetes.namespace', 'source.kubernetes.workload.name'],
        fallback: 'source.ip',
        identity: ['source.kubernetes.workload.kind'],
      };
    case 'servers':
      return {
        header: 'SERVER',
        levels: ['destination.ip'],
        identity: [
          'destination.kubernetes.namespace',
          'destination.kubernetes.service',
          'destination.kubernetes.pod.name',
        ],
      };
    case 'domains':
      return by === 'name'
        ? { header: 'NAME', levels: ['dns.question.name'] }
        : {
            header: 'DOMAIN',
            levels: ['dns.question.registered_domain'],
            fallback: 'dns.question.name',
          };
  }
}

/** Terms order for `sort` (the metrics below are named for it). */
function order(sort: TopSort): Record<string, 'desc'> {
  switch (sort) {
    case 'count':
      return { _count: 'desc' };
    case 'errors':
      return { errors: 'desc' };
    case 'latency':
      return { 'latency[95.0]': 'desc' };
    case 'bytes':
      return { bytes: 'desc' };
  }
}

// Outer levels (namespaces) are few: this many outer buckets make the nested top-N exact in
// any cluster with fewer namespaces. Outer times inner buckets stay under this total, well
// below Elasticsearch's search.max_buckets (65,536).
const OUTER_BUCKETS = 200;
const MAX_BUCKETS = 50_000;

/** Most rows `dnsflow top` shows (a terms size Elasticsearch takes in one request). */
export const MAX_TOP_LIMIT = 10_000;

function metrics(spec: GroupSpec, leaf: boolean): Record<string, unknown> {
  return {
    errors: { filter: { term: { 'event.outcome': 'failure' } } },
    latency: { percentiles: { field: 'dnsflow.latency_us', percents: [50, 95] } },
    latency_max: { max: { field: 'dnsflow.latency_us' } },
    bytes: { sum: { field: 'network.bytes' } },
    ...(leaf
      ? {
          rcodes: { terms: { field: 'dns.response_code', size: 3 } },
          // Unanswered queries have no response code; they are failures worth naming too.
          unanswered: { filter: { term: { 'dnsflow.status': 'unanswered' } } },
          ...(spec.identity !== undefined
            ? { sample: { top_hits: { size: 1, _source: { includes: spec.identity } } } }
            : {}),
        }
      : {}),
  };
}

function levelsAgg(
  spec: GroupSpec,
  fields: readonly string[],
  sort: TopSort,
  limit: number,
): Record<string, unknown> {
  const [field, ...rest] = fields;
  const leaf = rest.length === 0;
  return {
    terms: {
      field,
      size: leaf ? limit : Math.max(1, Math.min(OUTER_BUCKETS, Math.floor(MAX_BUCKETS / limit))),
      order: order(sort),
    },
    aggs: {
      ...metrics(spec, leaf),
      ...(leaf ? {} : { group: levelsAgg(spec, rest, sort, limit) }),
    },
  };
}

/** The aggregations of one `dnsflow top` request. */
export function topAggregations(
  spec: GroupSpec,
  sort: TopSort,
  limit: number,
): Record<string, unknown> {
  const last = spec.levels[spec.levels.length - 1]!;
  return {
    group: levelsAgg(spec, spec.levels, sort, limit),
    ...(spec.fallback !== undefined
      ? {
          fallback: {
            filter: { bool: { must_not: [{ exists: { field: last } }] } },
            aggs: { group: levelsAgg(spec, [spec.fallback], sort, limit) },
          },
        }
      : {}),
  };
}

/** One row of `dnsflow top`. */
export interface TopRow {
  key: string;
  /** What else is known about the key, e.g. the service behind a server IP. */
  detail?: string;
  count: number;
  errors: number;
  errorRatio: number;
  latencyUs: { p50: number | null; p95: number | null; max: number | null };
  bytes: number;
  /** The most frequent response codes, and UNANSWERED for queries without a response. */
  rcodes: Record<string, number>;
}

interface Bucket {
  key: string | number;
  key_as_string?: string;
  doc_count: number;
  errors?: { doc_count: number };
  latency?: { values: Record<string, number | null> };
  latency_max?: { value: number | null };
  bytes?: { value: number };
  rcodes?: { buckets: { key: string; doc_count: number }[] };
  unanswered?: { doc_count: number };
  sample?: { hits: { hits: { _source?: unknown }[] } };
  group?: { buckets: Bucket[] };
}

function pick(source: unknown, path: string): unknown {
  let node = source;
  for (const part of path.split('.')) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[part];
  }
  return node;
}

function detail(spec: GroupSpec, bucket: Bucket): string | undefined {
  const source = bucket.sample?.hits.hits[0]?._source;
  if (source === undefined || spec.identity === undefined) return undefined;
  if (spec.header === 'SERVER') {
    const ns = pick(source, 'destination.kubernetes.namespace');
    const service = pick(source, 'destination.kubernetes.service.name');
    const pod = pick(source, 'destination.kubernetes.pod.name');
    const name = typeof service === 'string' ? service : typeof pod === 'string' ? pod : undefined;
    if (name === undefined) return undefined;
    return typeof ns === 'string' ? `${ns}/${name}` : name;
  }
  const values = spec.identity.map((f) => pick(source, f)).filter((v) => typeof v === 'string');
  return values.length > 0 ? values.join(' ') : undefined;
}

function row(spec: GroupSpec, keys: string[], bucket: Bucket): TopRow {
  const errors = bucket.errors?.doc_count ?? 0;
  const unanswered = bucket.unanswered?.doc_count ?? 0;
  const d = detail(spec, bucket);
  return {
    key: keys.join('/'),
    ...(d !== undefined ? { detail: d } : {}),
    count: bucket.doc_count,
    errors,
    errorRatio: bucket.doc_count > 0 ? errors / bucket.doc_count : 0,
    latencyUs: {
      p50: bucket.latency?.values['50.0'] ?? null,
      p95: bucket.latency?.values['95.0'] ?? null,
      max: bucket.latency_max?.value ?? null,
    },
    bytes: bucket.bytes?.value ?? 0,
    rcodes: {
      ...Object.fromEntries((bucket.rcodes?.buckets ?? []).map((b) => [b.key, b.doc_count])),
      ...(unanswered > 0 ? { UNANSWERED: unanswered } : {}),
    },
  };
}

function flatten(spec: GroupSpec, buckets: Bucket[], keys: string[], out: TopRow[]): void {
  for (const bucket of buckets) {
    const path = [...keys, String(bucket.key_as_string ?? bucket.key)];
    if (bucket.group !== undefined) flatten(spec, bucket.group.buckets, path, out);
    else out.push(row(spec, path, bucket));
  }
}

function sortValue(r: TopRow, sort: TopSort): number {
  switch (sort) {
    case 'count':
      return r.count;
    case 'errors':
      return r.errors;
    case 'latency':
      return r.latencyUs.p95 ?? -1;
    case 'bytes':
      return r.bytes;
  }
}

/** The rows of an aggregation response, best first, at most `limit`. */
export function topRows(
  spec: GroupSpec,
  aggregations: Record<string, unknown>,
  sort: TopSort,
  limit: number,
): TopRow[] {
  const rows: TopRow[] = [];
  const group = aggregations['group'] as { buckets: Bucket[] } | undefined;
  flatten(spec, group?.buckets ?? [], [], rows);
  const fallback = aggregations['fallback'] as { group?: { buckets: Bucket[] } } | undefined;
  flatten(spec, fallback?.group?.buckets ?? [], [], rows);
  return rows
    .sort(
      (a, b) =>
        sortValue(b, sort) - sortValue(a, sort) || b.count - a.count || a.key.localeCompare(b.key),
    )
    .slice(0, limit);
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n}B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = n / 1024;
  let i = 0;
  while (value >= 1024 && i < units.length - 1) {
    value /= 1024;
    i++;
  }
  return `${value.toFixed(1)}${units[i]}`;
}

function formatRcodes(rcodes: Record<string, number>): string {
  const parts = Object.entries(rcodes).map(([code, n]) => `${code}:${n}`);
  return parts.length > 0 ? parts.join(',') : '-';
}

const ms = (us: number | null): string => (us === null ? '-' : formatLatency(us));

/** `dnsflow top` as an aligned table. */
export function renderTopTable(spec: GroupSpec, rows: TopRow[]): string {
  const header = [spec.header, 'COUNT', 'ERRORS', 'ERR%', 'RCODES', 'P50', 'P95', 'MAX', 'BYTES'];
  return renderTable([
    header,
    ...rows.map((r) => [
      r.detail !== undefined ? `${r.key} (${r.detail})` : r.key,
      String(r.count),
      String(r.errors),
      `${(r.errorRatio * 100).toFixed(1)}%`,
      formatRcodes(r.rcodes),
      ms(r.latencyUs.p50),
      ms(r.latencyUs.p95),
      ms(r.latencyUs.max),
      formatBytes(r.bytes),
    ]),
  ]);
}

/** `dnsflow top` as NDJSON, one group per line. */
export function renderTopJson(group: TopGroup, rows: TopRow[]): string {
  return rows.map((r) => JSON.stringify({ group, ...r })).join('\n');
}
