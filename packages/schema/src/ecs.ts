import { isIPv4 } from 'node:net';
import { communityId } from './community-id';
import type {
  DnsTransaction,
  Edns,
  EnrichedDnsTransaction,
  K8sIdentity,
  ResourceRecord,
} from './generated/types';

// ECS (Elastic Common Schema 8.x) rendering of an enriched transaction. Standard ECS fields
// carry what ECS defines, so Kibana, Elastic Security rules and ML jobs work unchanged. The
// Kubernetes identity of the client sits under source.kubernetes.*, the server's under
// destination.kubernetes.* (ECS has no per-end Kubernetes fields; Elastic's integrations use
// kubernetes.* for the single pod a document is about). Everything ECS has no field for is
// under dnsflow.*.

/** Values of `data_stream.*` for dnsflow's DNS documents. */
export const DNS_DATASET = 'dnsflow.dns';

/** ECS `*.kubernetes` block for one end of a transaction. */
export interface EcsKubernetes {
  kind: string;
  namespace?: string;
  pod?: { name?: string; uid?: string };
  labels?: Record<string, string>;
  node?: { name: string };
  workload?: { kind?: string; name?: string };
  service?: { name: string; namespace?: string; type?: string };
}

/** One end of the flow: ECS source/destination/client/server. */
export interface EcsEndpoint {
  ip: string;
  port: number;
  bytes?: number;
  kubernetes?: EcsKubernetes;
}

/** ECS `dns.answers[]` entry. */
export interface EcsAnswer {
  name: string;
  type: string;
  class: string;
  ttl: number;
  data: string;
}

/** EDNS block under dnsflow.edns.query / dnsflow.edns.response. */
export interface EcsEdns {
  version: number;
  udp_size: number;
  do: boolean;
  client_subnet?: string;
  options: { code: number; data: string }[];
}

/** The Elasticsearch document for one DNS transaction. */
export interface EcsDocument {
  '@timestamp': string;
  ecs: { version: string };
  data_stream: { type: 'logs'; dataset: string; namespace: string };
  event: {
    kind: 'event';
    category: ['network'];
    type: ('protocol' | 'info' | 'error')[];
    dataset: string;
    module: 'dnsflow';
    outcome: 'success' | 'failure' | 'unknown';
    created: string;
    start: string;
    end?: string;
    duration?: number;
  };
  network: {
    transport: 'udp' | 'tcp';
    protocol: 'dns';
    type: 'ipv4' | 'ipv6';
    iana_number: string;
    community_id: string;
    bytes?: number;
  };
  source: EcsEndpoint;
  destination: EcsEndpoint;
  client: EcsEndpoint;
  server: EcsEndpoint;
  related: { ip: string[]; hosts?: string[] };
  host: { name: string; hostname: string };
  observer: {
    hostname: string;
    type: 'sensor';
    product: 'dnsflow';
    vendor: 'dnsflow';
    ingress?: { interface: { name: string } };
  };
  dns: {
    id: string;
    op_code: string;
    type: 'query' | 'answer';
    response_code?: string;
    header_flags: string[];
    question?: {
      name: string;
      type: string;
      class: string;
      registered_domain?: string;
      subdomain?: string;
      top_level_domain?: string;
    };
    answers?: EcsAnswer[];
    resolved_ip?: string[];
  };
  dnsflow: {
    status: 'answered' | 'unanswered' | 'orphan' | 'malformed';
    latency_us?: number;
    question_count: number;
    question?: { name_raw: string };
    rcode_value?: number;
    answer_count: number;
    authority_count: number;
    additional_count: number;
    authorities?: EcsAnswer[];
    additionals?: EcsAnswer[];
    edns?: { query?: EcsEdns; response?: EcsEdns };
    malformed_reason?: string;
    duplicate_responses: number;
    notes?: string[];
    answered_by?: EcsEndpoint;
    query_target?: { internal: boolean; kind?: string; namespace?: string; name?: string };
    domain?: {
      label_count: number;
      longest_label: number;
      name_length: number;
      entropy: number;
      digit_ratio: number;
    };
    search?: { asked_name: string; is_expansion: boolean; suffix?: string };
  };
}

/** ECS version the documents and templates follow. */
export const ECS_VERSION = '8.17.0';

/** Epoch microseconds as an RFC 3339 string with microsecond precision (date_nanos keeps it). */
export function isoMicros(epochUs: number): string {
  const ms = Math.floor(epochUs / 1000);
  const micros = epochUs - ms * 1000;
  return `${new Date(ms).toISOString().slice(0, -1)}${String(micros).padStart(3, '0')}Z`;
}

/** Drops keys whose value is null/undefined, so documents never carry empty fields. */
function compact<T extends object>(value: T): T {
  for (const key of Object.keys(value) as (keyof T)[]) {
    if (value[key] === null || value[key] === undefined) delete value[key];
  }
  return value;
}

function kubernetes(identity: K8sIdentity | null): EcsKubernetes | undefined {
  if (!identity) return undefined;
  const pod =
    identity.pod || identity.podUid
      ? compact({ name: identity.pod ?? undefined, uid: identity.podUid ?? undefined })
      : undefined;
  const workload =
    identity.workloadKind || identity.workloadName
      ? compact({
          kind: identity.workloadKind ?? undefined,
          name: identity.workloadName ?? undefined,
        })
      : undefined;
  const service = identity.service
    ? compact({
        name: identity.service,
        namespace: identity.serviceNamespace ?? undefined,
        type: identity.serviceType ?? undefined,
      })
    : undefined;
  return compact({
    kind: identity.kind.toLowerCase(),
    namespace: identity.namespace ?? undefined,
    pod,
    labels: Object.keys(identity.labels).length > 0 ? identity.labels : undefined,
    node: identity.node ? { name: identity.node } : undefined,
    workload,
    service,
  });
}

function answers(records: readonly ResourceRecord[]): EcsAnswer[] | undefined {
  return records.length > 0
    ? records.map((r) => ({ name: r.name, type: r.type, class: r.class, ttl: r.ttl, data: r.data }))
    : undefined;
}

function edns(value: Edns | null): EcsEdns | undefined {
  if (!value) return undefined;
  return compact({
    version: value.version,
    udp_size: value.udpSize,
    do: value.do,
    client_subnet: value.clientSubnet ?? undefined,
    options: value.options.map((o) => ({ code: o.code, data: o.data.toString('base64') })),
  });
}

function headerFlags(tx: DnsTransaction): string[] {
  const f = tx.flags;
  const names: [boolean, string][] = [
    [f.aa, 'AA'],
    [f.tc, 'TC'],
    [f.rd, 'RD'],
    [f.ra, 'RA'],
    [f.ad, 'AD'],
    [f.cd, 'CD'],
    [f.do, 'DO'],
  ];
  return names.filter(([set]) => set).map(([, name]) => name);
}

function outcome(tx: DnsTransaction): EcsDocument['event']['outcome'] {
  if (tx.status === 'UNANSWERED' || tx.status === 'MALFORMED') return 'failure';
  if (tx.rcode === null) return 'unknown';
  return tx.rcode === 'NOERROR' ? 'success' : 'failure';
}

/** Options for {@link toEcs}. */
export interface EcsOptions {
  /** `data_stream.namespace`: the `<ns>` of `logs-dnsflow.dns-<ns>`. */
  namespace?: string;
}

/** Renders an enriched transaction as the ECS document dnsflow indexes. */
export function toEcs(record: EnrichedDnsTransaction, options: EcsOptions = {}): EcsDocument {
  const tx = record.transaction;
  const namespace = options.namespace ?? 'default';
  const transport = tx.transport === 'UDP' ? 'udp' : 'tcp';
  const resolvedIp = tx.answers
    .filter((a) => a.type === 'A' || a.type === 'AAAA')
    .map((a) => a.data);
  const clientK8s = kubernetes(record.client);
  const serverK8s = kubernetes(record.server);
  const source: EcsEndpoint = compact({
    ip: tx.client.ip,
    port: tx.client.port,
    bytes: tx.requestBytes ?? undefined,
    kubernetes: clientK8s,
  });
  const destination: EcsEndpoint = compact({
    ip: tx.server.ip,
    port: tx.server.port,
    bytes: tx.responseBytes ?? undefined,
    kubernetes: serverK8s,
  });
  const related = [
    tx.client.ip,
    tx.server.ip,
    ...(tx.answeredBy ? [tx.answeredBy.ip] : []),
    ...resolvedIp,
  ];
  const bytes = (tx.requestBytes ?? 0) + (tx.responseBytes ?? 0);
  const q = tx.question;
  const d = record.domain;
  const responded = tx.status === 'ANSWERED' || tx.status === 'ORPHAN';

  return {
    '@timestamp': isoMicros(tx.startTimeUs),
    ecs: { version: ECS_VERSION },
    data_stream: { type: 'logs', dataset: DNS_DATASET, namespace },
    event: compact({
      kind: 'event' as const,
      category: ['network'] as ['network'],
      type:
        tx.status === 'MALFORMED' ? ['protocol' as const, 'error' as const] : ['protocol' as const],
      dataset: DNS_DATASET,
      module: 'dnsflow' as const,
      outcome: outcome(tx),
      created: isoMicros(tx.captureTimeUs),
      start: isoMicros(tx.startTimeUs),
      end: tx.endTimeUs !== null ? isoMicros(tx.endTimeUs) : undefined,
      duration: tx.latencyUs !== null ? tx.latencyUs * 1000 : undefined,
    }),
    network: compact({
      transport,
      protocol: 'dns' as const,
      type: isIPv4(tx.client.ip) ? ('ipv4' as const) : ('ipv6' as const),
      iana_number: tx.transport === 'UDP' ? '17' : '6',
      community_id: communityId(
        tx.transport,
        tx.client.ip,
        tx.client.port,
        tx.server.ip,
        tx.server.port,
      ),
      bytes: bytes > 0 ? bytes : undefined,
    }),
    source,
    destination,
    client: source,
    server: destination,
    related: compact({ ip: [...new Set(related)], hosts: q ? [q.name] : undefined }),
    host: { name: tx.node, hostname: tx.node },
    observer: compact({
      hostname: tx.node,
      type: 'sensor' as const,
      product: 'dnsflow' as const,
      vendor: 'dnsflow' as const,
      ingress: tx.iface ? { interface: { name: tx.iface } } : undefined,
    }),
    dns: compact({
      id: String(tx.dnsId),
      op_code: tx.opcode,
      type: responded ? ('answer' as const) : ('query' as const),
      response_code: tx.rcode ?? undefined,
      header_flags: headerFlags(tx),
      question: q
        ? compact({
            name: q.name,
            type: q.type,
            class: q.class,
            registered_domain: d?.registeredDomain ?? undefined,
            subdomain: d?.subdomain ?? undefined,
            top_level_domain: d?.topLevelDomain ?? undefined,
          })
        : undefined,
      answers: answers(tx.answers),
      resolved_ip: resolvedIp.length > 0 ? resolvedIp : undefined,
    }),
    dnsflow: compact({
      status: tx.status.toLowerCase() as EcsDocument['dnsflow']['status'],
      latency_us: tx.latencyUs ?? undefined,
      question_count: tx.questionCount,
      question: q ? { name_raw: q.nameRaw } : undefined,
      rcode_value: tx.rcodeValue ?? undefined,
      answer_count: tx.answerCount,
      authority_count: tx.authorityCount,
      additional_count: tx.additionalCount,
      authorities: answers(tx.authorities),
      additionals: answers(tx.additionals),
      edns:
        tx.queryEdns || tx.responseEdns
          ? compact({ query: edns(tx.queryEdns), response: edns(tx.responseEdns) })
          : undefined,
      malformed_reason: tx.malformedReason ?? undefined,
      duplicate_responses: tx.duplicateResponses,
      notes: tx.notes.length > 0 ? tx.notes : undefined,
      answered_by: tx.answeredBy
        ? compact({
            ip: tx.answeredBy.ip,
            port: tx.answeredBy.port,
            kubernetes: kubernetes(record.answeredBy),
          })
        : undefined,
      query_target: record.queryTarget
        ? compact({
            internal: record.queryTarget.internal,
            kind: record.queryTarget.kind ?? undefined,
            namespace: record.queryTarget.namespace ?? undefined,
            name: record.queryTarget.name ?? undefined,
          })
        : undefined,
      domain: d
        ? {
            label_count: d.labelCount,
            longest_label: d.longestLabel,
            name_length: d.nameLength,
            entropy: d.entropy,
            digit_ratio: d.digitRatio,
          }
        : undefined,
      search: record.searchList
        ? compact({
            asked_name: record.searchList.askedName,
            is_expansion: record.searchList.isExpansion,
            suffix: record.searchList.suffix ?? undefined,
          })
        : undefined,
    }),
  };
}
