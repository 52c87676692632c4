import type { Enrichment, JoinRecord } from '../enrich';

/** Result of joining one record: done, or an address the informers may not have seen yet. */
export type JoinOutcome =
  | { status: 'ok'; value: Enrichment }
  /** Some address is unknown while the identity view may be incomplete; ask again later. */
  | { status: 'pending' };

/**
 * Joins a record with identities and domain features (the output's fields besides the
 * transaction). With `final`, it must not answer `pending`: addresses still unresolved
 * become `UNKNOWN`.
 */
export interface Joiner {
  join(record: JoinRecord, final: boolean): JoinOutcome;
}

/** A way to wait for the next change of the identity view. */
export interface IdentityProgress {
  /** Resolves at the next change of the identity view, or after `timeoutMs`. */
  changed(timeoutMs: number): Promise<void>;
}

/** One record to produce. */
export interface OutputRecord {
  topic: string;
  key: Buffer | null;
  value: Buffer;
  headers?: Record<string, string>;
}

/** The input partition a delivery belongs to. */
export interface InputPartition {
  topic: string;
  partition: number;
}

/**
 * Writes the outputs of a run of input records and commits the input offset after them:
 * together in one transaction (exactly-once), or offsets after acknowledged sends
 * (at-least-once). Throws when nothing of it may be assumed done.
 */
export interface Delivery {
  deliver(
    input: InputPartition,
    records: readonly OutputRecord[],
    nextOffset: string,
  ): Promise<void>;
}
