// Time arguments of `dnsflow observe` and `dnsflow top`: durations back from now (`10m`)
// and absolute times (ISO 8601).

const UNIT_MS: Record<string, number> = {
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/** A bad --since/--until value; the message says what forms are accepted. */
export class TimeArgumentError extends Error {
  override readonly name = 'TimeArgumentError';
  readonly retriable = false;
}

/**
 * Milliseconds of a duration such as `30s`, `10m`, `1h30m`, `2d`. Units s, m, h, d; several
 * parts add up. Throws {@link TimeArgumentError} for anything else.
 */
export function parseDuration(text: string): number {
  const trimmed = text.trim().toLowerCase();
  const part = /(\d+(?:\.\d+)?)([smhd])/gy;
  let total = 0;
  let end = 0;
  for (let m = part.exec(trimmed); m !== null; m = part.exec(trimmed)) {
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
    end = part.lastIndex;
  }
  if (trimmed === '' || end !== trimmed.length || total <= 0) {
    throw new TimeArgumentError(
      `expected a duration such as 30s, 10m, 1h30m or 2d (units s, m, h, d), found "${text}"`,
    );
  }
  return Math.round(total);
}

/**
 * Epoch milliseconds of a point in time given as a duration back from `nowMs` (`10m`) or
 * as an ISO 8601 time (`2026-01-15T12:00:00Z`).
 */
export function parseTimePoint(text: string, nowMs: number): number {
  if (/^\s*\d+(\.\d+)?[smhd]/i.test(text)) {
    try {
      return nowMs - parseDuration(text);
    } catch {
      // Falls through to the combined message below.
    }
  }
  if (/^\d{4}-\d{2}-\d{2}/.test(text.trim())) {
    const ms = Date.parse(text.trim());
    if (Number.isFinite(ms)) return ms;
  }
  throw new TimeArgumentError(
    `expected a duration back from now (30s, 10m, 2h, 1d) or an ISO time (2026-01-15T12:00:00Z), found "${text}"`,
  );
}

/** Epoch milliseconds as ISO 8601 UTC with milliseconds. */
export function isoMillis(ms: number): string {
  return new Date(ms).toISOString();
}

/** A short "how long ago" for messages: `3m 20s ago`, `2h 5m ago`, `4d ago`. */
export function ago(ms: number, nowMs: number): string {
  const s = Math.max(0, Math.round((nowMs - ms) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m ago`;
  return `${Math.floor(s / 86_400)}d ago`;
}

/** The smallest whole duration (in the largest unit that fits) reaching back to `ms`. */
export function sinceCovering(ms: number, nowMs: number): string {
  const diff = Math.max(1000, nowMs - ms);
  for (const [unit, size] of [
    ['d', UNIT_MS['d']!],
    ['h', UNIT_MS['h']!],
    ['m', UNIT_MS['m']!],
  ] as const) {
    if (diff >= size) return `${Math.ceil(diff / size)}${unit}`;
  }
  return `${Math.ceil(diff / 1000)}s`;
}
