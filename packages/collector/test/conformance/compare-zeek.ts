// A Zeek dns.log row is one transaction as Zeek saw it. Rows are matched to dnsflow's
// transactions by transport, endpoints, id and query name; then every column Zeek logs
// is set against the transaction, in the meaning both give it.
import type { DnsTransaction, ResourceRecord } from '@dnsflow/schema';
import { nameKey, zeekAnswerText, ipKey } from './rdata';
import { zeekList, type ZeekExpectation, type ZeekLog, type ZeekRow } from './zeek';

/** The outcome of one dns.log baseline. */
export interface ZeekComparison {
  rows: number;
  differences: string[];
  notCompared: string[];
}

type Status = DnsTransaction['status'];

/** Zeek's qtype names that differ from the mnemonics dnsflow writes. */
function zeekType(name: string): string {
  if (name === '*') return 'ANY';
  const m = /^query-(\d+)$/.exec(name);
  return m?.[1] !== undefined ? `TYPE${m[1]}` : name;
}

const ZEEK_CLASSES: Record<string, string> = {
  C_INTERNET: 'IN',
  C_CHAOS: 'CH',
  C_HESIOD: 'HS',
  C_NONE: 'NONE',
  C_ANY: 'ANY',
};

const ZEEK_OPCODES: Record<string, string> = {
  query: 'QUERY',
  'inverse-query': 'IQUERY',
  status: 'STATUS',
  notify: 'NOTIFY',
  'dynamic-update': 'UPDATE',
};

/** DNSSEC algorithm mnemonics Zeek's DNS::algorithms table writes (IANA numbers). */
const ALGORITHMS = new Set([
  'RSA_MD5',
  'Diffie_Hellman',
  'DSA_SHA1',
  'Elliptic_Curve',
  'RSA_SHA1',
  'DSA_NSEC3_SHA1',
  'RSA_SHA1_NSEC3_SHA1',
  'RSA_SHA256',
  'RSA_SHA512',
  'GOST_R_34_10_2001',
  'ECDSA_curveP256withSHA256',
  'ECDSA_curveP384withSHA384',
  'Ed25519',
  'Ed448',
]);

function cell(log: ZeekLog, row: ZeekRow, column: string): string | null {
  const v = row[column];
  return v === undefined || v === log.unset ? null : v;
}

/** Which messages the row saw. Zeek sets rcode from a response, rtt from both. */
function rowStatus(log: ZeekLog, row: ZeekRow): Status | null {
  if (!('rcode' in row || 'rcode_name' in row)) return null;
  const response = cell(log, row, 'rcode') ?? cell(log, row, 'rcode_name');
  if (response === null) return 'UNANSWERED';
  if (cell(log, row, 'rtt') !== null) return 'ANSWERED';
  if (!('qclass' in row)) return null;
  return cell(log, row, 'qclass') !== null ? 'ANSWERED' : 'ORPHAN';
}

function endpointsMatch(log: ZeekLog, row: ZeekRow, tx: DnsTransaction, ordered: boolean): boolean {
  const same = (a: string | null, b: string): boolean =>
    a === null || (ipKey(a) ?? a) === (ipKey(b) ?? b);
  const port = (a: string | null, b: number): boolean => a === null || Number(a) === b;
  const oh = cell(log, row, 'id.orig_h');
  const op = cell(log, row, 'id.orig_p');
  const rh = cell(log, row, 'id.resp_h');
  const rp = cell(log, row, 'id.resp_p');
  const forward =
    same(oh, tx.client.ip) &&
    port(op, tx.client.port) &&
    same(rh, tx.server.ip) &&
    port(rp, tx.server.port);
  if (forward || ordered) return forward;
  // Zeek's orig is the side that opened the flow; for a lone response that can be either.
  return (
    same(oh, tx.server.ip) &&
    port(op, tx.server.port) &&
    same(rh, tx.client.ip) &&
    port(rp, tx.client.port)
  );
}

/**
 * The query Zeek logs for a transaction. Zeek's DNS script takes it from the question of a
 * query (`dns_request`), and when it has none from the first answer of a response, or of
 * an UPDATE's prerequisites and updates (`do_reply`): a lone response without answers has
 * no query, an UPDATE none from its zone section.
 */
function zeekQuery(tx: DnsTransaction): string | null {
  if (tx.opcode === 'UPDATE') return (tx.answers[0] ?? tx.authorities[0])?.name ?? null;
  if (tx.status === 'ORPHAN') return tx.answers[0]?.name ?? null;
  return tx.question?.name ?? null;
}

function keyMatches(log: ZeekLog, row: ZeekRow, tx: DnsTransaction, status: Status | null) {
  const proto = cell(log, row, 'proto');
  if (proto !== null && proto.toUpperCase() !== tx.transport) return false;
  const id = cell(log, row, 'trans_id');
  if (id !== null && Number(id) !== tx.dnsId) return false;
  if ('query' in row) {
    const q = cell(log, row, 'query');
    const ours = zeekQuery(tx);
    if ((q === null ? null : nameKey(q)) !== (ours === null ? null : nameKey(ours))) return false;
  }
  const qtype = cell(log, row, 'qtype_name');
  if (qtype !== null && tx.question !== null && zeekType(qtype) !== tx.question.type) return false;
  return endpointsMatch(log, row, tx, status !== 'ORPHAN');
}

/**
 * An UPDATE's prerequisites (answer section) and updates (authority section) in the words
 * of Zeek's DNS script: `pre: NoRRSet CNAME name`, `del: RRSet A`, `add: A name address`,
 * ...; null when a record is of a type whose added form is not known here.
 */
function zeekUpdateTexts(tx: DnsTransaction): Array<{ text: string; ttl: number }> | null {
  const out: Array<{ text: string; ttl: number }> = [];
  for (const rr of tx.answers) {
    let what: string;
    if (rr.class === 'NONE' && rr.type === 'ANY') what = `NameNotInUse ${rr.name}`;
    else if (rr.class === 'ANY' && rr.type === 'ANY') what = `NameInUse ${rr.name}`;
    else if (rr.class === 'NONE') what = `NoRRSet ${rr.type} ${rr.name}`;
    else what = `RRSetExists ${rr.type} ${rr.name}`;
    out.push({ text: `pre: ${what}`, ttl: rr.ttl });
  }
  for (const rr of tx.authorities) {
    let text: string | null;
    if (rr.class === 'ANY' && rr.type === 'ANY') text = `del: RRSet * ${rr.name}`;
    else if (rr.class === 'NONE') text = `del: RR ${rr.type} ${rr.name}`;
    else if (rr.class === 'ANY') text = `del: RRSet ${rr.type}`;
    else if (rr.type === 'A' || rr.type === 'AAAA') text = `add: ${rr.type} ${rr.name} ${rr.data}`;
    else {
      const added = zeekAnswerText(rr);
      text = added === null ? null : `add: ${added}`;
    }
    if (text === null) return null;
    out.push({ text, ttl: rr.ttl });
  }
  return out;
}

/** dnsflow's records in Zeek's text, leaving out types Zeek does not log. */
function rendered(records: ResourceRecord[]): Array<{ text: string; ttl: number }> {
  const out: Array<{ text: string; ttl: number }> = [];
  for (const rr of records) {
    const text = zeekAnswerText(rr);
    if (text !== null) out.push({ text, ttl: rr.ttl });
  }
  return out;
}

function textEqual(expected: string, ours: string): boolean {
  if (expected === ours) return true;
  const a = ipKey(expected);
  if (a !== null) return a === ipKey(ours);
  return expected.toLowerCase() === ours.toLowerCase();
}

function compareRow(
  e: ZeekExpectation,
  row: ZeekRow,
  tx: DnsTransaction,
  status: Status | null,
  label: string,
  script: string,
): string[] {
  const log = e.log;
  const diffs: string[] = [];
  const diff = (what: string, expected: unknown, ours: unknown): void => {
    diffs.push(
      `${label}: ${what}: Zeek ${JSON.stringify(expected)}, dnsflow ${JSON.stringify(ours)}`,
    );
  };
  if (status !== null && status !== tx.status) diff('status', status, tx.status);
  const qclass = cell(log, row, 'qclass_name');
  if (qclass !== null && tx.question !== null) {
    const want = ZEEK_CLASSES[qclass] ?? qclass;
    if (want !== tx.question.class) diff('qclass', qclass, tx.question.class);
  }
  const rcode = cell(log, row, 'rcode');
  if (rcode !== null && Number(rcode) !== (tx.rcodeValue ?? -1) % 16) {
    diff('rcode', Number(rcode), tx.rcodeValue);
  }
  const rcodeName = cell(log, row, 'rcode_name');
  if (
    rcodeName !== null &&
    tx.rcodeValue !== null &&
    tx.rcodeValue < 16 &&
    rcodeName !== tx.rcode
  ) {
    diff('rcode_name', rcodeName, tx.rcode);
  }
  const rtt = cell(log, row, 'rtt');
  if (rtt !== null) {
    const ours = tx.latencyUs === null ? null : tx.latencyUs / 1e6;
    if (ours === null || Math.abs(ours - Number(rtt)) > 2e-6) diff('rtt (s)', Number(rtt), ours);
  }
  const flags: Array<[string, keyof DnsTransaction['flags']]> = [
    ['AA', 'aa'],
    ['TC', 'tc'],
    ['RD', 'rd'],
    ['RA', 'ra'],
  ];
  // Zeek's DNS script sets AA and RA while logging answer records, and RD from the
  // query: a row without answers keeps AA/RA false, a lone response keeps RD false.
  const hasAnswers = zeekList(log, row.answers).length > 0;
  for (const [column, flag] of flags) {
    if ((column === 'AA' || column === 'RA') && !hasAnswers && 'answers' in row) continue;
    if (column === 'RD' && status === 'ORPHAN') continue;
    const v = cell(log, row, column);
    if (v !== null && (v === 'T') !== tx.flags[flag]) diff(column, v, tx.flags[flag]);
  }
  const z = cell(log, row, 'Z');
  if (z !== null && tx.status === 'UNANSWERED') {
    // Zeek's Z is the query's 3 bits 0x0070 >> 4: reserved Z, AD, CD.
    const ours = (tx.flags.ad ? 2 : 0) | (tx.flags.cd ? 1 : 0);
    if ((Number(z) & 3) !== ours) diff('Z (AD/CD bits)', Number(z), ours);
  }
  const opcode = cell(log, row, 'opcode_name');
  if (opcode !== null && (ZEEK_OPCODES[opcode] ?? opcode) !== tx.opcode) {
    diff('opcode', opcode, tx.opcode);
  }
  const original = cell(log, row, 'original_query');
  if (
    original !== null &&
    tx.question !== null &&
    original !== tx.question.nameRaw.replace(/\.$/, '')
  ) {
    diff('original_query', original, tx.question.nameRaw);
  }
  if ('answers' in row) {
    let expected = zeekList(log, row.answers);
    if (script.includes('DNS::algorithms[')) {
      // The test script appends the DNSSEC algorithm name after DNSKEY/RRSIG entries.
      expected = expected.filter((a) => !ALGORITHMS.has(a));
    }
    const updates = tx.opcode === 'UPDATE' ? zeekUpdateTexts(tx) : null;
    if (tx.opcode === 'UPDATE' && updates === null) {
      // A record Zeek's words for updates are not known for: compare counts.
      const ours = tx.answers.length + tx.authorities.length;
      if (expected.length !== ours)
        diff('UPDATE prerequisite+update records', expected.length, ours);
    } else {
      const ours = updates ?? rendered(tx.answers);
      const same =
        expected.length === ours.length && expected.every((a, i) => textEqual(a, ours[i]!.text));
      if (!same)
        diff(
          'answers',
          expected,
          ours.map((a) => a.text),
        );
      if ('TTLs' in row && same) {
        const ttls = zeekList(log, row.TTLs).map(Number);
        if (ttls.length !== ours.length || ttls.some((t, i) => t !== ours[i]!.ttl)) {
          diff(
            'TTLs',
            ttls,
            ours.map((a) => a.ttl),
          );
        }
      }
    }
  }
  if ('auth' in row) {
    // auth and addl are sets in Zeek: order and repeats do not count.
    const expected = new Set(zeekList(log, row.auth).map((a) => a.toLowerCase()));
    const ours = new Set(rendered(tx.authorities).map((a) => a.text.toLowerCase()));
    if (expected.size !== ours.size || [...expected].some((a) => !ours.has(a))) {
      diff('auth', [...expected], [...ours]);
    }
  }
  if ('addl' in row) {
    const expected = new Set(zeekList(log, row.addl).map((a) => a.toLowerCase()));
    const ours = new Set(rendered(tx.additionals).map((a) => a.text.toLowerCase()));
    if (expected.size !== ours.size || [...expected].some((a) => !ours.has(a))) {
      diff('addl', [...expected], [...ours]);
    }
  }
  return diffs;
}

function isNetbios(log: ZeekLog, row: ZeekRow): boolean {
  return (
    cell(log, row, 'id.resp_p') === '137' ||
    (cell(log, row, 'opcode_name') ?? '').startsWith('netbios')
  );
}

/**
 * Compares one dns.log baseline with dnsflow's transactions for the same trace.
 *
 * Zeek and dnsflow count transactions differently in two places, settled here:
 * a repeated query (same flow, id and question) is a row of its own in Zeek and a
 * retransmission inside one transaction in dnsflow; a second response to an answered
 * query is a response-only row in Zeek and `duplicateResponses` in dnsflow.
 */
export function compareZeek(
  e: ZeekExpectation,
  transactions: DnsTransaction[],
  script: string,
): ZeekComparison {
  const log = e.log;
  const result: ZeekComparison = { rows: 0, differences: [], notCompared: [] };
  const used = new Map<DnsTransaction, number>();
  const folded = new Map<DnsTransaction, number>();
  let netbios = 0;
  log.rows.forEach((row, i) => {
    const label = `${e.baseline} row ${i + 1}`;
    if (isNetbios(log, row)) {
      netbios++;
      return;
    }
    result.rows++;
    const status = rowStatus(log, row);
    const keyed = transactions.filter((tx) => keyMatches(log, row, tx, status));
    const fresh = keyed.filter((tx) => !used.has(tx));
    const exact = fresh.find((tx) => status === null || tx.status === status);
    if (exact !== undefined) {
      used.set(exact, i);
      result.differences.push(...compareRow(e, row, exact, status, label, script));
      return;
    }
    const earlier = keyed.find((tx) => used.has(tx));
    if (earlier !== undefined && (status === 'ORPHAN' || status === 'UNANSWERED')) {
      // A second response (ORPHAN row) or a repeated query (UNANSWERED row) of a
      // transaction already matched.
      if (status === 'ORPHAN') folded.set(earlier, (folded.get(earlier) ?? 0) + 1);
      return;
    }
    const other = fresh[0];
    if (other !== undefined) {
      used.set(other, i);
      result.differences.push(...compareRow(e, row, other, status, label, script));
      return;
    }
    const q = cell(log, row, 'query') ?? '-';
    result.differences.push(
      `${label}: Zeek logs ${status ?? 'a transaction'} ${q} id ${row.trans_id ?? '?'} ` +
        `${row['id.orig_h'] ?? ''}:${row['id.orig_p'] ?? ''} > ${row['id.resp_h'] ?? ''}:${row['id.resp_p'] ?? ''}; dnsflow has none`,
    );
  });
  for (const tx of used.keys()) {
    const want = folded.get(tx) ?? 0;
    if ('rcode' in (log.rows[used.get(tx)!] ?? {}) && tx.duplicateResponses !== want) {
      result.differences.push(
        `${e.baseline}: ${tx.question?.name ?? '-'} id ${tx.dnsId}: Zeek logs ${want} further response(s), dnsflow counts ${tx.duplicateResponses} duplicateResponses`,
      );
    }
  }
  const extra = transactions.filter((tx) => !used.has(tx));
  const malformed = extra.filter((tx) => tx.status === 'MALFORMED');
  const unmatched = extra.filter(
    (tx) => tx.status !== 'MALFORMED' && !(netbios > 0 && tx.server.port === 137),
  );
  for (const tx of unmatched) {
    result.differences.push(
      `${e.baseline}: dnsflow has ${tx.status} ${tx.question?.name ?? '-'} ${tx.question?.type ?? ''} id ${tx.dnsId} ` +
        `${tx.client.ip}:${tx.client.port} > ${tx.server.ip}:${tx.server.port}; Zeek logs no such row`,
    );
  }
  if (netbios > 0) {
    result.notCompared.push(
      `${netbios} NetBIOS name-service rows (port 137: Zeek decodes NBNS like DNS; not DNS traffic)`,
    );
  }
  if (malformed.length > 0) {
    result.notCompared.push(
      `${malformed.length} MALFORMED message(s) of dnsflow (Zeek reports those in weird.log, not dns.log)`,
    );
  }
  return result;
}
