import type { EcsDocument, EcsEndpoint } from '@dnsflow/schema';
import { renderTable } from '../format';
import type { Line } from './expansions';

// How `dnsflow observe` prints transactions: compact (one line each), table, or the ECS
// documents as NDJSON.

export const OUTPUTS = ['compact', 'table', 'json'] as const;
export type Output = (typeof OUTPUTS)[number];

/** `ns/name` of the pod (or service) at one end, else its IP. */
export function endpointName(end: EcsEndpoint, withPort = false): string {
  const k = end.kubernetes;
  const ns = k?.namespace !== undefined ? `${k.namespace}/` : '';
  if (k?.pod?.name !== undefined) return `${ns}${k.pod.name}`;
  if (k?.service?.name !== undefined)
    return `${k.service.namespace ?? k.namespace ?? ''}/${k.service.name}`;
  const ip = end.ip.includes(':') ? `[${end.ip}]` : end.ip;
  return withPort && end.port !== 53 ? `${ip}:${end.port}` : end.ip;
}

/** Latency for people: 850us, 1.8ms, 203ms, 1.20s. */
export function formatLatency(us: number | undefined): string {
  if (us === undefined) return '-';
  if (us < 1000) return `${Math.round(us)}us`;
  if (us < 10_000) return `${(us / 1000).toFixed(1)}ms`;
  if (us < 1_000_000) return `${Math.round(us / 1000)}ms`;
  return `${(us / 1_000_000).toFixed(2)}s`;
}

/** The response code, or for transactions without one what happened instead. */
function outcome(doc: EcsDocument): string {
  return doc.dns.response_code ?? doc.dnsflow.status.toUpperCase();
}

function answers(doc: EcsDocument): string {
  if (doc.dnsflow.status === 'malformed') return doc.dnsflow.malformed_reason ?? 'malformed';
  const list = doc.dns.answers ?? [];
  return list.length === 0 ? '-' : list.map((a) => a.data).join(',');
}

function note(line: Line): string {
  const search = line.hit.doc.dnsflow.search;
  if (line.expansions > 0)
    return `+${line.expansions} expansion${line.expansions === 1 ? '' : 's'}`;
  if (search?.is_expansion === true) return `expansion of ${search.asked_name}`;
  return '';
}

/** UTC time with milliseconds, from the document's microsecond timestamp. */
function time(doc: EcsDocument): string {
  return `${doc['@timestamp'].slice(0, 23)}Z`;
}

/** The cells of one line: time, client, server, query, type, rcode, latency, answers, note. */
export function lineCells(line: Line): string[] {
  const doc = line.hit.doc;
  return [
    time(doc),
    endpointName(doc.source),
    endpointName(doc.destination, true),
    doc.dns.question?.name ?? '-',
    doc.dns.question?.type ?? '-',
    outcome(doc),
    formatLatency(doc.dnsflow.latency_us),
    answers(doc),
    note(line),
  ];
}

export const OBSERVE_HEADER = [
  'TIME',
  'CLIENT',
  'SERVER',
  'QUERY',
  'TYPE',
  'RCODE',
  'LATENCY',
  'ANSWERS',
  'SEARCH',
];

/** One compact line (no trailing newline). */
export function compactLine(line: Line): string {
  const cells = lineCells(line);
  const last = cells.pop() ?? '';
  return `${cells.join('  ')}${last === '' ? '' : `  (${last})`}`;
}

/** The ECS document as one JSON line. */
export function jsonLine(line: Line): string {
  return JSON.stringify(line.hit.doc);
}

const TABLE_BATCH_ROWS = 1000;

/** Writes lines in the chosen format; table rows are aligned per batch. */
export class LineWriter {
  private readonly rows: string[][] = [];
  count = 0;

  constructor(
    private readonly output: Output,
    private readonly write: (text: string) => void,
  ) {}

  add(line: Line): void {
    this.count++;
    if (this.output === 'json') this.write(`${jsonLine(line)}\n`);
    else if (this.output === 'compact') this.write(`${compactLine(line)}\n`);
    else {
      this.rows.push(lineCells(line));
      // A table is aligned over the rows it holds; flushing every so many keeps memory bounded.
      if (this.rows.length >= TABLE_BATCH_ROWS) this.flush();
    }
  }

  /** Prints the table rows gathered so far. */
  flush(): void {
    if (this.rows.length === 0) return;
    this.write(`${renderTable([OBSERVE_HEADER, ...this.rows])}\n`);
    this.rows.length = 0;
  }
}
