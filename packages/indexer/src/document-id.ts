import { hash } from 'node:crypto';
import { transactionKey, type EnrichedDnsTransaction } from '@dnsflow/schema';

/**
 * The `_id` of a transaction's document, from its {@link transactionKey} (node, transport,
 * both endpoints, DNS id, start and end times): a record Kafka delivers again, or that the
 * collector published twice after a spool replay, gets the same `_id`, so its `create` is a
 * 409 and the document exists once.
 */
export function transactionId(record: EnrichedDnsTransaction): string {
  return transactionIdOfKey(transactionKey(record));
}

/**
 * The `_id` of the transaction whose key is `key`, as text or as its UTF-8 bytes (as the
 * transcoder reads it from a record's Avro bytes).
 *
 * The first 22 base64url characters of SHA-256 (132 bits): collisions are out of reach at any
 * volume one data stream holds, and the `_id` stays about as short as Elasticsearch's own.
 * One-shot `crypto.hash`: a quarter of the cost of a Hash object per document.
 */
export function transactionIdOfKey(key: string | Uint8Array): string {
  return hash('sha256', key, 'base64url').slice(0, 22);
}
