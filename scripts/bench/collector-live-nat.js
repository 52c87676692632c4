#!/usr/bin/env node
// CPU per transaction of the collector capturing live on `any` where every DNS packet is
// seen several times, as on a Kubernetes node (not a test; run on purpose, as root):
//
//   node scripts/bench/collector-live-nat.js [--qps 3000] [--seconds 15] [--rounds 2]
//       [--before /path/to/an/older/collector/dist] [--prof dir] [-- collector flags]
//
// A client network namespace reaches a DNS server (dnsmasq) in another one through the
// root namespace: the query goes to a service address that the root namespace DNATs to
// the server, is routed onto a bridge and leaves through the server's veth. The
// collector captures on `any` in the root namespace and so sees each query three times
// (client veth before NAT, bridge and server veth after) and each response three times.
// dnsperf drives the client. The collector runs in its own process; its CPU time
// (utime+stime from /proc) divided by the transactions it emitted is the figure.
//
// With --before, each round runs that collector build first and then this checkout's
// (packages/collector/dist), back to back with the same traffic. The older build must
// resolve @dnsflow/* and node_modules, so put it under a directory whose node_modules
// links to this checkout's (e.g. /tmp/x/node_modules -> ./node_modules, build in /tmp/x/before).
//
// --prof writes a V8 CPU profile of each collector run into dir (node --cpu-prof).
//
// Needs: scripts/services.sh up kafka, dnsperf, dnsmasq, iproute2, iptables.
'use strict';
const { spawn, spawnSync, execFileSync } = require('node:child_process');
const { mkdtempSync, readFileSync, writeFileSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join, resolve } = require('node:path');

const root = join(__dirname, '..', '..');
const argValue = (name) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const arg = (name, dflt) => Number(argValue(name) ?? dflt);
const QPS = arg('qps', 3000);
const SECONDS = arg('seconds', 15);
const ROUNDS = arg('rounds', 2);
const PORT = 5397;
const METRICS_PORT = 9473;
const NS_CLIENT = 'dfcol-cli';
const NS_SERVER = 'dfcol-srv';
const SERVICE_IP = '10.96.79.10';
/** What follows `--` goes to both collectors, e.g. `-- --publish.compression=none`. */
const collectorFlags = process.argv.includes('--')
  ? process.argv.slice(process.argv.indexOf('--') + 1)
  : [];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// --- child: one collector on `any` from the given dist directory ---------------------
if (process.argv[2] === '--child') {
  const dist = resolve(process.argv[3]);
  const { collectorConfigSchema, liveSource, startCollector } = require(join(dist, 'index.js'));
  const { createLogger, loadConfig } = require('@dnsflow/runtime');
  const config = loadConfig(collectorConfigSchema, {
    env: {},
    flags: process.argv.slice(4),
  });
  const log = createLogger('collector', config.log);
  const source = liveSource(
    {
      interfaces: config.capture.interfaces,
      ports: config.capture.ports,
      metadataPorts: config.capture.metadataPorts,
      snaplenBytes: config.capture.snaplenBytes,
      bufferBytes: config.capture.bufferBytes,
      promiscuous: config.capture.promiscuous,
    },
    log,
  );
  startCollector(config, source, log).then((c) => {
    process.on('SIGTERM', () => void c.stop().then(() => process.exit(0)));
  });
  return;
}

function sh(cmd, args, ok = false) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0 && !ok) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

function netUp() {
  netDown();
  const ip = (...a) => sh('ip', a);
  const inNs = (ns, ...a) => sh('ip', ['netns', 'exec', ns, 'ip', ...a]);
  ip('netns', 'add', NS_CLIENT);
  ip('netns', 'add', NS_SERVER);
  ip('link', 'add', 'dfcol-c', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', NS_CLIENT);
  ip('link', 'add', 'dfcol-s', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', NS_SERVER);
  ip('link', 'add', 'dfcolbr0', 'type', 'bridge');
  ip('link', 'set', 'dfcol-s', 'master', 'dfcolbr0');
  ip('addr', 'add', '10.79.1.1/24', 'dev', 'dfcol-c');
  ip('addr', 'add', '10.79.2.1/24', 'dev', 'dfcolbr0');
  for (const dev of ['dfcol-c', 'dfcol-s', 'dfcolbr0']) ip('link', 'set', dev, 'up');
  for (const [ns, addr, gw] of [
    [NS_CLIENT, '10.79.1.2/24', '10.79.1.1'],
    [NS_SERVER, '10.79.2.2/24', '10.79.2.1'],
  ]) {
    inNs(ns, 'addr', 'add', addr, 'dev', 'eth0');
    inNs(ns, 'link', 'set', 'eth0', 'up');
    inNs(ns, 'link', 'set', 'lo', 'up');
    inNs(ns, 'route', 'add', 'default', 'via', gw);
  }
  sh('iptables', natRule('-A'));
}

function natRule(op) {
  return [
    '-t',
    'nat',
    op,
    'PREROUTING',
    '-d',
    SERVICE_IP,
    '-p',
    'udp',
    '--dport',
    String(PORT),
    '-j',
    'DNAT',
    '--to-destination',
    `10.79.2.2:${PORT}`,
  ];
}

function netDown() {
  sh('iptables', natRule('-D'), true);
  sh('ip', ['link', 'del', 'dfcol-c'], true);
  sh('ip', ['link', 'del', 'dfcol-s'], true);
  sh('ip', ['link', 'del', 'dfcolbr0'], true);
  sh('ip', ['netns', 'del', NS_CLIENT], true);
  sh('ip', ['netns', 'del', NS_SERVER], true);
}

function ticks(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]);
}

/** Sums of the scraped samples whose line starts with each prefix. */
async function metrics() {
  const text = await (await fetch(`http://127.0.0.1:${METRICS_PORT}/metrics`)).text();
  const lines = text.split('\n').filter((l) => !l.startsWith('#'));
  const total = (prefix) => {
    let n = 0;
    for (const l of lines) if (l.startsWith(prefix)) n += Number(l.slice(l.lastIndexOf(' ') + 1));
    return n;
  };
  return {
    packets: total('dnsflow_collector_packets_total'),
    transactions: total('dnsflow_collector_transactions_total'),
    answered: total('dnsflow_collector_transactions_total{status="ANSWERED"'),
    duplicates: total('dnsflow_collector_capture_duplicates_total'),
    kernelDrops: total('dnsflow_collector_kernel_dropped_packets'),
  };
}

async function runOnce(dist, tag, dir) {
  const prof = argValue('prof');
  const child = spawn(
    process.execPath,
    [
      ...(prof !== undefined ? ['--cpu-prof', `--cpu-prof-dir=${prof}`] : []),
      join(__dirname, 'collector-live-nat.js'),
      '--child',
      dist,
      '--capture.interfaces=any',
      `--capture.ports=${PORT}`,
      `--metrics.port=${METRICS_PORT}`,
      `--spool.dir=${join(dir, `spool-${tag}`)}`,
      `--publish.topic=bench-live-nat-${tag}-${Date.now()}`,
      '--log.level=warn',
      ...collectorFlags,
    ],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
  try {
    await sleep(3000);
    const t0 = ticks(child.pid);
    const m0 = await metrics();
    const perf = spawnSync(
      'ip',
      ['netns', 'exec', NS_CLIENT, 'dnsperf'].concat(
        `-s ${SERVICE_IP} -p ${PORT} -d ${join(dir, 'queries.txt')} -Q ${QPS} -l ${SECONDS} -c 8`.split(
          ' ',
        ),
      ),
      { encoding: 'utf8' },
    );
    if (perf.status !== 0) throw new Error(`dnsperf: ${perf.stdout} ${perf.stderr}`);
    // Past the duplicate window and the live clock margin: every transaction emitted.
    await sleep(2500);
    const t1 = ticks(child.pid);
    const m1 = await metrics();
    const tx = m1.transactions - m0.transactions;
    const cpuS = (t1 - t0) / 100;
    return {
      tag,
      transactions: tx,
      answered: m1.answered - m0.answered,
      packetsPerTx: (m1.packets - m0.packets) / Math.max(tx, 1),
      duplicates: m1.duplicates - m0.duplicates,
      kernelDrops: m1.kernelDrops - m0.kernelDrops,
      cpuS,
      usPerTx: (cpuS * 1e6) / Math.max(tx, 1),
    };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
}

async function main() {
  if (spawnSync('bash', [join(root, 'scripts', 'services.sh'), 'up', 'kafka']).status !== 0) {
    console.error('collector-live-nat: could not start Kafka');
    process.exit(2);
  }
  const before = argValue('before');
  const after = join(root, 'packages', 'collector', 'dist');
  const dir = mkdtempSync(join(tmpdir(), 'dnsflow-bench-nat-'));
  writeFileSync(
    join(dir, 'queries.txt'),
    Array.from({ length: 5000 }, (_, i) => `host-${i}.bench.test A`).join('\n') + '\n',
  );
  netUp();
  const dnsmasq = spawn(
    'ip',
    [
      'netns',
      'exec',
      NS_SERVER,
      'dnsmasq',
      '--keep-in-foreground',
      '--conf-file=/dev/null',
      '--no-resolv',
      '--no-hosts',
      '--bind-interfaces',
      '--listen-address=10.79.2.2',
      `--port=${PORT}`,
      '--pid-file=',
      '--address=/bench.test/10.0.0.1',
    ],
    { stdio: 'ignore' },
  );
  const results = [];
  try {
    await sleep(500);
    for (let round = 0; round < ROUNDS; round++) {
      if (before !== undefined) results.push(await runOnce(before, 'before', dir));
      results.push(await runOnce(after, 'after', dir));
    }
  } finally {
    dnsmasq.kill('SIGTERM');
    await sleep(300);
    netDown();
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(
    `collector on any, ${QPS} queries/s for ${SECONDS} s per run (${execFileSync('git', ['-C', root, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim()})`,
  );
  for (const r of results) {
    console.log(
      `${r.tag.padEnd(7)} ${String(r.transactions).padStart(7)} tx (${r.answered} answered), ` +
        `${r.packetsPerTx.toFixed(2)} packets/tx, ${r.duplicates} duplicates, ` +
        `kernel drops ${r.kernelDrops}, CPU ${r.cpuS.toFixed(2)} s = ${r.usPerTx.toFixed(1)} us/tx`,
    );
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
