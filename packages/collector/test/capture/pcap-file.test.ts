import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CaptureFileError, framesFromBuffer, LinkType, readCaptureFile } from '@dnsflow/collector';
import type { Frame } from '@dnsflow/collector';
import { PcapngWriter, pcapFile } from '../support/capture-files';

const CORPUS = '/work/shared/corpus';

/** All frames until the end or the error, and the error. */
function readAll(buf: Buffer): { frames: Frame[]; error: unknown } {
  const frames: Frame[] = [];
  try {
    for (const f of framesFromBuffer(buf)) frames.push(f);
    return { frames, error: null };
  } catch (error) {
    return { frames, error };
  }
}

async function readFileAll(
  path: string,
  chunkBytes?: number,
): Promise<{ frames: Frame[]; error: unknown }> {
  const frames: Frame[] = [];
  try {
    for await (const f of readCaptureFile(path, chunkBytes ? { chunkBytes } : {})) frames.push(f);
    return { frames, error: null };
  } catch (error) {
    return { frames, error };
  }
}

const A = Buffer.from('first frame');
const B = Buffer.from('second, longer frame');

describe('classic pcap', () => {
  it('reads little-endian microsecond files', () => {
    const file = pcapFile([
      { tsSec: 1700000000, tsFrac: 123456, data: A, origLen: 1500 },
      { tsSec: 1700000001, tsFrac: 5, data: B },
    ]);
    const { frames, error } = readAll(file);
    expect(error).toBeNull();
    expect(frames).toHaveLength(2);
    expect(frames[0]).toEqual({
      tsUs: 1700000000123456,
      linkType: LinkType.ETHERNET,
      data: A,
      origLen: 1500,
      iface: null,
    });
    expect(frames[1]!.tsUs).toBe(1700000001000005);
    expect(frames[1]!.data.equals(B)).toBe(true);
  });

  it('reads big-endian nanosecond files', () => {
    const file = pcapFile([{ tsSec: 1700000000, tsFrac: 999999999, data: A }], {
      bigEndian: true,
      nanos: true,
      linkType: LinkType.RAW,
    });
    const [frame] = readAll(file).frames;
    expect(frame!.tsUs).toBe(1700000000999999);
    expect(frame!.linkType).toBe(101);
    expect(frame!.data.toString()).toBe('first frame');
  });

  it('gives the readable frames, then an error with the offset of a record cut short', () => {
    const whole = pcapFile([
      { tsSec: 1, tsFrac: 0, data: A },
      { tsSec: 2, tsFrac: 0, data: B },
    ]);
    const secondRecordAt = 24 + 16 + A.length;
    const { frames, error } = readAll(whole.subarray(0, whole.length - 3));
    expect(frames.map((f) => f.data.toString())).toEqual(['first frame']);
    expect(error).toBeInstanceOf(CaptureFileError);
    const e = error as CaptureFileError;
    expect(e.offset).toBe(secondRecordAt);
    expect(e.expected).toBe(`${16 + B.length} bytes of pcap record`);
    expect(e.found).toBe(`${16 + B.length - 3} before end of file`);
    expect(e.message).toContain(`byte ${secondRecordAt}`);
  });

  it('rejects a record length that can only be corruption instead of buffering it', () => {
    const file = pcapFile([{ tsSec: 1, tsFrac: 0, data: A }]);
    file.writeUInt32LE(0x7fffffff, 24 + 8);
    const { frames, error } = readAll(file);
    expect(frames).toHaveLength(0);
    expect((error as CaptureFileError).offset).toBe(32);
    expect((error as CaptureFileError).found).toBe(String(0x7fffffff));
  });

  it('rejects files that are neither pcap nor pcapng, and empty files', () => {
    const text = readAll(Buffer.from('GET / HTTP/1.1\r\n')).error as CaptureFileError;
    expect(text).toBeInstanceOf(CaptureFileError);
    expect(text.offset).toBe(0);
    expect(text.found).toBe('0x47455420');
    expect(readAll(Buffer.alloc(0)).error).toBeInstanceOf(CaptureFileError);
  });
});

describe('pcapng', () => {
  it('reads interfaces with names and resolutions, in both byte orders', () => {
    for (const bigEndian of [false, true]) {
      const file = new PcapngWriter(bigEndian)
        .section()
        .iface(LinkType.ETHERNET, { name: 'eth0', tsresol: 9 })
        .iface(LinkType.LINUX_SLL, { name: 'any' })
        .epb(0, 1700000000_123456789n, A, 60)
        .epb(1, 1700000000_500000n, B)
        .done();
      const { frames, error } = readAll(file);
      expect(error).toBeNull();
      expect(frames).toEqual([
        { tsUs: 1700000000123456, linkType: 1, data: A, origLen: 60, iface: 'eth0' },
        { tsUs: 1700000000500000, linkType: 113, data: B, origLen: B.length, iface: 'any' },
      ]);
    }
  });

  it('converts power-of-two and coarse decimal timestamp resolutions', () => {
    const file = new PcapngWriter()
      .section()
      .iface(LinkType.RAW, { tsresol: 0x80 | 10 }) // 1/1024 s
      .iface(LinkType.RAW, { tsresol: 3 }) // milliseconds
      .epb(0, 1024n * 1700000000n + 512n, A)
      .epb(1, 1700000000250n, A)
      .done();
    expect(readAll(file).frames.map((f) => f.tsUs)).toEqual([1700000000500000, 1700000000250000]);
  });

  it('reads simple and obsolete packet blocks and skips unknown blocks', () => {
    const file = new PcapngWriter()
      .section()
      .iface(LinkType.ETHERNET, { snapLen: 4 })
      .other(4, Buffer.from('name resolution block body'))
      .obsoletePacket(0, 7_000_000n, A)
      .spb(B)
      .other(0x40000bad, Buffer.alloc(9))
      .done();
    const { frames, error } = readAll(file);
    expect(error).toBeNull();
    expect(frames).toHaveLength(2);
    expect(frames[0]!.tsUs).toBe(7_000_000);
    expect(frames[0]!.data.equals(A)).toBe(true);
    // A Simple Packet Block has no timestamp (the last one seen is used) and its captured
    // length is cut to the interface's snap length.
    expect(frames[1]!.tsUs).toBe(7_000_000);
    expect(frames[1]!.data.toString()).toBe('seco');
    expect(frames[1]!.origLen).toBe(B.length);
  });

  it('restarts interface ids in each section, whose byte order may differ', () => {
    const first = new PcapngWriter().section().iface(1, { name: 'eth0' }).epb(0, 1n, A).done();
    const second = new PcapngWriter(true)
      .section()
      .iface(LinkType.IPV6, { name: 'wg0' })
      .epb(0, 2n, B)
      .done();
    const frames = readAll(Buffer.concat([first, second])).frames;
    expect(frames.map((f) => [f.iface, f.linkType, f.tsUs])).toEqual([
      ['eth0', 1, 1],
      ['wg0', 229, 2],
    ]);
  });

  it('reports a packet block naming an interface that was never described', () => {
    const file = new PcapngWriter().section().iface(1).epb(0, 1n, A).epb(3, 2n, B).done();
    const { frames, error } = readAll(file);
    expect(frames).toHaveLength(1);
    expect(error).toBeInstanceOf(CaptureFileError);
    expect((error as CaptureFileError).expected).toContain('interface id below 1');
    expect((error as CaptureFileError).found).toBe('3');
  });

  it('reports a block whose trailing length does not match', () => {
    const file = new PcapngWriter().section().iface(1).epb(0, 1n, A).done();
    file.writeUInt32LE(999, file.length - 4);
    const error = readAll(file).error as CaptureFileError;
    expect(error.offset).toBe(file.length - 4);
    expect(error.found).toBe('999');
  });
});

describe('corrupted input', () => {
  it('never throws anything but CaptureFileError, and always ends', () => {
    const good = new PcapngWriter()
      .section()
      .iface(1, { name: 'eth0', tsresol: 9 })
      .epb(0, 5n, A)
      .spb(B)
      .epb(0, 6n, B)
      .done();
    let seed = 42;
    const random = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    let errors = 0;
    for (let round = 0; round < 2000; round++) {
      const bad = Buffer.from(good.subarray(0, random(good.length + 1)));
      for (let k = random(4); k > 0 && bad.length > 0; k--) bad[random(bad.length)] = random(256);
      const { error } = readAll(bad);
      if (error !== null) {
        expect(error).toBeInstanceOf(CaptureFileError);
        errors++;
      }
    }
    expect(errors).toBeGreaterThan(1000);
  });
});

describe('readCaptureFile', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'dnsflow-pcap-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('streams the same frames whatever the chunk size, owning their bytes', async () => {
    const records = Array.from({ length: 50 }, (_, i) => ({
      tsSec: 1000 + i,
      tsFrac: i,
      data: Buffer.alloc(10 + i, i),
    }));
    const path = join(dir, 'many.pcap');
    writeFileSync(path, pcapFile(records));
    for (const chunk of [7, 100, 1 << 20]) {
      const { frames, error } = await readFileAll(path, chunk);
      expect(error).toBeNull();
      expect(frames.map((f) => f.tsUs)).toEqual(records.map((r) => r.tsSec * 1e6 + r.tsFrac));
      expect(frames.every((f, i) => f.data.equals(records[i]!.data))).toBe(true);
      expect(frames.every((f) => f.data.buffer.byteLength < 64 * 1024)).toBe(true);
    }
  });

  it('gives the frames before a truncation, then the error with the file path', async () => {
    const path = join(dir, 'cut.pcapng');
    const file = new PcapngWriter().section().iface(1).epb(0, 1n, A).epb(0, 2n, B).done();
    writeFileSync(path, file.subarray(0, file.length - 10));
    const { frames, error } = await readFileAll(path, 16);
    expect(frames.map((f) => f.data.toString())).toEqual(['first frame']);
    expect(error).toBeInstanceOf(CaptureFileError);
    expect((error as CaptureFileError).path).toBe(path);
  });

  it('reads every packet of a real capture (count as tcpdump lists them)', async () => {
    const { frames, error } = await readFileAll(
      `${CORPUS}/suricata-verify/dns-tcp-ts-gap/input.pcap`,
      64,
    );
    expect(error).toBeNull();
    expect(frames).toHaveLength(15);
    expect(frames.every((f) => f.linkType === LinkType.ETHERNET)).toBe(true);
    // 22:47:23.785412 UTC on the day of the capture, as tcpdump prints the first packet.
    expect(frames[0]!.tsUs % 86_400_000_000).toBe(((22 * 60 + 47) * 60 + 23) * 1e6 + 785412);
  });
});
