#!/usr/bin/env node
// Makes a fresh clone runnable before any npm dependency exists: this file uses only Node's
// standard library, because it runs from `prestart`/`pretest`/`prebuild` on a clone that has
// no node_modules yet. It installs npm dependencies when the lockfile changed since the last
// install, and with --services fetches what the local Kafka and Elasticsearch need and
// builds the local kube-apiserver and CoreDNS.
'use strict';
const { createHash } = require('node:crypto');
const { existsSync, readFileSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');
const { spawnSync } = require('node:child_process');

const root = join(__dirname, '..');
const args = new Set(process.argv.slice(2));
const all = args.size === 0;

function run(cmd, cmdArgs) {
  const result = spawnSync(cmd, cmdArgs, { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) {
    process.stderr.write(
      `bootstrap: '${cmd} ${cmdArgs.join(' ')}' failed (exit ${result.status})\n`,
    );
    process.exit(result.status ?? 1);
  }
}

function ensureNodeVersion() {
  const major = Number(process.versions.node.split('.')[0]);
  if (major < 20) {
    process.stderr.write(
      `bootstrap: dnsflow needs Node.js >= 20, found ${process.versions.node}\n`,
    );
    process.exit(1);
  }
}

function ensureDeps() {
  const lock = join(root, 'package-lock.json');
  const stamp = join(root, 'node_modules', '.dnsflow-install-stamp');
  const want = existsSync(lock)
    ? createHash('sha256')
        .update(readFileSync(lock))
        .update(readFileSync(join(root, 'package.json')))
        .digest('hex')
    : 'no-lockfile';
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === want) return;
  // `npm ci` reproduces the lockfile exactly; without a lockfile fall back to install.
  run(
    'npm',
    existsSync(lock) ? ['ci', '--no-audit', '--no-fund'] : ['install', '--no-audit', '--no-fund'],
  );
  writeFileSync(stamp, want);
}

ensureNodeVersion();
if (all || args.has('--deps')) run('bash', ['scripts/system-deps.sh']); // native addons build in npm ci
if (all || args.has('--deps')) ensureDeps();
if (all || args.has('--services')) run('bash', ['scripts/services.sh', 'install', 'all']);
// A separate run so the kube-apiserver build (minutes when Go's caches are cold) shows as
// its own step in CI logs.
if (all || args.has('--services')) run('bash', ['scripts/services.sh', 'install', 'k8s']);
// CoreDNS is not a service (tests start it), but building it here keeps that out of a test's time.
if (all || args.has('--services')) run('bash', ['scripts/services.sh', 'install', 'coredns']);
