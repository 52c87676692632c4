import { collectorConfigSchema, decodeCaptureFile } from '@dnsflow/collector';
import { loadConfig } from '@dnsflow/runtime';
import { TABLE_HEADER, renderTable, tableRow, toNdjson } from '../format';

export interface DecodeOptions {
  format: 'ndjson' | 'table';
  /** Extra DNS ports besides 53. */
  ports: number[];
  timeoutMs?: number;
  node?: string;
  config?: string;
  /** `--a.b=value` config flags. */
  flags: string[];
}

/** Output streams, so tests can capture what a user sees. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
}

/**
 * `dnsflow decode FILE`: the transactions of a capture, without Kafka, the way a user
 * checks what the collector sees. Exit 0; 1 when the file is unreadable or stops early.
 */
export async function decodeCommand(file: string, options: DecodeOptions, io: Io): Promise<number> {
  const config = loadConfig(collectorConfigSchema, {
    ...(options.config ? { file: options.config } : {}),
    env: process.env,
    flags: options.flags,
  });
  if (options.ports.length > 0) config.capture.ports = [...new Set([53, ...options.ports])];
  if (options.timeoutMs !== undefined) config.pairing.timeoutMs = options.timeoutMs;
  if (options.node !== undefined) config.node = options.node;
  const result = await decodeCaptureFile(file, config);
  const ordered = [...result.transactions].sort((a, b) => a.startTimeUs - b.startTimeUs);
  if (options.format === 'ndjson') {
    for (const tx of ordered) io.out(`${toNdjson(tx)}\n`);
  } else {
    if (ordered.length > 0) io.out(`${renderTable([TABLE_HEADER, ...ordered.map(tableRow)])}\n`);
    const byStatus = new Map<string, number>();
    for (const tx of ordered) byStatus.set(tx.status, (byStatus.get(tx.status) ?? 0) + 1);
    const summary = [...byStatus].map(([s, n]) => `${n} ${s.toLowerCase()}`).join(', ');
    io.err(
      `${result.frames} frames, ${ordered.length} transactions${summary ? `: ${summary}` : ''}\n`,
    );
  }
  if (result.error !== null) {
    io.err(`dnsflow decode: ${file}: ${result.error.message}\n`);
    return 1;
  }
  return 0;
}
