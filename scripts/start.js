#!/usr/bin/env node
// `npm start`: brings up the local Kafka and Elasticsearch (installing them on first use)
// and reports their health. The pipeline components join here as their issues land.
'use strict';
const { spawnSync } = require('node:child_process');
const { join } = require('node:path');

const script = join(__dirname, 'services.sh');
const run = (...args) => spawnSync('bash', [script, ...args], { stdio: 'inherit' }).status ?? 1;

const up = run('up', 'kafka', 'es');
if (up !== 0) process.exit(up);
const status = run('status', 'kafka', 'es');
process.stdout.write(
  [
    '',
    'dnsflow services are up:',
    '  Kafka          127.0.0.1:9092 (PLAINTEXT; SASL on 9094)',
    '  Elasticsearch  http://127.0.0.1:9200 (security off, local use only)',
    '',
    'Logs:  npm run services -- logs kafka|es',
    'Stop:  npm run services -- down',
    '',
  ].join('\n'),
);
process.exit(status);
