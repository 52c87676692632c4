// RDATA as dnsflow writes it (presentation text, or the RFC 3597 generic form), turned
// back into what it means so that it can be set against Zeek's and Suricata's own
// renderings of the same record.
import type { ResourceRecord } from '@dnsflow/schema';

/** The RDATA bytes of a record dnsflow wrote in the RFC 3597 `\# n hex` form. */
export function genericBytes(data: string): Buffer | null {
  const m = /^\\# (\d+)(?: ([0-9a-f]*))?$/i.exec(data);
  if (m === null) return null;
  return Buffer.from(m[2] ?? '', 'hex');
}

/**
 * The character-strings of a TXT/SPF/HINFO presentation (`"a" "b"`), as bytes:
 * RFC 1035 §5.1 escapes `\"`, `\\` and `\DDD` undone.
 */
export function characterStrings(data: string): Buffer[] {
  const out: Buffer[] = [];
  let i = 0;
  while (i < data.length) {
    if (data[i] !== '"') {
      i++;
      continue;
    }
    i++;
    const bytes: number[] = [];
    while (i < data.length && data[i] !== '"') {
      if (data[i] === '\\') {
        const digits = /^\d{3}/.exec(data.slice(i + 1, i + 4));
        if (digits !== null) {
          bytes.push(Number.parseInt(digits[0], 10));
          i += 4;
          continue;
        }
        bytes.push(data.charCodeAt(i + 1));
        i += 2;
        continue;
      }
      bytes.push(data.charCodeAt(i));
      i++;
    }
    i++;
    out.push(Buffer.from(bytes));
  }
  return out;
}

/** A canonical key for an IP address text (IPv6 fully expanded), or null if not one. */
export function ipKey(text: string): string | null {
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(text)) return text.split('.').map(Number).join('.');
  if (!text.includes(':')) return null;
  let head = text;
  let tailV4: string[] = [];
  const v4 = /(\d{1,3}(?:\.\d{1,3}){3})$/.exec(text);
  if (v4?.[1] !== undefined) {
    const b = v4[1].split('.').map(Number);
    tailV4 = [
      (((b[0] ?? 0) << 8) | (b[1] ?? 0)).toString(16),
      (((b[2] ?? 0) << 8) | (b[3] ?? 0)).toString(16),
    ];
    head = text.slice(0, text.length - v4[1].length) + 'x';
  }
  const parts = head.split('::');
  if (parts.length > 2) return null;
  const split = (s: string | undefined): string[] =>
    s === undefined || s === '' ? [] : s.split(':').flatMap((g) => (g === 'x' ? tailV4 : [g]));
  const left = split(parts[0]);
  const right = split(parts[1]);
  const fill = parts.length === 2 ? 8 - left.length - right.length : 0;
  const groups = [...left, ...Array<string>(fill).fill('0'), ...right];
  if (groups.length !== 8 || groups.some((g) => !/^[0-9a-f]{1,4}$/i.test(g))) return null;
  return groups.map((g) => g.toLowerCase().padStart(4, '0')).join(':');
}

/** A name compared as DNS compares names: case-insensitive, trailing dot ignored. */
export function nameKey(name: string): string {
  if (name === '.' || name === '') return '.';
  return name.replace(/\.$/, '').toLowerCase();
}

/** An uncompressed wire-format name at `offset` (DNSSEC RDATA names are never compressed). */
export function wireName(buf: Buffer, offset: number): { name: string; next: number } | null {
  const labels: string[] = [];
  let at = offset;
  for (;;) {
    const len = buf[at];
    if (len === undefined || len > 63) return null;
    at++;
    if (len === 0) break;
    if (at + len > buf.length) return null;
    labels.push(buf.toString('latin1', at, at + len));
    at += len;
  }
  return { name: labels.length === 0 ? '.' : labels.join('.'), next: at };
}

/** Types whose RDATA dnsflow, Zeek and Suricata all write as one address or name. */
const VERBATIM = new Set(['A', 'AAAA', 'NS', 'CNAME', 'PTR']);

/** The first `count` whitespace-separated fields of a presentation text. */
function fields(data: string): string[] {
  return data.split(' ');
}

/** Character-strings of the wire form (NAPTR), from `offset`. */
function wireString(buf: Buffer, offset: number): { text: string; next: number } | null {
  const len = buf[offset];
  if (len === undefined || offset + 1 + len > buf.length) return null;
  return { text: buf.toString('latin1', offset + 1, offset + 1 + len), next: offset + 1 + len };
}

/**
 * Zeek's escaping of bytes in log strings: printable ASCII kept, everything else as
 * `\xNN`; the set separator inside a value is escaped too.
 */
function zeekBytes(buf: Buffer): string {
  let out = '';
  for (const c of buf) {
    if (c >= 0x20 && c < 0x7f && c !== 0x2c && c !== 0x5c) out += String.fromCharCode(c);
    else out += `\\x${c.toString(16).padStart(2, '0')}`;
  }
  return out;
}

/**
 * How Zeek's dns.log writes one answer/authority record (`answers`, `auth` columns), built
 * from dnsflow's record; null for types Zeek does not put into those columns (its DNS
 * script logs only the types it has a reply event for). The forms follow Zeek's
 * base/protocols/dns/main.zeek as its baselines show them.
 */
export function zeekAnswerText(rr: ResourceRecord): string | null {
  const raw = genericBytes(rr.data);
  const f = fields(rr.data);
  try {
    if (VERBATIM.has(rr.type)) return rr.data;
    switch (rr.type) {
      case 'MX':
        return f[1] ?? null;
      case 'SRV':
        return f[3] ?? null;
      case 'SOA':
        return f[0] ?? null;
      case 'TXT':
      case 'SPF':
        return characterStrings(rr.data)
          .map((s) => `${rr.type} ${s.length} ${zeekBytes(s)}`)
          .join(' ');
      case 'DNSKEY':
        return raw === null ? null : `DNSKEY ${raw[3] ?? '?'}`;
      case 'DS':
        return raw === null ? null : `DS ${raw[2] ?? '?'} ${raw[3] ?? '?'}`;
      case 'RRSIG': {
        if (raw === null || raw.length < 18) return null;
        const signer = wireName(raw, 18);
        return `RRSIG ${raw.readUInt16BE(0)} ${signer === null ? '?' : nameKey(signer.name)}`;
      }
      case 'NSEC': {
        const next = raw === null ? null : wireName(raw, 0);
        return `NSEC ${nameKey(rr.name)} ${next === null ? '?' : nameKey(next.name)}`;
      }
      case 'NSEC3':
        return 'NSEC3';
      case 'NSEC3PARAM':
        return 'NSEC3PARAM';
      case 'SSHFP':
        return raw === null ? null : `SSHFP: ${raw.subarray(2).toString('hex')}`;
      case 'NAPTR': {
        if (raw === null || raw.length < 4) return null;
        const flags = wireString(raw, 4);
        const service = flags === null ? null : wireString(raw, flags.next);
        const regexp = service === null ? null : wireString(raw, service.next);
        const replacement = regexp === null ? null : wireName(raw, regexp.next);
        if (replacement === null || flags === null || service === null || regexp === null) {
          return null;
        }
        // Zeek's script puts regexp and replacement in one field, each only when not
        // empty: an empty regexp leaves no double space.
        const target = [regexp.text, nameKey(replacement.name)].filter((t) => t.length > 0);
        return [
          'NAPTR',
          raw.readUInt16BE(0),
          raw.readUInt16BE(2),
          flags.text,
          service.text,
          target.join(' '),
        ].join(' ');
      }
      case 'LOC':
        // Zeek writes only the version, size and precision bytes of LOC.
        return raw === null || raw.length < 4
          ? null
          : `LOC: ${raw[0] === 0 ? '' : raw[0]} ${raw[1]} ${raw[2]} ${raw[3]}`;
      case 'TYPE65534':
        // BIND's private signing-state record (RFC 6781 style), named by Zeek.
        return 'BIND9 signing signal';
      default:
        return null;
    }
  } catch {
    return null;
  }
}

/** Suricata's escaping of RDATA bytes in eve: bytes >= 0x80 as `\xNN`, the rest kept. */
export function suricataBytes(buf: Buffer): string {
  let out = '';
  for (const c of buf) {
    out += c >= 0x80 ? `\\x${c.toString(16).padStart(2, '0')}` : String.fromCharCode(c);
  }
  return out;
}

/** A value dnsflow's record cannot tell (a field Suricata derives from bytes we drop). */
export const UNKNOWN: unique symbol = Symbol('unknown');
export type Known<T> = T | typeof UNKNOWN;

/**
 * The eve fields of one answer/authority/additional entry as Suricata 8 writes them,
 * built from dnsflow's record. Fields Suricata writes from bytes dnsflow only keeps
 * in the generic form are decoded from those bytes.
 */
/**
 * The eve answer entries of one record: Suricata writes each character-string of a TXT
 * (or SPF) record as an entry of its own, every other record as one.
 */
export function suricataAnswers(rr: ResourceRecord): Array<Record<string, Known<string | number>>> {
  if (rr.type !== 'TXT' && rr.type !== 'SPF') return [suricataAnswer(rr)];
  const strings = characterStrings(rr.data);
  if (strings.length <= 1) return [suricataAnswer(rr)];
  return strings.map((text) => ({
    rrname: rr.name,
    rrtype: rr.type,
    ttl: rr.ttl,
    rdata: suricataBytes(text),
  }));
}

export function suricataAnswer(rr: ResourceRecord): Record<string, Known<string | number>> {
  const out: Record<string, Known<string | number>> = {
    rrname: rr.name,
    rrtype: rr.type,
    ttl: rr.ttl,
  };
  const f = fields(rr.data);
  const raw = genericBytes(rr.data);
  if (VERBATIM.has(rr.type)) out.rdata = rr.data;
  switch (rr.type) {
    case 'MX':
      out.rdata = f[1] ?? UNKNOWN;
      break;
    case 'TXT':
    case 'SPF':
      out.rdata = suricataBytes(Buffer.concat(characterStrings(rr.data)));
      break;
    case 'NULL':
      out.rdata = raw === null ? UNKNOWN : suricataBytes(raw);
      break;
    case 'SOA':
      Object.assign(out, {
        'soa.mname': f[0] ?? UNKNOWN,
        'soa.rname': f[1] ?? UNKNOWN,
        'soa.serial': Number(f[2]),
        'soa.refresh': Number(f[3]),
        'soa.retry': Number(f[4]),
        'soa.expire': Number(f[5]),
        'soa.minimum': Number(f[6]),
      });
      break;
    case 'SRV':
      Object.assign(out, {
        'srv.priority': Number(f[0]),
        'srv.weight': Number(f[1]),
        'srv.port': Number(f[2]),
        'srv.name': f[3] ?? UNKNOWN,
      });
      break;
    case 'SSHFP':
      if (raw !== null && raw.length >= 2) {
        Object.assign(out, {
          'sshfp.algo': raw[0] ?? UNKNOWN,
          'sshfp.type': raw[1] ?? UNKNOWN,
          'sshfp.fingerprint': [...raw.subarray(2)]
            .map((b) => b.toString(16).padStart(2, '0'))
            .join(':'),
        });
      }
      break;
    default:
      break;
  }
  return out;
}
