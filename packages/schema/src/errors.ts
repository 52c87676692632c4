/** Why a byte string could not be decoded into a record. */
export type CodecErrorReason =
  'too-short' | 'bad-magic' | 'unknown-fingerprint' | 'bad-payload' | 'unknown-schema';

/**
 * A record that could not be encoded or decoded. Never retriable: the same bytes fail the same
 * way, so a consumer sends them to the dead-letter topic instead of retrying.
 */
export class CodecError extends Error {
  override readonly name = 'CodecError';
  readonly retriable = false;

  constructor(
    readonly reason: CodecErrorReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
