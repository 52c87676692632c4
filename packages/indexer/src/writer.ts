import { errors, type Client } from '@elastic/elasticsearch';
import type { Logger } from '@dnsflow/runtime';
import type { ByteSink } from '@dnsflow/schema';
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
//   request 413         halved and sent again; a request of one document is rejected for good
//   401, 403, 404       fatal (credentials, privileges, no template): no retry fixes them and
//                       no document caused them, so the writer stops instead of rejecting
//                       every document
//
// Memory is bounded by maxInFlightBytes: `offer` refuses a document while the bytes taken
// and not yet finished are at the bound, and `whenRoom` says when to try again.
//
// Each request's NDJSON is written once into a Buffer as documents are offered, and that
// Buffer is the request body; a document retried alone is copied out into a new body. Item
// retries re-send only the retried documents; a failed request re-sends its body as it is.
// Once Elasticsearch answered a request (it read the whole body), its Buffer is kept for a
// later request, at most `concurrency` of them: a fresh multi-megabyte Buffer per request
// cost more CPU (pages mapped and zeroed by the kernel) than filling it.

/** One document to write. `context` travels with it to `onOutcome` (e.g. a Kafka offset). */
export interface BulkItem<C> {
  /** Data stream (or index) to create the document in. */
  index: string;
  /** Deterministic `_id`: the same source record always gives the same id. */
  id: string;
  /**
   * The document, or its JSON exactly as JSON.stringify would write it: as text, as UTF-8
   * bytes, or written by a {@link JsonRenderer} straight into the request body (a document
   * rendered straight to JSON never builds the object). Bytes are copied when the document is
   * taken; they must stay as they are while it may be offered again. A renderer is asked once:
   * if the document is refused, the writer keeps a copy of what it wrote.
   */
  document: object | string | Uint8Array | JsonRenderer;
  context: C;
}

/** Writes a document's JSON bytes into a request body (see BulkItem.document). */
export interface JsonRenderer {
  renderJson(sink: ByteSink): void;
}

/** A renderer, not a document: a JSON document has no function among its values. */
function isRenderer(document: object): document is JsonRenderer {
  return typeof (document as Partial<JsonRenderer>).renderJson === 'function';
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
 * A document once serialized: the writer keeps its NDJSON, not the object, and hands this
 * back to `onOutcome`.
 */
export type WrittenItem<C> = Omit<BulkItem<C>, 'document'>;

/**
 * A document taken, as `onOutcome` sees it (a {@link WrittenItem}) plus where its NDJSON is.
 * Its bytes live in the Buffer of the request that carries it, not in a string of its own: what
 * waits for Elasticsearch is one Buffer per request outside the JavaScript heap, which the
 * garbage collector neither copies nor traces, and the request goes out without being joined
 * and encoded again.
 */
interface Entry<C> extends WrittenItem<C> {
  /** Offset of its action line, document and newline in its request's body. */
  start: number;
  bytes: number;
  attempts: number;
}

/** One bulk request: documents in order, each a contiguous slice of `body`. */
interface Batch<C> {
  entries: Entry<C>[];
  body: Buffer;
  /** The whole Buffer `body` is the start of, to reuse once answered; null for a copy. */
  buffer: Buffer | null;
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
/**
 * The smallest body buffer. A body grows by doubling and the next one starts at the last
 * request's size plus an eighth, so a buffer is at most about twice the bytes it carries.
 */
const MIN_BODY_BYTES = 64 * 1024;
/** The longest UTF-8 encoding of one character: with this much room left, a write was whole. */
const MAX_CHAR_BYTES = 4;

/**
 * Writes a document at `at`, returning where it ends, or -1 when `body` may have been too short
 * for it (write it again with room for its counted bytes).
 */
function writeDocument(body: Buffer, at: number, json: string | Uint8Array): number {
  let end = at;
  if (typeof json === 'string') {
    end += body.write(json, end);
  } else {
    if (body.length - end < json.length + MAX_CHAR_BYTES) return -1;
    body.set(json, end);
    end += json.length;
  }
  return body.length - end < MAX_CHAR_BYTES ? -1 : end;
}

/** Writes documents to Elasticsearch in bulk; see the file comment for the retry rules. */
export class BulkWriter<C> {
  private pending: Entry<C>[] = [];
  /** The pending request's body; its first pendingBytes bytes are the pending documents. */
  private pendingBody: Buffer | null = null;
  private pendingBytes = 0;
  /** Size of the next body buffer: the last request's, so a steady stream never regrows. */
  private bodyHint = MIN_BODY_BYTES;
  /** Buffers of answered requests, for the next bodies. */
  private readonly spareBodies: Buffer[] = [];
  private pendingTimer: NodeJS.Timeout | null = null;
  private readonly ready: Batch<C>[] = [];
  private readonly retryTimers = new Set<NodeJS.Timeout>();
  private active = 0;
  /** The pending request's flush interval ran out while others were ready: send it next. */
  private flushDue = false;
  private bytes = 0;
  private docs = 0;
  private roomWaiters: (() => void)[] = [];
  private idleWaiters: (() => void)[] = [];
  private requestFailures = 0;
  private fatal: BulkFatalError | null = null;
  private refused: { item: BulkItem<C>; json: string | Uint8Array } | null = null;
  /** Where renderers write: the pending body, after the pending documents. */
  private readonly sink: ByteSink = {
    buf: Buffer.alloc(0),
    at: 0,
    grow: (bytes: number) => {
      this.sink.buf = this.room(this.sink.at + bytes, this.sink.at);
    },
  };
  /** Where the last rendered document's JSON lies in the pending body. */
  private renderedStart = 0;
  private renderedEnd = 0;
  private readonly random: () => number;
  /** `{"create":{"_index":<actionIndex>,"_id":` in UTF-8, for the index of the last document. */
  private actionIndex: string | null = null;
  private actionPrefix: Buffer = Buffer.alloc(0);

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
    metrics.watch(this);
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
    const document = item.document;
    const json =
      typeof document === 'string' || document instanceof Uint8Array
        ? document
        : this.refused?.item === item
          ? this.refused.json
          : isRenderer(document)
            ? document
            : JSON.stringify(document);
    // Written after the pending documents before knowing whether it may join them: its UTF-8
    // length is only known once written, and counting it first would read it twice.
    const bytes = this.append(item.index, item.id, json);
    if (this.docs > 0 && this.bytes + bytes > this.options.maxInFlightBytes) {
      this.refused = {
        item,
        json:
          typeof json === 'object' && !(json instanceof Uint8Array)
            ? Buffer.from(this.pendingBody!.subarray(this.renderedStart, this.renderedEnd))
            : json,
      };
      // Nothing more can join the pending request until something finishes. With no request
      // ready behind the ones in flight, send it now rather than let it wait out
      // flushIntervalMs; with some ready, they go first anyway, and the pending request
      // fills up once room comes back (sealed now, it would go out small: measured, an
      // Elasticsearch node on 2 cores spent 111 instead of 96 us per document when a quarter
      // of the requests were cut short this way).
      if (this.ready.length === 0) this.seal();
      return false;
    }
    this.refused = null;
    this.bytes += bytes;
    this.docs += 1;
    if (this.pending.length > 0 && this.pendingBytes + bytes > this.options.maxBytes) {
      this.seal(bytes);
    }
    this.pending.push({
      index: item.index,
      id: item.id,
      context: item.context,
      start: this.pendingBytes,
      bytes,
      attempts: 0,
    });
    this.pendingBytes += bytes;
    if (this.pending.length >= this.options.maxDocs || this.pendingBytes >= this.options.maxBytes) {
      this.seal();
    } else if (!this.pendingTimer) {
      this.pendingTimer = setTimeout(() => {
        this.pendingTimer = null;
        // Behind requests that are ready and waiting, it would not leave any sooner: it is
        // sealed when they are gone (pump), with whatever joined it meanwhile.
        if (this.ready.length === 0) this.seal();
        else this.flushDue = true;
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

  /**
   * Writes a document's action line, document and newline after the pending documents
   * (growing the body when it has no room) and returns its length in bytes. It joins them only
   * when the caller then counts it in pendingBytes.
   */
  private append(index: string, id: string, json: string | Uint8Array | JsonRenderer): number {
    const at = this.pendingBytes;
    const start = this.writeAction(at, index, id);
    if (typeof json === 'object' && !(json instanceof Uint8Array)) {
      return this.appendRendered(at, start, json);
    }
    // The character count is the byte count of ASCII text, which JSON mostly is.
    let body = this.room(start + json.length + MAX_CHAR_BYTES, start);
    let end = writeDocument(body, start, json);
    if (end < 0) {
      // Maybe cut short: count the bytes and write it again with room for them.
      // With MAX_CHAR_BYTES to spare (not just the newline), writeDocument sees the write whole.
      const bytes = typeof json === 'string' ? Buffer.byteLength(json) : json.length;
      body = this.room(start + bytes + MAX_CHAR_BYTES, start);
      end = writeDocument(body, start, json);
    }
    body[end] = 0x0a;
    return end + 1 - at;
  }

  /**
   * Writes the action line of a document at `at` (after the pending documents), returning where
   * it ends. An `_id` of plain ASCII, as the indexer's always are, is copied byte by byte: no
   * action text is built per document.
   */
  private writeAction(at: number, index: string, id: string): number {
    if (index !== this.actionIndex) {
      this.actionIndex = index;
      this.actionPrefix = Buffer.from(`{"create":{"_index":${JSON.stringify(index)},"_id":`);
    }
    const prefix = this.actionPrefix;
    // JSON text takes at most 6 bytes per UTF-16 unit (\u001f; UTF-8 at most 3), plus the
    // quotes, `}}` and the newline.
    const body = this.room(at + prefix.length + 6 * id.length + 5);
    body.set(prefix, at);
    const idAt = at + prefix.length;
    let end = idAt;
    body[end++] = 0x22;
    for (let i = 0; i < id.length; i++) {
      const c = id.charCodeAt(i);
      if (c < 0x20 || c === 0x22 || c === 0x5c || c >= 0x80) {
        return idAt + body.write(`${JSON.stringify(id)}}}\n`, idAt);
      }
      body[end++] = c;
    }
    body[end++] = 0x22;
    body[end++] = 0x7d;
    body[end++] = 0x7d;
    body[end++] = 0x0a;
    return end;
  }

  /** {@link append} of a document its renderer writes into the body itself. */
  private appendRendered(at: number, start: number, renderer: JsonRenderer): number {
    const sink = this.sink;
    sink.buf = this.room(start + MAX_CHAR_BYTES, start);
    sink.at = start;
    renderer.renderJson(sink);
    this.renderedStart = start;
    this.renderedEnd = sink.at;
    const body = this.room(sink.at + 1, sink.at);
    body[sink.at] = 0x0a;
    return sink.at + 1 - at;
  }

  /**
   * The pending body, grown to at least `size` bytes with its first `keep` bytes kept (the
   * pending documents, and the part of a document being written).
   */
  private room(size: number, keep = this.pendingBytes): Buffer {
    const body = this.pendingBody;
    if (body && body.length >= size) return body;
    const want = Math.max(size, this.bodyHint, body ? body.length * 2 : 0);
    const spare = this.spareBodies.findIndex((b) => b.length >= want);
    // Never from Node's shared pool: the Buffer is reused whole.
    const grown = spare < 0 ? Buffer.allocUnsafeSlow(want) : this.spareBodies.splice(spare, 1)[0]!;
    body?.copy(grown, 0, 0, keep);
    this.pendingBody = grown;
    return grown;
  }

  /**
   * Moves the pending documents to the ready requests. `carry` bytes written after them (a
   * document that did not fit) start the next body.
   */
  private seal(carry = 0): void {
    if (this.pendingTimer) clearTimeout(this.pendingTimer);
    this.pendingTimer = null;
    this.flushDue = false;
    if (this.pending.length === 0) return;
    const full = this.pendingBody!;
    const size = this.pendingBytes;
    this.ready.push({ entries: this.pending, body: full.subarray(0, size), buffer: full });
    this.pending = [];
    this.pendingBytes = 0;
    this.pendingBody = null;
    this.bodyHint = Math.max(MIN_BODY_BYTES, size + (size >> 3));
    if (carry > 0) full.copy(this.room(carry), 0, size, size + carry);
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
    // A pending request whose flush interval ran out behind ready ones goes as soon as it
    // can (seal pumps it).
    if (this.flushDue && !this.fatal && this.active < this.options.concurrency) this.seal();
  }

  private async send(batch: Batch<C>): Promise<void> {
    const started = process.hrtime.bigint();
    let answer: BulkAnswer;
    try {
      // The body is already NDJSON bytes: the transport sends a Buffer as it is.
      answer = await this.client.transport.request<BulkAnswer>({
        method: 'POST',
        path: '/_bulk',
        querystring: { filter_path: FILTER_PATH },
        bulkBody: batch.body,
        meta: { name: 'bulk' },
      });
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
      this.finish(batch.entries, CREATED);
      this.reuse(batch);
      return;
    }
    const retry = new Map<RetryReason, Entry<C>[]>();
    batch.entries.forEach((entry, i) => {
      const result = Object.values(answer.items?.[i] ?? {})[0];
      const verdict = this.classifyItem(entry, result);
      if (verdict.kind === 'done') this.finish([entry], verdict.outcome);
      else if (verdict.kind === 'fatal') this.fail(verdict.error);
      else {
        entry.attempts += 1;
        const entries = retry.get(verdict.reason);
        if (entries) entries.push(entry);
        else retry.set(verdict.reason, [entry]);
      }
    });
    for (const [reason, entries] of retry) {
      this.metrics.retries.inc({ reason }, entries.length);
      const attempt = Math.max(...entries.map((e) => e.attempts));
      this.log.warn(
        { documents: entries.length, reason, attempt },
        'bulk items refused for now: retrying',
      );
      this.retryLater(repack(entries, batch.body), attempt);
    }
    this.reuse(batch);
  }

  /** Keeps an answered request's Buffer for a later body (nothing refers to it any more). */
  private reuse(batch: Batch<C>): void {
    if (batch.buffer && this.spareBodies.length < this.options.concurrency) {
      this.spareBodies.push(batch.buffer);
    }
    batch.buffer = null;
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
          `Elasticsearch refused to create documents in ${entry.index} (${status} ${type}): ${detail}${hint(status)}`,
        ),
      };
    }
    return {
      kind: 'done',
      outcome: { status: 'rejected', reason: type, statusCode: status, detail },
    };
  }

  private requestFailed(batch: Batch<C>, err: unknown): void {
    let reason: RetryReason;
    if (err instanceof errors.ResponseError) {
      const status = err.statusCode ?? 0;
      if (status === 429) reason = 'request_429';
      else if (status >= 500) reason = 'request_5xx';
      else if (status === 413 && batch.entries.length > 1) {
        // The cluster's http.max_content_length is below bulk.maxBytes: halve and go on.
        const { entries, body } = batch;
        const half = Math.ceil(entries.length / 2);
        this.log.warn({ documents: entries.length }, 'bulk request too large (413): splitting it');
        this.ready.unshift(repack(entries.slice(0, half), body), repack(entries.slice(half), body));
        return;
      } else if (status === 413) {
        // One document larger than http.max_content_length: no retry makes it smaller, and the
        // rest must not wait behind it. Rejected for good, like a document the mapping refuses.
        this.finish(batch.entries, {
          status: 'rejected',
          reason: 'request_too_large',
          statusCode: 413,
          detail: `a request of this one document (${batch.entries[0]?.bytes ?? 0} bytes of NDJSON) is larger than the cluster's http.max_content_length`,
        });
        // Not reused: a node that answers 413 early may not have read the body.
        return;
      } else {
        const type = typeof err.body === 'object' ? bodyType(err.body) : `http_${status}`;
        this.fail(
          new BulkFatalError(
            status,
            type,
            `Elasticsearch refused to create documents in ${[...new Set(batch.entries.map((e) => e.index))].join(', ')} (${status} ${type}): ${err.message}${hint(status)}`,
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
      { reason, documents: batch.entries.length, failures: this.requestFailures, err },
      'bulk request failed: retrying the whole request',
    );
    this.retryLater(batch, this.requestFailures);
  }

  private retryLater(batch: Batch<C>, attempt: number): void {
    const timer = setTimeout(
      () => {
        this.retryTimers.delete(timer);
        // Retries go first: they are the oldest documents, holding back the offsets behind them.
        this.ready.unshift(batch);
        this.pump();
      },
      backoffMs(attempt, this.options.retry, this.random),
    );
    this.retryTimers.add(timer);
  }

  /**
   * Hands documents with the same outcome to `onOutcome`, then releases their bytes: counted
   * and woken once for the lot, not per document.
   */
  private finish(entries: readonly Entry<C>[], outcome: ItemOutcome): void {
    if (outcome.status === 'rejected') {
      this.metrics.rejected.inc({ reason: outcome.reason }, entries.length);
    } else {
      this.metrics.docs.inc({ result: outcome.status }, entries.length);
    }
    let bytes = 0;
    let docs = 0;
    for (const entry of entries) {
      let handled: void | Promise<void> = undefined;
      try {
        handled = this.onOutcome(entry, outcome);
      } catch (err) {
        this.log.error({ err, id: entry.id }, 'outcome handler failed');
      }
      if (handled instanceof Promise) {
        handled
          .catch((err: unknown) => this.log.error({ err, id: entry.id }, 'outcome handler failed'))
          .finally(() => this.release(entry.bytes, 1));
      } else {
        bytes += entry.bytes;
        docs += 1;
      }
    }
    if (docs > 0) this.release(bytes, docs);
  }

  private release(bytes: number, docs: number): void {
    this.bytes -= bytes;
    this.docs -= docs;
    this.wake();
  }

  private fail(error: BulkFatalError): void {
    if (this.fatal) return;
    this.fatal = error;
    this.log.error({ err: error, statusCode: error.statusCode }, 'Elasticsearch writer stopped');
    this.close();
    this.onFatal(error);
  }

  private wake(): void {
    if (this.roomWaiters.length > 0) {
      const room = this.roomWaiters;
      this.roomWaiters = [];
      for (const resolve of room) resolve();
    }
    if ((this.docs === 0 || this.fatal) && this.idleWaiters.length > 0) {
      const idle = this.idleWaiters;
      this.idleWaiters = [];
      for (const resolve of idle) resolve();
    }
  }
}

const CREATED: ItemOutcome = { status: 'created' };

/** A request of `entries` alone, their bytes copied out of `from` (the body they were sent in). */
function repack<C>(entries: Entry<C>[], from: Buffer): Batch<C> {
  let size = 0;
  for (const entry of entries) size += entry.bytes;
  const body = Buffer.allocUnsafe(size);
  let at = 0;
  for (const entry of entries) {
    from.copy(body, at, entry.start, entry.start + entry.bytes);
    entry.start = at;
    at += entry.bytes;
  }
  return { entries, body, buffer: null };
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
