import { open } from 'node:fs/promises';
import { CaptureFileError } from '../errors';
import type { Frame } from './frame';

/** Options of the capture file readers. */
export interface CaptureReadOptions {
  /**
   * Bytes read from the file at a time (default 64 KiB). A batch holds the frames of one
   * chunk, and they are all alive until the consumer is through them: small batches keep
   * that out of the young generation's way (a garbage collection copies what is alive),
   * and one read per 64 KiB costs next to nothing.
   */
  chunkBytes?: number;
  /**
   * Largest pcap record or pcapng block accepted (default 16 MiB). A length above it is
   * taken as corruption rather than buffered, which is what keeps memory bounded on a
   * damaged file.
   */
  maxRecordBytes?: number;
}

const DEFAULT_CHUNK_BYTES = 64 << 10;
const DEFAULT_MAX_RECORD_BYTES = 16 << 20;

const PCAP_MAGIC_US = 0xa1b2c3d4;
const PCAP_MAGIC_NS = 0xa1b23c4d;
/** Alexey Kuznetzov's patched libpcap: 8 more bytes per record header (ifindex, protocol, type). */
const PCAP_MAGIC_KUZNETZOV = 0xa1b2cd34;
const PCAPNG_SHB = 0x0a0d0d0a;
const PCAPNG_BYTE_ORDER_MAGIC = 0x1a2b3c4d;
const BLOCK_IDB = 1;
const BLOCK_OBSOLETE_PACKET = 2;
const BLOCK_SPB = 3;
const BLOCK_EPB = 6;
const OPT_END = 0;
const OPT_IF_NAME = 2;
const OPT_IF_TSRESOL = 9;
const OPT_IF_TSOFFSET = 14;
const TWO_POW_32 = 4294967296;

/** What pcapng says about one interface of the current section. */
interface PcapngInterface {
  linkType: number;
  snapLen: number;
  name: string | null;
  /** Timestamp ticks per second (if_tsresol); 1e6 when the option is absent. */
  unitsPerSecond: bigint;
  /** if_tsoffset in microseconds. */
  offsetUs: number;
}

const hex = (buf: Buffer, pos: number, len: number): string =>
  `0x${buf.subarray(pos, pos + len).toString('hex')}`;

/**
 * Incremental pcap/pcapng parser: `step` consumes one record or block at a time from a
 * window of the file, so the file never has to be in memory as a whole.
 */
class CaptureParser {
  private format: 'unknown' | 'pcap' | 'pcapng' = 'unknown';
  private le = true;
  private pcapNanos = false;
  private pcapRecordHeaderBytes = 16;
  private pcapLinkType = 0;
  private interfaces: PcapngInterface[] = [];
  /** pcapng Simple Packet Blocks have no timestamp: they get the last one seen. */
  private lastTsUs = 0;
  /** Frame produced by the last `step`, or null when the block carried none. */
  frame: Frame | null = null;
  /** When `step` returns 0: bytes needed from `pos` before it can make progress. */
  needBytes = 0;

  constructor(
    private readonly path: string | null,
    private readonly maxRecordBytes: number,
    private readonly copyData: boolean,
  ) {}

  /**
   * Parses the record at `buf[pos]`, whose file offset is `base + pos`. Returns the bytes
   * consumed, or 0 when the record is not complete in `buf` yet (never at end of file: a
   * short record there is an error). Throws CaptureFileError on a corrupt file.
   */
  step(buf: Buffer, pos: number, base: number, eof: boolean): number {
    this.frame = null;
    const avail = buf.length - pos;
    const need = (bytes: number, what: string): boolean => {
      if (avail >= bytes) return true;
      if (eof) {
        throw this.error(base + pos, `${bytes} bytes of ${what}`, `${avail} before end of file`);
      }
      this.needBytes = bytes;
      return false;
    };
    if (this.format === 'unknown') {
      if (!need(4, 'file magic')) return 0;
      return this.readFileHeader(buf, pos, base, eof, need);
    }
    if (this.format === 'pcap') {
      const h = this.pcapRecordHeaderBytes;
      if (!need(h, 'pcap record header')) return 0;
      const capLen = this.u32(buf, pos + 8);
      if (capLen > this.maxRecordBytes) {
        throw this.error(
          base + pos + 8,
          `a captured length <= ${this.maxRecordBytes}`,
          `${capLen}`,
        );
      }
      if (!need(h + capLen, 'pcap record')) return 0;
      const sec = this.u32(buf, pos);
      const frac = this.u32(buf, pos + 4);
      this.frame = {
        tsUs: sec * 1e6 + (this.pcapNanos ? Math.floor(frac / 1000) : frac),
        linkType: this.pcapLinkType,
        data: this.slice(buf, pos + h, capLen),
        origLen: this.u32(buf, pos + 12),
        iface: null,
      };
      return h + capLen;
    }
    // pcapng: every block is type, total length, body, total length (pcapng draft §3.1).
    if (!need(12, 'pcapng block header')) return 0;
    const type = this.u32(buf, pos);
    if (type === PCAPNG_SHB) this.readByteOrder(buf, pos, base);
    const len = this.u32(buf, pos + 4);
    if (len < 12 || len % 4 !== 0 || len > this.maxRecordBytes) {
      throw this.error(
        base + pos + 4,
        `a block length that is a multiple of 4 in 12..${this.maxRecordBytes}`,
        `${len}`,
      );
    }
    if (!need(len, `pcapng block of type ${type}`)) return 0;
    const trailer = this.u32(buf, pos + len - 4);
    if (trailer !== len) {
      throw this.error(base + pos + len - 4, `trailing block length ${len}`, `${trailer}`);
    }
    this.readBlock(type, buf, pos, len, base);
    return len;
  }

  private readFileHeader(
    buf: Buffer,
    pos: number,
    base: number,
    eof: boolean,
    need: (bytes: number, what: string) => boolean,
  ): number {
    const le = buf.readUInt32LE(pos);
    const be = buf.readUInt32BE(pos);
    if (le === PCAPNG_SHB) {
      this.format = 'pcapng';
      return this.step(buf, pos, base, eof);
    }
    const magic = [PCAP_MAGIC_US, PCAP_MAGIC_NS, PCAP_MAGIC_KUZNETZOV];
    if (!magic.includes(le) && !magic.includes(be)) {
      throw this.error(
        base + pos,
        'a pcap magic (a1b2c3d4, a1b23c4d) or a pcapng Section Header Block (0a0d0d0a)',
        hex(buf, pos, 4),
      );
    }
    if (!need(24, 'pcap file header')) return 0;
    this.le = magic.includes(le);
    const m = this.le ? le : be;
    const major = this.u16(buf, pos + 4);
    if (major !== 2) throw this.error(base + pos + 4, 'pcap version 2.x', `${major}.x`);
    this.format = 'pcap';
    this.pcapNanos = m === PCAP_MAGIC_NS;
    this.pcapRecordHeaderBytes = m === PCAP_MAGIC_KUZNETZOV ? 24 : 16;
    // The upper bits of the link type field carry FCS information (pcap draft §4).
    this.pcapLinkType = this.u32(buf, pos + 20) & 0xffff;
    return 24;
  }

  private readByteOrder(buf: Buffer, pos: number, base: number): void {
    const bom = buf.readUInt32LE(pos + 8);
    if (bom === PCAPNG_BYTE_ORDER_MAGIC) this.le = true;
    else if (buf.readUInt32BE(pos + 8) === PCAPNG_BYTE_ORDER_MAGIC) this.le = false;
    else throw this.error(base + pos + 8, 'byte-order magic 1a2b3c4d', hex(buf, pos + 8, 4));
  }

  private readBlock(type: number, buf: Buffer, pos: number, len: number, base: number): void {
    const end = pos + len - 4;
    switch (type) {
      case PCAPNG_SHB: {
        if (len < 28)
          throw this.error(base + pos + 4, 'a Section Header Block >= 28 bytes', `${len}`);
        const major = this.u16(buf, pos + 12);
        if (major !== 1) throw this.error(base + pos + 12, 'pcapng version 1.x', `${major}.x`);
        // Interface ids are per section (pcapng draft §4.1).
        this.interfaces = [];
        return;
      }
      case BLOCK_IDB: {
        if (len < 20)
          throw this.error(base + pos + 4, 'an Interface Description Block >= 20 bytes', `${len}`);
        this.interfaces.push(this.readInterface(buf, pos, end));
        return;
      }
      case BLOCK_EPB:
      case BLOCK_OBSOLETE_PACKET: {
        if (len < 32) throw this.error(base + pos + 4, 'a packet block >= 32 bytes', `${len}`);
        const ifId = type === BLOCK_EPB ? this.u32(buf, pos + 8) : this.u16(buf, pos + 8);
        const iface = this.iface(ifId, base + pos + 8);
        const capLen = this.u32(buf, pos + 20);
        if (capLen > len - 32) {
          throw this.error(base + pos + 20, `a captured length <= ${len - 32}`, `${capLen}`);
        }
        const tsUs = this.timestampUs(this.u32(buf, pos + 12), this.u32(buf, pos + 16), iface);
        this.lastTsUs = tsUs;
        this.frame = {
          tsUs,
          linkType: iface.linkType,
          data: this.slice(buf, pos + 28, capLen),
          origLen: this.u32(buf, pos + 24),
          iface: iface.name,
        };
        return;
      }
      case BLOCK_SPB: {
        if (len < 16)
          throw this.error(base + pos + 4, 'a Simple Packet Block >= 16 bytes', `${len}`);
        const iface = this.iface(0, base + pos);
        const origLen = this.u32(buf, pos + 8);
        // The captured length is implied (pcapng draft §4.4): the original length cut by
        // the snap length and by the block itself.
        let capLen = Math.min(origLen, len - 16);
        if (iface.snapLen > 0) capLen = Math.min(capLen, iface.snapLen);
        this.frame = {
          tsUs: this.lastTsUs,
          linkType: iface.linkType,
          data: this.slice(buf, pos + 12, capLen),
          origLen,
          iface: iface.name,
        };
        return;
      }
      default:
        // Name resolution, statistics, decryption secrets, custom blocks: not needed here.
        return;
    }
  }

  private readInterface(buf: Buffer, pos: number, end: number): PcapngInterface {
    const iface: PcapngInterface = {
      linkType: this.u16(buf, pos + 8),
      snapLen: this.u32(buf, pos + 12),
      name: null,
      unitsPerSecond: 1000000n,
      offsetUs: 0,
    };
    // Options are code, length, value padded to 4 bytes. A broken option list does not
    // make the interface unusable, so it ends the list instead of failing the file.
    for (let o = pos + 16; o + 4 <= end;) {
      const code = this.u16(buf, o);
      const optLen = this.u16(buf, o + 2);
      if (code === OPT_END || o + 4 + optLen > end) break;
      const v = o + 4;
      if (code === OPT_IF_NAME) {
        iface.name = buf.toString('utf8', v, v + optLen).replace(/\0+$/, '');
      } else if (code === OPT_IF_TSRESOL && optLen >= 1) {
        const r = buf[v] ?? 6;
        // MSB set: a negative power of 2, else of 10 (pcapng draft §4.2, if_tsresol).
        iface.unitsPerSecond = r & 0x80 ? 1n << BigInt(r & 0x7f) : 10n ** BigInt(r);
      } else if (code === OPT_IF_TSOFFSET && optLen >= 8) {
        const sec = this.le ? buf.readBigInt64LE(v) : buf.readBigInt64BE(v);
        iface.offsetUs = Number(sec) * 1e6;
      }
      o = v + ((optLen + 3) & ~3);
    }
    return iface;
  }

  private timestampUs(high: number, low: number, iface: PcapngInterface): number {
    const units = iface.unitsPerSecond;
    if (units === 1000000n) return high * TWO_POW_32 + low + iface.offsetUs;
    if (units === 1000000000n) {
      // Exact integer division by 1000 without BigInt: nanosecond ticks exceed 2^53.
      const hr = high % 1000;
      return (
        ((high - hr) / 1000) * TWO_POW_32 +
        Math.floor((hr * TWO_POW_32 + low) / 1000) +
        iface.offsetUs
      );
    }
    const ticks = (BigInt(high) << 32n) | BigInt(low);
    return Number((ticks * 1000000n) / units) + iface.offsetUs;
  }

  private iface(id: number, offset: number): PcapngInterface {
    const iface = this.interfaces[id];
    if (iface) return iface;
    throw this.error(
      offset,
      `an interface id below ${this.interfaces.length} (Interface Description Blocks of this section)`,
      `${id}`,
    );
  }

  private slice(buf: Buffer, start: number, len: number): Buffer {
    const view = buf.subarray(start, start + len);
    return this.copyData ? Buffer.from(view) : view;
  }

  private u16(buf: Buffer, pos: number): number {
    return this.le ? buf.readUInt16LE(pos) : buf.readUInt16BE(pos);
  }

  private u32(buf: Buffer, pos: number): number {
    return this.le ? buf.readUInt32LE(pos) : buf.readUInt32BE(pos);
  }

  private error(offset: number, expected: string, found: string): CaptureFileError {
    return new CaptureFileError(this.path, offset, expected, found);
  }
}

/**
 * Frames of a pcap or pcapng file held in memory, lazily. `data` of each frame is a view
 * into `buf`. After the last readable frame, a corrupt or truncated file throws
 * {@link CaptureFileError}.
 */
export function* framesFromBuffer(
  buf: Buffer,
  options: Pick<CaptureReadOptions, 'maxRecordBytes'> = {},
): Generator<Frame, void, undefined> {
  const parser = new CaptureParser(null, options.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES, false);
  for (let pos = 0; pos < buf.length;) {
    pos += parser.step(buf, pos, 0, true);
    if (parser.frame) yield parser.frame;
  }
  if (buf.length === 0) parser.step(buf, 0, 0, true);
}

/**
 * Frames of a pcap or pcapng file, in batches of those found in one chunk read; reads
 * `chunkBytes` at a time, so memory stays bounded whatever the file size. Each frame owns
 * its `data` (a copy), so keeping a frame does not keep a chunk alive.
 * Throws {@link CaptureFileError} after the last readable batch of a corrupt file.
 */
export async function* readCaptureBatches(
  path: string,
  options: CaptureReadOptions = {},
): AsyncGenerator<Frame[], void, undefined> {
  const chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  const parser = new CaptureParser(path, options.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES, true);
  const file = await open(path, 'r');
  try {
    let carry = Buffer.alloc(0);
    let base = 0;
    for (;;) {
      const want = Math.max(chunkBytes, parser.needBytes - carry.length);
      const chunk = Buffer.allocUnsafe(want);
      const { bytesRead } = await file.read(chunk, 0, want, null);
      const eof = bytesRead === 0;
      const buf =
        carry.length > 0
          ? Buffer.concat([carry, chunk.subarray(0, bytesRead)])
          : chunk.subarray(0, bytesRead);
      const frames: Frame[] = [];
      let pos = 0;
      try {
        while (pos < buf.length || (eof && base === 0 && pos === 0)) {
          const used = parser.step(buf, pos, base, eof);
          if (used === 0) break;
          pos += used;
          if (parser.frame) frames.push(parser.frame);
        }
      } catch (err) {
        // The frames before the corrupt record are good: deliver them, then the error.
        if (frames.length > 0) yield frames;
        throw err;
      }
      if (frames.length > 0) yield frames;
      if (eof) return;
      carry = buf.subarray(pos);
      base += pos;
    }
  } finally {
    await file.close();
  }
}

/**
 * Frames of a pcap or pcapng file, one at a time (see {@link readCaptureBatches}, which
 * costs one await per chunk instead of one per frame).
 */
export async function* readCaptureFile(
  path: string,
  options: CaptureReadOptions = {},
): AsyncGenerator<Frame, void, undefined> {
  for await (const batch of readCaptureBatches(path, options)) yield* batch;
}
