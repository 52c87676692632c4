/**
 * Polls `read` until `done` accepts its value or `timeoutMs` passes, then returns the
 * last value read, so the caller's assertion shows what was actually seen. For state
 * that a real server makes visible asynchronously (transaction markers, refreshes).
 */
export async function eventually<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs = 15_000,
  intervalMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = await read();
  while (!done(value) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
    value = await read();
  }
  return value;
}
