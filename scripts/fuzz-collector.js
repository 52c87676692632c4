#!/usr/bin/env node
// Fuzzer of the collector's decode → DNS decode → pairing pipeline (not a test; run on
// purpose). packages/collector/test/fuzz.test.ts runs the same engine on fewer mutations.
//
//   npm run build && node --expose-gc scripts/fuzz-collector.js [--count 1000000] [--seed 1]
//   (or: npm run fuzz; FUZZ_COUNT / FUZZ_SEED / DNSFLOW_CORPUS work too)
//
// Every frame of every capture in the peer corpus is a seed input. Each mutation takes
// one, changes it with a seeded PRNG (bit flips, byte overwrites, truncation at a header
// or record boundary, tampered IP/UDP/TCP/DNS length fields, or a crafted DNS message:
// compression-pointer loops, deep pointer chains, labels over 63 bytes, counts of 65535)
// and feeds the result to one long-lived pipeline, so state (fragments, TCP streams,
// pending queries) builds up as it would on a hostile network. It checks that nothing
// throws, that every DNS message either decodes or becomes a MALFORMED record with a
// reason, that every record encodes as Avro, and that state stays under its bounds and
// the heap after GC does not grow. Exit 1 on any violation, with the input in hex.
//
// The engine is exported (runFuzz) with the collector, schema and prom-client modules
// injected, so the jest test runs it on the TypeScript sources and this script on dist/.
'use strict';
const { Buffer } = require('node:buffer');
const fs = require('node:fs');
const path = require('node:path');
const v8 = require('node:v8');
const vm = require('node:vm');

const DEFAULT_CORPUS = '/work/shared/corpus';
const MiB = 1024 * 1024;

// ---------------------------------------------------------------------------------------
// Deterministic randomness

/**
 * sfc32 seeded through splitmix32: small, fast, and the same sequence on every platform,
 * which Math.random is not; a failing seed must replay the same inputs.
 */
function createRng(seed) {
  let s = seed >>> 0;
  const split = () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = split();
  let b = split();
  let c = split();
  let d = split();
  const next = () => {
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) >>> 0;
    return t;
  };
  for (let i = 0; i < 12; i++) next();
  return {
    next,
    /** Integer in [0, n). */
    int: (n) => (n <= 0 ? 0 : Math.floor((next() / 4294967296) * n)),
    chance: (p) => next() / 4294967296 < p,
    pick: (list) => list[Math.floor((next() / 4294967296) * list.length)],
  };
}

// ---------------------------------------------------------------------------------------
// Where the layers of a seed frame are (offsets to aim mutations at)

const LINK = { NULL: 0, ETHERNET: 1, RAW: 101, LOOP: 108, SLL: 113, IPV4: 228, IPV6: 229 };
const SLL2 = 276;

/** Offset of the IP header for the link types the decoder reads, or -1. */
function ipOffset(linkType, data) {
  switch (linkType) {
    case LINK.ETHERNET: {
      let at = 12;
      while (at + 2 <= data.length) {
        const type = data.readUInt16BE(at);
        if (type === 0x8100 || type === 0x88a8 || type === 0x9100) at += 4;
        else return type === 0x0800 || type === 0x86dd ? at + 2 : -1;
      }
      return -1;
    }
    case LINK.SLL:
      return 16;
    case SLL2:
      return 20;
    case LINK.NULL:
    case LINK.LOOP:
      return 4;
    case LINK.RAW:
    case LINK.IPV4:
    case LINK.IPV6:
      return 0;
    default:
      return -1;
  }
}

/**
 * The layers of an unfragmented UDP or TCP packet: IP header, transport header and the
 * DNS message (after the 2-byte prefix on TCP). Null for anything else; such frames are
 * still mutated, only not at named offsets.
 */
function locateLayers(linkType, data) {
  const ip = ipOffset(linkType, data);
  if (ip < 0 || ip >= data.length) return null;
  const version = data[ip] >> 4;
  let proto;
  let l4;
  if (version === 4) {
    if (data.length < ip + 20) return null;
    const flags = data.readUInt16BE(ip + 6);
    if ((flags & 0x3fff) !== 0) return null; // a fragment
    proto = data[ip + 9];
    l4 = ip + (data[ip] & 0x0f) * 4;
  } else if (version === 6) {
    if (data.length < ip + 40) return null;
    proto = data[ip + 6];
    l4 = ip + 40;
  } else {
    return null;
  }
  if (proto === 17) {
    if (data.length < l4 + 8) return null;
    return { ip, version, proto, l4, l4Bytes: 8, prefix: -1, dns: l4 + 8 };
  }
  if (proto === 6) {
    if (data.length < l4 + 20) return null;
    const l4Bytes = (data[l4 + 12] >> 4) * 4;
    if (l4Bytes < 20 || data.length < l4 + l4Bytes) return null;
    const prefix = l4 + l4Bytes;
    return { ip, version, proto, l4, l4Bytes, prefix, dns: prefix + 2 };
  }
  return null;
}

/**
 * Offsets inside a DNS message where a cut is interesting: the header fields, each label
 * of the question, and the fields of the first records. Walks without decoding, so it
 * also works on messages a decoder would reject.
 */
function dnsBoundaries(data, dns, rdlengths) {
  const out = [];
  for (let i = 0; i <= 12; i++) out.push(dns + i);
  let at = dns + 12;
  const name = () => {
    while (at < data.length) {
      const len = data[at];
      out.push(at, at + 1);
      if (len === 0) return (at += 1);
      if ((len & 0xc0) === 0xc0) return (at += 2);
      at += 1 + len;
    }
    return at;
  };
  if (data.length < dns + 12) return out;
  const records = Math.min(8, data.readUInt16BE(dns + 6) + data.readUInt16BE(dns + 8));
  if (data.readUInt16BE(dns + 4) > 0) {
    name();
    out.push(at + 1, at + 2, at + 3, at + 4);
    at += 4;
  }
  for (let r = 0; r < records && at < data.length; r++) {
    name();
    for (const k of [2, 4, 8, 9, 10]) out.push(at + k);
    if (at + 10 > data.length) break;
    rdlengths.push(at + 8);
    const rdlength = data.readUInt16BE(at + 8);
    out.push(at + 10 + (rdlength >> 1), at + 10 + rdlength - 1);
    at += 10 + rdlength;
  }
  return out;
}

/** Interesting truncation points of a seed frame, computed once per seed. */
function truncationPoints(seed) {
  if (seed.cuts) return seed.cuts;
  const { data, layers } = seed;
  const cuts = [0, 1, 13, 14, data.length - 1, data.length - 2];
  if (layers) {
    const { ip, l4, l4Bytes, prefix, dns } = layers;
    cuts.push(ip, ip + 1, ip + 2, ip + 4, ip + 8, ip + 12, ip + 19, ip + 20, ip + 39, ip + 40);
    cuts.push(l4 - 1, l4, l4 + 2, l4 + 4, l4 + 6, l4 + 12, l4 + l4Bytes - 1, l4 + l4Bytes);
    if (prefix >= 0) cuts.push(prefix + 1, prefix + 2);
    seed.rdlengths = [];
    cuts.push(...dnsBoundaries(data, dns, seed.rdlengths));
  }
  seed.cuts = [...new Set(cuts)].filter((c) => c >= 0 && c < data.length).sort((x, y) => x - y);
  if (seed.cuts.length === 0) seed.cuts = [0];
  return seed.cuts;
}

// ---------------------------------------------------------------------------------------
// Crafted DNS messages (what a hostile peer sends on purpose)

const u16 = (n) => Buffer.from([(n >> 8) & 0xff, n & 0xff]);
const u32 = (n) => Buffer.from([(n >>> 24) & 0xff, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff]);

function header(id, flags, qd, an, ns, ar) {
  return Buffer.concat([u16(id), u16(flags), u16(qd), u16(an), u16(ns), u16(ar)]);
}

function labels(...parts) {
  return Buffer.concat([
    ...parts.map((p) => Buffer.concat([Buffer.from([p.length]), Buffer.from(p)])),
    Buffer.from([0]),
  ]);
}

const QUESTION_A = Buffer.concat([labels('fuzz', 'example'), u16(1), u16(1)]);
/** One resource record: owner bytes, type, class, TTL, RDATA (RDLENGTH from it or forced). */
function rr(owner, type, rdata, rdlength = rdata.length) {
  return Buffer.concat([owner, u16(type), u16(1), u32(60), u16(rdlength), rdata]);
}

/** The largest DNS message a UDP datagram over IPv4 can hold (65535 - 20 - 8). */
const MAX_UDP_DNS = 65507;

/**
 * A chain of compression pointers, each pointing at the one before it, ending at the
 * question name: decoding a name that points at its end follows every link. dns-packet
 * only accepts pointers to earlier bytes, so loops become chains as deep as the message.
 */
function pointerChain(start, links) {
  const out = Buffer.alloc(links * 2);
  for (let i = 0; i < links; i++) {
    const target = i === 0 ? 12 : start + (i - 1) * 2;
    out.writeUInt16BE(0xc000 | target, i * 2);
  }
  return out;
}

/** Builders of hostile messages; each takes the PRNG and a DNS id. */
const CRAFTED = {
  selfPointer: (rng, id) =>
    Buffer.concat([header(id, rng.int(2) << 15, 1, 0, 0, 0), u16(0xc00c), u16(1), u16(1)]),
  pointerLoop: (rng, id) =>
    // Two names pointing at each other, in the question and again in an answer.
    Buffer.concat([
      header(id, 0x8180, 1, 1, 0, 0),
      u16(0xc00e),
      u16(0xc00c),
      u16(1),
      u16(1),
      rr(u16(0xc00e), 5, u16(0xc00c)),
    ]),
  forwardPointer: (rng, id) =>
    Buffer.concat([
      header(id, 0x0100, 1, 0, 0, 0),
      u16(0xc000 | (13 + rng.int(0x3ff0))),
      u16(1),
      u16(1),
    ]),
  deepPointerChain: (rng, id) => {
    // Question, then one CNAME whose RDATA is the chain, then up to 256 records per
    // section (the decoder's cap) whose owners point at the end of the chain.
    // Mostly shallow chains; one in 32 as deep as a datagram allows. Decoding cost grows
    // with links x records, and the deep ones are few so the run keeps its pace.
    const deep = rng.chance(1 / 32);
    const links = deep ? 16000 + rng.int(4000) : 16 + rng.int(1000);
    const chainStart = 12 + QUESTION_A.length + 12;
    const chain = pointerChain(chainStart, links);
    const tip = u16(0xc000 | Math.min(0x3fff, chainStart + (links - 1) * 2));
    const perSection = deep ? 256 + rng.int(44) : 1 + rng.int(64);
    const parts = [
      header(id, 0x8180, 1, 65535, 65535, 65535),
      QUESTION_A,
      rr(u16(0xc00c), 5, chain),
    ];
    let size = parts.reduce((n, p) => n + p.length, 0);
    const each = rr(tip, 1, Buffer.from([10, 0, 0, 1]));
    for (let i = 0; i < perSection * 3 && size + each.length <= MAX_UDP_DNS; i++) {
      parts.push(each);
      size += each.length;
    }
    return Buffer.concat(parts);
  },
  longLabel: (rng, id) => {
    // Length bytes 64..191 are no label (0x40 is the obsolete extended type, 0x80 reserved).
    const len = 64 + rng.int(128);
    return Buffer.concat([
      header(id, 0x0100, 1, 0, 0, 0),
      Buffer.from([len]),
      Buffer.alloc(Math.min(len, 63), 0x61),
      Buffer.from([0]),
      u16(1),
      u16(1),
    ]);
  },
  longName: (rng, id) => {
    // 63-byte labels past the 255-byte name limit (RFC 1035 §2.3.4), in the question or
    // in an answer's RDATA.
    const count = 3 + rng.int(4);
    const name = labels(...Array.from({ length: count }, () => 'x'.repeat(63)));
    return rng.chance(0.5)
      ? Buffer.concat([header(id, 0x0100, 1, 0, 0, 0), name, u16(1), u16(1)])
      : Buffer.concat([header(id, 0x8180, 1, 1, 0, 0), QUESTION_A, rr(u16(0xc00c), 12, name)]);
  },
  maxCounts: (rng, id) => {
    // Counts of 65535 over a body that holds none, one, or a few thousand tiny records.
    const body = [QUESTION_A];
    const records = rng.pick([0, 1, 2, 5000]);
    for (let i = 0; i < records; i++) body.push(rr(Buffer.from([0]), 1, Buffer.alloc(0)));
    const qd = rng.pick([1, 17, 65535]);
    return Buffer.concat([header(id, rng.int(65536), qd, 65535, 65535, 65535), ...body]);
  },
  badRdata: (rng, id) => {
    // Typed RDATA that does not parse as its type says, and RDLENGTH past the message.
    const type = rng.pick([1, 2, 5, 6, 12, 13, 15, 16, 28, 33, 39, 41, 257, 65535]);
    const rdata = Buffer.alloc(rng.int(24));
    for (let i = 0; i < rdata.length; i++) rdata[i] = rng.pick([0, 0xc0, 0x0c, 0x3f, 0xff]);
    const rdlength = rng.chance(0.3) ? rng.pick([0xffff, rdata.length + 1, 0]) : rdata.length;
    return Buffer.concat([
      header(id, 0x8180, 1, 1, 1, 1),
      QUESTION_A,
      rr(u16(0xc00c), type, rdata, rdlength),
      rr(u16(0xc00c), 6, Buffer.concat([u16(0xc00c), u16(0xc00c), Buffer.alloc(rng.int(21))])),
      rr(Buffer.from([0]), 41, rdata),
    ]);
  },
  hostileEdns: (rng, id) => {
    // OPT with option lengths past its RDATA, an ECS option of each family with odd
    // prefixes, a second OPT, OPT in the answer section.
    const ecs = Buffer.concat([
      u16(8),
      u16(rng.pick([0, 3, 4, 8, 20, 0xffff])),
      u16(rng.pick([0, 1, 2, 3])),
      Buffer.from([rng.int(256), rng.int(256)]),
      Buffer.alloc(rng.int(20), 0xff),
    ]);
    const opt = Buffer.concat([Buffer.from([0]), u16(41), u16(rng.int(65536)), u32(rng.next())]);
    const optRecord = Buffer.concat([opt, u16(ecs.length), ecs]);
    return Buffer.concat([
      header(id, 0x0100, 1, 1, 0, 2),
      QUESTION_A,
      optRecord,
      optRecord,
      optRecord,
    ]);
  },
  characterStrings: (rng, id) => {
    // TXT/HINFO/CAA whose inner lengths run past RDATA.
    const type = rng.pick([13, 16, 99, 257]);
    const rdata = Buffer.from([255, 0x61, 0x62, 7, 0x22, 0x5c, 0]);
    return Buffer.concat([
      header(id, 0x8180, 1, 1, 0, 0),
      QUESTION_A,
      rr(u16(0xc00c), type, rdata),
    ]);
  },
};
const CRAFTED_KINDS = Object.keys(CRAFTED);

// ---------------------------------------------------------------------------------------
// Frames

const MAC = Buffer.from('02000000000102000000000208', 'hex').subarray(0, 12);

/** An Ethernet/IPv4 or IPv6/UDP frame around `dns`, from client to server or back. */
function udpFrame(rng, dns, response) {
  const v6 = rng.chance(0.3);
  const client = 1 + rng.int(200);
  const cport = 1024 + rng.int(64000);
  const udp = Buffer.concat([
    u16(response ? 53 : cport),
    u16(response ? cport : 53),
    u16(8 + dns.length),
    u16(0),
    dns,
  ]);
  return Buffer.concat([MAC, ipHeader(v6, client, response, 17, udp.length), udp]);
}

/** The IP header of a synthetic packet between 10.9.0.<client> and 10.9.255.53. */
function ipHeader(v6, client, response, proto, payloadBytes) {
  const a = v6
    ? Buffer.from(`fd00000000000000000000000000${client.toString(16).padStart(4, '0')}`, 'hex')
    : Buffer.from([10, 9, 0, client]);
  const b = v6
    ? Buffer.from('fd000000000000000000000000000053', 'hex')
    : Buffer.from([10, 9, 255, 53]);
  const [src, dst] = response ? [b, a] : [a, b];
  if (v6) {
    const h = Buffer.alloc(40);
    h[0] = 0x60;
    h.writeUInt16BE(payloadBytes, 4);
    h[6] = proto;
    h[7] = 64;
    return Buffer.concat([u16(0x86dd), h.subarray(0, 8), src, dst]);
  }
  const h = Buffer.alloc(20);
  h[0] = 0x45;
  h.writeUInt16BE(Math.min(0xffff, 20 + payloadBytes), 2);
  h[8] = 64;
  h[9] = proto;
  src.copy(h, 12);
  dst.copy(h, 16);
  return Buffer.concat([u16(0x0800), h]);
}

/** A TCP connection's SYN and one segment carrying `dns` with its length prefix. */
function tcpFrames(rng, dns, response) {
  const v6 = rng.chance(0.3);
  const client = 1 + rng.int(200);
  const cport = 1024 + rng.int(64000);
  const seq = rng.next();
  const seg = (flags, seqNo, payload) => {
    const h = Buffer.alloc(20);
    h.writeUInt16BE(response ? 53 : cport, 0);
    h.writeUInt16BE(response ? cport : 53, 2);
    h.writeUInt32BE(seqNo >>> 0, 4);
    h[12] = 0x50;
    h[13] = flags;
    const tcp = Buffer.concat([h, payload]);
    return Buffer.concat([MAC, ipHeader(v6, client, response, 6, tcp.length), tcp]);
  };
  const body = dns.subarray(0, 65535 - 60 - 2);
  return [
    seg(0x02, seq, Buffer.alloc(0)),
    seg(0x18, seq + 1, Buffer.concat([u16(body.length), body])),
  ];
}

/**
 * Replaces the DNS message of a located frame and fixes the IP, UDP and TCP-prefix
 * lengths so the new message reaches the DNS decoder (and is not dropped as truncated).
 */
function withDnsPayload(data, layers, dns) {
  const { ip, version, proto, l4, prefix } = layers;
  const head = Buffer.from(data.subarray(0, proto === 17 ? l4 + 8 : prefix));
  const maxDns = 65535 - (head.length - ip) - (proto === 6 ? 2 : 0) - (version === 6 ? 40 : 0);
  const body = dns.length > maxDns ? dns.subarray(0, Math.max(0, maxDns)) : dns;
  const out = Buffer.concat(proto === 6 ? [head, u16(body.length), body] : [head, body]);
  const ipBytes = out.length - ip;
  if (version === 4) out.writeUInt16BE(Math.min(0xffff, ipBytes), ip + 2);
  else out.writeUInt16BE(Math.min(0xffff, ipBytes - 40), ip + 4);
  if (proto === 17) out.writeUInt16BE(Math.min(0xffff, 8 + body.length), l4 + 4);
  return out;
}

// ---------------------------------------------------------------------------------------
// Mutators: each returns the frames to feed (usually one)

const INTERESTING_BYTES = [0x00, 0x01, 0x3f, 0x40, 0x7f, 0x80, 0xbf, 0xc0, 0xc0, 0xfe, 0xff];
const INTERESTING_U16 = [0, 1, 2, 7, 8, 11, 12, 13, 19, 20, 40, 63, 64, 255, 256, 0x7fff];

/** A position biased toward the DNS message, where most of the parsing happens. */
function position(rng, seed, data) {
  const dns = seed.layers?.dns ?? 0;
  if (dns < data.length && rng.chance(0.6)) return dns + rng.int(data.length - dns);
  return rng.int(data.length);
}

function flipBits(rng, seed, data) {
  const flips = 1 + rng.int(rng.chance(0.8) ? 4 : 32);
  for (let i = 0; i < flips && data.length > 0; i++) {
    data[position(rng, seed, data)] ^= 1 << rng.int(8);
  }
}

function overwriteBytes(rng, seed, data) {
  const writes = 1 + rng.int(6);
  for (let i = 0; i < writes && data.length > 0; i++) {
    data[position(rng, seed, data)] = rng.chance(0.5) ? rng.pick(INTERESTING_BYTES) : rng.int(256);
  }
}

/** The length (and count) fields of the located layers, as [offset, bytes, current]. */
function lengthFields(seed, data) {
  const l = seed.layers;
  if (!l) return [];
  const fields = [];
  if (l.version === 4) fields.push([l.ip, 0.5], [l.ip + 2, 2], [l.ip + 6, 2]);
  else fields.push([l.ip + 4, 2]);
  if (l.proto === 17) fields.push([l.l4 + 4, 2]);
  else fields.push([l.l4 + 12, 0.5], [l.prefix, 2], [l.l4 + 4, 4]);
  for (const k of [4, 6, 8, 10]) fields.push([l.dns + k, 2]);
  // The first label length and the RDLENGTH of the first records, found by walking.
  fields.push([l.dns + 12, 1]);
  truncationPoints(seed);
  for (const at of seed.rdlengths ?? []) fields.push([at, 2]);
  return fields.filter(([at, bytes]) => at + Math.ceil(bytes) <= data.length);
}

function tamperLength(rng, seed, data) {
  const fields = lengthFields(seed, data);
  if (fields.length === 0) return overwriteBytes(rng, seed, data);
  const [at, bytes] = rng.pick(fields);
  if (bytes === 0.5) {
    // A header-length nibble (IPv4 IHL, TCP data offset): every value 0..15 matters.
    data[at] =
      (data[at] & (at === seed.layers.ip ? 0xf0 : 0x0f)) |
      (rng.int(16) << (at === seed.layers.ip ? 0 : 4));
    return;
  }
  if (bytes === 4) {
    data.writeUInt32BE(rng.next(), at);
    return;
  }
  if (bytes === 1) {
    data[at] = rng.pick(INTERESTING_BYTES);
    return;
  }
  const current = data.readUInt16BE(at);
  const choices = [0xffff, 0xfffe, 0x8000, current + 1, current - 1, current * 2, rng.int(65536)];
  const value = rng.chance(0.4) ? rng.pick(INTERESTING_U16) : rng.pick(choices);
  data.writeUInt16BE(value & 0xffff, at);
}

function truncate(rng, seed, data) {
  return data.subarray(0, rng.pick(truncationPoints(seed)));
}

/** The mutation strategies and how often each is picked (weights). */
const STRATEGIES = [
  // Consecutive frames of one capture, at most one of them mutated: queries meet their
  // responses, so pairing runs on real transactions (and on a broken half of one).
  ['sequence', 8],
  ['bitflip', 18],
  ['overwrite', 14],
  ['truncate', 14],
  ['length', 16],
  ['stacked', 12], // several of the above on one frame
  ['crafted', 10], // a hostile DNS message in a real frame or a synthetic one
  ['splice', 4], // another frame's DNS message in this frame's headers
  ['tcp', 3], // SYN/FIN/RST and sequence numbers of TCP seeds, crafted TCP messages
  ['linktype', 1], // the right bytes under the wrong link type
  ['duplicate', 2], // the same mutated frame twice (pairing duplicates)
];
const STRATEGY_TABLE = STRATEGIES.flatMap(([name, weight]) => Array(weight).fill(name));

/** One mutation of a single frame's bytes (no new frames). */
function mutateBytes(rng, seed, data) {
  const op = rng.int(4);
  if (op === 0) flipBits(rng, seed, data);
  else if (op === 1) overwriteBytes(rng, seed, data);
  else if (op === 2) tamperLength(rng, seed, data);
  else return truncate(rng, seed, data);
  return data;
}

/**
 * Makes the frame(s) of one mutation; `prev` is the previous mutation's last frame.
 * Seeds on a DNS port are picked more often: the rest mostly tests the port filter.
 */
function mutate(rng, pool, prev) {
  const { seeds, dnsSeeds } = pool;
  const strategy = rng.pick(STRATEGY_TABLE);
  const seed = rng.chance(0.85) ? rng.pick(dnsSeeds) : rng.pick(seeds);
  let linkType = seed.linkType;
  let data = Buffer.from(seed.data);
  let extra = null;
  switch (strategy) {
    case 'sequence': {
      const run = [];
      for (let i = seed.index; i < seeds.length && run.length < 2 + rng.int(7); i++) {
        if (seeds[i].file !== seed.file) break;
        run.push(seeds[i]);
      }
      const broken = rng.chance(0.5) ? rng.int(run.length) : -1;
      const frames = run.map((s, i) => ({
        linkType: s.linkType,
        data: i === broken ? mutateBytes(rng, s, Buffer.from(s.data)) : s.data,
      }));
      return { strategy, frames };
    }
    case 'bitflip':
      flipBits(rng, seed, data);
      break;
    case 'overwrite':
      overwriteBytes(rng, seed, data);
      break;
    case 'truncate':
      data = truncate(rng, seed, data);
      break;
    case 'length':
      tamperLength(rng, seed, data);
      break;
    case 'stacked': {
      const ops = 2 + rng.int(3);
      for (let i = 0; i < ops; i++)
        rng.pick([flipBits, overwriteBytes, tamperLength])(rng, seed, data);
      if (rng.chance(0.3)) data = truncate(rng, seed, data);
      break;
    }
    case 'crafted': {
      const kind = rng.pick(CRAFTED_KINDS);
      const dns = CRAFTED[kind](rng, rng.int(65536));
      const response = (dns[2] & 0x80) !== 0;
      const where = rng.int(4);
      if (where === 0 && seed.layers) data = withDnsPayload(data, seed.layers, dns);
      else if (where === 3) extra = tcpFrames(rng, dns, response);
      else data = udpFrame(rng, dns, response);
      if (extra === null) linkType = seed.layers && where === 0 ? seed.linkType : LINK.ETHERNET;
      break;
    }
    case 'splice': {
      const other = rng.pick(dnsSeeds);
      if (seed.layers && other.layers) {
        data = withDnsPayload(data, seed.layers, other.data.subarray(other.layers.dns));
      } else flipBits(rng, seed, data);
      break;
    }
    case 'tcp': {
      const l = seed.layers;
      if (l && l.proto === 6) {
        data[l.l4 + 13] = rng.pick([0x02, 0x01, 0x04, 0x11, 0x12, 0x18, rng.int(256)]);
        if (rng.chance(0.5)) data.writeUInt32BE(rng.next(), l.l4 + 4);
      } else {
        const dns = CRAFTED[rng.pick(CRAFTED_KINDS)](rng, rng.int(65536));
        extra = tcpFrames(rng, dns, (dns[2] & 0x80) !== 0);
      }
      break;
    }
    case 'linktype':
      linkType = rng.pick([0, 1, 101, 108, 113, 228, 229, 276, rng.int(300)]);
      break;
    case 'duplicate':
      if (prev !== null) return { strategy, frames: [prev, prev] };
      break;
    default:
      throw new Error(`unknown strategy ${strategy}`);
  }
  const frames = extra
    ? extra.map((d) => ({ linkType: LINK.ETHERNET, data: d }))
    : [{ linkType, data }];
  return { strategy, frames };
}

// ---------------------------------------------------------------------------------------
// Seeds from the corpus

/** Every capture file under `dir`, sorted so the seed list is the same on every run. */
function captureFiles(dir) {
  const out = [];
  const walk = (d) => {
    for (const entry of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, entry.name);
      if (entry.isDirectory()) walk(p);
      else if (/\.(pcap|pcapng|cap|trace)$/i.test(entry.name)) out.push(p);
    }
  };
  walk(dir);
  return out.sort();
}

/** Every frame of every capture in the corpus, with its layers located. */
async function loadSeeds(collector, corpusDir, ports) {
  const seeds = [];
  const files = captureFiles(corpusDir);
  let unreadable = 0;
  for (const [file, name] of files.entries()) {
    try {
      for await (const frame of collector.readCaptureFile(name)) {
        const data = Buffer.from(frame.data);
        const layers = locateLayers(frame.linkType, data);
        seeds.push({ linkType: frame.linkType, data, layers, file, index: seeds.length });
      }
    } catch {
      // A damaged capture still gave its readable frames; the rest is the reader's
      // business (its own tests), not this fuzzer's.
      unreadable++;
    }
  }
  const dnsSeeds = seeds.filter((s) => {
    if (!s.layers) return false;
    const sport = s.data.readUInt16BE(s.layers.l4);
    const dport = s.data.readUInt16BE(s.layers.l4 + 2);
    return ports.has(sport) || ports.has(dport);
  });
  return { seeds, dnsSeeds, files: files.length, unreadable };
}

// ---------------------------------------------------------------------------------------
// The harness

/** GC on demand: --expose-gc when node was started with it, else V8's flag at run time. */
function gcFunction() {
  if (typeof globalThis.gc === 'function') return globalThis.gc;
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc');
}

const STATUSES = new Set(['ANSWERED', 'UNANSWERED', 'ORPHAN', 'MALFORMED']);
const MAX_REPORTED = 10;

/** Bounds the fuzz run configures (small, so eviction and overflow paths run too). */
const BOUNDS = {
  maxPending: 1000,
  maxFragmentBytes: 1 * MiB,
  tcpMaxFlowBytes: 128 * 1024,
  tcpMaxTotalBytes: 4 * MiB,
};
const FUZZ_FLAGS = [
  '--node=fuzz',
  '--capture.ports=53,5353,5355',
  '--pairing.timeoutMs=2000',
  `--pairing.maxPending=${BOUNDS.maxPending}`,
  `--decode.maxFragmentBytes=${BOUNDS.maxFragmentBytes}`,
  `--decode.tcpMaxFlowBytes=${BOUNDS.tcpMaxFlowBytes}`,
  `--decode.tcpMaxTotalBytes=${BOUNDS.tcpMaxTotalBytes}`,
];
/** TcpStreams' default flow bound (not a config key); the decoder stats are checked against it. */
const TCP_MAX_FLOWS = 65536;

/**
 * What runFuzz needs. The packages are passed in, so one engine serves the jest test
 * (TypeScript sources) and this script (dist/).
 *
 * @typedef {object} FuzzOptions
 * @property {any} collector the collector package
 * @property {any} schema the schema package
 * @property {any} runtime the runtime package
 * @property {any} promClient prom-client
 * @property {number} count mutations
 * @property {number} seed PRNG seed
 * @property {string} [corpusDir] where the captures are
 * @property {number} [heapGrowthLimitBytes] growth of the heap after GC allowed over the run
 * @property {(p: Record<string, any>) => void} [onProgress] called at 10 checkpoints
 */

/**
 * Runs `count` mutations through one pipeline. Returns a report; `report.failures` lists
 * every violated property with its input (empty when the run is clean).
 *
 * @param {FuzzOptions} o
 */
async function runFuzz(o) {
  const { collector, schema, runtime, promClient } = o;
  const heapLimit = o.heapGrowthLimitBytes ?? 64 * MiB;
  const rng = createRng(o.seed);
  const gc = gcFunction();
  const config = runtime.loadConfig(collector.collectorConfigSchema, { flags: FUZZ_FLAGS });
  const corpusDir = o.corpusDir ?? DEFAULT_CORPUS;
  const pool = await loadSeeds(collector, corpusDir, new Set(config.capture.ports));
  const { seeds, files, unreadable } = pool;
  if (pool.dnsSeeds.length === 0)
    throw new Error(`no DNS frames in the captures under ${corpusDir}`);
  const codec = schema.createCodec('DnsTransaction');

  /** @type {Array<{ kind: string } & Record<string, unknown>>} */
  const failures = [];
  const fail = (kind, detail) => {
    if (failures.filter((f) => f.kind === kind).length < MAX_REPORTED)
      failures.push({ kind, ...detail });
  };
  let current = null; // the frame being fed, for failure reports
  const inputOf = () =>
    current && {
      linkType: current.linkType,
      tsUs: current.tsUs,
      hex: current.data.toString('hex'),
    };
  const errorOf = (err) => (err instanceof Error ? (err.stack ?? err.message) : String(err));

  // The pipeline as `dnsflow collect` builds it, with real metrics; MALFORMED decodes
  // are counted on their way to the metrics.
  let malformedEvents = 0;
  class CountingMetrics extends collector.CollectorMetrics {
    pairingEvents() {
      const inner = super.pairingEvents();
      return {
        ...inner,
        malformed: (reason) => {
          malformedEvents++;
          inner.malformed(reason);
        },
      };
    }
  }
  const metrics = new CountingMetrics(new promClient.Registry(), {
    dnsPrefix: 'dnsflow_',
    sourceContext: 'none',
  });
  const byStatus = { ANSWERED: 0, UNANSWERED: 0, ORPHAN: 0, MALFORMED: 0 };
  let emitClockUs = 0;
  const pipeline = collector.createPipeline(config, {
    metrics,
    nowUs: () => emitClockUs,
    onTransaction: (tx) => {
      if (!STATUSES.has(tx.status))
        fail('record', { input: inputOf(), detail: `status ${tx.status}` });
      byStatus[tx.status] = (byStatus[tx.status] ?? 0) + 1;
      if (
        tx.status === 'MALFORMED' &&
        !(typeof tx.malformedReason === 'string' && tx.malformedReason.length > 0)
      ) {
        fail('record', { input: inputOf(), detail: 'MALFORMED record without a reason' });
      }
      try {
        codec.encode(tx);
      } catch (err) {
        fail('exception', {
          stage: 'avro-encode',
          input: inputOf(),
          record: JSON.stringify(tx),
          stack: errorOf(err),
        });
      }
    },
  });
  // A second decoder with the same bounds (its timeouts default to the config's): its
  // stats and segments are what the pipeline does not expose, and it must agree with the
  // pipeline on what is malformed.
  /** @type {Record<string, number>} */
  const drops = {};
  const countDrop = (reason, n = 1) => (drops[reason] = (drops[reason] ?? 0) + n);
  const decoder = collector.createPacketDecoder({
    dnsPorts: config.capture.ports,
    fragments: { maxBytes: BOUNDS.maxFragmentBytes },
    tcp: { maxFlowBytes: BOUNDS.tcpMaxFlowBytes, maxTotalBytes: BOUNDS.tcpMaxTotalBytes },
    drops: { drop: countDrop },
  });

  let segments = 0;
  let decodedOk = 0;
  let malformedDecodes = 0;
  /** @type {Record<string, number>} */
  const malformedReasons = {};
  const checkSegment = (segment) => {
    segments++;
    let result;
    try {
      result = collector.decodeMessage(segment.payload);
    } catch (err) {
      fail('exception', {
        stage: 'decodeMessage',
        input: inputOf(),
        payloadHex: segment.payload.toString('hex'),
        stack: errorOf(err),
      });
      return;
    }
    if (result.status === 'ok') {
      decodedOk++;
      if ((result.message.questionCount === 0) !== (result.message.question === null)) {
        fail('decode', { input: inputOf(), detail: 'question present iff QDCOUNT > 0 violated' });
      }
    } else if (result.status === 'malformed' && result.reason && result.detail) {
      malformedDecodes++;
      malformedReasons[result.reason] = (malformedReasons[result.reason] ?? 0) + 1;
    } else {
      fail('decode', {
        input: inputOf(),
        detail: `neither decoded nor malformed with a reason: ${JSON.stringify(result)}`,
      });
    }
  };

  const checkBounds = () => {
    const s = decoder.stats();
    const pending = pipeline.pendingCount;
    if (pending > BOUNDS.maxPending)
      fail('bound', {
        input: inputOf(),
        detail: `pending ${pending} > ${BOUNDS.maxPending}`,
      });
    if (s.fragmentBytes > BOUNDS.maxFragmentBytes)
      fail('bound', { input: inputOf(), detail: `fragment bytes ${s.fragmentBytes}` });
    if (s.tcpBytes > BOUNDS.tcpMaxTotalBytes || s.tcpBytes < 0)
      fail('bound', { input: inputOf(), detail: `TCP bytes ${s.tcpBytes}` });
    if (s.tcpFlows > TCP_MAX_FLOWS)
      fail('bound', { input: inputOf(), detail: `TCP flows ${s.tcpFlows}` });
    if (s.fragmentBytes < 0)
      fail('bound', { input: inputOf(), detail: `fragment bytes ${s.fragmentBytes}` });
    return { pending, ...s };
  };

  // Packet time: ~1 ms per frame, with jumps back (merged interfaces, clock steps) and
  // forward (idle periods that expire everything).
  let clockUs = 1_700_000_000_000_000;
  const tick = () => {
    if (rng.chance(0.002)) clockUs -= rng.int(10_000_000);
    else if (rng.chance(0.001)) clockUs += 120_000_000;
    else clockUs += rng.int(2000);
    return clockUs;
  };

  const feed = (linkType, data) => {
    const frame = { tsUs: tick(), linkType, data, origLen: data.length, iface: 'fuzz0' };
    current = frame;
    emitClockUs = frame.tsUs;
    try {
      pipeline.frame(frame);
    } catch (err) {
      fail('exception', { stage: 'pipeline.frame', input: inputOf(), stack: errorOf(err) });
    }
    let out;
    try {
      out = decoder.decode(frame);
    } catch (err) {
      fail('exception', { stage: 'decoder.decode', input: inputOf(), stack: errorOf(err) });
      return;
    }
    for (const segment of out) checkSegment(segment);
  };

  /** @type {Record<string, number>} */
  const strategies = {};
  let framesFed = 0;
  let peakRss = 0;
  let peakHeap = 0;
  let baselineHeap = -1;
  let peakHeapAfterGc = 0;
  let slowest = { ms: 0, strategy: '', hex: '' };
  let lastState = null;
  const checkpoints = 10;
  const checkpointEvery = Math.max(1, Math.floor(o.count / checkpoints));
  const started = process.hrtime.bigint();
  let prev = null;
  const sampleMemory = () => {
    const m = process.memoryUsage();
    if (m.rss > peakRss) peakRss = m.rss;
    if (m.heapUsed > peakHeap) peakHeap = m.heapUsed;
  };

  for (let i = 0; i < o.count; i++) {
    const t0 = process.hrtime.bigint();
    let mutation;
    try {
      mutation = mutate(rng, pool, prev);
    } catch (err) {
      // A bug of the fuzzer itself, not of the collector; reported the same way.
      fail('fuzzer', { index: i, stack: errorOf(err) });
      continue;
    }
    strategies[mutation.strategy] = (strategies[mutation.strategy] ?? 0) + 1;
    for (const f of mutation.frames) {
      feed(f.linkType, f.data);
      framesFed++;
    }
    prev = mutation.frames[mutation.frames.length - 1];
    lastState = checkBounds();
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (ms > slowest.ms) {
      slowest = {
        ms,
        strategy: mutation.strategy,
        index: i,
        hex: prev.data.toString('hex').slice(0, 256),
      };
    }
    if ((i & 1023) === 0) sampleMemory();
    if ((i + 1) % checkpointEvery === 0 || i + 1 === o.count) {
      gc();
      // Buffers (frames held by pending state) live outside the V8 heap: count them too.
      const after = process.memoryUsage();
      const heap = after.heapUsed + after.external;
      // The first checkpoint is the baseline: by then caches and tables have filled.
      if (baselineHeap < 0) baselineHeap = heap;
      if (heap > peakHeapAfterGc) peakHeapAfterGc = heap;
      sampleMemory();
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      o.onProgress?.({
        done: i + 1,
        count: o.count,
        seconds,
        rate: (i + 1) / seconds,
        heapAfterGc: heap,
        state: lastState,
        failures: failures.length,
      });
    }
  }

  current = null;
  try {
    pipeline.finish();
  } catch (err) {
    fail('exception', { stage: 'pipeline.finish', stack: errorOf(err) });
  }
  if (pipeline.pendingCount !== 0)
    fail('bound', { detail: `${pipeline.pendingCount} pending after finish` });
  // Every message that did not decode is one MALFORMED record, and the pipeline's
  // decoder saw the same messages as the checking one.
  if (byStatus.MALFORMED !== malformedDecodes || malformedEvents !== malformedDecodes) {
    fail('accounting', {
      detail: `malformed decodes ${malformedDecodes}, pipeline malformed events ${malformedEvents}, MALFORMED records ${byStatus.MALFORMED}`,
    });
  }
  const heapGrowth = baselineHeap < 0 ? 0 : peakHeapAfterGc - baselineHeap;
  if (heapGrowth > heapLimit) {
    fail('memory', {
      detail: `heap+buffers after GC grew by ${(heapGrowth / MiB).toFixed(1)} MiB (limit ${(heapLimit / MiB).toFixed(0)} MiB)`,
    });
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return {
    count: o.count,
    seed: o.seed,
    corpus: { files, unreadable, frames: seeds.length, dnsFrames: pool.dnsSeeds.length },
    framesFed,
    seconds,
    mutationsPerSecond: o.count / seconds,
    strategies,
    segments,
    decodedOk,
    malformedDecodes,
    malformedReasons,
    records: byStatus,
    drops,
    lastState,
    memory: { peakRss, peakHeap, baselineHeapAfterGc: baselineHeap, peakHeapAfterGc, heapGrowth },
    slowest,
    failures,
  };
}

// ---------------------------------------------------------------------------------------
// Command line

function numberArg(name, envName, dflt) {
  const i = process.argv.indexOf(`--${name}`);
  const text = i >= 0 ? process.argv[i + 1] : process.env[envName];
  if (text === undefined || text === '') return dflt;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) {
    console.error(
      `fuzz-collector: --${name} / ${envName} must be a non-negative integer, got ${text}`,
    );
    process.exit(2);
  }
  return n;
}

async function main() {
  const root = path.join(__dirname, '..');
  if (!fs.existsSync(path.join(root, 'packages/collector/dist/index.js'))) {
    console.error('fuzz-collector: packages are not built; run `npm run build` first');
    process.exit(2);
  }
  const count = numberArg('count', 'FUZZ_COUNT', 1_000_000);
  const seed = numberArg('seed', 'FUZZ_SEED', 1);
  const corpusDir = process.env.DNSFLOW_CORPUS || DEFAULT_CORPUS;
  const mb = (b) => `${(b / MiB).toFixed(1)} MiB`;
  console.log(
    `fuzz-collector: ${count} mutations, seed ${seed}, corpus ${corpusDir}, node ${process.version}`,
  );
  const report = await runFuzz({
    collector: require('@dnsflow/collector'),
    schema: require('@dnsflow/schema'),
    runtime: require('@dnsflow/runtime'),
    promClient: require('prom-client'),
    count,
    seed,
    corpusDir,
    onProgress: (p) =>
      console.log(
        `  ${p.done}/${p.count}  ${Math.round(p.rate)} mutations/s  heap+buffers after GC ${mb(p.heapAfterGc)}  ` +
          `pending ${p.state?.pending}  tcp ${p.state?.tcpFlows} flows/${p.state?.tcpBytes} B  ` +
          `fragments ${p.state?.fragmentDatagrams}/${p.state?.fragmentBytes} B  failures ${p.failures}`,
      ),
  });
  const m = report.memory;
  console.log(
    `corpus: ${report.corpus.frames} frames from ${report.corpus.files} files (${report.corpus.unreadable} ended early)`,
  );
  console.log(
    `mutations: ${report.count} (${report.framesFed} frames) in ${report.seconds.toFixed(1)} s = ${Math.round(report.mutationsPerSecond)}/s`,
  );
  console.log(`strategies: ${JSON.stringify(report.strategies)}`);
  console.log(
    `DNS messages: ${report.segments} (decoded ${report.decodedOk}, malformed ${report.malformedDecodes} ${JSON.stringify(report.malformedReasons)})`,
  );
  console.log(`records: ${JSON.stringify(report.records)}`);
  console.log(`drops: ${JSON.stringify(report.drops)}`);
  console.log(
    `memory: peak RSS ${mb(m.peakRss)}, peak heap ${mb(m.peakHeap)}, heap+buffers after GC ${mb(m.baselineHeapAfterGc)} -> peak ${mb(m.peakHeapAfterGc)} (growth ${mb(m.heapGrowth)})`,
  );
  console.log(
    `slowest mutation: ${report.slowest.ms.toFixed(1)} ms (${report.slowest.strategy}, #${report.slowest.index})`,
  );
  const exceptions = report.failures.filter((f) => f.kind === 'exception').length;
  console.log(`exceptions: ${exceptions}`);
  for (const f of report.failures) console.log(JSON.stringify(f, null, 2));
  if (report.failures.length > 0) {
    console.log(
      `FAILED: ${report.failures.length} violation(s); replay with --seed ${seed} --count ${count}`,
    );
    process.exit(1);
  }
  console.log(
    'OK: no exception escaped, every message decoded or became MALFORMED, memory bounded',
  );
}

module.exports = { runFuzz, createRng, locateLayers, CRAFTED };

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
