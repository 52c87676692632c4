import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Registry, collectDefaultMetrics } from 'prom-client';
import type { Logger } from './logger';
import type { MetricsConfig } from './schemas';

/** One check's verdict; `detail` says why when not ok. */
export interface CheckResult {
  ok: boolean;
  detail?: string;
}

/** A named readiness check (e.g. "kafka connected", "spool below limit"). */
export type HealthCheck = () => CheckResult | Promise<CheckResult>;

/** Creates a registry with the process metrics (CPU, RSS, event loop lag, GC). */
export function createRegistry(component: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ component });
  collectDefaultMetrics({ register: registry, prefix: 'dnsflow_' });
  return registry;
}

/** The counters every stage reports: received, sent, dropped with a reason, errors by kind. */
export interface StageMetrics {
  received: Counter;
  sent: Counter;
  dropped: Counter<'reason'>;
  errors: Counter<'kind'>;
}

/** Registers the standard counters of one pipeline stage, e.g. `dnsflow_collector_*`. */
export function createStageMetrics(registry: Registry, stage: string): StageMetrics {
  const prefix = `dnsflow_${stage}`;
  return {
    received: new Counter({
      name: `${prefix}_received_total`,
      help: `Records received by the ${stage}.`,
      registers: [registry],
    }),
    sent: new Counter({
      name: `${prefix}_sent_total`,
      help: `Records the ${stage} delivered downstream.`,
      registers: [registry],
    }),
    dropped: new Counter({
      name: `${prefix}_dropped_total`,
      help: `Records the ${stage} dropped, by reason.`,
      labelNames: ['reason'],
      registers: [registry],
    }),
    errors: new Counter({
      name: `${prefix}_errors_total`,
      help: `Errors in the ${stage}, by kind.`,
      labelNames: ['kind'],
      registers: [registry],
    }),
  };
}

/** A running metrics/health server. */
export interface MetricsServer {
  /** The bound port (useful with port 0). */
  readonly port: number;
  addCheck(name: string, check: HealthCheck): void;
  close(): Promise<void>;
}

async function runChecks(
  checks: Map<string, HealthCheck>,
): Promise<{ ok: boolean; checks: Record<string, CheckResult> }> {
  const results: Record<string, CheckResult> = {};
  for (const [name, check] of checks) {
    try {
      results[name] = await check();
    } catch (err) {
      results[name] = { ok: false, detail: err instanceof Error ? err.message : String(err) };
    }
  }
  return { ok: Object.values(results).every((r) => r.ok), checks: results };
}

/**
 * Serves `/metrics` (Prometheus text), `/healthz` (the process is alive) and `/readyz`
 * (every registered check passes; 503 with the failing checks otherwise).
 */
export async function startMetricsServer(
  registry: Registry,
  config: Pick<MetricsConfig, 'host' | 'port'>,
  log?: Logger,
): Promise<MetricsServer> {
  const checks = new Map<string, HealthCheck>();
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const reply = (status: number, type: string, body: string): void => {
      res.writeHead(status, { 'content-type': type });
      res.end(body);
    };
    if (req.method !== 'GET') return reply(405, 'text/plain', 'method not allowed\n');
    if (path === '/metrics') {
      registry.metrics().then(
        (text) => reply(200, registry.contentType, text),
        (err: Error) => reply(500, 'text/plain', `${err.message}\n`),
      );
    } else if (path === '/healthz') {
      reply(200, 'application/json', '{"ok":true}\n');
    } else if (path === '/readyz') {
      void runChecks(checks).then((result) =>
        reply(result.ok ? 200 : 503, 'application/json', `${JSON.stringify(result)}\n`),
      );
    } else {
      reply(404, 'text/plain', 'not found: try /metrics, /healthz or /readyz\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  log?.info({ host: config.host, port }, 'metrics server listening');
  return {
    port,
    addCheck: (name, check) => void checks.set(name, check),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
