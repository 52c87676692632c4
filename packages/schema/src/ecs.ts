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

/**
 * One end of the flow: ECS source/destination. In a DNS transaction the client is always the
 * query's source and the server its destination, so documents carry each end once and the
 * mappings make `client.*` and `server.*` aliases of them (see templates.ts).
 */
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

/** dns.resolved_ip: the data of the A and AAAA answers. */
function resolvedIps(tx: DnsTransaction): string[] {
  const out: string[] = [];
  for (const a of tx.answers) if (a.type === 'A' || a.type === 'AAAA') out.push(a.data);
  return out;
}

/** related.ip: each address once, in first-seen order (arrays this short beat a Set). */
function relatedIps(tx: DnsTransaction, resolved: readonly string[]): string[] {
  const out = [tx.client.ip];
  if (tx.server.ip !== tx.client.ip) out.push(tx.server.ip);
  if (tx.answeredBy && !out.includes(tx.answeredBy.ip)) out.push(tx.answeredBy.ip);
  for (const ip of resolved) if (!out.includes(ip)) out.push(ip);
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

  const resolvedIp = resolvedIps(tx);
  const relatedIp = relatedIps(tx, resolvedIp);

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
    related,
    host: { name: tx.node, hostname: tx.node },
    observer,
    dns,
    dnsflow,
  };
}

// ecsJson: the same document as JSON text, written straight from the record. The indexer
// needs nothing but the text, and JSON.stringify of the ~55 objects toEcs builds was the
// largest part of its CPU per document: here the keys and constant values are literal text,
// and only the record's values are formatted. The text is byte for byte
// JSON.stringify(toEcs(record, options)) (test/ecs-equivalence.test.ts checks it on varied and
// random records), so a change to one must be made to the other.

/** A string as a JSON string literal, exactly as JSON.stringify writes it. */
export function jsonString(value: string): string {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    // Control characters, `"`, `\` and surrogates (escaped when unpaired) need JSON.stringify.
    if (c < 0x20 || c === 0x22 || c === 0x5c || (c >= 0xd800 && c <= 0xdfff)) {
      return JSON.stringify(value);
    }
  }
  return `"${value}"`;
}

/** A number as JSON.stringify writes it (non-finite numbers are null). */
function num(value: number): string {
  return Number.isFinite(value) ? `${value}` : 'null';
}

function strArray(values: readonly string[]): string {
  if (values.length === 0) return '[]';
  let out = `[${jsonString(values[0]!)}`;
  for (let i = 1; i < values.length; i++) out += `,${jsonString(values[i]!)}`;
  return `${out}]`;
}

/** An object of two optional string fields, each left out when null. */
function pairJson(first: string, a: string | null, second: string, b: string | null): string {
  if (a === null) return b === null ? '{}' : `{"${second}":${jsonString(b)}}`;
  return b === null
    ? `{"${first}":${jsonString(a)}}`
    : `{"${first}":${jsonString(a)},"${second}":${jsonString(b)}}`;
}

/** The `kubernetes` object of one end's identity, as JSON text. */
export function renderKubernetesJson(identity: K8sIdentity): string {
  let out = `{"kind":${jsonString(identity.kind.toLowerCase())}`;
  if (identity.namespace !== null) out += `,"namespace":${jsonString(identity.namespace)}`;
  if (identity.pod || identity.podUid) {
    out += `,"pod":${pairJson('name', identity.pod, 'uid', identity.podUid)}`;
  }
  // A map: JSON.stringify puts integer-like keys first, as it would in the document.
  if (hasKeys(identity.labels)) out += `,"labels":${JSON.stringify(identity.labels)}`;
  if (identity.node) out += `,"node":{"name":${jsonString(identity.node)}}`;
  if (identity.workloadKind || identity.workloadName) {
    out += `,"workload":${pairJson('kind', identity.workloadKind, 'name', identity.workloadName)}`;
  }
  if (identity.service) {
    out += `,"service":{"name":${jsonString(identity.service)}`;
    if (identity.serviceNamespace !== null) {
      out += `,"namespace":${jsonString(identity.serviceNamespace)}`;
    }
    if (identity.serviceType !== null) out += `,"type":${jsonString(identity.serviceType)}`;
    out += '}';
  }
  return `${out}}`;
}

function answersJson(records: readonly ResourceRecord[]): string {
  let out = '[';
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    out += `${i === 0 ? '' : ','}{"name":${jsonString(r.name)},"type":${jsonString(r.type)},"class":${jsonString(r.class)},"ttl":${num(r.ttl)},"data":${jsonString(r.data)}}`;
  }
  return `${out}]`;
}

function ednsJson(value: Edns): string {
  let out = `{"version":${num(value.version)},"udp_size":${num(value.udpSize)},"do":${value.do}`;
  if (value.clientSubnet !== null) out += `,"client_subnet":${jsonString(value.clientSubnet)}`;
  out += ',"options":[';
  for (let i = 0; i < value.options.length; i++) {
    const o = value.options[i]!;
    out += `${i === 0 ? '' : ','}{"code":${num(o.code)},"data":"${o.data.toString('base64')}"}`;
  }
  return `${out}]}`;
}

function endpointJson(
  ip: string,
  port: number,
  bytes: number | null,
  k8s: K8sIdentity | null,
): string {
  let out = `{"ip":${jsonString(ip)},"port":${num(port)}`;
  if (bytes !== null) out += `,"bytes":${num(bytes)}`;
  if (k8s) out += `,"kubernetes":${renderKubernetesJson(k8s)}`;
  return `${out}}`;
}

/**
 * The ECS document of an enriched transaction as JSON text: exactly
 * `JSON.stringify(toEcs(record, options))`, at a fraction of the CPU.
 */
export function ecsJson(record: EnrichedDnsTransaction, options: EcsOptions = {}): string {
  const tx = record.transaction;
  // Computed in toEcs' order, so that a value it throws on throws here too, the same error.
  const timestamp = isoMicros(tx.startTimeUs);
  const created = isoMicros(tx.captureTimeUs);
  const q = tx.question;
  const d = record.domain;
  const resolvedIp = resolvedIps(tx);

  let out = `{"@timestamp":"${timestamp}","ecs":{"version":"${ECS_VERSION}"},"data_stream":{"type":"logs","dataset":"${DNS_DATASET}","namespace":${jsonString(options.namespace ?? 'default')}},"event":{"kind":"event","category":["network"],"type":${tx.status === 'MALFORMED' ? '["protocol","error"]' : '["protocol"]'},"dataset":"${DNS_DATASET}","module":"dnsflow","outcome":"${outcome(tx)}","created":"${created}","start":"${timestamp}"`;
  if (tx.endTimeUs !== null) out += `,"end":"${isoMicros(tx.endTimeUs)}"`;
  if (tx.latencyUs !== null) out += `,"duration":${num(tx.latencyUs * 1000)}`;

  const community = communityId(
    tx.transport,
    tx.client.ip,
    tx.client.port,
    tx.server.ip,
    tx.server.port,
  );
  const udp = tx.transport === 'UDP';
  out += `},"network":{"transport":"${udp ? 'udp' : 'tcp'}","protocol":"dns","type":"${isIPv4(tx.client.ip) ? 'ipv4' : 'ipv6'}","iana_number":"${udp ? '17' : '6'}","community_id":${jsonString(community)}`;
  const bytes = (tx.requestBytes ?? 0) + (tx.responseBytes ?? 0);
  if (bytes > 0) out += `,"bytes":${num(bytes)}`;

  const source = endpointJson(tx.client.ip, tx.client.port, tx.requestBytes, record.client);
  const destination = endpointJson(tx.server.ip, tx.server.port, tx.responseBytes, record.server);
  out += `},"source":${source},"destination":${destination},"related":{"ip":${strArray(relatedIps(tx, resolvedIp))}`;
  if (q) out += `,"hosts":[${jsonString(q.name)}]`;
  const node = jsonString(tx.node);
  out += `},"host":{"name":${node},"hostname":${node}},"observer":{"hostname":${node},"type":"sensor","product":"dnsflow","vendor":"dnsflow"`;
  if (tx.iface) out += `,"ingress":{"interface":{"name":${jsonString(tx.iface)}}}`;

  out += `},"dns":{"id":"${tx.dnsId}","op_code":${jsonString(tx.opcode)},"type":"${tx.status === 'ANSWERED' || tx.status === 'ORPHAN' ? 'answer' : 'query'}"`;
  if (tx.rcode !== null) out += `,"response_code":${jsonString(tx.rcode)}`;
  out += `,"header_flags":${strArray(headerFlags(tx))}`;
  if (q) {
    out += `,"question":{"name":${jsonString(q.name)},"type":${jsonString(q.type)},"class":${jsonString(q.class)}`;
    if (d && d.registeredDomain !== null) {
      out += `,"registered_domain":${jsonString(d.registeredDomain)}`;
    }
    if (d && d.subdomain !== null) out += `,"subdomain":${jsonString(d.subdomain)}`;
    if (d && d.topLevelDomain !== null)
      out += `,"top_level_domain":${jsonString(d.topLevelDomain)}`;
    out += '}';
  }
  if (tx.answers.length > 0) out += `,"answers":${answersJson(tx.answers)}`;
  if (resolvedIp.length > 0) out += `,"resolved_ip":${strArray(resolvedIp)}`;

  out += `},"dnsflow":{"status":${jsonString(tx.status.toLowerCase())}`;
  if (tx.latencyUs !== null) out += `,"latency_us":${num(tx.latencyUs)}`;
  out += `,"question_count":${num(tx.questionCount)}`;
  if (q) out += `,"question":{"name_raw":${jsonString(q.nameRaw)}}`;
  if (tx.rcodeValue !== null) out += `,"rcode_value":${num(tx.rcodeValue)}`;
  out += `,"answer_count":${num(tx.answerCount)},"authority_count":${num(tx.authorityCount)},"additional_count":${num(tx.additionalCount)}`;
  if (tx.authorities.length > 0) out += `,"authorities":${answersJson(tx.authorities)}`;
  if (tx.additionals.length > 0) out += `,"additionals":${answersJson(tx.additionals)}`;
  if (tx.queryEdns || tx.responseEdns) {
    out += ',"edns":{';
    if (tx.queryEdns) out += `"query":${ednsJson(tx.queryEdns)}`;
    if (tx.responseEdns) out += `${tx.queryEdns ? ',' : ''}"response":${ednsJson(tx.responseEdns)}`;
    out += '}';
  }
  if (tx.malformedReason !== null) out += `,"malformed_reason":${jsonString(tx.malformedReason)}`;
  out += `,"duplicate_responses":${num(tx.duplicateResponses)}`;
  if (tx.notes.length > 0) out += `,"notes":${strArray(tx.notes)}`;
  if (tx.answeredBy) {
    out += `,"answered_by":{"ip":${jsonString(tx.answeredBy.ip)},"port":${num(tx.answeredBy.port)}`;
    if (record.answeredBy) out += `,"kubernetes":${renderKubernetesJson(record.answeredBy)}`;
    out += '}';
  }
  const t = record.queryTarget;
  if (t) {
    out += `,"query_target":{"internal":${t.internal}`;
    if (t.kind !== null) out += `,"kind":${jsonString(t.kind)}`;
    if (t.namespace !== null) out += `,"namespace":${jsonString(t.namespace)}`;
    if (t.name !== null) out += `,"name":${jsonString(t.name)}`;
    out += '}';
  }
  if (d) {
    out += `,"domain":{"label_count":${num(d.labelCount)},"longest_label":${num(d.longestLabel)},"name_length":${num(d.nameLength)},"entropy":${num(d.entropy)},"digit_ratio":${num(d.digitRatio)}}`;
  }
  const s = record.searchList;
  if (s) {
    out += `,"search":{"asked_name":${jsonString(s.askedName)},"is_expansion":${s.isExpansion}`;
    if (s.suffix !== null) out += `,"suffix":${jsonString(s.suffix)}`;
    out += '}';
  }
  return `${out}}}`;
}
