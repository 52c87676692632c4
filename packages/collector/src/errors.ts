/**
 * A capture file that is not a valid pcap or pcapng file from some byte on: bad magic,
 * an impossible block or record length, or an end of file in the middle of a record.
 * Readers deliver every frame before `offset` first, then throw this.
 */
export class CaptureFileError extends Error {
  override readonly name = 'CaptureFileError';
  /** Reading the same bytes again gives the same error. */
  readonly retriable = false;

  constructor(
    /** Path of the file, or null for an in-memory buffer. */
    readonly path: string | null,
    /** Byte offset in the file where the bad record or block starts. */
    readonly offset: number,
    /** What a valid file has there. */
    readonly expected: string,
    /** What this file has there. */
    readonly found: string,
    options?: { cause?: unknown },
  ) {
    super(
      `${path ?? '<buffer>'}: bad capture file at byte ${offset}: expected ${expected}, found ${found}`,
      options,
    );
  }
}
