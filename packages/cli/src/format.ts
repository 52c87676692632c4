import type { DnsTransaction } from '@dnsflow/schema';

/** One transaction as one JSON line: byte fields (EDNS option data) as hex strings. */
export function toNdjson(tx: DnsTransaction): string {
  return JSON.stringify(tx, (_key, value: unknown) => {
    if (value !== null && typeof value === 'object' && 'type' in value && 'data' in value) {
      const v = value;
      if (v.type === 'Buffer' && Array.isArray(v.data)) {
        return Buffer.from(v.data as number[]).toString('hex');
      }
    }
    return value;
  });
}

function isoTime(us: number): string {
  const ms = Math.floor(us / 1000);
  const micros = String(us % 1000).padStart(3, '0');
  return new Date(ms).toISOString().replace('Z', `${micros}Z`);
}

function endpoint(e: { ip: string; port: number }): string {
  return e.ip.includes(':') ? `[${e.ip}]:${e.port}` : `${e.ip}:${e.port}`;
}

function latency(tx: DnsTransaction): string {
  return tx.latencyUs === null ? '-' : `${(tx.latencyUs / 1000).toFixed(3)}ms`;
}

function answers(tx: DnsTransaction): string {
  if (tx.status === 'MALFORMED') return tx.malformedReason ?? '';
  return tx.answers.map((a) => `${a.type} ${a.data}`).join(', ');
}

export const TABLE_HEADER = [
  'TIME',
  'STATUS',
  'CLIENT',
  'SERVER',
  'PROTO',
  'ID',
  'TYPE',
  'NAME',
  'RCODE',
  'LATENCY',
  'ANSWERS',
];

/** The columns of one table row, in TABLE_HEADER order. */
export function tableRow(tx: DnsTransaction): string[] {
  return [
    isoTime(tx.startTimeUs),
    tx.status,
    endpoint(tx.client),
    endpoint(tx.server) + (tx.answeredBy ? ` (via ${endpoint(tx.answeredBy)})` : ''),
    tx.transport,
    String(tx.dnsId),
    tx.question?.type ?? '-',
    tx.question?.name ?? '-',
    tx.rcode ?? '-',
    latency(tx),
    answers(tx),
  ];
}

/** Aligns rows into columns separated by two spaces (the last column is not padded). */
export function renderTable(rows: string[][]): string {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, cell.length);
    });
  }
  return rows
    .map((row) =>
      row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  '),
    )
    .join('\n');
}
