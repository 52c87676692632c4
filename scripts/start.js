#!/usr/bin/env node
// `npm start`: the whole pipeline on this machine. Brings up Kafka and Elasticsearch
// (installing them on first use) and, for the demo, the local kube-apiserver; builds the
// packages; then `dnsflow run` does setup and supervises collector, enricher and indexer
// until Ctrl-C. `npm start -- --demo` adds a simulated cluster whose pods make DNS traffic.
'use strict';
const { spawn, spawnSync } = require('node:child_process');
const { join } = require('node:path');

const root = join(__dirname, '..');
const script = join(__dirname, 'services.sh');
const run = (cmd, args) => spawnSync(cmd, args, { stdio: 'inherit', cwd: root }).status ?? 1;

const args = process.argv.slice(2);
const demo = args.includes('--demo');
// The demo registers its pods with the local API server and answers with CoreDNS; without
// them it still runs, on a static inventory and dnsmasq.
const services = demo ? ['kafka', 'es', 'k8s'] : ['kafka', 'es'];
const up = run('bash', [script, 'up', ...services]);
if (up !== 0) process.exit(up);
if (demo && run('bash', [script, 'install', 'coredns']) !== 0) {
  process.stderr.write('start: CoreDNS could not be built; the demo falls back to dnsmasq\n');
}
const built = run('npx', ['tsc', '-b']);
if (built !== 0) process.exit(built);

process.stdout.write(
  [
    '',
    'dnsflow runs locally:',
    '  Kafka          127.0.0.1:9092 (topics dns.raw, dns.enriched, dns.dlq)',
    '  Elasticsearch  http://127.0.0.1:9200 (data stream logs-dnsflow.dns-default)',
    `  collector      ${demo ? 'the demo cluster' : "this machine's DNS (port 53, all interfaces)"}, metrics :9464`,
    '  enricher       Kubernetes identity, metrics :9465',
    '  indexer        ECS documents into Elasticsearch, metrics :9466',
    '',
    'Per-stage settings go after --, e.g. npm start -- --collector.capture.interfaces=eth0',
    'Ctrl-C stops and drains the pipeline; the services stay up (npm run services -- down).',
    '',
  ].join('\n'),
);
// Capturing needs root or CAP_NET_RAW (as a normal user: sudo, or setcap on node).
const child = spawn(
  process.execPath,
  [join(root, 'packages', 'cli', 'bin', 'dnsflow.js'), 'run', ...args],
  { stdio: 'inherit', cwd: root },
);
// Ctrl-C reaches the child through the terminal's process group; a SIGTERM to this
// script is passed on.
process.on('SIGINT', () => undefined);
process.on('SIGTERM', () => child.kill('SIGTERM'));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 130 : 1)));
