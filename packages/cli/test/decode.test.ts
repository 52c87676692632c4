import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../src/main';
import { pcapFile } from '../../collector/test/support/capture-files';
import { dnsQuery, dnsResponse, ipv4, udp } from '../../collector/test/support/packets';

const RAW = 101;

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(['node', 'dnsflow', ...args], {
    out: (t) => {
      out += t;
    },
    err: (t) => {
      err += t;
    },
  });
  return { code, out, err };
}

describe('dnsflow decode', () => {
  let dir: string;
  let file: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'dnsflow-cli-'));
    file = join(dir, 'two.pcap');
    const q1 = ipv4('10.1.0.5', '10.96.0.10', udp(41000, 53, dnsQuery(1, 'Web.Example.org')));
    const r1 = ipv4(
      '10.96.0.10',
      '10.1.0.5',
      udp(53, 41000, dnsResponse(1, 'Web.Example.org', '192.0.2.7')),
    );
    const q2 = ipv4('10.1.0.6', '10.96.0.10', udp(41001, 5353, dnsQuery(2, 'lost.example.org')));
    writeFileSync(
      file,
      pcapFile(
        [
          { tsSec: 1_700_000_000, tsFrac: 0, data: q1 },
          { tsSec: 1_700_000_000, tsFrac: 2500, data: r1 },
          { tsSec: 1_700_000_001, tsFrac: 0, data: q2 },
        ],
        { linkType: RAW },
      ),
    );
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('prints a table of the transactions with status, latency and answers', async () => {
    const { code, out, err } = await run(['decode', file]);
    expect(code).toBe(0);
    const lines = out.trim().split('\n');
    expect(lines[0]).toMatch(/^TIME\s+STATUS\s+CLIENT\s+SERVER/);
    expect(lines).toHaveLength(2); // the port 5353 query is not DNS by default
    expect(lines[1]).toMatch(
      /ANSWERED\s+10\.1\.0\.5:41000\s+10\.96\.0\.10:53\s+UDP\s+1\s+A\s+web\.example\.org\s+NOERROR\s+2\.500ms\s+A 192\.0\.2\.7/,
    );
    expect(err).toMatch(/3 frames, 1 transactions: 1 answered/);
  });

  it('decodes extra ports and prints NDJSON records', async () => {
    const { code, out } = await run(['decode', '--format', 'ndjson', '--port', '5353', file]);
    expect(code).toBe(0);
    const records = out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { status: string; question: { name: string; nameRaw: string } });
    expect(records.map((r) => [r.status, r.question.name])).toEqual([
      ['ANSWERED', 'web.example.org'],
      ['UNANSWERED', 'lost.example.org'],
    ]);
    expect(records[0]?.question.nameRaw).toBe('Web.Example.org');
  });

  it('names a bad config value and exits 2', async () => {
    const { code, err } = await run(['decode', file, '--pairing.timeoutMs=soon']);
    expect(code).toBe(2);
    expect(err).toMatch(/pairing\.timeoutMs: expected number, found string "soon"/);
  });

  it('says what is wrong with a file that is not a capture and exits 1', async () => {
    const bad = join(dir, 'bad.pcap');
    writeFileSync(bad, 'this is not a capture file at all');
    const { code, err } = await run(['decode', bad]);
    expect(code).toBe(1);
    expect(err).toMatch(/bad\.pcap/);
  });

  it('rejects an unknown format with a usage error', async () => {
    const { code, err } = await run(['decode', '--format', 'xml', file]);
    expect(code).toBe(2);
    expect(err).toMatch(/Allowed choices are ndjson, table/);
  });
});
