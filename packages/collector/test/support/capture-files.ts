// Byte-by-byte writers of classic pcap and pcapng files for reader tests.

export interface Record {
  tsSec: number;
  /** Microseconds, or nanoseconds for a nanosecond file. */
  tsFrac: number;
  data: Buffer;
  origLen?: number;
}

export interface PcapFileOptions {
  bigEndian?: boolean;
  nanos?: boolean;
  linkType?: number;
}

/** A classic pcap file (pcap draft §4: 24-byte header, 16-byte record headers). */
export function pcapFile(records: Record[], o: PcapFileOptions = {}): Buffer {
  const w = new Writer(o.bigEndian ?? false);
  w.u32(o.nanos ? 0xa1b23c4d : 0xa1b2c3d4);
  w.u16(2);
  w.u16(4);
  w.u32(0);
  w.u32(0);
  w.u32(65535);
  w.u32(o.linkType ?? 1);
  for (const r of records) {
    w.u32(r.tsSec);
    w.u32(r.tsFrac);
    w.u32(r.data.length);
    w.u32(r.origLen ?? r.data.length);
    w.bytes(r.data);
  }
  return w.done();
}

/** Writes pcapng blocks in one byte order. */
export class PcapngWriter {
  private readonly w: Writer;

  constructor(bigEndian = false) {
    this.w = new Writer(bigEndian);
  }

  /** Section Header Block; starts a new section (interface ids restart at 0). */
  section(): this {
    return this.block(0x0a0d0d0a, (w) => {
      w.u32(0x1a2b3c4d);
      w.u16(1);
      w.u16(0);
      w.u32(0xffffffff); // section length unknown (-1)
      w.u32(0xffffffff);
    });
  }

  /** Interface Description Block with optional if_name and raw if_tsresol byte. */
  iface(linkType: number, o: { name?: string; tsresol?: number; snapLen?: number } = {}): this {
    return this.block(1, (w) => {
      w.u16(linkType);
      w.u16(0);
      w.u32(o.snapLen ?? 0);
      if (o.name !== undefined) w.option(2, Buffer.from(o.name));
      if (o.tsresol !== undefined) w.option(9, Buffer.from([o.tsresol]));
      w.option(0, Buffer.alloc(0));
    });
  }

  /** Enhanced Packet Block with a 64-bit timestamp in the interface's units. */
  epb(ifId: number, ticks: bigint, data: Buffer, origLen = data.length): this {
    return this.block(6, (w) => {
      w.u32(ifId);
      w.u32(Number(ticks >> 32n));
      w.u32(Number(ticks & 0xffffffffn));
      w.u32(data.length);
      w.u32(origLen);
      w.padded(data);
    });
  }

  /** Simple Packet Block: no interface id (always 0) and no timestamp. */
  spb(data: Buffer, origLen = data.length): this {
    return this.block(3, (w) => {
      w.u32(origLen);
      w.padded(data);
    });
  }

  /** Obsolete Packet Block (type 2): 16-bit interface id and drop count. */
  obsoletePacket(ifId: number, ticks: bigint, data: Buffer): this {
    return this.block(2, (w) => {
      w.u16(ifId);
      w.u16(0);
      w.u32(Number(ticks >> 32n));
      w.u32(Number(ticks & 0xffffffffn));
      w.u32(data.length);
      w.u32(data.length);
      w.padded(data);
    });
  }

  /** A block of a type the reader does not know, e.g. a Name Resolution Block (4). */
  other(type: number, body: Buffer): this {
    return this.block(type, (w) => w.padded(body));
  }

  done(): Buffer {
    return this.w.done();
  }

  private block(type: number, body: (w: Writer) => void): this {
    const inner = new Writer(this.w.bigEndian);
    body(inner);
    const b = inner.done();
    this.w.u32(type);
    this.w.u32(b.length + 12);
    this.w.bytes(b);
    this.w.u32(b.length + 12);
    return this;
  }
}

class Writer {
  private readonly parts: Buffer[] = [];

  constructor(readonly bigEndian: boolean) {}

  u16(n: number): void {
    const b = Buffer.alloc(2);
    if (this.bigEndian) b.writeUInt16BE(n);
    else b.writeUInt16LE(n);
    this.parts.push(b);
  }

  u32(n: number): void {
    const b = Buffer.alloc(4);
    if (this.bigEndian) b.writeUInt32BE(n >>> 0);
    else b.writeUInt32LE(n >>> 0);
    this.parts.push(b);
  }

  bytes(b: Buffer): void {
    this.parts.push(b);
  }

  padded(b: Buffer): void {
    this.parts.push(b, Buffer.alloc((4 - (b.length % 4)) % 4));
  }

  option(code: number, value: Buffer): void {
    this.u16(code);
    this.u16(value.length);
    this.padded(value);
  }

  done(): Buffer {
    return Buffer.concat(this.parts);
  }
}
