import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Spool, type SpoolRecord } from '../../src/publish/spool';

function rec(i: number): SpoolRecord {
  return { key: Buffer.from(`10.0.0.${i % 250}`), value: Buffer.from(`record-${i}`.repeat(3)) };
}

function values(records: SpoolRecord[]): string[] {
  return records.map((r) => r.value.toString());
}

describe('Spool', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'dnsflow-spool-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('replays records in the order written, across segment files', () => {
    const spool = new Spool({ dir, maxBytes: 1 << 20, segmentBytes: 200 });
    const all = Array.from({ length: 50 }, (_, i) => rec(i));
    for (let i = 0; i < 50; i += 7) spool.append(all.slice(i, i + 7));
    expect(readdirSync(dir).filter((f) => f.endsWith('.spool')).length).toBeGreaterThan(3);
    const seen: string[] = [];
    for (;;) {
      const { records } = spool.read(8);
      if (records.length === 0) break;
      seen.push(...values(records));
      spool.ack();
    }
    expect(seen).toEqual(values(all));
    expect(seen.map((_, i) => all[i]?.key.toString())).toEqual(all.map((r) => r.key.toString()));
    expect(spool.empty).toBe(true);
    expect(spool.bytes).toBe(0);
    expect(readdirSync(dir).filter((f) => f.endsWith('.spool'))).toEqual([]);
  });

  it('stops a read at about maxBytes, always returning at least one record', () => {
    const spool = new Spool({ dir, maxBytes: 1 << 20, segmentBytes: 1 << 20 });
    const all = Array.from({ length: 20 }, (_, i) => rec(i));
    spool.append(all);
    const sizes: number[] = [];
    for (;;) {
      const { records } = spool.read(100, 100);
      if (records.length === 0) break;
      sizes.push(records.length);
      spool.ack();
    }
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(20);
    expect(Math.max(...sizes)).toBeLessThan(20);
    expect(spool.read(1, 1).records).toEqual([]);
    spool.append([rec(99)]);
    expect(values(spool.read(10, 1).records)).toEqual(values([rec(99)]));
  });

  it('refuses what would pass maxBytes and reports how many', () => {
    const spool = new Spool({ dir, maxBytes: 100, segmentBytes: 1000 });
    const result = spool.append(Array.from({ length: 10 }, (_, i) => rec(i)));
    expect(result.written).toBeGreaterThan(0);
    expect(result.written + result.refused).toBe(10);
    expect(result.refused).toBeGreaterThan(0);
    expect(spool.bytes).toBeLessThanOrEqual(100);
  });

  it('resumes after a restart from the acknowledged position', () => {
    const first = new Spool({ dir, maxBytes: 1 << 20, segmentBytes: 1 << 16 });
    first.append([rec(1), rec(2), rec(3)]);
    expect(values(first.read(1).records)).toEqual([values([rec(1)])[0]]);
    first.ack();
    first.read(1); // read but never acknowledged: must come again after the restart
    first.close();
    const second = new Spool({ dir, maxBytes: 1 << 20, segmentBytes: 1 << 16 });
    expect(second.empty).toBe(false);
    expect(values(second.read(10).records)).toEqual(values([rec(2), rec(3)]));
  });

  it('skips a damaged frame, counts its bytes, and keeps later segments', () => {
    const spool = new Spool({ dir, maxBytes: 1 << 20, segmentBytes: 1 });
    spool.append([rec(1)]);
    spool.append([rec(2)]);
    spool.close();
    const [firstFile] = readdirSync(dir)
      .filter((f) => f.endsWith('.spool'))
      .sort();
    const path = join(dir, firstFile as string);
    const bytes = readFileSync(path);
    bytes.writeUInt8(bytes.readUInt8(bytes.length - 1) ^ 0xff, bytes.length - 1); // CRC no longer matches
    writeFileSync(path, bytes);
    const reopened = new Spool({ dir, maxBytes: 1 << 20, segmentBytes: 1 });
    const { records, corruptBytes } = reopened.read(10);
    expect(values(records)).toEqual(values([rec(2)]));
    expect(corruptBytes).toBe(bytes.length);
  });
});
