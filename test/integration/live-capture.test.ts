import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import {
  CaptureInterfaceError,
  LinkType,
  LiveCapture,
  type Frame,
  type LiveCaptureOptions,
} from '@dnsflow/collector';
import {
  dnsQuery,
  ethernet,
  ipv4,
  ipv6,
  ipv6Bytes,
  ipv6Fragment,
  tcp,
  udp,
} from '../../packages/collector/test/support/packets';
import { startDnsServer, type TestDnsServer } from '../support/dns';
import { eventually } from '../support/eventually';
import { ROOT } from '../support/services';

// Live capture through libpcap on the loopback interface, with a real DNS server (dnsmasq)
// and a real client (dig): what reaches the collector is what was on the wire.

let dns: TestDnsServer;

beforeAll(async () => {
  dns = await startDnsServer();
});

afterAll(async () => {
  await dns?.stop();
});

/** The transport-level view of a frame a user would look at in tcpdump. */
interface Flow {
  ipVersion: 4 | 6;
  transport: 'udp' | 'tcp' | 'other';
  srcPort: number;
  dstPort: number;
  /** Transport payload (a DNS message over UDP; length-prefixed over TCP). */
  payload: Buffer;
  /** An IPv4 fragment (MF set or non-zero offset). */
  fragment: boolean;
}

/** Reads link, IP and UDP/TCP headers of a captured frame (Ethernet on lo, SLL on any). */
function flowOf(frame: Frame): Flow | null {
  const d = frame.data;
  let off: number;
  let etherType: number;
  if (frame.linkType === LinkType.ETHERNET) {
    etherType = d.readUInt16BE(12);
    off = 14;
  } else if (frame.linkType === LinkType.LINUX_SLL) {
    etherType = d.readUInt16BE(14);
    off = 16;
  } else {
    return null;
  }
  let proto: number;
  let ipVersion: 4 | 6;
  let fragment = false;
  if (etherType === 0x0800) {
    ipVersion = 4;
    proto = d[off + 9]!;
    fragment = (d.readUInt16BE(off + 6) & 0x3fff) !== 0;
    off += (d[off]! & 0x0f) * 4;
  } else if (etherType === 0x86dd) {
    ipVersion = 6;
    proto = d[off + 6]!;
    off += 40;
  } else {
    return null;
  }
  if (proto === 17) {
    return {
      ipVersion,
      transport: 'udp',
      srcPort: d.readUInt16BE(off),
      dstPort: d.readUInt16BE(off + 2),
      payload: d.subarray(off + 8),
      fragment,
    };
  }
  if (proto === 6) {
    const dataOff = (d[off + 12]! >> 4) * 4;
    return {
      ipVersion,
      transport: 'tcp',
      srcPort: d.readUInt16BE(off),
      dstPort: d.readUInt16BE(off + 2),
      payload: d.subarray(off + dataOff),
      fragment,
    };
  }
  return { ipVersion, transport: 'other', srcPort: 0, dstPort: 0, payload: d, fragment };
}

/** A capture that collects what it delivers, for one test. */
async function capture(
  options: Partial<LiveCaptureOptions> = {},
): Promise<{ source: LiveCapture; frames: Frame[]; done: Promise<void> }> {
  const source = new LiveCapture({
    interfaces: ['lo'],
    ports: [dns.port],
    bufferTimeoutMs: 20,
    ...options,
  });
  const frames: Frame[] = [];
  const done = source.run((frame) => frames.push(frame));
  // libpcap's socket sees packets from the moment it is bound; nothing to wait for.
  return Promise.resolve({ source, frames, done });
}

const toPort = (port: number) => (f: Flow | null) => f?.dstPort === port;
const fromPort = (port: number) => (f: Flow | null) => f?.srcPort === port;

describe('live capture on lo', () => {
  it('captures a UDP query and its response over IPv4, as dig saw them', async () => {
    const { source, frames, done } = await capture();
    const startUs = Date.now() * 1000;
    const answer = await dns.query(dns.names.a);
    expect(answer.status).toBe('NOERROR');
    expect(answer.answers).toEqual([
      expect.objectContaining({ name: dns.names.a, type: 'A', data: '192.0.2.10' }),
    ]);

    await eventually(
      () => Promise.resolve(frames.length),
      (n) => n >= 2,
    );
    await source.stop();
    await done;

    const flows = frames.map(flowOf);
    const query = frames[flows.findIndex(toPort(dns.port))]!;
    const response = frames[flows.findIndex(fromPort(dns.port))]!;
    expect(query).toBeDefined();
    expect(response).toBeDefined();
    for (const f of [query, response]) {
      expect(f.iface).toBe('lo');
      expect(f.linkType).toBe(LinkType.ETHERNET);
      expect(f.origLen).toBe(f.data.length); // nothing cut at the default snaplen
      expect(f.tsUs).toBeGreaterThanOrEqual(startUs - 1_000_000);
      expect(f.tsUs).toBeLessThanOrEqual(Date.now() * 1000);
    }
    const q = flowOf(query)!;
    const r = flowOf(response)!;
    expect(q).toMatchObject({ ipVersion: 4, transport: 'udp', dstPort: dns.port });
    expect(r).toMatchObject({ ipVersion: 4, transport: 'udp', dstPort: q.srcPort });
    // The DNS id on the wire is the one dig reported, in both directions.
    expect(q.payload.readUInt16BE(0)).toBe(answer.id);
    expect(r.payload.readUInt16BE(0)).toBe(answer.id);
    expect(response.tsUs).toBeGreaterThanOrEqual(query.tsUs);
  });

  it('captures IPv6 traffic to ::1', async () => {
    const { source, frames, done } = await capture();
    const answer = await dns.query(dns.names.a, { type: 'AAAA', ipv6: true });
    expect(answer.answers.map((a) => a.data)).toEqual(['2001:db8::10']);
    await eventually(
      () => Promise.resolve(frames.map(flowOf).filter(fromPort(dns.port)).length),
      (n) => n >= 1,
    );
    await source.stop();
    await done;

    const flows = frames.map(flowOf);
    expect(flows.filter(toPort(dns.port))).toEqual([
      expect.objectContaining({ ipVersion: 6, transport: 'udp' }),
    ]);
    expect(flows.filter(fromPort(dns.port))).toEqual([
      expect.objectContaining({ ipVersion: 6, transport: 'udp' }),
    ]);
  });

  it('sees a truncated UDP answer and the retry over TCP', async () => {
    const { source, frames, done } = await capture();
    const answer = await dns.query(dns.names.large, { type: 'TXT' });
    expect(answer.status).toBe('NOERROR');
    expect(answer.answers).toHaveLength(1);
    expect(answer.output).toContain('Truncated, retrying in TCP mode');
    await eventually(
      () => Promise.resolve(frames.map(flowOf).filter((f) => f?.transport === 'tcp').length),
      (n) => n >= 6, // handshake, length-prefixed query and answer, teardown
    );
    await source.stop();
    await done;

    const flows = frames.map(flowOf);
    const udpAnswer = flows.find((f) => f?.transport === 'udp' && f.srcPort === dns.port);
    // TC is bit 1 of the third header byte.
    expect(udpAnswer && (udpAnswer.payload[2]! & 0x02) !== 0).toBe(true);
    const tcpFromServer = flows.filter((f) => f?.transport === 'tcp' && f.srcPort === dns.port);
    const tcpToServer = flows.filter((f) => f?.transport === 'tcp' && f.dstPort === dns.port);
    expect(tcpToServer.length).toBeGreaterThan(0);
    // The whole answer (2-byte length prefix + message) crossed lo in TCP payload.
    const answerBytes = tcpFromServer.reduce((sum, f) => sum + f!.payload.length, 0);
    expect(answerBytes).toBe(2 + answer.sizeBytes!);
  });

  it('captures a query that is never answered, and nothing of traffic outside the filter', async () => {
    const { source, frames, done } = await capture();
    // dnsmasq forwards this name to the blackhole, whose port the filter does not select.
    const before = dns.blackhole.received().udpDatagrams;
    const answer = await dns.query(dns.names.unanswered, { timeoutSeconds: 1, tries: 1 });
    expect(answer.timedOut).toBe(true);
    expect(answer.status).toBeNull();
    await eventually(
      () => Promise.resolve(dns.blackhole.received().udpDatagrams),
      (n) => n > before,
    );
    await source.stop();
    await done;

    const flows = frames.map(flowOf);
    expect(flows.filter(toPort(dns.port))).toHaveLength(1);
    expect(flows.filter(fromPort(dns.port))).toHaveLength(0);
    // dnsmasq's forward to the blackhole happened (the blackhole counted it) but is not DNS
    // on a selected port, so the capture never saw it.
    const bh = dns.blackhole.port;
    expect(flows.filter((f) => f?.srcPort === bh || f?.dstPort === bh)).toEqual([]);
    expect(flows.every((f) => f?.srcPort === dns.port || f?.dstPort === dns.port)).toBe(true);
  });

  it('selects extra ports; stats() counts what libpcap received', async () => {
    const bh = dns.blackhole.port;
    const { source, frames, done } = await capture({ ports: [dns.port, bh] });
    // The client's query to dnsmasq and dnsmasq's forward to the blackhole, both selected.
    // A name of its own: dnsmasq would not forward a query it already has in flight.
    await dns.query(`ports.${dns.names.unanswered}`, { timeoutSeconds: 1 });
    await eventually(
      () => Promise.resolve(frames.map(flowOf).filter(toPort(bh)).length),
      (n) => n >= 1,
    );
    const stats = source.stats();
    await source.stop();
    await done;

    expect(frames.map(flowOf).filter(toPort(dns.port))).toHaveLength(1);
    expect(stats).toEqual([
      expect.objectContaining({ iface: 'lo', linkType: LinkType.ETHERNET, dropped: 0 }),
    ]);
    expect(stats[0]!.captured).toBe(frames.length);
    expect(stats[0]!.received).toBeGreaterThanOrEqual(frames.length);
    expect(source.interfaces[0]!.filter).toContain(`port ${bh}`);
    // stats() still answers after stop(), with the last counters.
    expect(source.stats()[0]!.received).toBe(stats[0]!.received);
  });

  it('selects IP fragments and VLAN-tagged DNS, and no other traffic', async () => {
    // Frames written straight onto lo through a packet socket: fragments cannot be made
    // with a socket on lo (its MTU is larger than any datagram) and lo adds no VLAN tags.
    const lo4 = '127.0.0.1';
    const lo6 = ipv6Bytes([0, 0, 0, 0, 0, 0, 0, 1]);
    const tail = Buffer.alloc(64, 0xab);
    const injected = {
      ipv4Fragment: ethernet(0x0800, ipv4(lo4, lo4, tail, { id: 777, fragOffset: 1480 })),
      ipv6Fragment: ethernet(
        0x86dd,
        ipv6(lo6, lo6, 44, Buffer.concat([ipv6Fragment(17, 1480, false, 778), tail])),
      ),
      vlanDns: ethernet(0x0800, ipv4(lo4, lo4, udp(40000, dns.port, dnsQuery(4242, dns.names.a))), [
        [0x8100, 100],
      ]),
      qinqDns: ethernet(0x0800, ipv4(lo4, lo4, udp(40000, dns.port, dnsQuery(4243, dns.names.a))), [
        [0x88a8, 200],
        [0x8100, 100],
      ]),
      otherUdp: ethernet(0x0800, ipv4(lo4, lo4, udp(40001, 9, tail))),
      otherVlanUdp: ethernet(0x0800, ipv4(lo4, lo4, udp(40001, 9, tail)), [[0x8100, 100]]),
      otherTcp: ethernet(0x0800, ipv4(lo4, lo4, tcp(40002, 80, 1, 0x02), { protocol: 6 })),
    };
    const { source, frames, done } = await capture();
    const sent = spawnSync(
      'python3',
      [
        '-c',
        [
          'import socket, sys',
          's = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)',
          "s.bind(('lo', 0))",
          'for frame in sys.argv[1:]: s.send(bytes.fromhex(frame))',
        ].join('\n'),
        ...Object.values(injected).map((f) => f.toString('hex')),
      ],
      { encoding: 'utf8' },
    );
    expect(sent.stderr).toBe('');
    const wanted = [
      injected.ipv4Fragment,
      injected.ipv6Fragment,
      injected.vlanDns,
      injected.qinqDns,
    ];
    const seen = (f: Buffer): boolean => frames.some((frame) => frame.data.equals(f));
    await eventually(
      () => Promise.resolve(wanted.filter(seen).length),
      (n) => n === wanted.length,
    );
    // Give the unwanted ones the same chance to show up before judging their absence.
    await new Promise((resolve) => setTimeout(resolve, 200));
    await source.stop();
    await done;

    expect(
      Object.fromEntries(Object.entries(injected).map(([name, f]) => [name, seen(f)])),
    ).toEqual({
      ipv4Fragment: true,
      ipv6Fragment: true,
      vlanDns: true,
      qinqDns: true,
      otherUdp: false,
      otherVlanUdp: false,
      otherTcp: false,
    });
    expect(frames).toHaveLength(wanted.length);
  });

  it('reports kernel drops when the reader falls behind', async () => {
    const bh = dns.blackhole.port;
    const { source, frames, done } = await capture({
      ports: [bh],
      bufferBytes: 1024 * 1024,
      bufferTimeoutMs: 1000,
    });
    // While spawnSync blocks this thread nobody reads the 1 MiB ring, and 30000 datagrams
    // of 500 bytes (~16 MB with headers) cannot all fit in it.
    const flood = spawnSync(
      process.execPath,
      [
        '-e',
        `const s = require('dgram').createSocket('udp4'); const b = Buffer.alloc(500);
         let n = 0; const send = () => { if (n++ >= 30000) return s.close();
         s.send(b, ${bh}, '127.0.0.1', send); }; send();`,
      ],
      { timeout: 60_000 },
    );
    expect(flood.status).toBe(0);
    const stats = await eventually(
      () => Promise.resolve(source.stats()[0]!),
      (s) => s.received >= 30000,
    );
    await source.stop();
    await done;
    expect(stats.received).toBeGreaterThanOrEqual(30000);
    expect(stats.dropped).toBeGreaterThan(0);
    expect(frames.length).toBeLessThan(30000);
  });

  it('stops cleanly: run() resolves, nothing is delivered after stop()', async () => {
    const { source, frames, done } = await capture();
    await source.stop();
    await expect(done).resolves.toBeUndefined();
    await dns.query(dns.names.txt);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(frames).toEqual([]);
    await source.stop(); // idempotent
  });

  it('rejects run() with the consumer error and stops capturing', async () => {
    const source = new LiveCapture({ interfaces: ['lo'], ports: [dns.port], bufferTimeoutMs: 20 });
    const done = source.run(() => {
      throw new Error('consumer broke');
    });
    // Observed from the start: the rejection can come while dig is still running.
    const rejected = expect(done).rejects.toThrow('consumer broke');
    await dns.query(dns.names.a);
    await rejected;
    // Stopped: the counters are frozen and the handle is gone.
    const after = source.stats()[0]!;
    await dns.query(dns.names.a);
    expect(source.stats()[0]).toEqual(after);
  });

  it('captures on "any" with Linux cooked headers', async () => {
    const { source, frames, done } = await capture({ interfaces: ['any'] });
    const answer = await dns.query(dns.names.cname);
    expect(answer.answers.map((a) => a.type)).toEqual(['CNAME', 'A']);
    await eventually(
      () => Promise.resolve(frames.length),
      (n) => n >= 2,
    );
    await source.stop();
    await done;
    expect(source.interfaces).toEqual([
      expect.objectContaining({ name: 'any', linkType: LinkType.LINUX_SLL }),
    ]);
    const flows = frames.map(flowOf);
    expect(flows.filter(toPort(dns.port)).length).toBeGreaterThanOrEqual(1);
    expect(flows.filter(fromPort(dns.port)).length).toBeGreaterThanOrEqual(1);
    expect(frames.every((f) => f.iface === 'any' && f.linkType === LinkType.LINUX_SLL)).toBe(true);
  });
});

describe('live capture errors', () => {
  it('names a missing interface and what exists', () => {
    let error: unknown;
    try {
      new LiveCapture({ interfaces: ['lo', 'dnsflow-nope0'] });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(CaptureInterfaceError);
    const e = error as CaptureInterfaceError;
    expect(e.iface).toBe('dnsflow-nope0');
    expect(e.problem).toBe('no-such-interface');
    expect(e.message).toContain('"dnsflow-nope0"');
    expect(e.available).toContain('lo');
  });

  it('rejects a bad filter with the filter in the message', () => {
    let error: unknown;
    try {
      new LiveCapture({ interfaces: ['lo'], filter: 'udp port banana' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(CaptureInterfaceError);
    expect(error).toMatchObject({ problem: 'bad-filter', iface: 'lo' });
    expect((error as Error).message).toContain('udp port banana');
  });

  it('says CAP_NET_RAW is missing when the process lacks it', () => {
    // A child without CAP_NET_RAW (even as root: dropped from the bounding set) opens the
    // same live.ts, transpiled on the fly, so the real error path runs.
    const live = join(ROOT, 'packages', 'collector', 'src', 'capture', 'live.ts');
    const child = spawnSync(
      'setpriv',
      [
        '--bounding-set=-net_raw',
        '--inh-caps=-net_raw',
        process.execPath,
        '-e',
        `const ts = require('typescript'); const fs = require('fs');
         require.extensions['.ts'] = (m, f) => m._compile(ts.transpileModule(
           fs.readFileSync(f, 'utf8'), { compilerOptions: { module: ts.ModuleKind.CommonJS,
           target: ts.ScriptTarget.ES2022, esModuleInterop: true } }).outputText, f);
         const { LiveCapture } = require(${JSON.stringify(live)});
         try { new LiveCapture({ interfaces: ['lo'] }).stop(); console.log('{"opened":true}'); }
         catch (e) { console.log(JSON.stringify({ name: e.name, problem: e.problem,
           iface: e.iface, message: e.message })); }`,
      ],
      { cwd: ROOT, encoding: 'utf8', timeout: 30_000 },
    );
    expect(child.stderr).toBe('');
    expect(JSON.parse(child.stdout)).toEqual({
      name: 'CaptureInterfaceError',
      problem: 'permission-denied',
      iface: 'lo',
      message: expect.stringContaining('CAP_NET_RAW'),
    });
  });
});
