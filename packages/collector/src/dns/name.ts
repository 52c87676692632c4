import { normaliseName } from './names';
import { packetLib } from './packet-lib';

/** A name as sent and the offset just past it in the message. */
export interface WireName {
  name: string;
  next: number;
}

/** Pointers one name may follow; a real name needs a handful, a loop needs them all. */
const MAX_JUMPS = 64;
/** Longest name text: 254 bytes of labels and length octets (dns-packet's bound). */
const MAX_NAME_BYTES = 254;
const DOT = 0x2e;

/** The text of the name being read, assembled here so a name costs one string. */
const scratch = Buffer.alloc(MAX_NAME_BYTES + 2);

/**
 * Buffer#latin1Slice is what Buffer#toString('latin1') ends in, after checks of its
 * arguments that cost as much as the copy of a short name; used when Node has it.
 */
const latin1Slice: (start: number, end: number) => string =
  typeof (scratch as { latin1Slice?: unknown }).latin1Slice === 'function'
    ? (scratch as unknown as { latin1Slice(start: number, end: number): string }).latin1Slice.bind(
        scratch,
      )
    : (start, end) => scratch.toString('latin1', start, end);
/**
 * Bytes of text the last {@link walk} with `text` wrote, whether all were ASCII, and
 * whether any was an uppercase ASCII letter.
 */
let textBytes = 0;
let textAscii = true;
let textUpper = false;

// Why a walk failed (negative, so they never look like an offset).
const REFUSED_POINTER = -1;
const OVERFLOW = -2;
const TOO_LONG = -3;
const BAD_LABEL = -4;
const POINTER_LOOP = -5;

/**
 * Walks the name at `offset`: the offset just past it, or why it does not read. With
 * `anyPointer` false the rules are dns-packet's `name.decode`: pointers only to bytes
 * before the name or the last pointer target (RFC 1035 §4.1.4 "prior occurrence"), any
 * other pointer is REFUSED_POINTER. With `anyPointer` true pointers go anywhere, at most
 * MAX_JUMPS of them. With `text` the labels, joined by dots, go to `scratch`.
 */
function walk(buf: Buffer, offset: number, anyPointer: boolean, text: boolean): number {
  let at = offset;
  let prior = offset;
  let next = -1;
  let jumps = 0;
  let total = 0;
  let n = 0;
  let ascii = true;
  let upper = false;
  for (;;) {
    if (at >= buf.length) return OVERFLOW;
    const len = buf[at] as number;
    if (len === 0) {
      if (next < 0) next = at + 1;
      break;
    }
    const kind = len & 0xc0;
    if (kind === 0xc0) {
      if (at + 2 > buf.length) return OVERFLOW;
      const target = ((len & 0x3f) << 8) | (buf[at + 1] as number);
      if (anyPointer) {
        if (++jumps > MAX_JUMPS) return POINTER_LOOP;
      } else if (target >= prior) {
        return REFUSED_POINTER;
      }
      if (next < 0) next = at + 2;
      at = target;
      prior = target;
      continue;
    }
    if (kind !== 0) return BAD_LABEL;
    if (at + 1 + len > buf.length) return OVERFLOW;
    total += len + 1;
    if (total > MAX_NAME_BYTES) return TOO_LONG;
    const end = at + 1 + len;
    if (text) {
      if (n > 0) scratch[n++] = DOT;
      for (let i = at + 1; i < end; i++) {
        const c = buf[i] as number;
        if (c >= 0x80) ascii = false;
        else if (c >= 0x41 && c <= 0x5a) upper = true;
        scratch[n++] = c;
      }
    }
    at = end;
  }
  textBytes = n;
  textAscii = ascii;
  textUpper = upper;
  return next;
}

/** The message of a failed walk, as dns-packet (or the any-pointer reading) words it. */
function walkError(code: number, anyPointer: boolean): Error {
  switch (code) {
    case TOO_LONG:
      return new Error('Cannot decode name (name too long)');
    case BAD_LABEL:
      return new Error(`Cannot decode name (bad label${anyPointer ? ' type' : ''})`);
    case POINTER_LOOP:
      return new Error('Cannot decode name (pointer loop)');
    default:
      return new Error('Cannot decode name (buffer overflow)');
  }
}

/** Where the last {@link readNameText} ended, and whether it followed a forward pointer. */
const lastRead = { next: 0, anyPointer: false };

/**
 * Reads a (possibly compressed) domain name exactly as dns-packet's `name.decode` does:
 * labels joined by dots, '.' for the root, the same checks and error messages. dns-packet
 * builds one string per label and then joins them, which was a third of the decoding time
 * of a message; here the labels are assembled in one buffer and become one string. A name
 * with bytes outside ASCII still goes through dns-packet, for its UTF-8 decoding.
 *
 * dns-packet accepts only pointers to earlier bytes; some servers point forward, and
 * resolvers and other decoders accept that, so a name refused for its pointer is read
 * again following pointers anywhere, with a jump limit against loops. Any other error
 * stands.
 */
export function readName(buf: Buffer, offset: number): WireName {
  const name = readNameText(buf, offset);
  return { name, next: lastRead.next };
}

/** {@link readName} without the result object: the end goes to `lastRead`. */
function readNameText(buf: Buffer, offset: number): string {
  let anyPointer = false;
  let next = walk(buf, offset, false, true);
  if (next === REFUSED_POINTER) {
    anyPointer = true;
    next = walk(buf, offset, true, true);
  }
  if (next < 0) throw walkError(next, anyPointer);
  lastRead.next = next;
  lastRead.anyPointer = anyPointer;
  if (textBytes === 0) return '.';
  if (textAscii) return latin1Slice(0, textBytes);
  // UTF-8 decoding of the joined labels equals dns-packet's per-label decoding joined: a
  // dot is never part of a multi-byte sequence, so it ends any broken one there.
  if (anyPointer) return scratch.toString('utf-8', 0, textBytes);
  return packetLib.name.decode(buf, offset);
}

/** Names of one message already read, by offset (see {@link MessageNames}). */
const SEEN_NAMES = 32;

/**
 * Reads the names of one message, normalised. Most names in a response are a bare
 * pointer to a name read before (each answer's owner points at the question, an address
 * record's owner at the CNAME target), so the text of a name read once is kept by its
 * offset and a pointer to that offset reuses it: the same walk would give the same text.
 * Only names read under dns-packet's rules are kept: a forward pointer changes how many
 * jumps a later walk through it counts.
 */
export class MessageNames {
  private buf: Buffer | null = null;
  private readonly seenAt = new Int32Array(SEEN_NAMES);
  private readonly seenText: string[] = new Array<string>(SEEN_NAMES).fill('');
  private seen = 0;
  /** The name as sent, of the last {@link read} that read one (not from a pointer). */
  raw = '';
  /** Offset just past the last name read. */
  next = 0;

  /** Starts on another message. */
  reset(buf: Buffer): void {
    this.buf = buf;
    this.seen = 0;
  }

  /** The normalised name at `offset` of the current message; throws like readName. */
  read(offset: number): string {
    const buf = this.buf as Buffer;
    const first = buf[offset] ?? 0;
    if (first >= 0xc0 && offset + 1 < buf.length) {
      const target = ((first & 0x3f) << 8) | (buf[offset + 1] as number);
      if (target < offset) {
        for (let i = 0; i < this.seen; i++) {
          if (this.seenAt[i] !== target) continue;
          this.next = offset + 2;
          return this.seenText[i] as string;
        }
      }
    }
    this.raw = readNameText(buf, offset);
    this.next = lastRead.next;
    // An ASCII name without capitals or a trailing dot in its text is its normal form.
    const plain = textAscii && !textUpper && this.raw.charCodeAt(this.raw.length - 1) !== DOT;
    const text = plain ? this.raw : normaliseName(this.raw);
    if (!lastRead.anyPointer && this.seen < SEEN_NAMES) {
      this.seenAt[this.seen] = offset;
      this.seenText[this.seen++] = text;
    }
    return text;
  }
}

/**
 * The offset just past the name at `offset`, or -1 when {@link readName} would throw:
 * the same checks, without building any text (pairing reads only where names end).
 */
export function nameEnd(buf: Buffer, offset: number): number {
  let next = walk(buf, offset, false, false);
  if (next === REFUSED_POINTER) next = walk(buf, offset, true, false);
  return next < 0 ? -1 : next;
}

/**
 * Whether two names that read without error (see {@link nameEnd}) have the same labels,
 * ASCII letters compared without case. Each name is at `at` of a message that starts at
 * `base` (compression pointers count from there). True means their normalised texts are
 * equal; false can still mean equal texts (a label holding a dot, non-ASCII case), so a
 * caller that needs certainty compares the texts then.
 */
export function sameLabels(
  a: Buffer,
  aBase: number,
  aAt: number,
  b: Buffer,
  bBase: number,
  bAt: number,
): boolean {
  let pa = aBase + aAt;
  let pb = bBase + bAt;
  // Bounds every walk, whatever the bytes: a valid name has at most 127 labels and 64
  // jumps.
  for (let steps = 0; steps < 512; steps++) {
    const la = a[pa] ?? 0;
    if ((la & 0xc0) === 0xc0) {
      pa = aBase + (((la & 0x3f) << 8) | (a[pa + 1] ?? 0));
      continue;
    }
    const lb = b[pb] ?? 0;
    if ((lb & 0xc0) === 0xc0) {
      pb = bBase + (((lb & 0x3f) << 8) | (b[pb + 1] ?? 0));
      continue;
    }
    if (la !== lb) return false;
    if (la === 0) return true;
    for (let i = 1; i <= la; i++) {
      let ca = a[pa + i] ?? 0;
      let cb = b[pb + i] ?? 0;
      if (ca !== cb) {
        if (ca >= 0x41 && ca <= 0x5a) ca += 0x20;
        if (cb >= 0x41 && cb <= 0x5a) cb += 0x20;
        if (ca !== cb) return false;
      }
    }
    pa += la + 1;
    pb += lb + 1;
  }
  return false;
}
