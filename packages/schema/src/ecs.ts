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

/** `String(value).padStart(3, '0')`, without the call. */
function pad3(value: number): string {
  const text = String(value);
  return text.length >= 3 ? text : text.length === 2 ? `0${text}` : `00${text}`;
}

// The date and time to the second, as the last isoMicros call formatted it: a document's
// timestamps, and consecutive documents', mostly fall in the same second, and toISOString
// is the expensive part.
let isoSecond = NaN;
const MAX_DATE_MS = 8.64e15;
let isoPrefix = '';

/** Epoch microseconds as an RFC 3339 string with microsecond precision (date_nanos keeps it). */
export function isoMicros(epochUs: number): string {
  const ms = Math.floor(epochUs / 1000);
  const micros = epochUs - ms * 1000;
  const second = Math.floor(ms / 1000);
  // Date's own limit, which the cached second's neighbours could otherwise slip past.
  if (ms > MAX_DATE_MS || ms < -MAX_DATE_MS) throw new RangeError('Invalid time value');
  if (second !== isoSecond) {
    // toISOString ends in `.sssZ`; what comes before it is the prefix (6-digit years too).
    isoPrefix = new Date(ms).toISOString().slice(0, -4);
    isoSecond = second;
  }
  return `${isoPrefix}${pad3(ms - second * 1000)}${pad3(micros)}Z`;
}

// The mapping runs once per indexed document and was most of the indexer's CPU. Each object
// is built in one pass, an optional key added only when it has a value: creating keys and
// deleting the empty ones afterwards turned every object into a dictionary, which is slow to
// build and slower still for JSON.stringify. Key order is the old order (see
// test/ecs-equivalence.test.ts), so the NDJSON is byte for byte what it was.

function kubernetes(identity: K8sIdentity): EcsKubernetes {
  const out: EcsKubernetes = { kind: identity.kind.toLowerCase() };
  if (identity.namespace !== null) out.namespace = identity.namespace;
  if (identity.pod || identity.podUid) {
    const pod: { name?: string; uid?: string } = {};
    if (identity.pod !== null) pod.name = identity.pod;
    if (identity.podUid !== null) pod.uid = identity.podUid;
    out.pod = pod;
  }
  if (hasKeys(identity.labels)) out.labels = identity.labels;
  if (identity.node) out.node = { name: identity.node };
  if (identity.workloadKind || identity.workloadName) {
    const workload: { kind?: string; name?: string } = {};
    if (identity.workloadKind !== null) workload.kind = identity.workloadKind;
    if (identity.workloadName !== null) workload.name = identity.workloadName;
    out.workload = workload;
  }
  if (identity.service) {
    const service: { name: string; namespace?: string; type?: string } = {
      name: identity.service,
    };
    if (identity.serviceNamespace !== null) service.namespace = identity.serviceNamespace;
    if (identity.serviceType !== null) service.type = identity.serviceType;
    out.service = service;
  }
  return out;
}

function hasKeys(value: Record<string, string>): boolean {
  for (const key in value) if (Object.prototype.hasOwnProperty.call(value, key)) return true;
  return false;
}

function answers(records: readonly ResourceRecord[]): EcsAnswer[] {
  const out = new Array<EcsAnswer>(records.length);
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    out[i] = { name: r.name, type: r.type, class: r.class, ttl: r.ttl, data: r.data };
  }
  return out;
}

function edns(value: Edns): EcsEdns {
  const options = new Array<{ code: number; data: string }>(value.options.length);
  for (let i = 0; i < options.length; i++) {
    const o = value.options[i]!;
    options[i] = { code: o.code, data: o.data.toString('base64') };
  }
  return value.clientSubnet !== null
    ? {
        version: value.version,
        udp_size: value.udpSize,
        do: value.do,
        client_subnet: value.clientSubnet,
        options,
      }
    : { version: value.version, udp_size: value.udpSize, do: value.do, options };
}

function headerFlags(tx: DnsTransaction): string[] {
  const f = tx.flags;
  const names: string[] = [];
  if (f.aa) names.push('AA');
  if (f.tc) names.push('TC');
  if (f.rd) names.push('RD');
  if (f.ra) names.push('RA');
  if (f.ad) names.push('AD');
  if (f.cd) names.push('CD');
  if (f.do) names.push('DO');
  return names;
}

function outcome(tx: DnsTransaction): EcsDocument['event']['outcome'] {
  if (tx.status === 'UNANSWERED' || tx.status === 'MALFORMED') return 'failure';
  if (tx.rcode === null) return 'unknown';
  return tx.rcode === 'NOERROR' ? 'success' : 'failure';
}

function endpoint(
  ip: string,
  port: number,
  bytes: number | null,
  k8s: K8sIdentity | null,
): EcsEndpoint {
  const out: EcsEndpoint = { ip, port };
  if (bytes !== null) out.bytes = bytes;
  if (k8s) out.kubernetes = kubernetes(k8s);
  return out;
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
  const udp = tx.transport === 'UDP';
  const q = tx.question;
  const d = record.domain;
  const responded = tx.status === 'ANSWERED' || tx.status === 'ORPHAN';
  const timestamp = isoMicros(tx.startTimeUs);

  const resolvedIp: string[] = [];
  for (const a of tx.answers) if (a.type === 'A' || a.type === 'AAAA') resolvedIp.push(a.data);
  // related.ip: each address once, in first-seen order (arrays this short beat a Set).
  const relatedIp = [tx.client.ip];
  if (tx.server.ip !== tx.client.ip) relatedIp.push(tx.server.ip);
  if (tx.answeredBy && !relatedIp.includes(tx.answeredBy.ip)) relatedIp.push(tx.answeredBy.ip);
  for (const ip of resolvedIp) if (!relatedIp.includes(ip)) relatedIp.push(ip);

  const event: EcsDocument['event'] = {
    kind: 'event',
    category: ['network'],
    type: tx.status === 'MALFORMED' ? ['protocol', 'error'] : ['protocol'],
    dataset: DNS_DATASET,
    module: 'dnsflow',
    outcome: outcome(tx),
    created: isoMicros(tx.captureTimeUs),
    start: timestamp,
  };
  if (tx.endTimeUs !== null) event.end = isoMicros(tx.endTimeUs);
  if (tx.latencyUs !== null) event.duration = tx.latencyUs * 1000;

  const network: EcsDocument['network'] = {
    transport: udp ? 'udp' : 'tcp',
    protocol: 'dns',
    type: isIPv4(tx.client.ip) ? 'ipv4' : 'ipv6',
    iana_number: udp ? '17' : '6',
    community_id: communityId(
      tx.transport,
      tx.client.ip,
      tx.client.port,
      tx.server.ip,
      tx.server.port,
    ),
  };
  const bytes = (tx.requestBytes ?? 0) + (tx.responseBytes ?? 0);
  if (bytes > 0) network.bytes = bytes;

  const source = endpoint(tx.client.ip, tx.client.port, tx.requestBytes, record.client);
  const destination = endpoint(tx.server.ip, tx.server.port, tx.responseBytes, record.server);

  const related: EcsDocument['related'] = { ip: relatedIp };
  if (q) related.hosts = [q.name];

  const observer: EcsDocument['observer'] = {
    hostname: tx.node,
    type: 'sensor',
    product: 'dnsflow',
    vendor: 'dnsflow',
  };
  if (tx.iface) observer.ingress = { interface: { name: tx.iface } };

  const id = String(tx.dnsId);
  const type = responded ? 'answer' : 'query';
  const flags = headerFlags(tx);
  const dns: EcsDocument['dns'] =
    tx.rcode !== null
      ? { id, op_code: tx.opcode, type, response_code: tx.rcode, header_flags: flags }
      : { id, op_code: tx.opcode, type, header_flags: flags };
  if (q) {
    const question: NonNullable<EcsDocument['dns']['question']> = {
      name: q.name,
      type: q.type,
      class: q.class,
    };
    if (d && d.registeredDomain !== null) question.registered_domain = d.registeredDomain;
    if (d && d.subdomain !== null) question.subdomain = d.subdomain;
    if (d && d.topLevelDomain !== null) question.top_level_domain = d.topLevelDomain;
    dns.question = question;
  }
  if (tx.answers.length > 0) dns.answers = answers(tx.answers);
  if (resolvedIp.length > 0) dns.resolved_ip = resolvedIp;

  // Required keys are filled in below, in between the optional ones, to keep the key order.
  const dnsflow = {
    status: tx.status.toLowerCase() as EcsDocument['dnsflow']['status'],
  } as EcsDocument['dnsflow'];
  if (tx.latencyUs !== null) dnsflow.latency_us = tx.latencyUs;
  dnsflow.question_count = tx.questionCount;
  if (q) dnsflow.question = { name_raw: q.nameRaw };
  if (tx.rcodeValue !== null) dnsflow.rcode_value = tx.rcodeValue;
  dnsflow.answer_count = tx.answerCount;
  dnsflow.authority_count = tx.authorityCount;
  dnsflow.additional_count = tx.additionalCount;
  if (tx.authorities.length > 0) dnsflow.authorities = answers(tx.authorities);
  if (tx.additionals.length > 0) dnsflow.additionals = answers(tx.additionals);
  if (tx.queryEdns || tx.responseEdns) {
    const both: { query?: EcsEdns; response?: EcsEdns } = {};
    if (tx.queryEdns) both.query = edns(tx.queryEdns);
    if (tx.responseEdns) both.response = edns(tx.responseEdns);
    dnsflow.edns = both;
  }
  if (tx.malformedReason !== null) dnsflow.malformed_reason = tx.malformedReason;
  dnsflow.duplicate_responses = tx.duplicateResponses;
  if (tx.notes.length > 0) dnsflow.notes = tx.notes;
  if (tx.answeredBy) {
    const by: EcsEndpoint = { ip: tx.answeredBy.ip, port: tx.answeredBy.port };
    if (record.answeredBy) by.kubernetes = kubernetes(record.answeredBy);
    dnsflow.answered_by = by;
  }
  const t = record.queryTarget;
  if (t) {
    const target: NonNullable<EcsDocument['dnsflow']['query_target']> = { internal: t.internal };
    if (t.kind !== null) target.kind = t.kind;
    if (t.namespace !== null) target.namespace = t.namespace;
    if (t.name !== null) target.name = t.name;
    dnsflow.query_target = target;
  }
  if (d) {
    dnsflow.domain = {
      label_count: d.labelCount,
      longest_label: d.longestLabel,
      name_length: d.nameLength,
      entropy: d.entropy,
      digit_ratio: d.digitRatio,
    };
  }
  const s = record.searchList;
  if (s) {
    const search: NonNullable<EcsDocument['dnsflow']['search']> = {
      asked_name: s.askedName,
      is_expansion: s.isExpansion,
    };
    if (s.suffix !== null) search.suffix = s.suffix;
    dnsflow.search = search;
  }

  return {
    '@timestamp': timestamp,
    ecs: { version: ECS_VERSION },
    data_stream: { type: 'logs', dataset: DNS_DATASET, namespace },
    event,
    network,
    source,
    destination,
    client: source,
    server: destination,
    related,
    host: { name: tx.node, hostname: tx.node },
    observer,
    dns,
    dnsflow,
  };
}
