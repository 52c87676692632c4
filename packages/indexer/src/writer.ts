import { errors, type Client } from '@elastic/elasticsearch';
import type { Logger } from '@dnsflow/runtime';
import { BulkFatalError } from './errors';
import type { RetryReason, WriterMetrics } from './metrics';
import { backoffMs, type BackoffOptions } from './retry';

// A bulk writer for one or more data streams: documents go in one at a time, leave in bulk
// requests sized by count and bytes (or when the oldest waited flushIntervalMs), several
// requests in flight, every document created with op_type create under a caller-chosen _id.
// Each document comes back exactly once through `onOutcome`: created, duplicate (a 409:
// it was indexed before) or rejected for good. Everything else is retried here:
//
//   item 429            retried with backoff, without limit (Elasticsearch is busy)
//   item 5xx            retried with backoff up to maxItemAttempts, then rejected
//   request 429/5xx,    the whole request again with backoff, without limit: while
//   connection, timeout Elasticsearch is down, documents wait and the caller stops feeding
//   401, 403, 404       fatal (credentials, privileges, no template): no retry fixes them and
//                       no document caused them, so the writer stops instead of rejecting
//                       every document
//
// Memory is bounded by maxInFlightBytes: `offer` refuses a document while the bytes taken
// and not yet finished are at the bound, and `whenRoom` says when to try again.

/** One document to write. `context` travels with it to `onOutcome` (e.g. a Kafka offset). */
export interface BulkItem<C> {
  /** Data stream (or index) to create the document in. */
  index: string;
  /** Deterministic `_id`: the same source record always gives the same id. */
  id: string;
  document: object;
  context: C;
}

/** What became of one document. */
export type ItemOutcome =
  | { status: 'created' }
  | { status: 'duplicate' }
  | {
      status: 'rejected';
      /** Elasticsearch's error type (`document_parsing_exception`, ...) or `retries_exhausted`. */
      reason: string;
      statusCode: number;
      /** Elasticsearch's explanation, e.g. the field that failed to parse. */
      detail: string;
    };

/** Options of {@link BulkWriter}. */
export interface BulkWriterOptions {
  maxDocs: number;
  maxBytes: number;
  flushIntervalMs: number;
  concurrency: number;
  maxInFlightBytes: number;
  retry: BackoffOptions & { maxItemAttempts: number };
  /** Injectable jitter source for tests. */
  random?: () => number;
}

/**
 * Called once per document when it is done. May return a promise (e.g. a dead-letter send):
 * the document's bytes count against maxInFlightBytes until it settles.
 */
export type OutcomeHandler<C> = (
  item: WrittenItem<C>,
  outcome: ItemOutcome,
) => void | Promise<void>;

/**
 * A document once serialized: the writer keeps its NDJSON, not the object, so what waits for
 * Elasticsearch is one string per document (less to hold, less for the GC to trace).
 */
export type WrittenItem<C> = Omit<BulkItem<C>, 'document'>;

interface Entry<C> {
  item: WrittenItem<C>;
  /** The action line and the document, NDJSON without the final newline. */
  lines: string;
  bytes: number;
  attempts: number;
}

type Classified =
  | { kind: 'done'; outcome: ItemOutcome }
  | { kind: 'retry'; reason: RetryReason }
  | { kind: 'fatal'; error: BulkFatalError };

/** Bulk response with `filter_path` keeping only what the writer reads. */
interface BulkAnswer {
  errors: boolean;
  items?: Record<
    string,
    { status: number; error?: { type?: string; reason?: string; caused_by?: { reason?: string } } }
  >[];
}

const FILTER_PATH =
  'errors,items.*.status,items.*.error.type,items.*.error.reason,items.*.error.caused_by.reason';
const FATAL_STATUS = new Set([401, 403, 404]);

/** Writes documents to Elasticsearch in bulk; see the file comment for the retry rules. */
export class BulkWriter<C> {
  private pending: Entry<C>[] = [];
  private pendingBytes = 0;
  private pendingTimer: NodeJS.Timeout | null = null;
  private readonly ready: Entry<C>[][] = [];
  private readonly retryTimers = new Set<NodeJS.Timeout>();
  private active = 0;
  private bytes = 0;
  private docs = 0;
  private roomWaiters: (() => void)[] = [];
  private idleWaiters: (() => void)[] = [];
  private requestFailures = 0;
  private fatal: BulkFatalError | null = null;
  private refused: { item: BulkItem<C>; lines: string; bytes: number } | null = null;
  private readonly random: () => number;

  constructor(
    private readonly client: Client,
    private readonly options: BulkWriterOptions,
    private readonly onOutcome: OutcomeHandler<C>,
    private readonly metrics: WriterMetrics,
    private readonly log: Logger,
    /** Called once when the writer stops on a fatal error. */
    private readonly onFatal: (error: BulkFatalError) => void = () => undefined,
  ) {
    this.random = options.random ?? Math.random;
  }

  /** Bytes of documents taken and not finished. */
  get inFlightBytes(): number {
    return this.bytes;
  }

  /** Documents taken and not finished. */
  get inFlightDocs(): number {
    return this.docs;
  }

  /** The error the writer stopped on, or null while it works. */
  get failed(): BulkFatalError | null {
    return this.fatal;
  }

  /** False while requests fail as a whole (Elasticsearch unreachable, 5xx, 429). */
  get healthy(): boolean {
    return this.fatal === null && this.requestFailures === 0;
  }

  /**
   * Takes a document if there is room under maxInFlightBytes (always when nothing is in
   * flight, so one huge document cannot block forever). Returns false when full: wait for
   * {@link whenRoom} and offer it again. Throws the fatal error once the writer stopped.
   */
  offer(item: BulkItem<C>): boolean {
    if (this.fatal) throw this.fatal;
    // A refused document is offered again as the same object: serialize it once.
    let serialized = this.refused?.item === item ? this.refused : null;
    if (!serialized) {
      const lines = `{"create":{"_index":${JSON.stringify(item.index)},"_id":${JSON.stringify(item.id)}}}\n${JSON.stringify(item.document)}`;
      serialized = { item, lines, bytes: Buffer.byteLength(lines) + 2 };
    }
    const { lines, bytes } = serialized;
    if (this.docs > 0 && this.bytes + bytes > this.options.maxInFlightBytes) {
      this.refused = serialized;
      // Nothing more can join the pending request until something finishes: send it now
      // rather than let it wait out flushIntervalMs.
      this.seal();
      return false;
    }
    this.refused = null;
    this.bytes += bytes;
    this.docs += 1;
    this.updateGauges();
    if (this.pending.length > 0 && this.pendingBytes + bytes > this.options.maxBytes) this.seal();
    this.pending.push({
      item: { index: item.index, id: item.id, context: item.context },
      lines,
      bytes,
      attempts: 0,
    });
    this.pendingBytes += bytes;
    if (this.pending.length >= this.options.maxDocs || this.pendingBytes >= this.options.maxBytes) {
      this.seal();
    } else if (!this.pendingTimer) {
      this.pendingTimer = setTimeout(() => {
        this.pendingTimer = null;
        this.seal();
      }, this.options.flushIntervalMs);
    }
    return true;
  }

  /** Resolves when some document finished (there may be room again) or the writer failed. */
  whenRoom(): Promise<void> {
    if (this.fatal || this.docs === 0) return Promise.resolve();
    return new Promise((resolve) => this.roomWaiters.push(resolve));
  }

  /**
   * Sends what is pending now and resolves once every document taken so far is finished
   * (its outcome handled), or rejects with the fatal error if the writer stopped.
   */
  async flush(): Promise<void> {
    this.seal();
    if (this.docs > 0 && !this.fatal) {
      await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    }
    if (this.fatal) throw this.fatal;
  }

  /** Stops timers; documents not finished stay unacknowledged (their offsets uncommitted). */
  close(): void {
    if (this.pendingTimer) clearTimeout(this.pendingTimer);
    this.pendingTimer = null;
    for (const timer of this.retryTimers) clearTimeout(timer);
    this.retryTimers.clear();
    this.wake();
  }

  private seal(): void {
    if (this.pendingTimer) clearTimeout(this.pendingTimer);
    this.pendingTimer = null;
    if (this.pending.length === 0) return;
    this.ready.push(this.pending);
    this.pending = [];
    this.pendingBytes = 0;
    this.pump();
  }

  private pump(): void {
    while (!this.fatal && this.active < this.options.concurrency && this.ready.length > 0) {
      const batch = this.ready.shift()!;
      this.active += 1;
      this.metrics.inFlightRequests.set(this.active);
      void this.send(batch).finally(() => {
        this.active -= 1;
        this.metrics.inFlightRequests.set(this.active);
        this.pump();
      });
    }
  }

  private async send(batch: Entry<C>[]): Promise<void> {
    const started = process.hrtime.bigint();
    let answer: BulkAnswer;
    try {
      answer = (await this.client.bulk<string>({
        operations: batch.map((e) => e.lines),
        filter_path: FILTER_PATH,
      })) as unknown as BulkAnswer;
    } catch (err) {
      this.metrics.bulkSeconds.observe(Number(process.hrtime.bigint() - started) / 1e9);
      this.metrics.bulkRequests.inc({ outcome: 'failed' });
      this.requestFailed(batch, err);
      return;
    }
    this.metrics.bulkSeconds.observe(Number(process.hrtime.bigint() - started) / 1e9);
    this.requestFailures = 0;
    this.metrics.bulkRequests.inc({ outcome: answer.errors ? 'partial' : 'ok' });
    if (!answer.errors) {
      for (const entry of batch) this.finish(entry, { status: 'created' });
      return;
    }
    const retry = new Map<RetryReason, Entry<C>[]>();
    batch.forEach((entry, i) => {
      const result = Object.values(answer.items?.[i] ?? {})[0];
      const verdict = this.classifyItem(entry, result);
      if (verdict.kind === 'done') this.finish(entry, verdict.outcome);
      else if (verdict.kind === 'fatal') this.fail(verdict.error);
      else {
        entry.attempts += 1;
        retry.set(verdict.reason, [...(retry.get(verdict.reason) ?? []), entry]);
      }
    });
    for (const [reason, entries] of retry) {
      this.metrics.retries.inc({ reason }, entries.length);
      const attempt = Math.max(...entries.map((e) => e.attempts));
      this.log.warn(
        { documents: entries.length, reason, attempt },
        'bulk items refused for now: retrying',
      );
      this.retryLater(entries, attempt);
    }
  }

  private classifyItem(
    entry: Entry<C>,
    result: NonNullable<BulkAnswer['items']>[number][string] | undefined,
  ): Classified {
    if (!result) {
      // An answer without this item is not something Elasticsearch does; retry rather than lose it.
      return { kind: 'retry', reason: 'item_5xx' };
    }
    const status = result.status;
    if (status >= 200 && status < 300) return { kind: 'done', outcome: { status: 'created' } };
    if (status === 409) return { kind: 'done', outcome: { status: 'duplicate' } };
    if (status === 429) return { kind: 'retry', reason: 'item_429' };
    const type = result.error?.type ?? `http_${status}`;
    const detail = [result.error?.reason, result.error?.caused_by?.reason]
      .filter((s) => s !== undefined)
      .join(': ');
    if (status >= 500) {
      if (entry.attempts + 1 < this.options.retry.maxItemAttempts) {
        return { kind: 'retry', reason: 'item_5xx' };
      }
      return {
        kind: 'done',
        outcome: {
          status: 'rejected',
          reason: 'retries_exhausted',
          statusCode: status,
          detail: `${entry.attempts + 1} attempts, last ${type}: ${detail}`,
        },
      };
    }
    if (FATAL_STATUS.has(status)) {
      return {
        kind: 'fatal',
        error: new BulkFatalError(
          status,
          type,
          `Elasticsearch refused to create documents in ${entry.item.index} (${status} ${type}): ${detail}${hint(status)}`,
        ),
      };
    }
    return {
      kind: 'done',
      outcome: { status: 'rejected', reason: type, statusCode: status, detail },
    };
  }

  private requestFailed(batch: Entry<C>[], err: unknown): void {
    let reason: RetryReason;
    if (err instanceof errors.ResponseError) {
      const status = err.statusCode ?? 0;
      if (status === 429) reason = 'request_429';
      else if (status >= 500) reason = 'request_5xx';
      else if (status === 413 && batch.length > 1) {
        // The cluster's http.max_content_length is below bulk.maxBytes: halve and go on.
        const half = Math.ceil(batch.length / 2);
        this.log.warn({ documents: batch.length }, 'bulk request too large (413): splitting it');
        this.ready.unshift(batch.slice(0, half), batch.slice(half));
        return;
      } else {
        const type = typeof err.body === 'object' ? bodyType(err.body) : `http_${status}`;
        this.fail(
          new BulkFatalError(
            status,
            type,
            `Elasticsearch refused to create documents in ${[...new Set(batch.map((e) => e.item.index))].join(', ')} (${status} ${type}): ${err.message}${hint(status)}`,
            {
              cause: err,
            },
          ),
        );
        return;
      }
    } else if (
      err instanceof errors.ConnectionError ||
      err instanceof errors.TimeoutError ||
      err instanceof errors.NoLivingConnectionsError
    ) {
      reason = 'connection';
    } else {
      // A programmer error (serialization, a TypeError): retrying would repeat it.
      this.fail(
        new BulkFatalError(0, 'client_error', `bulk request failed in the client: ${String(err)}`, {
          cause: err,
        }),
      );
      return;
    }
    this.requestFailures += 1;
    this.metrics.retries.inc({ reason });
    this.log.warn(
      { reason, documents: batch.length, failures: this.requestFailures, err },
      'bulk request failed: retrying the whole request',
    );
    this.retryLater(batch, this.requestFailures);
  }

  private retryLater(entries: Entry<C>[], attempt: number): void {
    const timer = setTimeout(
      () => {
        this.retryTimers.delete(timer);
        // Retries go first: they are the oldest documents, holding back the offsets behind them.
        this.ready.unshift(entries);
        this.pump();
      },
      backoffMs(attempt, this.options.retry, this.random),
    );
    this.retryTimers.add(timer);
  }

  private finish(entry: Entry<C>, outcome: ItemOutcome): void {
    if (outcome.status === 'rejected') this.metrics.rejected.inc({ reason: outcome.reason });
    else this.metrics.docs.inc({ result: outcome.status });
    const release = (): void => {
      this.bytes -= entry.bytes;
      this.docs -= 1;
      this.updateGauges();
      this.wake();
    };
    let handled: void | Promise<void> = undefined;
    try {
      handled = this.onOutcome(entry.item, outcome);
    } catch (err) {
      this.log.error({ err, id: entry.item.id }, 'outcome handler failed');
    }
    if (handled instanceof Promise) {
      handled
        .catch((err: unknown) =>
          this.log.error({ err, id: entry.item.id }, 'outcome handler failed'),
        )
        .finally(release);
    } else {
      release();
    }
  }

  private fail(error: BulkFatalError): void {
    if (this.fatal) return;
    this.fatal = error;
    this.log.error({ err: error, statusCode: error.statusCode }, 'Elasticsearch writer stopped');
    this.close();
    this.onFatal(error);
  }

  private wake(): void {
    const room = this.roomWaiters;
    this.roomWaiters = [];
    for (const resolve of room) resolve();
    if (this.docs === 0 || this.fatal) {
      const idle = this.idleWaiters;
      this.idleWaiters = [];
      for (const resolve of idle) resolve();
    }
  }

  private updateGauges(): void {
    this.metrics.inFlightBytes.set(this.bytes);
    this.metrics.inFlightDocs.set(this.docs);
  }
}

/** What to do about a fatal status, appended to the error message. */
function hint(status: number): string {
  if (status === 401) return '; check elasticsearch.username/password or elasticsearch.apiKey';
  if (status === 403) {
    return '; the user or API key needs the create_doc and auto_configure privileges on the data stream';
  }
  if (status === 404) return '; run `dnsflow setup` so the index template exists';
  return '';
}

function bodyType(body: unknown): string {
  const error = (body as { error?: { type?: string } | string }).error;
  return typeof error === 'object' && error?.type ? error.type : 'unknown';
}
