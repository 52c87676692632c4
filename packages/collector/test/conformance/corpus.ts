// Runs every case of the peer corpus through dnsflow and classifies it. Shared by the
// conformance test and by scripts/conformance.js, which writes REPORT.md from it.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  collectorConfigSchema,
  createPipeline,
  decodeCaptureFile,
  type Frame,
  readCaptureFile,
  type CollectorConfig,
} from '@dnsflow/collector';
import { loadConfig } from '@dnsflow/runtime';
import type { DnsTransaction } from '@dnsflow/schema';
import { parseIpv4, parseIpv6, newIpResult } from '../../src/decode/ip';
import { parseLink, type LinkResult } from '../../src/decode/link';
import { compareSuricata, disabledParsers } from './compare-suricata';
import { compareZeek } from './compare-zeek';
import { listSuricataCases, loadSuricataCase, type SuricataCase } from './suricata';
import { listZeekCases, loadZeekCase, type ZeekCase } from './zeek';

/** The corpus lives outside the repository (see the report's header). */
export const DEFAULT_CORPUS = process.env.DNSFLOW_CORPUS ?? '/work/shared/corpus';

/** matched: every compared expectation holds. differs: one does not. unsupported: out of scope or nothing to compare. */
export type CaseStatus = 'matched' | 'differs' | 'unsupported';

/** The outcome of one case. */
export interface CaseResult {
  /** `zeek/<test>` or `suricata-verify/<test>`. */
  id: string;
  status: CaseStatus;
  /** One line: why the case has this status. */
  reason: string;
  differences: string[];
  notCompared: string[];
  /** Ports and pairing timeout used, when not the defaults. */
  settings: string | null;
}

const OUT_OF_SCOPE: Array<[RegExp, string]> = [
  [/over-http2/, 'DNS over HTTP/2 (needs an HTTP/2 decoder)'],
  [/\bteredo\b/, 'Teredo tunnel (IPv6 in UDP)'],
  [/\bgeneve\b/, 'Geneve tunnel'],
  [/\bvxlan\b/, 'VXLAN tunnel'],
  [/\bgtp-u\b/, 'GTP-U tunnel'],
  [/\bgre-over-udp\b/, 'GRE over UDP tunnel'],
  [/\bgre\b/, 'GRE tunnel'],
  [/\bipip\b/, 'IP-in-IP tunnel'],
  [/linktype=10\b/, 'FDDI link type (10)'],
];

/** The MANIFEST's scan of each case (transport and features columns), by case id. */
function manifestFeatures(corpus: string): Map<string, string> {
  const out = new Map<string, string>();
  const file = join(corpus, 'MANIFEST.md');
  if (!existsSync(file)) return out;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /-> `((?:zeek|suricata-verify)\/[^`]+)`[^|]*\|[^|]*\|([^|]*)\|([^|]*)\|/.exec(line);
    if (m?.[1] !== undefined) out.set(m[1], `${m[1]} ${m[2] ?? ''} ${m[3] ?? ''}`);
  }
  return out;
}

function scopeOf(id: string, features: Map<string, string>): string | null {
  const text = `${id} ${features.get(id) ?? ''}`;
  for (const [re, reason] of OUT_OF_SCOPE) if (re.test(text)) return reason;
  return null;
}

function baseConfig(): CollectorConfig {
  return loadConfig(collectorConfigSchema, {});
}

/** Capture time of every frame → its 1-based number in the file (Suricata's pcap_cnt). */
async function frameTimes(pcap: string): Promise<Map<number, number[]>> {
  const times = new Map<number, number[]>();
  let n = 0;
  try {
    for await (const frame of readCaptureFile(pcap)) {
      n++;
      const list = times.get(frame.tsUs) ?? [];
      list.push(n);
      times.set(frame.tsUs, list);
    }
  } catch {
    // A truncated file: the frames read so far are numbered.
  }
  return times;
}

/**
 * Suricata (IDS mode) parses TCP payload once the other side has acknowledged it, so it
 * logs a DNS message over TCP with the number of the acknowledging frame. Capture time of
 * each frame that carries TCP payload → the number of the first frame acknowledging all
 * of it.
 */
async function tcpAcknowledgements(pcap: string): Promise<Map<number, number[]>> {
  const acked = new Map<number, number[]>();
  const link: LinkResult = { offset: 0, ipVersion: 0 };
  const ip = newIpResult();
  const waiting: Array<{ tsUs: number; flow: string; end: number }> = [];
  let n = 0;
  try {
    for await (const frame of readCaptureFile(pcap)) {
      n++;
      if (parseLink(frame.linkType, frame.data, link) !== null) continue;
      const bad =
        link.ipVersion === 4
          ? parseIpv4(frame.data, link.offset, ip)
          : parseIpv6(frame.data, link.offset, ip);
      const at = ip.payloadOffset;
      if (bad !== null || ip.fragmented || ip.protocol !== 6 || ip.payloadEnd - at < 20) continue;
      const bytes = ip.ipVersion === 4 ? 4 : 16;
      const tcp = ip.payload;
      const src = `${ip.addrBuf.toString('hex', ip.srcOffset, ip.srcOffset + bytes)}:${tcp.readUInt16BE(at)}`;
      const dst = `${ip.addrBuf.toString('hex', ip.dstOffset, ip.dstOffset + bytes)}:${tcp.readUInt16BE(at + 2)}`;
      const ack = tcp.readUInt32BE(at + 8);
      if (((tcp[at + 13] ?? 0) & 0x10) !== 0) {
        for (let i = 0; i < waiting.length; i++) {
          const w = waiting[i]!;
          // Sequence numbers compare modulo 2^32 (RFC 9293 §3.4).
          if (w.flow !== `${dst}>${src}` || ((ack - w.end) | 0) < 0) continue;
          acked.set(w.tsUs, [...(acked.get(w.tsUs) ?? []), n]);
          waiting.splice(i--, 1);
        }
      }
      const payload = ip.payloadEnd - at - ((tcp[at + 12] ?? 0) >> 4) * 4;
      if (payload > 0) {
        const end = (tcp.readUInt32BE(at + 4) + payload) >>> 0;
        waiting.push({ tsUs: frame.tsUs, flow: `${src}>${dst}`, end });
      }
    }
  } catch {
    // A truncated file: what was read counts.
  }
  return acked;
}

/** Ones' complement sum of 16-bit words of buf[start, end) (RFC 1071), folded. */
function sum16(buf: Buffer, start: number, end: number, initial = 0): number {
  let sum = initial;
  for (let i = start; i + 1 < end; i += 2) sum += buf.readUInt16BE(i);
  if ((end - start) % 2 === 1) sum += (buf[end - 1] ?? 0) << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

/**
 * Whether a frame's IPv4 header checksum and UDP/TCP checksum hold, as Zeek checks them
 * unless run with -C. Frames that cannot be checked here (fragments, cut by the snaplen,
 * other protocols) count as good.
 */
function checksumsHold(frame: Frame): boolean {
  const link: LinkResult = { offset: 0, ipVersion: 0 };
  const ip = newIpResult();
  const data = frame.data;
  if (parseLink(frame.linkType, data, link) !== null) return true;
  const bad =
    link.ipVersion === 4 ? parseIpv4(data, link.offset, ip) : parseIpv6(data, link.offset, ip);
  if (bad !== null) return true;
  // The IPv4 header runs from the link layer's end to the payload.
  if (ip.ipVersion === 4 && sum16(data, link.offset, ip.payloadOffset) !== 0xffff) return false;
  if (ip.fragmented || (ip.protocol !== 6 && ip.protocol !== 17)) return true;
  const at = ip.payloadOffset;
  const length = ip.protocol === 17 ? ip.payload.readUInt16BE(at + 4) : ip.payloadEnd - at;
  if (length < 8 || at + length > ip.payloadEnd) return true;
  // UDP over IPv4 may send no checksum (RFC 768).
  if (ip.protocol === 17 && ip.ipVersion === 4 && ip.payload.readUInt16BE(at + 6) === 0) {
    return true;
  }
  const bytes = ip.ipVersion === 4 ? 4 : 16;
  let pseudo = sum16(ip.addrBuf, ip.srcOffset, ip.srcOffset + bytes);
  pseudo = sum16(ip.addrBuf, ip.dstOffset, ip.dstOffset + bytes, pseudo);
  pseudo += ip.protocol + length;
  return sum16(ip.payload, at, at + length, pseudo) === 0xffff;
}

async function decode(
  pcap: string,
  ports: number[],
  timeoutMs: number,
  dropBadChecksums = false,
): Promise<{ transactions: DnsTransaction[]; error: Error | null; dropped: number }> {
  const config = baseConfig();
  config.capture.ports = ports;
  config.pairing.timeoutMs = timeoutMs;
  if (!dropBadChecksums) {
    const { transactions, error } = await decodeCaptureFile(pcap, config);
    return { transactions, error, dropped: 0 };
  }
  const transactions: DnsTransaction[] = [];
  const pipeline = createPipeline(config, { onTransaction: (tx) => transactions.push(tx) });
  let dropped = 0;
  let error: Error | null = null;
  try {
    for await (const frame of readCaptureFile(pcap)) {
      if (checksumsHold(frame)) pipeline.frame(frame);
      else dropped++;
    }
  } catch (err) {
    error = err instanceof Error ? err : new Error(String(err));
  }
  pipeline.finish();
  return { transactions, error, dropped };
}

function finish(
  id: string,
  scope: string | null,
  differences: string[],
  notCompared: string[],
  settings: string | null,
  compared: boolean,
): CaseResult {
  if (differences.length === 0 && compared) {
    return {
      id,
      status: 'matched',
      reason: 'all compared expectations hold',
      differences,
      notCompared,
      settings,
    };
  }
  if (scope !== null) {
    return { id, status: 'unsupported', reason: scope, differences, notCompared, settings };
  }
  if (!compared) {
    return {
      id,
      status: 'unsupported',
      reason: notCompared[0] ?? 'nothing to compare',
      differences,
      notCompared,
      settings,
    };
  }
  return {
    id,
    status: 'differs',
    reason: differences[0] ?? '',
    differences,
    notCompared,
    settings,
  };
}

async function runZeek(corpus: string, c: ZeekCase, scope: string | null): Promise<CaseResult> {
  const id = `zeek/${c.name}`;
  if (c.expectations.length === 0) {
    return finish(id, scope, [], [c.noExpectation ?? 'no dns.log'], null, false);
  }
  const differences: string[] = [];
  const notCompared = ['ts and uid (masked in the baselines); rejected (a Zeek verdict)'];
  const settings: string[] = [];
  for (const e of c.expectations) {
    // Ports and timeout come from the baseline: the ports its rows use, and an rtt
    // longer than the default pairing timeout.
    const ports = new Set([53]);
    let maxRttS = 0;
    for (const row of e.log.rows) {
      const p = Number(row['id.resp_p']);
      if (Number.isInteger(p) && p > 0 && p !== 137) ports.add(p);
      const rtt = Number(row.rtt);
      if (Number.isFinite(rtt)) maxRttS = Math.max(maxRttS, rtt);
    }
    const timeoutMs = Math.max(5000, Math.ceil(maxRttS * 1000) + 1000);
    if (ports.size > 1 || timeoutMs !== 5000) {
      settings.push(`ports ${[...ports].join(',')}, timeoutMs ${timeoutMs}`);
    }
    // Without -C Zeek ignores packets with a bad checksum (offloaded checksums in the
    // capture): dnsflow, which never checks them, gets what Zeek analysed.
    const checked = !e.zeekArgs.includes('-C');
    const { transactions, error, dropped } = await decode(e.pcap, [...ports], timeoutMs, checked);
    if (error !== null) notCompared.push(`capture read stopped early: ${error.message}`);
    if (dropped > 0) {
      notCompared.push(
        `${dropped} frame(s) with a bad checksum left out, as zeek does without -C (dnsflow does not check checksums)`,
      );
    }
    const r = compareZeek(e, transactions, c.script);
    differences.push(...r.differences);
    notCompared.push(...r.notCompared);
  }
  void corpus;
  return finish(
    id,
    scope,
    differences,
    notCompared,
    settings.length ? settings.join('; ') : null,
    true,
  );
}

async function runSuricata(c: SuricataCase, scope: string | null): Promise<CaseResult> {
  const id = `suricata-verify/${c.name}`;
  if (c.pcap === null) return finish(id, scope, [], ['no pcap in the case'], null, false);
  const disabled = disabledParsers(c);
  if (disabled !== null) {
    return finish(
      id,
      scope,
      [],
      [`the checks test Suricata's own parser switches (${disabled} disabled in suricata.yaml)`],
      null,
      false,
    );
  }
  // The ports Suricata's own config for the case treats as DNS, and those its checks name.
  const ports = new Set([53, ...c.detectionPorts]);
  for (const f of c.filters) {
    if (f.match.event_type === 'mdns') ports.add(5353);
    for (const k of ['src_port', 'dest_port']) {
      const p = Number(f.match[k]);
      if ((f.match.event_type === 'dns' || f.match.event_type === 'mdns') && p > 0 && p < 1024) {
        ports.add(p);
      }
    }
  }
  const { transactions, error } = await decode(c.pcap, [...ports], 5000);
  const r = compareSuricata(
    c,
    transactions,
    await frameTimes(c.pcap),
    await tcpAcknowledgements(c.pcap),
  );
  const notCompared = [...r.notCompared];
  if (error !== null) notCompared.push(`capture read stopped early: ${error.message}`);
  for (const p of r.partial) notCompared.push(`partly compared: ${p}`);
  const settings = ports.size > 1 ? `ports ${[...ports].join(',')}` : null;
  if (r.compared === 0) {
    return finish(
      id,
      scope,
      [],
      ['no check on DNS records (only alerts, flows, stats or scripts)', ...notCompared],
      settings,
      false,
    );
  }
  return finish(id, scope, r.differences, notCompared, settings, true);
}

/** Runs one case by id (`zeek/...` or `suricata-verify/...`). */
export async function runCase(id: string, corpus = DEFAULT_CORPUS): Promise<CaseResult> {
  const scope = scopeOf(id, manifestFeatures(corpus));
  if (id.startsWith('zeek/')) {
    return runZeek(corpus, loadZeekCase(corpus, id.slice('zeek/'.length)), scope);
  }
  return runSuricata(loadSuricataCase(corpus, id.slice('suricata-verify/'.length)), scope);
}

/** Every case id of the corpus, Zeek first. */
export function listCases(corpus = DEFAULT_CORPUS): string[] {
  return [
    ...listZeekCases(corpus).map((n) => `zeek/${n}`),
    ...listSuricataCases(corpus).map((n) => `suricata-verify/${n}`),
  ];
}

/** Runs every case of the corpus. */
export async function runAll(corpus = DEFAULT_CORPUS): Promise<CaseResult[]> {
  const results: CaseResult[] = [];
  for (const id of listCases(corpus)) results.push(await runCase(id, corpus));
  return results;
}
