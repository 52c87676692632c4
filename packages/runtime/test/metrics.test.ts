import {
  createRegistry,
  createStageMetrics,
  startMetricsServer,
  type MetricsServer,
} from '../src/index';

// A real HTTP server on an ephemeral loopback port, fetched the way Prometheus would.

describe('metrics and health server', () => {
  let server: MetricsServer;
  const registry = createRegistry('collector');
  const stage = createStageMetrics(registry, 'collector');
  let ready = true;

  beforeAll(async () => {
    server = await startMetricsServer(registry, { host: '127.0.0.1', port: 0 });
    server.addCheck('kafka', () =>
      ready ? { ok: true } : { ok: false, detail: 'broker 127.0.0.1:9092 unreachable' },
    );
  });
  afterAll(() => server.close());

  const get = (path: string): Promise<Response> => fetch(`http://127.0.0.1:${server.port}${path}`);

  it('exposes stage counters with reasons, and process metrics', async () => {
    stage.received.inc(3);
    stage.dropped.inc({ reason: 'spool_full' });
    const res = await get('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    expect(text).toContain('dnsflow_collector_received_total{component="collector"} 3');
    expect(text).toContain(
      'dnsflow_collector_dropped_total{reason="spool_full",component="collector"} 1',
    );
    expect(text).toContain('dnsflow_process_resident_memory_bytes');
  });

  it('reports readiness from the registered checks', async () => {
    ready = true;
    expect((await get('/readyz')).status).toBe(200);
    ready = false;
    const res = await get('/readyz');
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({
      ok: false,
      checks: { kafka: { ok: false, detail: 'broker 127.0.0.1:9092 unreachable' } },
    });
    expect((await get('/healthz')).status).toBe(200);
  });

  it('answers unknown paths with a hint', async () => {
    const res = await get('/nope');
    expect(res.status).toBe(404);
    expect(await res.text()).toContain('/metrics');
  });
});
