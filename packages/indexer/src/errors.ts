/** What went wrong in `dnsflow setup`, so callers branch without parsing text. */
export type SetupProblem = 'version' | 'permission' | 'unreachable' | 'rejected';

/**
 * `dnsflow setup` could not create something the pipeline needs. The message names the item
 * (topic, template, data stream), what Elasticsearch or Kafka said, and what to do.
 */
export class SetupError extends Error {
  override readonly name = 'SetupError';
  /** Running setup again gives the same answer until someone changes the cluster or user. */
  readonly retriable = false;

  constructor(
    readonly problem: SetupProblem,
    /** The item being created, e.g. `index template logs-dnsflow.dns`. */
    readonly item: string,
    message: string,
    options?: { cause?: unknown; statusCode?: number },
  ) {
    super(`${item}: ${message}`, { cause: options?.cause });
    this.statusCode = options?.statusCode;
  }

  /** HTTP status of the Elasticsearch answer, when there was one. */
  readonly statusCode: number | undefined;
}

/**
 * Elasticsearch refused the writer in a way no retry fixes and no single document caused:
 * bad credentials (401), missing privileges (403), a data stream that cannot be created
 * (404). The writer stops; nothing after the failure is acknowledged or committed.
 */
export class BulkFatalError extends Error {
  override readonly name = 'BulkFatalError';
  readonly retriable = false;

  constructor(
    readonly statusCode: number,
    /** Elasticsearch's error type, e.g. `security_exception`. */
    readonly type: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
