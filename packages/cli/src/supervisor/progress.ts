import { byLabel, parsePrometheus, sumOf, type Sample } from './prometheus';
import type { StageStatus } from './supervisor';

/** Which of a stage's metrics mean "in", "out", "lag" and "dropped". */
export interface StageMetricNames {
  in: string;
  out: string;
  /** Counters with a `reason` label whose samples are drops. */
  drops: string[];
  /** A gauge of records waiting upstream of the stage (consumer lag), if it has one. */
  lag?: string;
}

export const STAGE_METRICS: Record<string, StageMetricNames> = {
  collector: {
    in: 'dnsflow_collector_transactions_total',
    out: 'dnsflow_collector_published_total',
    drops: ['dnsflow_collector_records_dropped_total', 'dnsflow_collector_packets_dropped_total'],
  },
  enricher: {
    in: 'dnsflow_enricher_received_total',
    out: 'dnsflow_enricher_sent_total',
    drops: ['dnsflow_enricher_dropped_total'],
    lag: 'dnsflow_enricher_consumer_lag',
  },
  indexer: {
    in: 'dnsflow_indexer_received_total',
    out: 'dnsflow_indexer_sent_total',
    drops: ['dnsflow_indexer_dropped_total'],
    lag: 'dnsflow_indexer_consumer_lag',
  },
};

export interface StageFigures {
  name: string;
  state: StageStatus['state'];
  restarts: number;
  in: number;
  out: number;
  inPerSecond: number;
  outPerSecond: number;
  lag: number | undefined;
  drops: Map<string, number>;
  lastError: string | undefined;
  /** Why the figures are missing, e.g. the endpoint did not answer yet. */
  scrapeError: string | undefined;
}

interface Previous {
  atMs: number;
  in: number;
  out: number;
}

/** Turns successive scrapes of each stage's /metrics into rates and totals. */
export class ProgressTracker {
  private readonly previous = new Map<string, Previous>();
  /** The last figures scraped, shown while a stage is down (e.g. after it stopped). */
  private readonly lastGood = new Map<string, StageFigures>();

  constructor(private readonly fetchText: (port: number) => Promise<string> = scrape) {}

  async figures(
    stages: readonly { name: string; metricsPort: number }[],
    statuses: readonly StageStatus[],
    nowMs = Date.now(),
  ): Promise<StageFigures[]> {
    return Promise.all(
      stages.map(async (stage) => {
        const status = statuses.find((s) => s.name === stage.name);
        const names = STAGE_METRICS[stage.name];
        let samples: Sample[] = [];
        let scrapeError: string | undefined;
        try {
          samples = parsePrometheus(await this.fetchText(stage.metricsPort));
        } catch (err) {
          scrapeError = err instanceof Error ? err.message : String(err);
        }
        const totalIn = names ? sumOf(samples, names.in) : 0;
        const totalOut = names ? sumOf(samples, names.out) : 0;
        const prev = this.previous.get(stage.name);
        const seconds = prev ? (nowMs - prev.atMs) / 1000 : 0;
        const rate = (now: number, before: number | undefined): number =>
          seconds > 0 && before !== undefined ? Math.max(0, (now - before) / seconds) : 0;
        if (scrapeError === undefined) {
          this.previous.set(stage.name, { atMs: nowMs, in: totalIn, out: totalOut });
        }
        const drops = new Map<string, number>();
        for (const metric of names?.drops ?? []) {
          for (const [reason, n] of byLabel(samples, metric, 'reason')) {
            if (n > 0) drops.set(reason, (drops.get(reason) ?? 0) + n);
          }
        }
        const hasLag = names?.lag !== undefined && samples.some((s) => s.name === names.lag);
        const last = this.lastGood.get(stage.name);
        if (scrapeError !== undefined && last !== undefined) {
          return {
            ...last,
            state: status?.state ?? last.state,
            restarts: status?.restarts ?? last.restarts,
            inPerSecond: 0,
            outPerSecond: 0,
            lastError: status?.lastError,
            scrapeError,
          };
        }
        const figures: StageFigures = {
          name: stage.name,
          state: status?.state ?? 'starting',
          restarts: status?.restarts ?? 0,
          in: totalIn,
          out: totalOut,
          inPerSecond: rate(totalIn, prev?.in),
          outPerSecond: rate(totalOut, prev?.out),
          lag: hasLag && names?.lag !== undefined ? sumOf(samples, names.lag) : undefined,
          drops,
          lastError: status?.lastError,
          scrapeError,
        };
        if (scrapeError === undefined) this.lastGood.set(stage.name, figures);
        return figures;
      }),
    );
  }
}

async function scrape(port: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`, {
    signal: AbortSignal.timeout(2000),
  });
  if (!res.ok) throw new Error(`metrics endpoint answered ${res.status}`);
  return res.text();
}

const fmt = (n: number): string =>
  n >= 1e6
    ? `${(n / 1e6).toFixed(1)}M`
    : n >= 1e4
      ? `${(n / 1e3).toFixed(1)}k`
      : String(Math.round(n));

/** The terminal view: one line per stage, then drops with reasons and the last error. */
export function renderProgress(figures: readonly StageFigures[]): string {
  const lines = ['stage       state       in/s    out/s   total in  total out  lag      drops'];
  const notes: string[] = [];
  for (const f of figures) {
    const state = f.restarts > 0 ? `${f.state}(${f.restarts})` : f.state;
    const drops = [...f.drops.values()].reduce((a, b) => a + b, 0);
    lines.push(
      [
        f.name.padEnd(11),
        state.padEnd(11),
        fmt(f.inPerSecond).padStart(6),
        fmt(f.outPerSecond).padStart(8),
        fmt(f.in).padStart(10),
        fmt(f.out).padStart(10),
        (f.lag === undefined ? '-' : fmt(f.lag)).padStart(5),
        fmt(drops).padStart(8),
      ].join(' '),
    );
    if (f.drops.size > 0) {
      const reasons = [...f.drops].map(([reason, n]) => `${reason}=${fmt(n)}`).join(', ');
      notes.push(`  ${f.name} drops: ${reasons}`);
    }
    if (f.lastError !== undefined) notes.push(`  ${f.name} last error: ${f.lastError}`);
    else if (f.scrapeError !== undefined && f.state === 'running') {
      notes.push(`  ${f.name}: metrics not available yet (${f.scrapeError})`);
    }
  }
  return [...lines, ...notes].join('\n');
}
