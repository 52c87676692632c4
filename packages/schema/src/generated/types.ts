// Generated from packages/schema/avsc by src/typegen.ts (`npm run gen`). Do not edit.
// Versions: DnsTransaction v1, EnrichedDnsTransaction v1

/** An IP endpoint; ip in its canonical text form (IPv4 dotted quad or RFC 5952 IPv6). */
export interface Endpoint {
  ip: string;
  port: number;
}

export type Transport = 'UDP' | 'TCP';

export interface HeaderFlags {
  aa: boolean;
  tc: boolean;
  rd: boolean;
  ra: boolean;
  ad: boolean;
  cd: boolean;
  do: boolean;
}

export interface Question {
  /** Normalised: lowercase, no trailing dot; the root is '.'. */
  name: string;
  /** As sent on the wire (keeps 0x20 case randomisation). */
  nameRaw: string;
  /** Type mnemonic (A, AAAA, ...) or TYPE<n>. */
  type: string;
  /** Class mnemonic (IN, CH, ...) or CLASS<n>. */
  class: string;
}

export interface ResourceRecord {
  /** Owner name, normalised like question.name. */
  name: string;
  type: string;
  class: string;
  /** Seconds; an unsigned 32-bit value. */
  ttl: number;
  /** Presentation form of the RDATA (address, target name, text); hex for types without one. */
  data: string;
}

export interface EdnsOption {
  code: number;
  data: Buffer;
}

export interface Edns {
  version: number;
  udpSize: number;
  do: boolean;
  /** EDNS Client Subnet as address/source-prefix, e.g. 192.0.2.0/24. */
  clientSubnet: null | string;
  /** Every option by code, client subnet included, raw bytes. */
  options: Array<EdnsOption>;
}

/** ANSWERED: query and response paired. UNANSWERED: no response within the timeout. ORPHAN: a response whose query was not seen. MALFORMED: a message that could not be decoded. */
export type TransactionStatus = 'ANSWERED' | 'UNANSWERED' | 'ORPHAN' | 'MALFORMED';

/** One DNS transaction as a collector saw it: a query paired with its response, an unanswered query, an orphan response or a malformed message. Published to topic dns.raw. */
export interface DnsTransaction {
  /** When the collector emitted this record, epoch microseconds. */
  captureTimeUs: number;
  /** Capture time of the first packet of the transaction (the query, or the response of an orphan), epoch microseconds. */
  startTimeUs: number;
  /** Capture time of the response, epoch microseconds; null when unanswered. */
  endTimeUs: null | number;
  /** Response time minus query time, microseconds; null unless answered. */
  latencyUs: null | number;
  /** Name of the node (host) that captured the packets. */
  node: string;
  /** Capture interface, or null when replayed from a file without one. */
  iface: null | string;
  /** The side that sent the query. */
  client: Endpoint;
  /** The address the client sent the query to (for a Kubernetes service, the ClusterIP). */
  server: Endpoint;
  /** The address that actually answered when it differs from server, e.g. the CoreDNS pod behind a service IP after NAT; null otherwise. */
  answeredBy: null | Endpoint;
  transport: Transport;
  /** DNS message id (0..65535). */
  dnsId: number;
  /** Opcode name (QUERY, IQUERY, STATUS, NOTIFY, UPDATE, DSO) or OPCODE<n>. */
  opcode: string;
  /** Header flags: from the response when there is one, otherwise from the query; do is the EDNS DNSSEC OK bit of the query. */
  flags: HeaderFlags;
  /** The first question; null when the message carries none or could not be decoded that far. */
  question: null | Question;
  /** QDCOUNT of the query (or of the response for an orphan). */
  questionCount: number;
  /** Response code name including the EDNS extended bits (NOERROR, NXDOMAIN, BADVERS, ...) or RCODE<n>; null unless a response was seen. */
  rcode: null | string;
  /** Numeric response code, 12 bits with the EDNS extension. */
  rcodeValue: null | number;
  answers: Array<ResourceRecord>;
  /** ANCOUNT of the response header. */
  answerCount: number;
  /** NSCOUNT of the response header. */
  authorityCount: number;
  /** ARCOUNT of the response header (the OPT record included). */
  additionalCount: number;
  authorities: Array<ResourceRecord>;
  /** Additional records other than the EDNS OPT pseudo-record. */
  additionals: Array<ResourceRecord>;
  /** EDNS(0) OPT record of the query. */
  queryEdns: null | Edns;
  /** EDNS(0) OPT record of the response. */
  responseEdns: null | Edns;
  /** DNS message size of the query (without the TCP length prefix). */
  requestBytes: null | number;
  /** DNS message size of the response. */
  responseBytes: null | number;
  status: TransactionStatus;
  /** Why decoding failed, for MALFORMED records. */
  malformedReason: null | string;
  /** Further responses seen for the same query after the first. */
  duplicateResponses: number;
  /** Pairing remarks, e.g. that the id was reused while this query was pending. */
  notes: Array<string>;
}

export type IdentityKind = 'POD' | 'HOST_POD' | 'NODE' | 'SERVICE' | 'EXTERNAL' | 'UNKNOWN';

export interface K8sIdentity {
  /** POD: a pod with its own IP. HOST_POD: a hostNetwork pod (shares the node IP). NODE: a node address. SERVICE: a Service ClusterIP. EXTERNAL: outside the cluster. UNKNOWN: not (yet) known when the record was joined. */
  kind: IdentityKind;
  namespace: null | string;
  pod: null | string;
  podUid: null | string;
  /** Pod labels that passed the configured allow-list. */
  labels: Record<string, string>;
  /** Node the pod runs on, or the node itself for NODE. */
  node: null | string;
  /** Top of the owner chain: Deployment, StatefulSet, DaemonSet, CronJob, Job, ReplicaSet, or Pod for a bare pod. */
  workloadKind: null | string;
  workloadName: null | string;
  /** Service that selects this endpoint (or whose ClusterIP this is). */
  service: null | string;
  serviceNamespace: null | string;
  /** ClusterIP, Headless, NodePort, LoadBalancer or ExternalName. */
  serviceType: null | string;
}

export interface QueryTarget {
  /** True when the name is under the cluster domain. */
  internal: boolean;
  /** service, pod, or null when the name matched no object. */
  kind: null | string;
  namespace: null | string;
  name: null | string;
}

export interface DomainFeatures {
  /** Public Suffix List registrable domain, e.g. example.co.uk. */
  registeredDomain: null | string;
  /** The public suffix, e.g. co.uk. */
  topLevelDomain: null | string;
  /** Labels left of the registered domain. */
  subdomain: null | string;
  labelCount: number;
  longestLabel: number;
  nameLength: number;
  /** Shannon entropy of the name's characters, bits per character. */
  entropy: number;
  digitRatio: number;
}

export interface SearchExpansion {
  /** The name the application asked for. */
  askedName: string;
  /** True when this query is the asked name plus a search suffix. */
  isExpansion: boolean;
  suffix: null | string;
}

/** A DnsTransaction joined with the Kubernetes identity of both ends, as of the packet's time, and with features of the queried name. Published to topic dns.enriched. */
export interface EnrichedDnsTransaction {
  transaction: DnsTransaction;
  /** When the enricher produced this record, epoch microseconds. */
  enrichTimeUs: number;
  /** Who sent the query; null when the enricher had no identity source. */
  client: null | K8sIdentity;
  /** The address the query was sent to (e.g. the kube-dns ClusterIP). */
  server: null | K8sIdentity;
  /** The endpoint that answered (e.g. the CoreDNS pod), when the collector saw it. */
  answeredBy: null | K8sIdentity;
  /** What the queried name is, when it is a cluster name. */
  queryTarget: null | QueryTarget;
  /** Lexical features of the queried name. */
  domain: null | DomainFeatures;
  /** Resolver search-list grouping (ndots). */
  searchList: null | SearchExpansion;
}
