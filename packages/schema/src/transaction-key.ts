import type { EnrichedDnsTransaction } from './generated/types';

/**
 * What identifies a transaction on the wire, as text: node, transport, both endpoints, DNS id,
 * start and end times, joined by `|`. A document's `_id` is derived from it, so a record
 * delivered twice, or published twice after a spool replay, names the same document.
 * Enrichment is left out on purpose: the same transaction enriched twice is one transaction.
 * EcsTranscoder.transactionKey gives the same bytes straight from a record's Avro bytes.
 */
export function transactionKey(record: EnrichedDnsTransaction): string {
  const tx = record.transaction;
  return `${tx.node}|${tx.transport}|${tx.client.ip}|${tx.client.port}|${tx.server.ip}|${tx.server.port}|${tx.dnsId}|${tx.startTimeUs}|${tx.endTimeUs ?? ''}`;
}
