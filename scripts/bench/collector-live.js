#!/usr/bin/env node
// Live capture benchmark of the collector (not a test; run on purpose, as root):
//
//   npm run build && node scripts/bench/collector-live.js [--qps 15000] [--seconds 20]
//
// 1. dnsperf drives dnsmasq on 127.0.0.1 at --qps queries/s (= 2 x qps DNS packets/s on
//    the wire); the collector (`dnsflow collect`, its own process) captures on lo and
//    publishes to the local Kafka. Baseline in the same run: tcpdump capturing the same
//    traffic to /dev/null. Printed: packets sent, captured, kernel drops (collector's
//    pcap stats), CPU and RSS of the collector and of tcpdump, and the ratios.
// 2. 100,000 queries to a port where nothing answers, with a pairing timeout longer than
//    the run: the collector holds them all pending; its RSS is printed (bound: 200 MB).
//
// Needs: scripts/services.sh up kafka, dnsperf/dnsmasq/tcpdump (scripts/system-deps.sh).
'use strict';
const { spawn, spawnSync } = require('node:child_process');
const { createSocket } = require('node:dgram');
const { mkdtempSync, readFileSync, writeFileSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');

const root = join(__dirname, '..', '..');
const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const QPS = arg('qps', 15000);
const SECONDS = arg('seconds', 20);
const PENDING = arg('pending', 100000);
const DNS_PORT = 5399;
const SILENT_PORT = 5398;
const METRICS_PORT = 9471;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function need(cmd) {
  if (spawnSync('sh', ['-c', `command -v ${cmd}`]).status !== 0) {
    console.error(`collector-live: ${cmd} missing; run bash scripts/system-deps.sh`);
    process.exit(2);
  }
}

/** utime+stime of a process in clock ticks (100/s on Linux) and RSS in MB. */
function usage(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  const rssPages = Number(fields[21]);
  return { ticks, rssMb: (rssPages * 4096) / 1024 / 1024 };
}

async function metrics() {
  const text = await (await fetch(`http://127.0.0.1:${METRICS_PORT}/metrics`)).text();
  const sum = (name) =>
    text
      .split('\n')
      .filter((l) => l.startsWith(name))
      .reduce((s, l) => s + Number(l.split(' ').pop()), 0);
  return {
    packets: sum('dnsflow_collector_packets_total'),
    kernelDrops: sum('dnsflow_collector_kernel_dropped_packets'),
    pending: sum('dnsflow_collector_pending_queries'),
    transactions: sum('dnsflow_collector_transactions_total'),
    published: sum('dnsflow_collector_published_total'),
    spooled: sum('dnsflow_collector_spooled_total'),
    heapUsedMb: sum('dnsflow_nodejs_heap_size_used_bytes') / 1024 / 1024,
    externalMb: sum('dnsflow_nodejs_external_memory_bytes') / 1024 / 1024,
  };
}

/** `dnsflow collect` on lo in its own process, so its CPU and RSS are its own. */
function startCollector(dir, tag) {
  return spawn(
    process.execPath,
    [
      join(root, 'packages', 'cli', 'bin', 'dnsflow.js'),
      'collect',
      '--capture.interfaces=lo',
      `--capture.ports=${DNS_PORT},${SILENT_PORT}`,
      `--metrics.port=${METRICS_PORT}`,
      `--spool.dir=${join(dir, `spool-${tag}`)}`,
      `--publish.topic=bench-live-${tag}-${Date.now()}`,
      '--pairing.timeoutMs=600000',
      `--pairing.maxPending=${PENDING + 10000}`,
      '--log.level=warn',
    ],
    {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, NODE_OPTIONS: process.env.COLLECTOR_NODE_OPTIONS ?? '' },
    },
  );
}

async function main() {
  for (const cmd of ['dnsperf', 'dnsmasq', 'tcpdump']) need(cmd);
  if (spawnSync('bash', [join(root, 'scripts', 'services.sh'), 'up', 'kafka']).status !== 0) {
    console.error('collector-live: could not start Kafka');
    process.exit(2);
  }
  const dir = mkdtempSync(join(tmpdir(), 'dnsflow-bench-live-'));
  const names = 5000;
  writeFileSync(
    join(dir, 'queries.txt'),
    Array.from({ length: names }, (_, i) => `host-${i}.bench.test A`).join('\n') + '\n',
  );
  const dnsmasq = spawn(
    'dnsmasq',
    [
      '--keep-in-foreground',
      '--conf-file=/dev/null',
      '--no-resolv',
      '--no-hosts',
      '--bind-interfaces',
      '--listen-address=127.0.0.1',
      `--port=${DNS_PORT}`,
      '--pid-file=',
      '--address=/bench.test/10.0.0.1',
    ],
    { stdio: 'ignore' },
  );
  let collector = startCollector(dir, 'run');
  const tcpdump = spawn(
    'tcpdump',
    ['-i', 'lo', '-n', '-w', '/dev/null', 'udp port', String(DNS_PORT)],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let tcpdumpErr = '';
  tcpdump.stderr.on('data', (d) => (tcpdumpErr += d));
  try {
    await sleep(3000);
    const c0 = usage(collector.pid);
    const t0 = usage(tcpdump.pid);
    const m0 = await metrics();
    const started = Date.now();
    const perf = spawnSync(
      'dnsperf',
      [
        '-s',
        '127.0.0.1',
        '-p',
        String(DNS_PORT),
        '-d',
        join(dir, 'queries.txt'),
        '-Q',
        String(QPS),
        '-l',
        String(SECONDS),
        '-c',
        '8',
      ],
      { encoding: 'utf8' },
    );
    const wallS = (Date.now() - started) / 1000;
    await sleep(1500);
    const c1 = usage(collector.pid);
    const t1 = usage(tcpdump.pid);
    const m1 = await metrics();
    const published = m1.published;
    const spooled = m1.spooled - m0.spooled;
    const sent = Number(/Queries sent:\s+(\d+)/.exec(perf.stdout)?.[1] ?? 0);
    const completed = Number(/Queries completed:\s+(\d+)/.exec(perf.stdout)?.[1] ?? 0);
    const packetsOnWire = sent + completed;
    const captured = m1.packets - m0.packets;
    const collectorCpu = (c1.ticks - c0.ticks) / 100 / wallS;
    const tcpdumpCpu = (t1.ticks - t0.ticks) / 100 / wallS;
    tcpdump.kill('SIGINT');
    await sleep(500);
    const tcpdumpStats = /(\d+) packets captured/.exec(tcpdumpErr)?.[1] ?? '?';
    const tcpdumpDrops = /(\d+) packets dropped by kernel/.exec(tcpdumpErr)?.[1] ?? '?';

    // Phase 2: queries nobody answers, all pending at once, in a fresh collector so its
    // RSS is that of the pending table, not of phase 1's garbage.
    collector.kill('SIGTERM');
    await new Promise((r) => collector.once('exit', r));
    collector = startCollector(dir, 'pending');
    // A socket that reads and never answers: to a closed port the kernel would answer
    // ICMP unreachable and dnsperf would give up.
    const blackhole = createSocket('udp4');
    blackhole.on('message', () => undefined);
    await new Promise((r) => blackhole.bind(SILENT_PORT, '127.0.0.1', r));
    await sleep(3000);
    const idle = usage(collector.pid);
    // Two dnsperf runs, each from its own source port: DNS ids repeat after 65,536
    // queries, and a repeated id on the same 4-tuple closes the earlier query.
    let silentSent = 0;
    for (let run = 0; run < 2; run++) {
      const silent = spawnSync(
        'dnsperf',
        [
          '-s',
          '127.0.0.1',
          '-p',
          String(SILENT_PORT),
          '-d',
          join(dir, 'queries.txt'),
          '-Q',
          '20000',
          '-q',
          '20000',
          '-n',
          String(Math.ceil(PENDING / names / 2)),
          '-t',
          '1',
          '-c',
          '8',
          // dnsperf reports every lost query on stdout; 100,000 lines would pass spawnSync's
          // buffer and cut the statistics.
          '-O',
          'suppress=timeout',
        ],
        { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
      );
      const n = Number(/Queries sent:\s+(\d+)/.exec(silent.stdout)?.[1] ?? 0);
      if (n === 0) console.error(silent.stdout, silent.stderr);
      silentSent += n;
    }
    blackhole.close();
    await sleep(2000);
    const m2 = await metrics();
    const c2 = usage(collector.pid);

    const rows = [
      ['date', new Date().toISOString().slice(0, 10)],
      ['command', `node scripts/bench/collector-live.js --qps ${QPS} --seconds ${SECONDS}`],
      ['offered', `${QPS} queries/s = ${2 * QPS} DNS packets/s for ${SECONDS} s`],
      [
        'on the wire',
        `${packetsOnWire} packets (${sent} queries, ${completed} responses), ${(packetsOnWire / wallS).toFixed(0)} packets/s`,
      ],
      [
        'collector captured',
        `${captured} packets, kernel drops ${m1.kernelDrops - m0.kernelDrops}, ratio ${(captured / packetsOnWire).toFixed(4)}`,
      ],
      [
        'published / spooled',
        `${published} records acknowledged by Kafka, ${spooled} spooled during the run`,
      ],
      ['tcpdump (baseline)', `${tcpdumpStats} packets, kernel drops ${tcpdumpDrops}`],
      [
        'collector CPU',
        `${(collectorCpu * 100).toFixed(1)}% of a core, RSS ${c1.rssMb.toFixed(0)} MB`,
      ],
      [
        'tcpdump CPU (baseline)',
        `${(tcpdumpCpu * 100).toFixed(1)}% of a core, RSS ${t1.rssMb.toFixed(0)} MB`,
      ],
      ['CPU ratio collector/tcpdump', (collectorCpu / Math.max(tcpdumpCpu, 0.001)).toFixed(1)],
      [
        'pending queries',
        `${m2.pending} after ${silentSent} unanswered queries; collector RSS ${c2.rssMb.toFixed(0)} MB (idle ${idle.rssMb.toFixed(0)} MB; bound 200 MB); V8 heap used ${m2.heapUsedMb.toFixed(0)} MB, external ${m2.externalMb.toFixed(0)} MB`,
      ],
    ];
    for (const [k, v] of rows) console.log(`${k.padEnd(28)} ${v}`);
    if (perf.status !== 0) console.error(perf.stdout, perf.stderr);
  } finally {
    collector.kill('SIGTERM');
    dnsmasq.kill('SIGTERM');
    tcpdump.kill('SIGTERM');
    await sleep(1000);
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
