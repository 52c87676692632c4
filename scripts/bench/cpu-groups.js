'use strict';
// CPU use of the machine's processes in named groups (the pipeline's stages, its servers),
// sampled from /proc: a benchmark prints where the cores went over an interval.
const { readdirSync, readFileSync } = require('node:fs');

const TICKS = 100; // USER_HZ on Linux

const GROUPS = [
  ['collector', (c) => c.includes('dnsflow.js') && /\scollect(\s|$)/.test(c)],
  ['enricher', (c) => c.includes('dnsflow.js') && /\senrich(\s|$)/.test(c)],
  ['indexer', (c) => c.includes('dnsflow.js') && /\sindex(\s|$)/.test(c)],
  ['elasticsearch', (c) => c.includes('org.elasticsearch')],
  ['kafka', (c) => c.includes('kafka.Kafka')],
  ['coredns', (c) => /(^|\/)coredns(-v[\d.]+)?\s/.test(c) || c.startsWith('dnsmasq')],
  ['dnsperf', (c) => /(^|\/)dnsperf\s/.test(c)],
  ['apiserver+etcd', (c) => c.includes('kube-apiserver') || /(^|\/)etcd\s/.test(c)],
];

/** Pids of the processes in a named group. */
function pidsOf(groupName) {
  const match = GROUPS.find(([name]) => name === groupName)?.[1];
  if (!match) throw new Error(`no process group ${groupName}`);
  const pids = [];
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      if (match(readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' '))) pids.push(pid);
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

function processTicks() {
  const byGroup = new Map();
  let other = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    let stat;
    let cmd;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
    } catch {
      continue;
    }
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]); // utime + stime
    const group = GROUPS.find(([, match]) => match(cmd))?.[0];
    if (group) byGroup.set(group, (byGroup.get(group) ?? 0) + ticks);
    else other += ticks;
  }
  return { byGroup, other };
}

/** Total busy and kernel ticks of the machine (all cores), from /proc/stat. */
function machineTicks() {
  const cpu = readFileSync('/proc/stat', 'utf8')
    .split('\n')[0]
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  const [user, nice, system, idle, iowait, irq, softirq, steal] = cpu;
  return {
    busy: user + nice + system + irq + softirq + steal,
    idle: idle + iowait,
    softirq: irq + softirq,
  };
}

/** Starts sampling; `stop()` returns each group's share of a core over the interval. */
function startCpuSampling() {
  const t0 = Date.now();
  const p0 = processTicks();
  const m0 = machineTicks();
  return {
    stop() {
      const seconds = (Date.now() - t0) / 1000;
      const p1 = processTicks();
      const m1 = machineTicks();
      const cores = {};
      for (const [name] of GROUPS) {
        cores[name] = ((p1.byGroup.get(name) ?? 0) - (p0.byGroup.get(name) ?? 0)) / TICKS / seconds;
      }
      cores.other = (p1.other - p0.other) / TICKS / seconds;
      cores.softirq = (m1.softirq - m0.softirq) / TICKS / seconds;
      cores.busy = (m1.busy - m0.busy) / TICKS / seconds;
      cores.idle = (m1.idle - m0.idle) / TICKS / seconds;
      return cores;
    },
  };
}

const formatCores = (cores) =>
  Object.entries(cores)
    .filter(([, v]) => v >= 0.005)
    .map(([k, v]) => `${k} ${v.toFixed(2)}`)
    .join(', ');

module.exports = { startCpuSampling, formatCores, pidsOf };
