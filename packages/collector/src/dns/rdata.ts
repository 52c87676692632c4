import { ipv4AddressText as ipv4Text, ipv6AddressText as ipv6Text } from '../decode/address';
import type { MessageNames } from './name';

/** Bytes as an RFC 1035 §5.1 quoted string: `"` and `\\` escaped, bytes outside
 * printable ASCII as \\DDD. */
/**
 * RDATA bytes turned into text at most, per record. A 64 KB TXT of control bytes would
 * otherwise become a 250 KB string (and cost milliseconds), and a record with several
 * could pass Kafka's message size; what is cut is marked.
 */
export const MAX_RDATA_TEXT_BYTES = 4096;
const CUT = ' ...(truncated)';

function quoted(buf: Buffer, start: number, end: number): string {
  const stop = Math.min(end, start + MAX_RDATA_TEXT_BYTES);
  // Printable ASCII other than quote and backslash (all of nearly every TXT) is its own
  // text: taken in one piece up to the first byte that needs escaping.
  let plain = start;
  while (plain < stop) {
    const c = buf[plain] ?? 0;
    if (c < 0x20 || c >= 0x7f || c === 0x22 || c === 0x5c) break;
    plain++;
  }
  let text = buf.toString('latin1', start, plain);
  for (let i = plain; i < stop; i++) {
    const c = buf[i] ?? 0;
    if (c === 0x22 || c === 0x5c) text += `\\${String.fromCharCode(c)}`;
    else if (c >= 0x20 && c < 0x7f) text += String.fromCharCode(c);
    else text += `\\${c.toString().padStart(3, '0')}`;
  }
  return stop < end ? `"${text}"${CUT}` : `"${text}"`;
}

/** A sequence of length-prefixed character-strings (TXT, HINFO), space separated. */
function characterStrings(buf: Buffer, start: number, end: number): string {
  const parts: string[] = [];
  let at = start;
  while (at < end) {
    if (at - start >= MAX_RDATA_TEXT_BYTES) {
      parts.push(CUT.trim());
      break;
    }
    const stop = Math.min(end, at + 1 + (buf[at] ?? 0));
    parts.push(quoted(buf, at + 1, stop));
    at = stop;
  }
  return parts.join(' ');
}

/** RFC 3597 §5 generic form for RDATA without a presentation form here. */
function generic(buf: Buffer, start: number, length: number): string {
  if (length === 0) return '\\# 0';
  const shown = Math.min(length, MAX_RDATA_TEXT_BYTES);
  const hex = buf.toString('hex', start, start + shown);
  return `\\# ${length} ${hex}${shown < length ? CUT : ''}`;
}

/**
 * Presentation text of one record's RDATA (RFC 1035 §5.1 style): an address, a target
 * name, "preference exchange", quoted strings, ...; the RFC 3597 generic form for types
 * without one and for RDATA that does not parse as its type says.
 */
export function rdataText(
  buf: Buffer,
  names: MessageNames,
  type: number,
  start: number,
  length: number,
): string {
  const end = start + length;
  try {
    switch (type) {
      case 1: // A
        return length === 4 ? ipv4Text(buf, start) : generic(buf, start, length);
      case 28: // AAAA
        return length === 16 ? ipv6Text(buf, start) : generic(buf, start, length);
      case 2: // NS
      case 5: // CNAME
      case 12: // PTR
      case 39: // DNAME
        return names.read(start);
      case 15: {
        // MX
        const exchange = names.read(start + 2);
        return `${buf.readUInt16BE(start)} ${exchange}`;
      }
      case 6: {
        // SOA
        const mname = names.read(start);
        const rname = names.read(names.next);
        const n = names.next;
        if (n + 20 > end) return generic(buf, start, length);
        const serial = buf.readUInt32BE(n);
        const refresh = buf.readUInt32BE(n + 4);
        const retry = buf.readUInt32BE(n + 8);
        const expire = buf.readUInt32BE(n + 12);
        const minimum = buf.readUInt32BE(n + 16);
        return `${mname} ${rname} ${serial} ${refresh} ${retry} ${expire} ${minimum}`;
      }
      case 13: // HINFO
      case 16: // TXT
      case 99: // SPF
        return characterStrings(buf, start, end);
      case 33: {
        // SRV
        if (length < 7) return generic(buf, start, length);
        const target = names.read(start + 6);
        return `${buf.readUInt16BE(start)} ${buf.readUInt16BE(start + 2)} ${buf.readUInt16BE(start + 4)} ${target}`;
      }
      case 257: {
        // CAA (RFC 8659 §4.1.1)
        const tagLen = buf[start + 1] ?? 0;
        const tag = buf.toString('latin1', start + 2, start + 2 + tagLen);
        const value = quoted(buf, start + 2 + tagLen, end);
        return `${buf[start] ?? 0} ${tag} ${value}`;
      }
      default:
        return generic(buf, start, length);
    }
  } catch {
    return generic(buf, start, length);
  }
}
