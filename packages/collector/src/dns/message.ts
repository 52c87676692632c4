import { MessageNames, nameEnd } from './name';
import type { Edns, EdnsOption, HeaderFlags, Question, ResourceRecord } from '@dnsflow/schema';
import { ipv4AddressText as ipv4Text, ipv6AddressText as ipv6Text } from '../decode/address';
import { rdataText } from './rdata';
import { className, opcodeName, typeName } from './names';

/** Header flags of one message (DO lives in EDNS, not here). */
export type MessageFlags = Omit<HeaderFlags, 'do'>;

/** A decoded DNS message, normalised for pairing and for the transaction record. */
export interface DnsMessage {
  id: number;
  /** True for a response (QR bit). */
  qr: boolean;
  opcode: string;
  flags: MessageFlags;
  /** 12-bit response code: header RCODE plus the EDNS extended bits (RFC 6891 §6.1.3). */
  rcodeValue: number;
  /** First question; null when QDCOUNT is 0. */
  question: Question | null;
  questionCount: number;
  answerCount: number;
  authorityCount: number;
  additionalCount: number;
  answers: ResourceRecord[];
  authorities: ResourceRecord[];
  /** Additional records without the OPT pseudo-record. */
  additionals: ResourceRecord[];
  edns: Edns | null;
  sizeBytes: number;
  /**
   * Set when the header and question decoded but a later record did not (a response cut
   * by TC, or a broken record): the records before it are kept.
   */
  recordsError: string | null;
}

/** Why a message could not be decoded; a closed set, used as a metric label. */
export type MalformedReason = 'header_truncated' | 'bad_question' | 'trailing_question';

/** What the 12-byte header says, when at least that much arrived. */
export interface PartialHeader {
  id: number;
  qr: boolean;
  opcode: string;
  flags: MessageFlags;
  rcodeValue: number;
  questionCount: number;
}

export type DecodeResult =
  | { status: 'ok'; message: DnsMessage }
  | {
      status: 'malformed';
      reason: MalformedReason;
      detail: string;
      header: PartialHeader | null;
      sizeBytes: number;
    };

/** A message could carry 65535 questions by its header; one real query carries one. */
export const MAX_QUESTIONS_DECODED = 16;
/** Per section; bounds the work one hostile message can cause. */
const MAX_RECORDS_DECODED = 256;

const OPT = 41;

/**
 * The one empty record list every message without records shares (a query has none):
 * one allocation less per section per message on the hot path. Frozen, so nothing can
 * fill it by mistake.
 */
const NO_RECORDS = Object.freeze([]) as unknown as ResourceRecord[];
const ECS_OPTION = 8;

/**
 * Big-endian 16 bits at `at` without Buffer#readUInt16BE's argument checks, which cost
 * more than the read on this path; every caller has checked that both bytes are there.
 */
function u16(buf: Buffer, at: number): number {
  return ((buf[at] as number) << 8) | (buf[at + 1] as number);
}

/** The header flags of the second 16-bit word of a message. */
function flagsOf(bits: number): MessageFlags {
  return {
    aa: (bits & 0x0400) !== 0,
    tc: (bits & 0x0200) !== 0,
    rd: (bits & 0x0100) !== 0,
    ra: (bits & 0x0080) !== 0,
    ad: (bits & 0x0020) !== 0,
    cd: (bits & 0x0010) !== 0,
  };
}

function readHeader(buf: Buffer): PartialHeader {
  const bits = u16(buf, 2);
  return {
    id: u16(buf, 0),
    qr: (bits & 0x8000) !== 0,
    opcode: opcodeName((bits >> 11) & 0xf),
    flags: flagsOf(bits),
    rcodeValue: bits & 0xf,
    questionCount: u16(buf, 4),
  };
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The extended RCODE bits of the OPT record the last {@link parseEdns} read. */
let extendedRcode = 0;

/** The OPT record whose TTL field is at `ttlOffset` and RDATA at [start, end). */
function parseEdns(buf: Buffer, ttlOffset: number, start: number, end: number): Edns {
  // OPT reuses the RR fields (RFC 6891 §6.1.2/§6.1.3): CLASS = UDP payload size,
  // TTL = extended RCODE (8 bits), version (8 bits), flags (16 bits, DO first).
  const udpSize = u16(buf, ttlOffset - 2);
  extendedRcode = buf[ttlOffset] as number;
  const version = buf[ttlOffset + 1] as number;
  const ednsFlags = u16(buf, ttlOffset + 2);
  const options: EdnsOption[] = [];
  let clientSubnet: string | null = null;
  let at = start;
  while (at + 4 <= end) {
    const code = u16(buf, at);
    const len = u16(buf, at + 2);
    const dataEnd = Math.min(end, at + 4 + len);
    // A copy: the record outlives the packet.
    const data = Buffer.allocUnsafe(dataEnd - at - 4);
    for (let i = 0; i < data.length; i++) data[i] = buf[at + 4 + i] as number;
    options.push({ code, data });
    if (code === ECS_OPTION && clientSubnet === null) clientSubnet = clientSubnetText(data);
    at += 4 + len;
  }
  return { version, udpSize, do: (ednsFlags & 0x8000) !== 0, clientSubnet, options };
}

/** ECS option (RFC 7871 §6): family, source prefix, scope prefix, truncated address. */
function clientSubnetText(data: Buffer): string | null {
  if (data.length < 4) return null;
  const family = data.readUInt16BE(0);
  const prefix = data.readUInt8(2);
  const addr = data.subarray(4);
  if (family === 1) {
    const full = Buffer.alloc(4);
    addr.copy(full, 0, 0, Math.min(4, addr.length));
    return `${ipv4Text(full, 0)}/${prefix}`;
  }
  if (family === 2) {
    const full = Buffer.alloc(16);
    addr.copy(full, 0, 0, Math.min(16, addr.length));
    return `${ipv6Text(full, 0)}/${prefix}`;
  }
  return null;
}

/**
 * What the last {@link decodeSections} read (one decode at a time, nothing awaits inside),
 * so a message costs no result object of its own.
 */
const sections = {
  answers: NO_RECORDS,
  authorities: NO_RECORDS,
  additionals: NO_RECORDS,
  edns: null as Edns | null,
  error: null as string | null,
};

/** The names of the message being decoded (one decode at a time: no await inside). */
const names = new MessageNames();

const SECTION_NAMES = ['answer', 'authority', 'additional'];

function decodeSections(buf: Buffer, start: number, an: number, ns: number, ar: number): void {
  sections.answers = an > 0 ? [] : NO_RECORDS;
  sections.authorities = ns > 0 ? [] : NO_RECORDS;
  // The OPT record counts in ARCOUNT but is not kept in `additionals`.
  sections.additionals = ar > 0 ? [] : NO_RECORDS;
  sections.edns = null;
  sections.error = null;
  extendedRcode = 0;
  let offset = start;
  for (let s = 0; s < 3; s++) {
    const target =
      s === 0 ? sections.answers : s === 1 ? sections.authorities : sections.additionals;
    const count = Math.min(s === 0 ? an : s === 1 ? ns : ar, MAX_RECORDS_DECODED);
    for (let i = 0; i < count; i++) {
      try {
        const owner = names.read(offset);
        const ownerEnd = names.next;
        if (ownerEnd + 10 > buf.length) throw new Error('record header cut short');
        const type = u16(buf, ownerEnd);
        const klass = u16(buf, ownerEnd + 2);
        const ttl = u16(buf, ownerEnd + 4) * 0x10000 + u16(buf, ownerEnd + 6);
        const rdlength = u16(buf, ownerEnd + 8);
        const rdataStart = ownerEnd + 10;
        if (rdataStart + rdlength > buf.length) throw new Error('RDATA runs past the message');
        offset = rdataStart + rdlength;
        if (type === OPT) {
          if (s === 2 && sections.edns === null) {
            sections.edns = parseEdns(buf, ownerEnd + 4, rdataStart, offset);
          }
          continue;
        }
        target.push({
          name: owner,
          type: typeName(type),
          class: className(klass & 0x7fff),
          ttl,
          data: rdataText(buf, names, type, rdataStart, rdlength),
        });
      } catch (err) {
        sections.error = `${SECTION_NAMES[s]} record ${i + 1}: ${errorText(err)}`;
        return;
      }
    }
  }
}

/**
 * Decodes one DNS message. Never throws: a message that cannot be read as far as its
 * question is `malformed` with a reason; a message whose later records break keeps what
 * decoded and says why in `recordsError`.
 */
export function decodeMessage(buf: Buffer): DecodeResult {
  const sizeBytes = buf.length;
  if (buf.length < 12) {
    return {
      status: 'malformed',
      reason: 'header_truncated',
      detail: `message has ${buf.length} bytes, a DNS header needs 12`,
      header: null,
      sizeBytes,
    };
  }
  const bits = u16(buf, 2);
  const questionCount = u16(buf, 4);
  names.reset(buf);
  const answerCount = u16(buf, 6);
  const authorityCount = u16(buf, 8);
  const additionalCount = u16(buf, 10);
  let offset = 12;
  let question: Question | null = null;
  const qcount = Math.min(questionCount, MAX_QUESTIONS_DECODED);
  for (let i = 0; i < qcount; i++) {
    try {
      const name = names.read(offset);
      const end = names.next;
      if (end + 4 > buf.length) throw new Error('question type/class cut short');
      const type = u16(buf, end);
      // mDNS uses the top bit of QCLASS as "unicast response wanted" (RFC 6762 §5.4).
      const klass = u16(buf, end + 2) & 0x7fff;
      offset = end + 4;
      if (question === null) {
        question = {
          name,
          nameRaw: names.raw,
          type: typeName(type),
          class: className(klass),
        };
      }
    } catch (err) {
      return {
        status: 'malformed',
        reason: i === 0 ? 'bad_question' : 'trailing_question',
        detail: `question ${i + 1}: ${errorText(err)}`,
        header: readHeader(buf),
        sizeBytes,
      };
    }
  }
  if (questionCount > MAX_QUESTIONS_DECODED) {
    sections.answers = sections.authorities = sections.additionals = NO_RECORDS;
    sections.edns = null;
    sections.error = `${questionCount} questions; records not decoded`;
    extendedRcode = 0;
  } else {
    decodeSections(buf, offset, answerCount, authorityCount, additionalCount);
  }
  return {
    status: 'ok',
    message: {
      id: u16(buf, 0),
      qr: (bits & 0x8000) !== 0,
      opcode: opcodeName((bits >> 11) & 0xf),
      flags: flagsOf(bits),
      rcodeValue: (bits & 0xf) | (extendedRcode << 4),
      question,
      questionCount,
      answerCount,
      authorityCount,
      additionalCount,
      answers: sections.answers,
      authorities: sections.authorities,
      additionals: sections.additionals,
      edns: sections.edns,
      sizeBytes,
      recordsError: sections.error,
    },
  };
}

/** What pairing reads of a message when it arrives; see {@link scanMessage}. */
export interface MessageScan {
  id: number;
  /** True for a response (QR bit). */
  qr: boolean;
  /** QDCOUNT > 0: the first question's name starts at offset 12. */
  hasQuestion: boolean;
  /** TYPE and CLASS (without the mDNS unicast bit) of the first question. */
  qtype: number;
  qclass: number;
  /** False when {@link decodeMessage} would set `recordsError`. */
  recordsComplete: boolean;
}

/** A scan result to reuse across messages. */
export function newMessageScan(): MessageScan {
  return { id: 0, qr: false, hasQuestion: false, qtype: 0, qclass: 0, recordsComplete: true };
}

/** Whether every record of the sections from `start` reads (see decodeSections). */
function sectionsComplete(buf: Buffer, start: number): boolean {
  let offset = start;
  for (let s = 0; s < 3; s++) {
    const count = Math.min(u16(buf, 6 + 2 * s), MAX_RECORDS_DECODED);
    for (let i = 0; i < count; i++) {
      const owner = nameEnd(buf, offset);
      if (owner < 0 || owner + 10 > buf.length) return false;
      offset = owner + 10 + u16(buf, owner + 8);
      if (offset > buf.length) return false;
    }
  }
  return true;
}

/**
 * Checks a message as {@link decodeMessage} reads it without building any text: pairing
 * needs the id, the QR bit and where the question is when a message arrives, and the
 * whole decoded message only when its transaction is emitted. True when decodeMessage
 * would return `ok` (then `out` is filled), false when it would call the message
 * malformed (decodeMessage then says why).
 */
export function scanMessage(buf: Buffer, out: MessageScan): boolean {
  if (buf.length < 12) return false;
  const questionCount = u16(buf, 4);
  const qcount = Math.min(questionCount, MAX_QUESTIONS_DECODED);
  let offset = 12;
  for (let i = 0; i < qcount; i++) {
    const end = nameEnd(buf, offset);
    if (end < 0 || end + 4 > buf.length) return false;
    if (i === 0) {
      out.qtype = u16(buf, end);
      out.qclass = u16(buf, end + 2) & 0x7fff;
    }
    offset = end + 4;
  }
  out.id = u16(buf, 0);
  out.qr = (buf[2] as number) >= 0x80;
  out.hasQuestion = questionCount > 0;
  out.recordsComplete = questionCount <= MAX_QUESTIONS_DECODED && sectionsComplete(buf, offset);
  return true;
}
