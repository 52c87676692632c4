import { packetLib } from './packet-lib';

/** A name as sent and the offset just past it in the message. */
export interface WireName {
  name: string;
  next: number;
}

/** Pointers one name may follow; a real name needs a handful, a loop needs them all. */
const MAX_JUMPS = 64;

/**
 * Reads a (possibly compressed) domain name with dns-packet. dns-packet accepts only
 * pointers to earlier bytes (RFC 1035 §4.1.4 "prior occurrence"); some servers point
 * forward, and resolvers and other decoders accept that, so a name dns-packet refuses for
 * its pointer is read again here, following pointers anywhere with a jump limit against
 * loops. Any other error stands.
 */
export function readName(buf: Buffer, offset: number): WireName {
  try {
    const name = packetLib.name.decode(buf, offset);
    return { name, next: offset + packetLib.name.decode.bytes };
  } catch (err) {
    if (!(err instanceof Error) || !err.message.includes('bad pointer')) throw err;
    return readNameFollowingAnyPointer(buf, offset);
  }
}

function readNameFollowingAnyPointer(buf: Buffer, start: number): WireName {
  const labels: string[] = [];
  let at = start;
  let next = -1;
  let jumps = 0;
  let length = 0;
  for (;;) {
    if (at >= buf.length) throw new Error('Cannot decode name (buffer overflow)');
    const len = buf[at] as number;
    if (len === 0) {
      if (next < 0) next = at + 1;
      break;
    }
    if ((len & 0xc0) === 0xc0) {
      if (at + 1 >= buf.length) throw new Error('Cannot decode name (buffer overflow)');
      if (++jumps > MAX_JUMPS) throw new Error('Cannot decode name (pointer loop)');
      if (next < 0) next = at + 2;
      at = buf.readUInt16BE(at) & 0x3fff;
      continue;
    }
    if ((len & 0xc0) !== 0) throw new Error('Cannot decode name (bad label type)');
    if (at + 1 + len > buf.length) throw new Error('Cannot decode name (buffer overflow)');
    length += len + 1;
    if (length > 254) throw new Error('Cannot decode name (name too long)');
    labels.push(buf.toString('utf-8', at + 1, at + 1 + len));
    at += 1 + len;
  }
  return { name: labels.length > 0 ? labels.join('.') : '.', next };
}
