import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parsePrometheus, sumOf } from '../src/supervisor/prometheus';
import { ProgressTracker, STAGE_METRICS, renderProgress } from '../src/supervisor/progress';
import { Supervisor, type StageStatus } from '../src/supervisor/supervisor';
import { routeFlags } from '../src/commands/run';

// Real child processes: a stage is a small node script that serves /metrics, logs like
// pino, and either runs until SIGTERM (draining for a moment) or crashes.

const dir = mkdtempSync(join(tmpdir(), 'dnsflow-supervisor-'));
const stageScript = join(dir, 'stage.js');
writeFileSync(
  stageScript,
  `
const http = require('node:http');
const [port, mode, name, orderFile, metricNames] = process.argv.slice(2);
const names = JSON.parse(metricNames || '{"in":"a","out":"b","drops":["c"]}');
let received = 0;
const server = http.createServer((req, res) => {
  res.end('# HELP x\\n' + names.in + ' ' + received + '\\n' + names.out + ' ' + received + '\\n' +
    names.drops[0] + '{reason="queue_full"} 2\\n');
});
server.listen(Number(port), '127.0.0.1');
setInterval(() => { received += 10; }, 20);
console.log(JSON.stringify({ level: 30, msg: name + ' started' }));
if (mode === 'crash') {
  setTimeout(() => { console.log(JSON.stringify({ level: 50, msg: 'cannot open capture', err: { message: 'permission denied' } })); process.exit(3); }, 50);
}
process.on('SIGTERM', () => {
  setTimeout(() => { require('node:fs').appendFileSync(orderFile, name + '\\n'); process.exit(0); }, 100);
});
`,
);

function waitFor(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const tick = (): void => {
      if (check()) resolve();
      else if (Date.now() > deadline) reject(new Error('condition not met in time'));
      else setTimeout(tick, 25);
    };
    tick();
  });
}

let nextPort = 19_460 + (process.pid % 200) * 3;

test('stages start, report progress from /metrics, and stop upstream first', async () => {
  const order = join(dir, 'order.txt');
  writeFileSync(order, '');
  const specs = ['collector', 'enricher', 'indexer'].map((name) => {
    const metricsPort = nextPort++;
    const names = JSON.stringify(STAGE_METRICS[name]);
    return {
      name,
      metricsPort,
      argv: [stageScript, String(metricsPort), 'run', name, order, names],
    };
  });
  const supervisor = new Supervisor(specs, { logDir: join(dir, 'logs') });
  supervisor.start();
  await waitFor(() => supervisor.status().every((s) => s.state === 'running'));
  const tracker = new ProgressTracker();
  // Two scrapes with no error: the second one has rates.
  let figures = await tracker.figures(specs, supervisor.status());
  for (let i = 0; i < 50 && !figures.every((f) => f.scrapeError === undefined && f.in > 0); i++) {
    await new Promise((r) => setTimeout(r, 100));
    figures = await tracker.figures(specs, supervisor.status());
  }
  await new Promise((r) => setTimeout(r, 300));
  figures = await tracker.figures(specs, supervisor.status());
  for (const f of figures) {
    expect(f.scrapeError).toBeUndefined();
    expect(f.in).toBeGreaterThan(0);
    expect(f.inPerSecond).toBeGreaterThan(0);
  }
  const view = renderProgress(figures);
  expect(view).toMatch(/^collector\s+running/m);
  expect(view).toContain('enricher drops: queue_full=2');
  await supervisor.stop();
  expect(readFileSync(order, 'utf8').trim().split('\n')).toEqual([
    'collector',
    'enricher',
    'indexer',
  ]);
  expect(supervisor.status().map((s) => s.state)).toEqual(['stopped', 'stopped', 'stopped']);
  expect(readFileSync(supervisor.logFile('collector'), 'utf8')).toContain('collector started');
}, 30_000);

test('a stage that keeps crashing is restarted with backoff, then marked failed with its error', async () => {
  const changes: StageStatus[] = [];
  const metricsPort = nextPort++;
  const supervisor = new Supervisor(
    [
      {
        name: 'collector',
        metricsPort,
        argv: [stageScript, String(metricsPort), 'crash', 'collector', '/dev/null'],
      },
    ],
    {
      logDir: join(dir, 'logs-crash'),
      maxRestarts: 2,
      restartDelayMs: 10,
      onChange: (s) => changes.push(s),
    },
  );
  supervisor.start();
  await waitFor(() => supervisor.allDown());
  const [status] = supervisor.status();
  expect(status?.state).toBe('failed');
  expect(status?.restarts).toBe(2);
  expect(status?.exitCode).toBe(3);
  expect(status?.lastError).toBe('cannot open capture: permission denied');
  expect(changes.filter((c) => c.state === 'restarting')).toHaveLength(2);
  await supervisor.stop();
}, 30_000);

test('the progress view says when a stage has no metrics endpoint yet', async () => {
  const tracker = new ProgressTracker(() => Promise.reject(new Error('connect ECONNREFUSED')));
  const figures = await tracker.figures(
    [{ name: 'indexer', metricsPort: 1 }],
    [
      {
        name: 'indexer',
        state: 'running',
        pid: 1,
        restarts: 0,
        lastError: undefined,
        exitCode: undefined,
      },
    ],
  );
  expect(renderProgress(figures)).toContain(
    'indexer: metrics not available yet (connect ECONNREFUSED)',
  );
});

test('prometheus text: labels, escapes, sums', () => {
  const samples = parsePrometheus(
    [
      '# TYPE a counter',
      'a_total{reason="x",k="q\\"uote"} 3',
      'a_total{reason="y"} 4',
      'b 1e3',
      'garbage line',
    ].join('\n'),
  );
  expect(sumOf(samples, 'a_total')).toBe(7);
  expect(sumOf(samples, 'a_total', { k: 'q"uote' })).toBe(3);
  expect(sumOf(samples, 'b')).toBe(1000);
});

test('run routes --<stage>.<key> flags to their stage and rejects the rest', () => {
  const routed = routeFlags([
    '--collector.capture.interfaces=any',
    '--indexer.bulk.maxDocs=500',
    '--setup.kafka.partitions=3',
  ]);
  expect(routed.get('collector')).toEqual(['--capture.interfaces=any']);
  expect(routed.get('indexer')).toEqual(['--bulk.maxDocs=500']);
  expect(routed.get('setup')).toEqual(['--kafka.partitions=3']);
  expect(() => routeFlags(['--capture.interfaces=any'])).toThrow(/names no stage/);
});
