/** Backoff settings: the first delay and the cap. */
export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
}

/**
 * Delay before retry number `attempt` (1 for the first retry): exponential from
 * `initialMs`, capped at `maxMs`, with "equal jitter" (a uniform draw between half and all
 * of the exponential value) so writers that failed together do not come back together.
 * `random` is injectable for tests.
 */
export function backoffMs(
  attempt: number,
  options: BackoffOptions,
  random: () => number = Math.random,
): number {
  const exponential = Math.min(options.maxMs, options.initialMs * 2 ** Math.max(0, attempt - 1));
  // Never below half the exponential value: a draw from zero could hammer a server that
  // just said 429 with a near-zero delay.
  return Math.round(exponential / 2 + (random() * exponential) / 2);
}

/** A promise that resolves after `ms` (unref'd: it never keeps the process alive). */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
