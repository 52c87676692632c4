import type { DnsTransaction, Endpoint, Transport, TransactionStatus } from '@dnsflow/schema';
import type { DnsMessage, PartialHeader } from '../dns/message';
import { rcodeName } from '../dns/names';

/** A message that did not decode, with what could be read of it. */
export interface BrokenMessage {
  reason: string;
  header: PartialHeader | null;
  sizeBytes: number;
}

/** Everything known about one transaction when it is emitted. */
export interface TransactionParts {
  status: TransactionStatus;
  node: string;
  captureTimeUs: number;
  client: Endpoint;
  server: Endpoint;
  answeredBy: Endpoint | null;
  transport: Transport;
  iface: string | null;
  /** The query and when it was seen. */
  query: DnsMessage | null;
  queryTsUs: number | null;
  /** The response and when it was seen. */
  response: DnsMessage | null;
  responseTsUs: number | null;
  broken: BrokenMessage | null;
  /** When the broken message arrived (for latency of a malformed response). */
  brokenTsUs: number | null;
  duplicateResponses: number;
  notes: string[];
}

const NO_FLAGS = { aa: false, tc: false, rd: false, ra: false, ad: false, cd: false };

/** Assembles the Avro record (packages/schema DnsTransaction) from what pairing saw. */
export function buildTransaction(p: TransactionParts): DnsTransaction {
  const q = p.query;
  const r = p.response;
  const head = r ?? q;
  const brokenHead = p.broken?.header ?? null;
  const startTimeUs = p.queryTsUs ?? p.responseTsUs ?? p.brokenTsUs ?? p.captureTimeUs;
  const endTimeUs = p.queryTsUs !== null ? (p.responseTsUs ?? p.brokenTsUs) : null;
  const flagsFrom = head?.flags ?? brokenHead?.flags ?? NO_FLAGS;
  const rcodeValue = r?.rcodeValue ?? (brokenHead?.qr === true ? brokenHead.rcodeValue : null);
  return {
    captureTimeUs: p.captureTimeUs,
    startTimeUs,
    endTimeUs,
    latencyUs: endTimeUs !== null ? Math.max(0, endTimeUs - startTimeUs) : null,
    node: p.node,
    iface: p.iface,
    client: p.client,
    server: p.server,
    answeredBy: p.answeredBy,
    transport: p.transport,
    dnsId: head?.id ?? brokenHead?.id ?? 0,
    opcode: head?.opcode ?? brokenHead?.opcode ?? 'QUERY',
    flags: {
      aa: flagsFrom.aa,
      tc: flagsFrom.tc,
      rd: flagsFrom.rd,
      ra: flagsFrom.ra,
      ad: flagsFrom.ad,
      cd: flagsFrom.cd,
      do: q?.edns?.do ?? false,
    },
    question: q?.question ?? r?.question ?? null,
    questionCount: q?.questionCount ?? r?.questionCount ?? brokenHead?.questionCount ?? 0,
    rcode: rcodeValue === null ? null : rcodeName(rcodeValue),
    rcodeValue,
    answers: r?.answers ?? [],
    answerCount: r?.answerCount ?? 0,
    authorityCount: r?.authorityCount ?? 0,
    additionalCount: r?.additionalCount ?? 0,
    authorities: r?.authorities ?? [],
    additionals: r?.additionals ?? [],
    queryEdns: q?.edns ?? null,
    responseEdns: r?.edns ?? null,
    requestBytes:
      q?.sizeBytes ?? (p.broken !== null && brokenHead?.qr !== true ? p.broken.sizeBytes : null),
    responseBytes:
      r?.sizeBytes ?? (p.broken !== null && brokenHead?.qr === true ? p.broken.sizeBytes : null),
    status: p.status,
    malformedReason: p.broken?.reason ?? null,
    duplicateResponses: p.duplicateResponses,
    notes: p.notes,
  };
}
