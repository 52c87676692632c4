#!/usr/bin/env node
// Offline throughput benchmark of the collector (not a test; run on purpose):
//
//   npm run build && node scripts/bench/collector-offline.js [--packets 1000000] [--runs 3]
//                                                            [--profile] [--no-baseline]
//   (or: npm run bench)
//
// 1. Generates once, deterministically, a classic pcap (Ethernet) of --packets frames of
//    cluster DNS traffic, cached under $TMPDIR/dnsflow-bench: thousands of IPv4 and IPv6
//    clients asking kube-dns, NodeLocal DNSCache and an upstream resolver for A, AAAA,
//    PTR, SRV and TXT records; responses with 1-4 answers (sometimes behind a CNAME),
//    NXDOMAIN with an SOA for search-list expansions, some SERVFAIL, some never answered,
//    EDNS on part of the queries, and a few transactions over TCP with their handshake.
// 2. Measures dnsflow on one core (taskset -c 0, in a child process): read the file,
//    decode, pair, Avro-encode every record; a warm-up pass, then --runs timed passes,
//    median reported as packets/s and transactions/s.
// 3. Baseline, same file, same core: tshark -r FILE -Y dns -T fields -e dns.qry.name,
//    output to /dev/null (tshark is installed with apt-get when missing).
// Prints the command, the date, the load average, the figures, the baseline and the ratio.
// Both sides are measured in wall time and in CPU time (user + system of the process and
// its threads): on a machine other jobs share, the core is not all theirs, and packets per
// CPU-second is what one core does; on an idle machine the two agree.
'use strict';
const { Buffer } = require('node:buffer');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { createRng } = require('../fuzz-collector');

const root = path.join(__dirname, '..', '..');
const GENERATOR_VERSION = 1;
const TARGET_PACKETS_PER_SECOND = 200_000;

const argv = process.argv.slice(2);
const flag = (name) => argv.includes(`--${name}`);
const option = (name, dflt) => {
  const i = argv.indexOf(`--${name}`);
  if (i < 0) return dflt;
  const n = Number(argv[i + 1]);
  if (!Number.isInteger(n) || n <= 0) {
    console.error(`collector-offline: --${name} needs a positive integer, got ${argv[i + 1]}`);
    process.exit(2);
  }
  return n;
};

// ---------------------------------------------------------------------------------------
// Traffic generation

/** Ones' complement sum of 16-bit words (RFC 1071), folded, not yet inverted. */
function sum16(buf, start, end, initial = 0) {
  let sum = initial;
  for (let i = start; i + 1 < end; i += 2) sum += buf.readUInt16BE(i);
  if ((end - start) % 2 === 1) sum += buf[end - 1] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

const ETH_IPV4 = Buffer.from('0800', 'hex');
const ETH_IPV6 = Buffer.from('86dd', 'hex');

/** Ethernet + IPv4/IPv6 + UDP/TCP around `payload`, with valid checksums. */
function packet(src, dst, proto, transportHeader, payload) {
  const v6 = src.length === 16;
  const l4 = Buffer.concat([transportHeader, payload]);
  // The pseudo-header sum (RFC 768, RFC 8200 §8.1) for the transport checksum.
  let pseudo = sum16(src, 0, src.length);
  pseudo = sum16(dst, 0, dst.length, pseudo);
  pseudo += proto + l4.length;
  const csOffset = proto === 17 ? 6 : 16;
  l4.writeUInt16BE(0, csOffset);
  const cs = ~sum16(l4, 0, l4.length, pseudo) & 0xffff;
  l4.writeUInt16BE(cs === 0 && proto === 17 ? 0xffff : cs, csOffset);
  const macs = Buffer.from(v6 ? '02000000000a02000000000b' : '02000000000102000000000b', 'hex');
  let ip;
  if (v6) {
    // Version 6, no traffic class or flow label, payload length, next header, hop limit.
    const fixed = [0x60, 0, 0, 0, l4.length >> 8, l4.length & 0xff, proto, 64];
    ip = Buffer.concat([Buffer.from(fixed), src, dst]);
  } else {
    ip = Buffer.alloc(20);
    ip[0] = 0x45;
    ip.writeUInt16BE(20 + l4.length, 2);
    ip.writeUInt16BE(0x4000, 6); // DF
    ip[8] = 64;
    ip[9] = proto;
    src.copy(ip, 12);
    dst.copy(ip, 16);
    ip.writeUInt16BE(~sum16(ip, 0, 20) & 0xffff, 10);
  }
  return Buffer.concat([macs, v6 ? ETH_IPV6 : ETH_IPV4, ip, l4]);
}

function udpHeader(sport, dport, payloadBytes) {
  const h = Buffer.alloc(8);
  h.writeUInt16BE(sport, 0);
  h.writeUInt16BE(dport, 2);
  h.writeUInt16BE(8 + payloadBytes, 4);
  return h;
}

function tcpHeader(sport, dport, seq, ack, flags) {
  const h = Buffer.alloc(20);
  h.writeUInt16BE(sport, 0);
  h.writeUInt16BE(dport, 2);
  h.writeUInt32BE(seq >>> 0, 4);
  h.writeUInt32BE(ack >>> 0, 8);
  h[12] = 0x50;
  h[13] = flags;
  h.writeUInt16BE(65535, 14);
  return h;
}

/** A min-heap of frames by time, so responses interleave with later queries. */
class FrameQueue {
  constructor() {
    this.items = [];
  }
  get size() {
    return this.items.length;
  }
  push(tsUs, data) {
    const a = this.items;
    a.push({ tsUs, data });
    for (let i = a.length - 1; i > 0;) {
      const p = (i - 1) >> 1;
      if (a[p].tsUs <= a[i].tsUs) break;
      [a[p], a[i]] = [a[i], a[p]];
      i = p;
    }
  }
  peekTs() {
    return this.items[0]?.tsUs ?? Infinity;
  }
  pop() {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0) {
      a[0] = last;
      for (let i = 0; ;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && a[l].tsUs < a[m].tsUs) m = l;
        if (r < a.length && a[r].tsUs < a[m].tsUs) m = r;
        if (m === i) break;
        [a[m], a[i]] = [a[i], a[m]];
        i = m;
      }
    }
    return top;
  }
}

/** Writes a classic little-endian microsecond pcap (LINKTYPE_ETHERNET) in large chunks. */
class PcapWriter {
  constructor(file) {
    this.fd = fs.openSync(file, 'w');
    this.parts = [];
    this.bytes = 0;
    const h = Buffer.alloc(24);
    h.writeUInt32LE(0xa1b2c3d4, 0);
    h.writeUInt16LE(2, 4);
    h.writeUInt16LE(4, 6);
    h.writeUInt32LE(65535, 16);
    h.writeUInt32LE(1, 20);
    fs.writeSync(this.fd, h);
  }
  write(tsUs, data) {
    const h = Buffer.alloc(16);
    h.writeUInt32LE(Math.floor(tsUs / 1e6), 0);
    h.writeUInt32LE(tsUs % 1e6, 4);
    h.writeUInt32LE(data.length, 8);
    h.writeUInt32LE(data.length, 12);
    this.parts.push(h, data);
    this.bytes += 16 + data.length;
    if (this.bytes > 8 << 20) this.flush();
  }
  flush() {
    fs.writeSync(this.fd, Buffer.concat(this.parts));
    this.parts = [];
    this.bytes = 0;
  }
  close() {
    this.flush();
    fs.closeSync(this.fd);
  }
}

/**
 * Writes `packets` frames of generated cluster DNS traffic to `file`. Everything comes
 * from one seeded PRNG, so the same arguments give the same bytes.
 */
function generate(file, packets, seed) {
  const dnsPacket = require('dns-packet');
  const rng = createRng(seed);
  const weighted = (pairs) => {
    const table = pairs.flatMap(([v, w]) => Array(w).fill(v));
    return () => rng.pick(table);
  };
  const v4 = (a, b, c, d) => Buffer.from([a, b, c, d]);
  const v6 = (tail) => {
    const b = Buffer.alloc(16);
    b.writeUInt32BE(0xfd000244, 0);
    b.writeUInt32BE(tail, 12);
    return b;
  };
  const clients = [
    ...Array.from({ length: 6000 }, (_, i) => v4(10, 244, i >> 8, i & 0xff || 1)),
    ...Array.from({ length: 600 }, (_, i) => v6(0x100 + i)),
  ];
  const kubeDns = v4(10, 96, 0, 10);
  const nodeLocal = v4(169, 254, 20, 10);
  const upstream = v4(10, 0, 0, 2);
  const kubeDns6 = v6(0xa);
  const serverFor = (client) =>
    client.length === 16
      ? kubeDns6
      : weighted([
          [kubeDns, 7],
          [nodeLocal, 2],
          [upstream, 1],
        ])();
  const services = Array.from({ length: 400 }, (_, i) => `svc-${i}.ns-${i % 25}.svc.cluster.local`);
  const external = Array.from({ length: 3000 }, (_, i) => `host${i}.site${i % 700}.example.com`);
  const expansions = external.slice(0, 800).map((n, i) => `${n}.ns-${i % 25}.svc.cluster.local`);
  const qtype = weighted([
    ['A', 50],
    ['AAAA', 30],
    ['PTR', 10],
    ['SRV', 7],
    ['TXT', 3],
  ]);
  const outcome = weighted([
    ['answer', 85],
    ['nxdomain', 10],
    ['servfail', 1],
    ['none', 4],
  ]);
  const addr4 = () => `10.${rng.int(256)}.${rng.int(256)}.${1 + rng.int(254)}`;
  const addr6 = () => `2001:db8::${rng.int(65536).toString(16)}:${rng.int(65536).toString(16)}`;
  const soa = {
    name: 'cluster.local',
    type: 'SOA',
    ttl: 30,
    data: {
      mname: 'ns.dns.cluster.local',
      rname: 'hostmaster.cluster.local',
      serial: 1700000000,
      refresh: 7200,
      retry: 1800,
      expire: 86400,
      minimum: 30,
    },
  };
  const answersFor = (name, type) => {
    const n = 1 + rng.int(4);
    const out = [];
    let owner = name;
    if ((type === 'A' || type === 'AAAA') && rng.chance(0.2)) {
      const target = `edge${rng.int(50)}.cdn.example.net`;
      out.push({ name, type: 'CNAME', ttl: 300, data: target });
      owner = target;
    }
    for (let i = 0; i < n; i++) {
      if (type === 'A') out.push({ name: owner, type, ttl: 30, data: addr4() });
      else if (type === 'AAAA') out.push({ name: owner, type, ttl: 30, data: addr6() });
      else if (type === 'PTR') {
        out.push({ name, type, ttl: 30, data: rng.pick(services) });
        break;
      } else if (type === 'SRV') {
        const target = `pod-${rng.int(1000)}.${name.replace(/^_[^.]+\._[^.]+\./, '')}`;
        out.push({
          name,
          type,
          ttl: 30,
          data: { priority: 0, weight: 10 * (1 + rng.int(9)), port: 8080, target },
        });
      } else {
        out.push({ name, type: 'TXT', ttl: 300, data: [`v=spf1 include:${name} ~all`] });
        break;
      }
    }
    return out;
  };
  const questionName = (type, result) => {
    if (result === 'nxdomain') return rng.pick(expansions);
    if (type === 'PTR') {
      return `${1 + rng.int(254)}.${rng.int(256)}.244.10.in-addr.arpa`;
    }
    if (type === 'SRV') return `_http._tcp.${rng.pick(services)}`;
    return rng.chance(0.6) ? rng.pick(services) : rng.pick(external);
  };

  const tmp = `${file}.tmp-${process.pid}`;
  const out = new PcapWriter(tmp);
  const queue = new FrameQueue();
  let tsUs = 1_700_000_000_000_000;
  let written = 0;
  let transactions = 0;
  let tcpTransactions = 0;
  const emitUntil = (limitUs) => {
    while (queue.size > 0 && queue.peekTs() <= limitUs && written < packets) {
      const f = queue.pop();
      out.write(f.tsUs, f.data);
      written++;
    }
  };
  while (written < packets) {
    tsUs += 1 + rng.int(200); // about 10,000 transactions per second
    emitUntil(tsUs);
    if (written >= packets) break;
    transactions++;
    const client = rng.pick(clients);
    const server = serverFor(client);
    const sport = 10000 + rng.int(55000);
    const id = rng.int(65536);
    const type = qtype();
    const result = outcome();
    const name = questionName(type, result);
    const edns = rng.chance(0.4)
      ? [{ type: 'OPT', name: '.', udpPayloadSize: 1232, flags: 0, options: [] }]
      : [];
    const query = dnsPacket.encode({
      type: 'query',
      id,
      flags: dnsPacket.RECURSION_DESIRED,
      questions: [{ type, class: 'IN', name }],
      additionals: edns,
    });
    let response = null;
    if (result !== 'none') {
      const rcode = result === 'nxdomain' ? 3 : result === 'servfail' ? 2 : 0;
      response = dnsPacket.encode({
        type: 'response',
        id,
        flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE | rcode,
        questions: [{ type, class: 'IN', name }],
        answers: rcode === 0 ? answersFor(name, type) : [],
        authorities: rcode === 3 ? [soa] : [],
        additionals: edns,
      });
    }
    const latencyUs = 80 + Math.floor(rng.int(1000) ** 2 / 50); // mostly fast, a long tail
    if (rng.chance(0.005) && response !== null) {
      // DNS over TCP (RFC 7766): handshake, length-prefixed query and response, close.
      tcpTransactions++;
      const cs = rng.next();
      const ss = rng.next();
      const pre = (m) => Buffer.concat([Buffer.from([m.length >> 8, m.length & 0xff]), m]);
      const q = pre(query);
      const r = pre(response);
      const t = tsUs;
      const c2s = (seq, ack, flags, data, at) =>
        queue.push(at, packet(client, server, 6, tcpHeader(sport, 53, seq, ack, flags), data));
      const s2c = (seq, ack, flags, data, at) =>
        queue.push(at, packet(server, client, 6, tcpHeader(53, sport, seq, ack, flags), data));
      const none = Buffer.alloc(0);
      c2s(cs, 0, 0x02, none, t);
      s2c(ss, cs + 1, 0x12, none, t + 40);
      c2s(cs + 1, ss + 1, 0x10, none, t + 80);
      c2s(cs + 1, ss + 1, 0x18, q, t + 81);
      s2c(ss + 1, cs + 1 + q.length, 0x18, r, t + 81 + latencyUs);
      c2s(cs + 1 + q.length, ss + 1 + r.length, 0x11, none, t + 120 + latencyUs);
      s2c(ss + 1 + r.length, cs + 2 + q.length, 0x11, none, t + 160 + latencyUs);
      continue;
    }
    queue.push(tsUs, packet(client, server, 17, udpHeader(sport, 53, query.length), query));
    if (response !== null) {
      queue.push(
        tsUs + latencyUs,
        packet(server, client, 17, udpHeader(53, sport, response.length), response),
      );
    }
  }
  emitUntil(Infinity);
  out.close();
  fs.renameSync(tmp, file);
  return { transactions, tcpTransactions };
}

// ---------------------------------------------------------------------------------------
// Measurement (child process, one core)

/** One pass over the file: read, decode, pair, encode. Stops after `limit` frames. */
async function pass(file, limit) {
  const {
    createPipeline,
    readCaptureBatches,
    collectorConfigSchema,
    RecordEncoder,
  } = require('@dnsflow/collector');
  const { loadConfig } = require('@dnsflow/runtime');
  const { createCodec } = require('@dnsflow/schema');
  const config = loadConfig(collectorConfigSchema, { flags: ['--node=bench'] });
  // The collector's own encoder (what `dnsflow collect` publishes).
  const encoder = new RecordEncoder(createCodec('DnsTransaction'));
  let transactions = 0;
  let avroBytes = 0;
  const pipeline = createPipeline(config, {
    onTransaction: (tx) => {
      avroBytes += encoder.encode(tx).length;
      transactions++;
    },
  });
  let frames = 0;
  const cpuBefore = process.cpuUsage();
  const started = process.hrtime.bigint();
  read: for await (const batch of readCaptureBatches(file)) {
    for (const frame of batch) {
      pipeline.frame(frame);
      if (++frames >= limit) break read;
    }
  }
  pipeline.finish();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const cpu = process.cpuUsage(cpuBefore);
  return { frames, transactions, avroBytes, seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
}

/**
 * Cumulative stages over the whole file, to see where the time goes: reading alone,
 * then packet decoding, then DNS decoding of each message, then the pipeline (decode +
 * pair + build records), then the pipeline with Avro encoding. CPU seconds per stage, the
 * fastest of three interleaved rounds: the least disturbed by whatever else the machine runs.
 */
async function stages(file) {
  const collector = require('@dnsflow/collector');
  const { loadConfig } = require('@dnsflow/runtime');
  const { createCodec } = require('@dnsflow/schema');
  const config = loadConfig(collector.collectorConfigSchema, { flags: ['--node=bench'] });
  const encoder = new collector.RecordEncoder(createCodec('DnsTransaction'));
  // CPU seconds (user + system): what the stage costs the core, whatever else runs.
  const time = async (perFrame, end = () => undefined) => {
    const before = process.cpuUsage();
    for await (const batch of collector.readCaptureBatches(file)) {
      for (const frame of batch) perFrame(frame);
    }
    end();
    const used = process.cpuUsage(before);
    return (used.user + used.system) / 1e6;
  };
  const decoderOnly = () => collector.createPacketDecoder({ drops: { drop: () => undefined } });
  const out = {};
  const keep = (name, seconds) => (out[name] = Math.min(out[name] ?? Infinity, seconds));
  const run = async () => {
    keep('read', await time(() => undefined));
    const d1 = decoderOnly();
    keep('packetDecode', await time((f) => d1.decode(f)));
    const d2 = decoderOnly();
    const dns = (f) => {
      for (const s of d2.decode(f)) collector.decodeMessage(s.payload);
    };
    keep('dnsDecode', await time(dns));
    const p1 = collector.createPipeline(config, { onTransaction: () => undefined });
    keep(
      'pairing',
      await time(
        (f) => p1.frame(f),
        () => p1.finish(),
      ),
    );
    const p2 = collector.createPipeline(config, { onTransaction: (tx) => encoder.encode(tx) });
    keep(
      'avro',
      await time(
        (f) => p2.frame(f),
        () => p2.finish(),
      ),
    );
  };
  await run(); // warm-up, then forgotten
  for (const name of Object.keys(out)) delete out[name];
  for (let round = 0; round < 3; round++) await run();
  process.stdout.write(`${JSON.stringify({ stages: out })}\n`);
}

async function measure(file, runs) {
  // Warm-up: lets V8 optimise the hot functions before anything is timed.
  await pass(file, 200_000);
  const results = [];
  for (let i = 0; i < runs; i++) results.push(await pass(file, Infinity));
  const peakRss = process.memoryUsage().rss;
  process.stdout.write(`${JSON.stringify({ results, peakRss })}\n`);
}

// ---------------------------------------------------------------------------------------
// Driver

function have(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

/** Installs tshark with apt-get when it is missing; idempotent. */
function ensureTshark() {
  if (have('tshark')) return true;
  console.log('installing tshark (apt-get) ...');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () =>
    spawnSync('apt-get', ['install', '-y', '-q', '--no-install-recommends', 'tshark'], {
      env,
      stdio: 'ignore',
    }).status === 0;
  if (!install()) {
    spawnSync('apt-get', ['update', '-q'], { env, stdio: 'ignore' });
    install();
  }
  return have('tshark');
}

/** `cmd` pinned to CPU 0 when taskset exists, so both sides get the same single core. */
function pinned(cmd, args) {
  return have('taskset') ? ['taskset', ['-c', '0', cmd, ...args]] : [cmd, args];
}

function median(values) {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Top functions by self time of a V8 .cpuprofile. */
function summariseProfile(file, top = 20) {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8'));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  for (const id of profile.samples) {
    const n = byId.get(id);
    const f = n.callFrame;
    const where = f.url
      ? `${path.relative(root, f.url.replace('file://', ''))}:${f.lineNumber + 1}`
      : '';
    const key = `${f.functionName || '(anonymous)'} ${where}`.trim();
    self.set(key, (self.get(key) ?? 0) + 1);
  }
  const total = profile.samples.length;
  return [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([key, count]) => `  ${((100 * count) / total).toFixed(1).padStart(5)}%  ${key}`);
}

async function main() {
  if (argv[0] === '--measure') return measure(argv[1], Number(argv[2]));
  if (argv[0] === '--measure-stages') return stages(argv[1]);
  if (!fs.existsSync(path.join(root, 'packages/collector/dist/index.js'))) {
    console.error('collector-offline: packages are not built; run `npm run build` first');
    process.exit(2);
  }
  const packets = option('packets', 1_000_000);
  const runs = option('runs', 3);
  const seed = option('seed', 1);
  const cacheDir = path.join(process.env.DNSFLOW_BENCH_CACHE || os.tmpdir(), 'dnsflow-bench');
  fs.mkdirSync(cacheDir, { recursive: true });
  const file = path.join(cacheDir, `dns-${packets}-s${seed}-v${GENERATOR_VERSION}.pcap`);
  const command = `node scripts/bench/collector-offline.js ${argv.join(' ')}`.trim();
  console.log(`command: ${command}`);
  console.log(`date: ${new Date().toISOString()}`);
  console.log(
    `load average before: ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  console.log(
    `machine: ${os.cpus().length} x ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, node ${process.version}`,
  );
  if (!fs.existsSync(file)) {
    console.log(`generating ${packets} packets into ${file} ...`);
    const t = Date.now();
    const g = generate(file, packets, seed);
    console.log(
      `  ${g.transactions} transactions (${g.tcpTransactions} over TCP) in ${((Date.now() - t) / 1000).toFixed(1)} s`,
    );
  }
  const fileBytes = fs.statSync(file).size;
  console.log(`capture: ${file} (${(fileBytes / 2 ** 20).toFixed(1)} MiB, cached)`);

  const nodeArgs = flag('profile') ? ['--cpu-prof', `--cpu-prof-dir=${cacheDir}`] : [];
  const [cmd, args] = pinned(process.execPath, [
    ...nodeArgs,
    module.filename,
    '--measure',
    file,
    String(runs),
  ]);
  const before = new Set(fs.readdirSync(cacheDir));
  const child = spawnSync(cmd, args, { cwd: root, encoding: 'utf8', maxBuffer: 1 << 24 });
  if (child.status !== 0) {
    console.error(child.stderr);
    throw new Error(`measurement failed (exit ${child.status})`);
  }
  const { results, peakRss } = JSON.parse(child.stdout.trim().split('\n').pop());
  const frames = results[0].frames;
  const pps = median(results.map((r) => r.frames / r.seconds));
  const tps = median(results.map((r) => r.transactions / r.seconds));
  const cpuPps = median(results.map((r) => r.frames / r.cpuSeconds));
  console.log(
    `dnsflow (decode + pair + Avro encode, 1 core): ${frames} packets, ${results[0].transactions} transactions, ` +
      `${(results[0].avroBytes / 2 ** 20).toFixed(1)} MiB Avro, peak RSS ${(peakRss / 2 ** 20).toFixed(0)} MiB`,
  );
  for (const r of results) {
    console.log(
      `  run: ${r.seconds.toFixed(2)} s (CPU ${r.cpuSeconds.toFixed(2)} s), ${Math.round(r.frames / r.seconds)} packets/s, ` +
        `${Math.round(r.transactions / r.seconds)} transactions/s, ${Math.round(r.frames / r.cpuSeconds)} packets per CPU-second`,
    );
  }
  console.log(
    `dnsflow: ${Math.round(pps)} packets/s, ${Math.round(tps)} transactions/s, ` +
      `${Math.round(cpuPps)} packets per CPU-second (median of ${runs})`,
  );
  if (flag('profile')) {
    const prof = fs.readdirSync(cacheDir).find((f) => f.endsWith('.cpuprofile') && !before.has(f));
    if (prof) {
      console.log(`profile: ${path.join(cacheDir, prof)} (self time, warm-up and all runs)`);
      for (const line of summariseProfile(path.join(cacheDir, prof))) console.log(line);
    }
  }

  if (flag('stages')) {
    const [scmd, sargs] = pinned(process.execPath, [module.filename, '--measure-stages', file]);
    const st = spawnSync(scmd, sargs, { cwd: root, encoding: 'utf8', maxBuffer: 1 << 24 });
    if (st.status !== 0) throw new Error(`stage measurement failed: ${st.stderr}`);
    const t = JSON.parse(st.stdout.trim().split('\n').pop()).stages;
    const us = (seconds) => ((seconds * 1e6) / frames).toFixed(2).padStart(6);
    console.log('stages (cumulative; CPU microseconds per packet, and the step each adds):');
    const rows = [
      ['read pcap (readCaptureBatches)', t.read, 0],
      ['+ link/IP/UDP/TCP decode', t.packetDecode, t.read],
      ['+ DNS decode (decodeMessage)', t.dnsDecode, t.packetDecode],
      ['pipeline: + pairing and records', t.pairing, t.dnsDecode],
      ['+ Avro encode', t.avro, t.pairing],
    ];
    for (const [label, total, before] of rows) {
      console.log(
        `  ${label.padEnd(34)} ${us(total)} us  (+${us(total - before)} us)  ${Math.round(frames / total)} packets per CPU-second`,
      );
    }
  }

  let ratio = null;
  if (!flag('no-baseline')) {
    if (!ensureTshark()) {
      console.log('baseline: tshark could not be installed; no ratio');
    } else {
      const tsharkArgs = ['-r', file, '-Y', 'dns', '-T', 'fields', '-e', 'dns.qry.name'];
      const version = spawnSync('tshark', ['--version'], { encoding: 'utf8' }).stdout.split(
        '\n',
      )[0];
      const [tcmd, targs] = pinned('tshark', tsharkArgs);
      // bash's `times` gives the CPU time of the children it ran: tshark's.
      const quote = (a) => `'${a.replace(/'/g, `'\\''`)}'`;
      const script = `${[tcmd, ...targs].map(quote).join(' ')} > /dev/null; status=$?; times; exit $status`;
      const started = process.hrtime.bigint();
      const t = spawnSync('bash', ['-c', script], { encoding: 'utf8' });
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      if (t.status !== 0) throw new Error(`tshark failed (exit ${t.status}): ${t.stderr}`);
      const clock = (text) => {
        const m = /^(\d+)m([\d.]+)s$/.exec(text);
        return m ? Number(m[1]) * 60 + Number(m[2]) : NaN;
      };
      const [user, system] = (t.stdout.trim().split('\n').pop() ?? '').split(/\s+/).map(clock);
      const cpuSeconds = user + system;
      const tpps = frames / seconds;
      const tCpuPps = frames / cpuSeconds;
      ratio = pps / tpps;
      console.log(`baseline: ${tcmd} ${targs.join(' ')} > /dev/null`);
      console.log(
        `  ${version}: ${seconds.toFixed(2)} s (CPU ${cpuSeconds.toFixed(2)} s), ${Math.round(tpps)} packets/s, ` +
          `${Math.round(tCpuPps)} packets per CPU-second`,
      );
      console.log(
        `ratio (dnsflow / tshark): ${ratio.toFixed(2)} in packets/s, ${(cpuPps / tCpuPps).toFixed(2)} in packets per CPU-second`,
      );
    }
  }
  console.log(
    `load average after: ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  const verdict = (value) => (value >= TARGET_PACKETS_PER_SECOND ? 'meets' : 'BELOW');
  console.log(
    `target ${TARGET_PACKETS_PER_SECOND} packets/s: ${verdict(pps)} in wall time, ${verdict(cpuPps)} per CPU-second`,
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
