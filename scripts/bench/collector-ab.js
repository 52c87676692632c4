#!/usr/bin/env node
// CPU time of the collector's live per-packet path, an older build against this checkout,
// interleaved in one process so both see the same machine (not a test; run on purpose):
//
//   node scripts/bench/collector-ab.js --before /path/to/older/collector/dist
//       [--frames 300000] [--copies 3] [--rounds 5]
//
// Frames come from the offline benchmark's capture (run collector-offline.js once to
// generate it). Each side gets what `dnsflow collect` does per packet: libpcap's copy into
// its one buffer, the capture's own copy when that build makes one, decode, pair, metrics,
// the record key and Avro. `--copies` hands each packet over that many times, as a node's
// `any` capture sees every packet on several interfaces. Both sides must produce the same
// Avro bytes and the same scraped metrics; the script says so or fails. The older build
// is set up as for collector-live-nat.js --before.
'use strict';
const { createHash } = require('node:crypto');
const { readdirSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join, resolve } = require('node:path');

const root = join(__dirname, '..', '..');
const options = Object.fromEntries(
  process.argv
    .slice(2)
    .flatMap((a, i, all) => (a.startsWith('--') ? [[a.slice(2), all[i + 1]]] : [])),
);
const FRAMES = Number(options.frames ?? 300_000);
const COPIES = Number(options.copies ?? 3);
const ROUNDS = Number(options.rounds ?? 5);
const before = options.before;
if (before === undefined) {
  console.error('collector-ab: --before <dist of the older build> is required');
  process.exit(2);
}

const { Registry } = require('prom-client');
const { loadConfig } = require('@dnsflow/runtime');
const { createCodec } = require('@dnsflow/schema');

async function loadFrames(collector) {
  const dir = join(tmpdir(), 'dnsflow-bench');
  const file = readdirSync(dir).find((f) => f.endsWith('.pcap'));
  if (file === undefined) throw new Error(`no capture in ${dir}: run collector-offline.js once`);
  const frames = [];
  for await (const batch of collector.readCaptureBatches(join(dir, file))) {
    for (const f of batch) {
      frames.push({ ...f, data: Buffer.from(f.data), iface: 'any' });
      if (frames.length >= FRAMES) return frames;
    }
  }
  return frames;
}

/** One pass over the frames with one build; CPU seconds and a digest of what it produced. */
async function pass(collector, frames, lends) {
  const config = loadConfig(collector.collectorConfigSchema, { flags: ['--node=bench'] });
  const registry = new Registry();
  const metrics = new collector.CollectorMetrics(registry, {
    dnsPrefix: 'dnsflow_',
    sourceContext: 'none',
  });
  const encoder = new collector.RecordEncoder(createCodec('DnsTransaction'));
  const hash = createHash('sha256');
  const keys = new Map();
  const pipeline = collector.createPipeline(config, {
    metrics,
    nowUs: () => 1,
    framesLent: lends,
    onTransaction: (tx) => {
      let key = keys.get(tx.client.ip);
      if (key === undefined) keys.set(tx.client.ip, (key = Buffer.from(tx.client.ip)));
      hash.update(key);
      hash.update(encoder.encode(tx));
    },
  });
  const shared = Buffer.alloc(65535);
  const started = process.cpuUsage();
  for (const f of frames) {
    for (let c = 0; c < COPIES; c++) {
      // libpcap's copy into its buffer, then the capture's (when it makes one).
      f.data.copy(shared);
      const view = shared.subarray(0, f.data.length);
      pipeline.frame({ ...f, data: lends ? view : Buffer.from(view) });
    }
  }
  pipeline.finish();
  const cpu = process.cpuUsage(started);
  const text = await registry.metrics();
  return {
    cpuS: (cpu.user + cpu.system) / 1e6,
    digest: hash.digest('hex').slice(0, 16),
    metrics: text,
  };
}

async function main() {
  const sides = [
    { tag: 'before', collector: require(resolve(before, 'index.js')), lends: false },
    {
      tag: 'after',
      collector: require(join(root, 'packages', 'collector', 'dist', 'index.js')),
      lends: true,
    },
  ];
  const frames = await loadFrames(sides[1].collector);
  const best = {};
  const outputs = {};
  for (let round = 0; round < ROUNDS; round++) {
    for (const side of round % 2 === 0 ? sides : [...sides].reverse()) {
      const r = await pass(side.collector, frames, side.lends);
      best[side.tag] = Math.min(best[side.tag] ?? Infinity, r.cpuS);
      outputs[side.tag] = r;
    }
  }
  const n = frames.length * COPIES;
  console.log(`${frames.length} frames x ${COPIES} copies, best of ${ROUNDS} rounds, CPU time`);
  for (const side of sides) {
    const s = best[side.tag];
    console.log(
      `${side.tag.padEnd(7)} ${s.toFixed(2)} s = ${((s * 1e6) / n).toFixed(2)} us per packet (records ${outputs[side.tag].digest})`,
    );
  }
  const same =
    outputs.before.digest === outputs.after.digest &&
    outputs.before.metrics === outputs.after.metrics;
  console.log(`after/before ${(best.after / best.before).toFixed(3)}; output identical: ${same}`);
  if (!same) process.exitCode = 1;
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
