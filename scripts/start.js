#!/usr/bin/env node
// `npm start`: runs the pipeline locally. Brings up Kafka and Elasticsearch (installing them
// on first use), builds the packages, then runs the collector on this machine's interfaces,
// publishing to the local Kafka until Ctrl-C. The enricher and indexer join as they land.
'use strict';
const { spawn, spawnSync } = require('node:child_process');
const { homedir } = require('node:os');
const { join } = require('node:path');

const root = join(__dirname, '..');
const script = join(__dirname, 'services.sh');
const run = (cmd, args) => spawnSync(cmd, args, { stdio: 'inherit', cwd: root }).status ?? 1;

const up = run('bash', [script, 'up', 'kafka', 'es']);
if (up !== 0) process.exit(up);
const built = run('npx', ['tsc', '-b']);
if (built !== 0) process.exit(built);

const spool = join(homedir(), '.cache', 'dnsflow', 'spool');
const args = [
  join(root, 'packages', 'cli', 'bin', 'dnsflow.js'),
  'collect',
  `--spool.dir=${spool}`,
  ...process.argv.slice(2),
];
process.stdout.write(
  [
    '',
    'dnsflow is running locally:',
    '  Kafka          127.0.0.1:9092 (topic dns.raw; SASL on 9094)',
    '  Elasticsearch  http://127.0.0.1:9200',
    '  collector      capturing DNS on all interfaces (port 53), publishing to dns.raw',
    '  metrics        http://127.0.0.1:9464/metrics   (try: curl -s :9464/metrics | grep dns_)',
    '',
    'Make some DNS traffic (any lookup on this machine) and watch the counters move.',
    'Extra settings go after --, e.g. npm start -- --capture.interfaces=lo --capture.ports=5353',
    'Ctrl-C stops the collector (it drains to Kafka or its spool); services stay up:',
    '  npm run services -- down',
    '',
  ].join('\n'),
);
// The collector needs CAP_NET_RAW; as a normal user run it with sudo or setcap on node.
const child = spawn(process.execPath, args, { stdio: 'inherit', cwd: root });
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 130 : 1)));
