import {
  createCodec,
  dnsDataStream,
  EcsTranscoder,
  ecsJson,
  type EnrichedDnsTransaction,
} from '@dnsflow/schema';
import type { DeadLetterStage } from './dead-letter';
import { transactionId, transactionIdOfKey } from './document-id';
import type { JsonRenderer } from './writer';

/**
 * A Kafka record as the Elasticsearch document to create, or why it cannot be one. The
 * document object is never needed, only what is sent: `json` is its text, or a renderer that
 * writes its bytes straight into a bulk request (valid until the encoder's next call).
 */
export type EncodeResult =
  | { status: 'ok'; index: string; id: string; json: string | JsonRenderer }
  | { status: 'error'; stage: DeadLetterStage; reason: string; detail: string };

/**
 * Turns `dns.enriched` records (Avro, any shipped writer version) into ECS documents for
 * `logs-dnsflow.dns-<namespace>`, each with its deterministic `_id`.
 */
export function createEncoder(namespace: string): (value: Buffer | null) => EncodeResult {
  // Records of the newest schema go from their Avro bytes straight to the document's bytes;
  // what the transcoder leaves (other versions, odd encodings, bad input) is decoded and
  // rendered here, which also names what was wrong with a bad record.
  const transcoder = new EcsTranscoder({ namespace });
  const codec = createCodec<EnrichedDnsTransaction>('EnrichedDnsTransaction');
  const index = dnsDataStream(namespace);
  return (value) => {
    if (value === null) {
      return { status: 'error', stage: 'decode', reason: 'empty', detail: 'record has no value' };
    }
    if (transcoder.read(value)) {
      return {
        status: 'ok',
        index,
        id: transactionIdOfKey(transcoder.transactionKey()),
        json: transcoder,
      };
    }
    const decoded = codec.decode(value);
    if (decoded.status !== 'ok') {
      return {
        status: 'error',
        stage: 'decode',
        reason: decoded.error.reason,
        detail: decoded.error.message,
      };
    }
    try {
      return {
        status: 'ok',
        index,
        id: transactionId(decoded.value),
        json: ecsJson(decoded.value, { namespace }),
      };
    } catch (err) {
      // A value the codec accepts but the ECS mapping cannot render (e.g. an unparsable IP).
      return {
        status: 'error',
        stage: 'encode',
        reason: err instanceof Error ? err.name : 'error',
        detail: err instanceof Error ? err.message : String(err),
      };
    }
  };
}
