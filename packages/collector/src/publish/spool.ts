import {
  closeSync,
  fstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';

/** One Kafka message as the spool keeps it. */
export interface SpoolRecord {
  key: Buffer;
  value: Buffer;
}

export interface SpoolOptions {
  dir: string;
  /** Upper bound of all segment files together; appends beyond it are refused. */
  maxBytes: number;
  /** A new segment file starts once the current one reaches this size. */
  segmentBytes: number;
}

/** What `append` did with a batch. */
export interface AppendResult {
  written: number;
  /** Records refused because the spool is full. */
  refused: number;
}

/** What reading found besides records: damage is skipped and counted, never fatal. */
export interface ReadResult {
  records: SpoolRecord[];
  /** Bytes skipped because a frame failed its checksum or was cut short (torn write). */
  corruptBytes: number;
}

// Frame: u32 payload length | u32 CRC-32 of the payload | payload, where
// payload = u16 key length | key | value. Big-endian throughout.
const FRAME_HEADER = 8;
const SEGMENT_SUFFIX = '.spool';
const CURSOR_FILE = 'cursor.json';
const READ_CHUNK = 1 << 20;

interface Cursor {
  segment: number;
  offset: number;
}

function segmentName(n: number): string {
  return `${n.toString().padStart(16, '0')}${SEGMENT_SUFFIX}`;
}

/**
 * An append-only, size-bounded disk queue of Kafka messages for when Kafka is down or
 * slow. Records are replayed in the order they were written; a restart resumes from the
 * persisted read cursor, so what was spooled and not yet acknowledged is sent after a
 * crash too (at least once: the indexer's deterministic ids absorb a replayed duplicate).
 */
export class Spool {
  private readonly segments: number[] = [];
  private readonly sizes = new Map<number, number>();
  private writeFd: number | null = null;
  private cursor: Cursor;
  private totalBytes = 0;
  /** Where the last read() ended; ack() moves the cursor there. */
  private pendingAck: { segment: number; offset: number } | null = null;

  constructor(private readonly options: SpoolOptions) {
    mkdirSync(options.dir, { recursive: true, mode: 0o700 });
    for (const name of readdirSync(options.dir)) {
      if (!name.endsWith(SEGMENT_SUFFIX)) continue;
      const n = Number(name.slice(0, -SEGMENT_SUFFIX.length));
      if (!Number.isSafeInteger(n)) continue;
      this.segments.push(n);
      const size = statSync(join(options.dir, name)).size;
      this.sizes.set(n, size);
      this.totalBytes += size;
    }
    this.segments.sort((a, b) => a - b);
    this.cursor = this.readCursor();
  }

  /** Bytes on disk, acknowledged-but-not-yet-deleted segments included. */
  get bytes(): number {
    return this.totalBytes;
  }

  /** True when every record written has been read and acknowledged. */
  get empty(): boolean {
    const last = this.segments[this.segments.length - 1];
    if (last === undefined) return true;
    if (this.segments.length > 1) return false;
    return this.cursor.segment === last && this.cursor.offset >= (this.sizes.get(last) ?? 0);
  }

  /** Appends records in order; refuses (and reports) what would exceed `maxBytes`. */
  append(records: readonly SpoolRecord[]): AppendResult {
    let written = 0;
    const frames: Buffer[] = [];
    let batchBytes = 0;
    for (const r of records) {
      const payloadLen = 2 + r.key.length + r.value.length;
      const frameLen = FRAME_HEADER + payloadLen;
      if (this.totalBytes + batchBytes + frameLen > this.options.maxBytes) break;
      const frame = Buffer.allocUnsafe(frameLen);
      frame.writeUInt32BE(payloadLen, 0);
      frame.writeUInt16BE(r.key.length, FRAME_HEADER);
      r.key.copy(frame, FRAME_HEADER + 2);
      r.value.copy(frame, FRAME_HEADER + 2 + r.key.length);
      frame.writeUInt32BE(crc32(frame.subarray(FRAME_HEADER)), 4);
      frames.push(frame);
      batchBytes += frameLen;
      written++;
    }
    if (frames.length > 0) this.write(Buffer.concat(frames, batchBytes));
    return { written, refused: records.length - written };
  }

  /**
   * Reads up to `max` records (and about `maxBytes`) from the read cursor without consuming them; `ack()`
   * consumes what the last read returned. Damaged frames are skipped to the next segment.
   */
  read(max: number, maxBytes = Number.POSITIVE_INFINITY): ReadResult {
    const records: SpoolRecord[] = [];
    let corruptBytes = 0;
    let bytes = 0;
    let full = false;
    let { segment, offset } = this.cursor;
    while (records.length < max && !full) {
      const first = this.segments.find((s) => s >= segment);
      if (first === undefined) break;
      if (first !== segment) {
        segment = first;
        offset = 0;
      }
      const size = this.sizes.get(segment) ?? 0;
      if (offset >= size) {
        const next = this.segments.find((s) => s > segment);
        if (next === undefined) break;
        segment = next;
        offset = 0;
        continue;
      }
      const chunk = this.readAt(segment, offset, Math.min(READ_CHUNK, size - offset));
      let at = 0;
      let damaged = false;
      while (records.length < max && at + FRAME_HEADER <= chunk.length) {
        const payloadLen = chunk.readUInt32BE(at);
        if (records.length > 0 && bytes + payloadLen > maxBytes) {
          full = true;
          break;
        }
        bytes += payloadLen;
        if (payloadLen < 2 || offset + at + FRAME_HEADER + payloadLen > size) {
          damaged = true;
          break;
        }
        if (at + FRAME_HEADER + payloadLen > chunk.length) {
          if (at === 0) {
            // A single frame larger than the chunk: read exactly that frame.
            const big = this.readAt(segment, offset, FRAME_HEADER + payloadLen);
            const rec = this.parse(big, 0, payloadLen);
            if (rec === null) damaged = true;
            else {
              records.push(rec);
              at = big.length;
            }
          }
          break;
        }
        const rec = this.parse(chunk, at, payloadLen);
        if (rec === null) {
          damaged = true;
          break;
        }
        records.push(rec);
        at += FRAME_HEADER + payloadLen;
      }
      // Nothing parseable although bytes remain: a frame header cut by a crash.
      if (at === 0 && !full) damaged = true;
      offset += at;
      if (damaged) {
        corruptBytes += size - offset;
        offset = size;
      }
    }
    this.pendingAck = { segment, offset };
    return { records, corruptBytes };
  }

  /** Consumes what the last `read()` returned; deletes fully read segments. */
  ack(): void {
    if (this.pendingAck === null) return;
    this.cursor = this.pendingAck;
    this.pendingAck = null;
    const active = this.segments[this.segments.length - 1];
    while (this.segments.length > 0) {
      const oldest = this.segments[0] as number;
      const consumed =
        oldest < this.cursor.segment ||
        (oldest === this.cursor.segment && this.cursor.offset >= (this.sizes.get(oldest) ?? 0));
      if (!consumed) break;
      if (oldest === active) {
        // Writing goes on in this file: start a fresh one instead of growing a read one.
        this.closeWriter();
      }
      this.totalBytes -= this.sizes.get(oldest) ?? 0;
      this.sizes.delete(oldest);
      this.segments.shift();
      unlinkSync(join(this.options.dir, segmentName(oldest)));
    }
    this.writeCursor();
  }

  close(): void {
    this.closeWriter();
  }

  private parse(buf: Buffer, at: number, payloadLen: number): SpoolRecord | null {
    const payload = buf.subarray(at + FRAME_HEADER, at + FRAME_HEADER + payloadLen);
    if (crc32(payload) !== buf.readUInt32BE(at + 4)) return null;
    const keyLen = payload.readUInt16BE(0);
    if (2 + keyLen > payload.length) return null;
    return {
      key: Buffer.from(payload.subarray(2, 2 + keyLen)),
      value: Buffer.from(payload.subarray(2 + keyLen)),
    };
  }

  private readAt(segment: number, offset: number, length: number): Buffer {
    const fd = openSync(join(this.options.dir, segmentName(segment)), 'r');
    try {
      const buf = Buffer.allocUnsafe(length);
      const n = readSync(fd, buf, 0, length, offset);
      return buf.subarray(0, n);
    } finally {
      closeSync(fd);
    }
  }

  private write(data: Buffer): void {
    let active = this.segments[this.segments.length - 1];
    if (
      this.writeFd === null ||
      active === undefined ||
      (this.sizes.get(active) ?? 0) >= this.options.segmentBytes
    ) {
      this.closeWriter();
      active = (active ?? this.cursor.segment) + 1;
      this.segments.push(active);
      this.sizes.set(active, 0);
      this.writeFd = openSync(join(this.options.dir, segmentName(active)), 'a', 0o600);
    }
    writeSync(this.writeFd, data);
    this.sizes.set(active, fstatSync(this.writeFd).size);
    this.totalBytes += data.length;
  }

  private closeWriter(): void {
    if (this.writeFd !== null) closeSync(this.writeFd);
    this.writeFd = null;
  }

  private readCursor(): Cursor {
    const oldest = this.segments[0] ?? 0;
    try {
      const parsed = JSON.parse(
        readFileSync(join(this.options.dir, CURSOR_FILE), 'utf8'),
      ) as Cursor;
      if (Number.isSafeInteger(parsed.segment) && Number.isSafeInteger(parsed.offset)) {
        return parsed.segment >= oldest ? parsed : { segment: oldest, offset: 0 };
      }
    } catch {
      // No cursor yet (or unreadable): start at the oldest segment.
    }
    return { segment: oldest, offset: 0 };
  }

  private writeCursor(): void {
    const file = join(this.options.dir, CURSOR_FILE);
    writeFileSync(`${file}.tmp`, JSON.stringify(this.cursor), { mode: 0o600 });
    renameSync(`${file}.tmp`, file);
  }
}
