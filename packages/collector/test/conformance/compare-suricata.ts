// Suricata's checks are counts of eve.json records that carry given field values. dnsflow
// writes transactions, not eve records, so each transaction is turned into the records
// Suricata would log for its messages (a request, a response), in the eve format the
// check targets; fields dnsflow does not keep are "unknown", and a check passes when its
// count is within what the known fields allow.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DnsTransaction, ResourceRecord } from '@dnsflow/schema';
import { parse } from 'yaml';
import { characterStrings, ipKey, suricataAnswers, UNKNOWN, type Known } from './rdata';
import type { SuricataCase, SuricataFilter } from './suricata';

/** A name Suricata writes as it came on the wire; dnsflow keeps it lowercased. */
class Caseless {
  constructor(readonly text: string) {}
}

/** Frame numbers (pcap_cnt) a message may have had: those captured at its time. */
class FrameNumbers {
  constructor(readonly candidates: number[]) {}
}

type Value = Known<string | number | boolean | Caseless | FrameNumbers>;

/** Frame numbers by capture time, and of the frames acknowledging TCP payload. */
interface FrameIndex {
  times: Map<number, number[]>;
  tcpAcked: Map<number, number[]>;
}
type EveRecord = Map<string, Value>;

/** What an eve-log output of the case's suricata.yaml writes for DNS. */
interface EveDnsOutput {
  version: 2 | 3;
  /** Lowercase rrtypes (`types: [a, mx]`), null for all. */
  types: string[] | null;
  requests: boolean;
  responses: boolean;
}

/** The outcome of one test.yaml case. */
export interface SuricataComparison {
  compared: number;
  /** Checks whose count dnsflow's records contradict. */
  differences: string[];
  notCompared: string[];
  /** Checks that passed only because some fields were unknown. */
  partial: string[];
}

const OPCODES: Record<string, number> = { QUERY: 0, IQUERY: 1, STATUS: 2, NOTIFY: 4, UPDATE: 5 };

function opcodeNumber(name: string): number {
  return OPCODES[name] ?? Number(name.replace(/^OPCODE/, ''));
}

/** Keys dnsflow's records can answer; any other key is unknown, not absent. */
const PRODUCIBLE =
  /^(event_type|proto|src_ip|src_port|dest_ip|dest_port|pcap_cnt|(dns|mdns)\.(type|id|version|flags|qr|aa|tc|rd|ra|rcode|opcode|rrname|rrtype|(queries|answers|authorities|additionals)\[\d+\]\.(rrname|rrtype|ttl|rdata|soa\.\w+|srv\.\w+|sshfp\.\w+)|grouped\.\w+\[\d+\]))$/;

function headerFlags(tx: DnsTransaction, qr: boolean): number {
  const f = tx.flags;
  return (
    (qr ? 0x8000 : 0) |
    (opcodeNumber(tx.opcode) << 11) |
    (f.aa ? 0x0400 : 0) |
    (f.tc ? 0x0200 : 0) |
    (f.rd ? 0x0100 : 0) |
    (f.ra ? 0x0080 : 0) |
    (f.ad ? 0x0020 : 0) |
    (f.cd ? 0x0010 : 0) |
    (qr ? (tx.rcodeValue ?? 0) & 0xf : 0)
  );
}

function frameNumbers(frameTimes: Map<number, number[]>, tsUs: number | null): Value {
  if (tsUs === null) return UNKNOWN;
  return new FrameNumbers(frameTimes.get(tsUs) ?? []);
}

/**
 * An answer as Suricata's mDNS records write it: the type in lowercase, the data under a
 * key named after the type, a TXT record's character-strings as a list (compared as
 * their comma-joined text).
 */
function mdnsAnswer(rr: ResourceRecord): Record<string, Known<string | number>> {
  const type = rr.type.toLowerCase();
  const out: Record<string, Known<string | number>> = {
    rrname: rr.name,
    rrtype: type,
    ttl: rr.ttl,
  };
  if (rr.type === 'TXT') {
    out.txt = characterStrings(rr.data)
      .map((b) => b.toString('utf8'))
      .join(',');
  } else {
    const rdata = suricataAnswers(rr)[0]?.rdata;
    if (rdata !== undefined) out[type] = rdata;
  }
  return out;
}

/** The eve records Suricata would write for one transaction's messages. */
function eveRecords(
  tx: DnsTransaction,
  version: 2 | 3,
  frames: FrameIndex,
  mdnsPort: number,
): EveRecord[] {
  // Over TCP Suricata logs a message with the frame that carried it or, when its stream
  // engine waits for acknowledged data (IDS mode, unless a rule forces inspection), with
  // the frame that acknowledges it: either may be the one.
  const frameOf = (tsUs: number | null): Value => {
    const acked = tsUs === null || tx.transport !== 'TCP' ? undefined : frames.tcpAcked.get(tsUs);
    if (tsUs === null || acked === undefined) return frameNumbers(frames.times, tsUs);
    return new FrameNumbers([...(frames.times.get(tsUs) ?? []), ...acked]);
  };
  // Suricata's mDNS parser is UDP's; DNS over TCP on port 5353 is logged as DNS.
  const mdns =
    tx.transport === 'UDP' && (tx.server.port === mdnsPort || tx.client.port === mdnsPort);
  const p = mdns && version === 3 ? 'mdns' : 'dns';
  const base = (src: 'client' | 'server'): EveRecord => {
    const from = src === 'client' ? tx.client : (tx.answeredBy ?? tx.server);
    const to = src === 'client' ? tx.server : tx.client;
    return new Map<string, Value>([
      ['event_type', p],
      ['proto', tx.transport],
      ['src_ip', from.ip],
      ['src_port', from.port],
      ['dest_ip', to.ip],
      ['dest_port', to.port],
      [`${p}.id`, tx.dnsId],
      [`${p}.version`, version],
      [`${p}.opcode`, opcodeNumber(tx.opcode)],
    ]);
  };
  const question = (r: EveRecord, caseless: boolean, ofQuery: boolean): void => {
    if (tx.question === null) return;
    const name = caseless ? new Caseless(tx.question.nameRaw) : tx.question.nameRaw;
    if (version === 2) {
      r.set(`${p}.rrname`, name);
      r.set(`${p}.rrtype`, tx.question.type);
    } else {
      r.set(`${p}.queries[0].rrname`, name);
      // Suricata's mDNS records write types in lowercase.
      r.set(`${p}.queries[0].rrtype`, mdns ? tx.question.type.toLowerCase() : tx.question.type);
      // The record keeps the first question and the query's QDCOUNT: further questions
      // of the query exist, what they ask is not known.
      for (let i = 1; ofQuery && i < tx.questionCount && i < 16; i++) {
        r.set(`${p}.queries[${i}].rrname`, UNKNOWN);
        r.set(`${p}.queries[${i}].rrtype`, UNKNOWN);
      }
    }
  };
  const out: EveRecord[] = [];
  const queried = tx.status === 'ANSWERED' || tx.status === 'UNANSWERED';
  if (tx.status === 'MALFORMED') {
    // What Suricata logs of a message dnsflow could not read is not known here.
    const r = base('client');
    for (const key of [...r.keys()]) if (!/_(ip|port)$|^proto$/.test(key)) r.set(key, UNKNOWN);
    r.set(`${p}.type`, UNKNOWN);
    r.set('event_type', UNKNOWN);
    out.push(r);
    return out;
  }
  if (queried) {
    const queries = tx.notes.filter((n) => n === 'query retransmitted with the same id').length;
    for (let i = 0; i <= queries; i++) {
      const r = base('client');
      r.set(`${p}.type`, version === 2 ? 'query' : 'request');
      question(r, false, true);
      // Header flags of an answered query are not kept (the record has the response's).
      const known = tx.status === 'UNANSWERED' && i === 0;
      r.set(`${p}.flags`, known ? headerFlags(tx, false) : UNKNOWN);
      r.set(`${p}.rd`, known ? tx.flags.rd : UNKNOWN);
      r.set('pcap_cnt', i === 0 ? frameOf(tx.startTimeUs) : UNKNOWN);
      out.push(r);
    }
  }
  if (tx.status === 'ANSWERED' || tx.status === 'ORPHAN') {
    // Suricata 8's v2 logger writes an answer with the flow's (client-to-server) tuple.
    const r = version === 2 ? base('client') : base('server');
    r.set(`${p}.type`, version === 2 ? 'answer' : 'response');
    question(r, true, tx.status === 'ORPHAN');
    r.set(`${p}.flags`, headerFlags(tx, true));
    r.set(`${p}.qr`, true);
    r.set(`${p}.aa`, tx.flags.aa);
    r.set(`${p}.tc`, tx.flags.tc);
    r.set(`${p}.rd`, tx.flags.rd);
    r.set(`${p}.ra`, tx.flags.ra);
    r.set(`${p}.rcode`, tx.rcode ?? UNKNOWN);
    r.set('pcap_cnt', frameOf(tx.status === 'ORPHAN' ? tx.startTimeUs : tx.endTimeUs));
    const grouped = new Map<string, number>();
    const sections: Array<[string, DnsTransaction['answers']]> = [
      ['answers', tx.answers],
      ['authorities', tx.authorities],
      ['additionals', tx.additionals],
    ];
    for (const [section, records] of sections) {
      let i = 0;
      for (const rr of records) {
        for (const entry of mdns ? [mdnsAnswer(rr)] : suricataAnswers(rr)) {
          for (const [key, value] of Object.entries(entry)) {
            // Names are normalised in dnsflow's records; Suricata writes them as sent.
            const caseless = key === 'rrname' || /name$/.test(key) || /^(ptr|cname|ns)$/.test(key);
            const v = caseless && typeof value === 'string' ? new Caseless(value) : value;
            r.set(`${p}.${section}[${i}].${key}`, v);
          }
          const rdata = entry.rdata;
          if (section === 'answers' && rdata !== undefined) {
            const n = grouped.get(rr.type) ?? 0;
            grouped.set(rr.type, n + 1);
            r.set(`${p}.grouped.${rr.type}[${n}]`, rdata);
          }
          if (rdata !== undefined && ['CNAME', 'NS', 'PTR', 'MX'].includes(rr.type)) {
            const v = r.get(`${p}.${section}[${i}].rdata`);
            if (typeof v === 'string') r.set(`${p}.${section}[${i}].rdata`, new Caseless(v));
          }
          i++;
        }
      }
      r.set(`${p}.${section}.__len`, i);
    }
    out.push(r);
    for (let i = 0; i < tx.duplicateResponses; i++) {
      // Further responses: only that they came is kept.
      const d = base(version === 2 ? 'client' : 'server');
      d.set(`${p}.type`, version === 2 ? 'answer' : 'response');
      for (const key of [...d.keys()]) if (key.endsWith('.opcode')) d.set(key, UNKNOWN);
      d.set('*', UNKNOWN);
      out.push(d);
    }
  }
  return out;
}

function isRequest(r: EveRecord): Value {
  const t = r.get('dns.type') ?? r.get('mdns.type');
  if (t === UNKNOWN || t === undefined) return UNKNOWN;
  return t === 'query' || t === 'request';
}

function equal(expected: unknown, actual: Value, key: string): boolean | typeof UNKNOWN {
  if (actual === UNKNOWN) return UNKNOWN;
  if (actual instanceof FrameNumbers) {
    if (!actual.candidates.includes(Number(expected))) return false;
    return actual.candidates.length === 1 ? true : UNKNOWN;
  }
  if (/\.flags$/.test(key) && typeof actual === 'number') {
    // dnsflow does not keep the reserved Z bit (0x0040); compare the other 15 bits.
    const want = Number.parseInt(String(expected).padStart(4, '0'), 16);
    return (want & ~0x0040) === (actual & ~0x0040);
  }
  if (actual instanceof Caseless) {
    return String(expected).toLowerCase().replace(/\.$/, '') === actual.text.toLowerCase();
  }
  if (typeof actual === 'string' && typeof expected === 'string') {
    if (expected === actual) return true;
    const a = ipKey(actual);
    return a !== null && a === ipKey(expected);
  }
  return String(expected) === String(actual);
}

/** Whether a record carries the filter's values: true, false, or unknown. */
function matches(record: EveRecord, match: Record<string, unknown>): boolean | typeof UNKNOWN {
  let result: boolean | typeof UNKNOWN = true;
  const opaque = record.has('*');
  for (const [key, expected] of Object.entries(match)) {
    if (key === 'has-key' || key === 'not-has-key') {
      const keys = Array.isArray(expected) ? (expected as unknown[]).map(String) : [];
      for (const k of keys) {
        const present = [...record.keys()].some(
          (rk) => rk === k || rk.startsWith(`${k}.`) || rk.startsWith(`${k}[`),
        );
        if (opaque) result = UNKNOWN;
        else if (present !== (key === 'has-key')) return false;
      }
      continue;
    }
    const actual = record.get(key);
    if (actual === undefined) {
      if (opaque || !PRODUCIBLE.test(key)) result = UNKNOWN;
      else return false;
      continue;
    }
    const eq = equal(expected, actual, key);
    if (eq === false) return false;
    if (eq === UNKNOWN) result = UNKNOWN;
  }
  return result;
}

function eveOutputs(c: SuricataCase): Map<string, EveDnsOutput> {
  const outputs = new Map<string, EveDnsOutput>();
  const defaults = (version: 2 | 3): EveDnsOutput => ({
    version,
    types: null,
    requests: true,
    responses: true,
  });
  const file = join(c.dir, 'suricata.yaml');
  if (!existsSync(file)) return outputs;
  let doc: unknown;
  try {
    doc = parse(readFileSync(file, 'utf8').replace(/^%YAML.*$/m, ''));
  } catch {
    return outputs;
  }
  const list = (doc as { outputs?: unknown[] } | null)?.outputs ?? [];
  for (const item of list) {
    const eve = (item as Record<string, unknown> | null)?.['eve-log'] as
      Record<string, unknown> | undefined;
    if (eve === undefined) continue;
    const filename = typeof eve.filename === 'string' ? eve.filename : 'eve.json';
    for (const t of (eve.types ?? []) as unknown[]) {
      const dns = t === 'dns' ? {} : ((t as Record<string, unknown> | null)?.dns ?? undefined);
      if (dns === undefined) continue;
      const o = (dns ?? {}) as Record<string, unknown>;
      const out = defaults(o.version === 2 || o.version === '2' ? 2 : 3);
      if (Array.isArray(o.types)) out.types = (o.types as unknown[]).map((x) => String(x));
      if (o.requests === false || o.requests === 'no') out.requests = false;
      if (o.responses === false || o.responses === 'no') out.responses = false;
      outputs.set(filename, out);
    }
  }
  return outputs;
}

/** app-layer switches that turn Suricata's DNS parser off for a transport or entirely. */
export function disabledParsers(c: SuricataCase): string | null {
  const file = join(c.dir, 'suricata.yaml');
  if (!existsSync(file)) return null;
  const text = readFileSync(file, 'utf8');
  const doc = parse(text.replace(/^%YAML.*$/m, '')) as Record<string, unknown> | null;
  const dns = (
    (doc?.['app-layer'] as Record<string, unknown> | undefined)?.protocols as
      Record<string, unknown> | undefined
  )?.dns as Record<string, unknown> | undefined;
  if (dns === undefined) return null;
  const off = (v: unknown): boolean => v === false || v === 'no';
  const parts: string[] = [];
  if (off(dns.enabled)) parts.push('dns');
  for (const t of ['tcp', 'udp']) {
    if (off((dns[t] as Record<string, unknown> | undefined)?.enabled)) parts.push(`dns.${t}`);
  }
  return parts.length === 0 ? null : parts.join(', ');
}

/**
 * Runs the filter checks of one case against dnsflow's transactions. A check counts
 * the records that certainly match (all fields known and equal) and those that may
 * (some fields unknown): it fails when its count is outside that range.
 */
export function compareSuricata(
  c: SuricataCase,
  transactions: DnsTransaction[],
  frameTimes: Map<number, number[]>,
  tcpAcked: Map<number, number[]> = new Map(),
  mdnsPort = 5353,
): SuricataComparison {
  const frames: FrameIndex = { times: frameTimes, tcpAcked };
  const result: SuricataComparison = { compared: 0, differences: [], notCompared: [], partial: [] };
  for (const other of c.others) {
    result.notCompared.push(`check ${other.index + 1}: a ${other.kind} check, not an eve filter`);
  }
  const outputs = eveOutputs(c);
  for (const f of c.filters) {
    const label = describe(f);
    const skip = skipReason(c, f);
    if (skip !== null) {
      result.notCompared.push(`check ${f.index + 1} (${label}): ${skip}`);
      continue;
    }
    const output = outputs.get(f.filename ?? 'eve.json');
    let version: 2 | 3 = output?.version ?? 3;
    if (c.eveDnsVersion === 2 || (f.versions.lt !== null && f.versions.lt <= 8)) version = 2;
    let yes = 0;
    let maybe = 0;
    for (const tx of transactions) {
      const qtype = tx.question?.type.toLowerCase() ?? '';
      for (const record of eveRecords(tx, version, frames, mdnsPort)) {
        if (output !== undefined) {
          const req = isRequest(record);
          if (req === true && !output.requests) continue;
          if (req === false && !output.responses) continue;
          if (output.types !== null && !output.types.includes(qtype)) continue;
        }
        const m = matches(record, f.match);
        if (m === true) yes++;
        else if (m === UNKNOWN) maybe++;
      }
    }
    result.compared++;
    if (f.count < yes || f.count > yes + maybe) {
      const seen = maybe === 0 ? `${yes}` : `${yes} certain + ${maybe} possible`;
      result.differences.push(
        `check ${f.index + 1} (${label}): expected ${f.count} record(s), dnsflow gives ${seen}`,
      );
    } else if (maybe > 0 && !(f.count === yes && maybe === 0)) {
      result.partial.push(
        `check ${f.index + 1} (${label}): ${yes} certain + ${maybe} possible for ${f.count}`,
      );
    }
  }
  return result;
}

function skipReason(c: SuricataCase, f: SuricataFilter): string | null {
  const eventType = f.match.event_type;
  const keys = Object.keys(f.match);
  if (eventType !== undefined && eventType !== 'dns' && eventType !== 'mdns') {
    return `checks ${text(eventType)} records (rules, flows, stats), not DNS records`;
  }
  if (eventType === undefined && !keys.some((k) => /^m?dns\./.test(k))) {
    return 'checks records other than DNS ones';
  }
  if (f.versions.min !== null && f.versions.min >= 9) {
    return `targets Suricata >= ${f.versions.min}, whose eve format is not released`;
  }
  if (f.filename !== null && !/\.json$/.test(f.filename)) return `reads ${f.filename}`;
  void c;
  return null;
}

function describe(f: SuricataFilter): string {
  const m = f.match;
  const parts = [
    m.event_type,
    m['dns.type'],
    m['dns.rrname'] ?? m['dns.queries[0].rrname'],
    m['dns.rrtype'] ?? m['dns.queries[0].rrtype'],
    m['dns.rcode'],
    m.pcap_cnt === undefined ? undefined : `pcap_cnt ${text(m.pcap_cnt)}`,
    f.filename,
  ].filter((x) => x !== undefined && x !== null);
  return `${parts.map(text).join(' ')} x${f.count}`;
}

/** A YAML scalar (or, rarely, a structure) as report text. */
function text(value: unknown): string {
  if (typeof value === 'string') return value;
  return JSON.stringify(value) ?? 'undefined';
}
