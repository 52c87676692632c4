import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { existsSync } from 'node:fs';
import { createServer, type Server, type Socket as TcpSocket } from 'node:net';

// A real DNS server (dnsmasq) and a real client (dig) on loopback, for tests that need
// DNS traffic on the wire: live capture, pairing, the pipeline end to end.
//
//   const dns = await startDnsServer();           // one per test file, in beforeAll
//   const r = await dns.query(dns.names.a);       // dig @127.0.0.1 -p <port> ...
//   expect(r.status).toBe('NOERROR');
//   await dns.stop();                             // in afterAll
//
// scripts/system-deps.sh installs dnsmasq-base and bind9-dnsutils; nothing here assumes a
// server already running. dnsmasq was chosen over unbound because the bare binary takes
// its whole zone on the command line and starts in milliseconds without a config file.

/** Where a DNS server listens. */
export interface DnsEndpoint {
  host: string;
  port: number;
}

/** Records of the test zone, by fully qualified name without the trailing dot. */
export interface DnsZoneRecords {
  a: Record<string, string>;
  aaaa: Record<string, string>;
  /** alias -> target (the target must have an A/AAAA record in this zone). */
  cname: Record<string, string>;
  txt: Record<string, string[]>;
}

/** Names of the default zone, each standing for one behaviour tests need. */
export interface DnsTestNames {
  /** A and AAAA records. */
  a: string;
  /** A CNAME to `a`: the answer has the CNAME and the A record. */
  cname: string;
  /** A short TXT record. */
  txt: string;
  /**
   * TXT records larger than a UDP answer may be (~1.9 KB against EDNS 1232): over UDP the
   * server answers TC=1 with no records, and dig retries over TCP unless `ignoreTruncation`.
   */
  large: string;
  /** A name in the zone that does not exist: NXDOMAIN. */
  nxdomain: string;
  /**
   * Forwarded by dnsmasq to the blackhole, which never answers: the query to dnsmasq gets
   * no reply either (dig times out; exit code 9). Names below it behave the same; use a
   * fresh one per query when the forward must be seen, since dnsmasq does not forward a
   * query again while the same question is still in flight.
   */
  unanswered: string;
}

/** Options of {@link query} and {@link TestDnsServer.query}. */
export interface DigOptions {
  /** Record type (default `A`). */
  type?: string;
  /** Over TCP from the start (`+tcp`). */
  tcp?: boolean;
  /** Keep a truncated UDP answer instead of retrying over TCP (`+ignore`). */
  ignoreTruncation?: boolean;
  /** Seconds to wait for an answer per try (`+time`, default 2). */
  timeoutSeconds?: number;
  /** Tries over UDP (`+tries`, default 1 so a timeout test is one query on the wire). */
  tries?: number;
  /** Send over IPv6 to the server's IPv6 address. */
  ipv6?: boolean;
  /** Source port of the query (`-b <addr>#<port>`), for tests that key on it. */
  sourcePort?: number;
  /** Send without EDNS (`+noedns`): a plain 512-byte UDP limit. */
  noEdns?: boolean;
  /** More dig arguments, as they are. */
  extraArgs?: string[];
}

/** What dig reported. */
export interface DigResult {
  /** Response code (`NOERROR`, `NXDOMAIN`, ...), or null when no answer came. */
  status: string | null;
  /** True when dig got no reply at all (its exit code 9). */
  timedOut: boolean;
  /** DNS message id of the answer, or null. */
  id: number | null;
  /** Header flags of the answer (`qr`, `aa`, `tc`, `rd`, `ra`, ...). */
  flags: string[];
  /** Answer section records, as `{ name, type, data }` (name without the trailing dot). */
  answers: { name: string; ttl: number; type: string; data: string }[];
  /** Message size dig reported, bytes, or null. */
  sizeBytes: number | null;
  /** dig's exit code and full output, to show in a failing assertion. */
  exitCode: number;
  output: string;
}

/** A running dnsmasq with the test zone, and the blackhole behind it. */
export interface TestDnsServer extends DnsEndpoint {
  /** `127.0.0.1`. */
  readonly host: string;
  /** `::1`, on the same port. */
  readonly host6: string;
  /** The zone, e.g. `dnsflow.test`. */
  readonly zone: string;
  readonly names: DnsTestNames;
  readonly records: DnsZoneRecords;
  /** A UDP and TCP server that reads queries and never answers. */
  readonly blackhole: Blackhole;
  /** dig against this server; see {@link query}. */
  query(name: string, options?: DigOptions): Promise<DigResult>;
  /** What dnsmasq logged (every query with --log-queries), for failing assertions. */
  log(): string;
  /** Stops dnsmasq and the blackhole; idempotent. */
  stop(): Promise<void>;
}

/** A DNS endpoint that receives and never replies, over UDP and TCP. */
export interface Blackhole extends DnsEndpoint {
  /** UDP datagrams and TCP connections received so far. */
  received(): { udpDatagrams: number; tcpConnections: number };
  close(): Promise<void>;
}

/** Options of {@link startDnsServer}. */
export interface DnsServerOptions {
  /** Zone served (default `dnsflow.test`; `.test` is reserved for testing, RFC 6761). */
  zone?: string;
  /** Extra records, merged over the defaults. Names are fully qualified. */
  records?: Partial<DnsZoneRecords>;
  /** Also listen on ::1 (default true). */
  ipv6?: boolean;
}

const LOOPBACK4 = '127.0.0.1';
const LOOPBACK6 = '::1';
const READY_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 5_000;

/** Runs dig against `server` and parses what it printed. Never throws on DNS failures. */
export async function query(
  server: DnsEndpoint,
  name: string,
  options: DigOptions = {},
): Promise<DigResult> {
  const args = [
    `@${server.host}`,
    '-p',
    String(server.port),
    name,
    options.type ?? 'A',
    `+time=${options.timeoutSeconds ?? 2}`,
    `+tries=${options.tries ?? 1}`,
    // dig reads ~/.digrc and /etc/resolv.conf for defaults; keep its search list out.
    '+nosearch',
  ];
  if (options.tcp) args.push('+tcp');
  if (options.ignoreTruncation) args.push('+ignore');
  if (options.noEdns) args.push('+noedns');
  if (options.sourcePort !== undefined) {
    args.push('-b', `${server.host.includes(':') ? LOOPBACK6 : LOOPBACK4}#${options.sourcePort}`);
  }
  args.push(...(options.extraArgs ?? []));
  const { exitCode, output } = await run(tool('dig'), args);
  return parseDig(output, exitCode);
}

/**
 * Starts dnsmasq on 127.0.0.1 (and ::1) on a free port with a zone the test controls,
 * plus a blackhole that `names.unanswered` is forwarded to. Resolves once dnsmasq answers.
 */
export async function startDnsServer(options: DnsServerOptions = {}): Promise<TestDnsServer> {
  const zone = options.zone ?? 'dnsflow.test';
  const ipv6 = options.ipv6 ?? true;
  const names: DnsTestNames = {
    a: `www.${zone}`,
    cname: `alias.${zone}`,
    txt: `txt.${zone}`,
    large: `large.${zone}`,
    nxdomain: `missing.${zone}`,
    unanswered: `www.blackhole.${zone}`,
  };
  // Ten 255-byte strings: 2.5 KB of TXT data, above EDNS's 1232 and UDP's 512.
  const largeTxt = Array.from({ length: 10 }, (_, i) => `chunk${i}-`.padEnd(255, 'x'));
  const records: DnsZoneRecords = {
    a: { [names.a]: '192.0.2.10', ...options.records?.a },
    aaaa: { [names.a]: '2001:db8::10', ...options.records?.aaaa },
    cname: { [names.cname]: names.a, ...options.records?.cname },
    txt: {
      [names.txt]: ['dnsflow test zone'],
      [names.large]: largeTxt,
      ...options.records?.txt,
    },
  };

  const blackhole = await startBlackhole();
  let lastError: unknown = null;
  // A port found free can be taken before dnsmasq binds it: try a few.
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const args = dnsmasqArgs(port, zone, records, blackhole, ipv6);
    const server = await launch(port, args).catch((err: unknown) => {
      lastError = err;
      return null;
    });
    if (!server) continue;
    const { child, log } = server;
    let stopped: Promise<void> | null = null;
    const stop = (): Promise<void> => {
      stopped ??= Promise.all([terminate(child), blackhole.close()]).then(() => undefined);
      return stopped;
    };
    const endpoint: TestDnsServer = {
      host: LOOPBACK4,
      host6: LOOPBACK6,
      port,
      zone,
      names,
      records,
      blackhole,
      query: (name, opts = {}) =>
        query({ host: opts.ipv6 ? LOOPBACK6 : LOOPBACK4, port }, name, opts),
      log,
      stop,
    };
    return endpoint;
  }
  await blackhole.close();
  throw new Error(`dnsmasq did not start on a free port after 5 attempts: ${String(lastError)}`);
}

function dnsmasqArgs(
  port: number,
  zone: string,
  records: DnsZoneRecords,
  blackhole: DnsEndpoint,
  ipv6: boolean,
): string[] {
  const args = [
    '--keep-in-foreground',
    '--conf-file=/dev/null', // no /etc/dnsmasq.conf: everything is on this command line
    '--no-resolv', // no upstream from /etc/resolv.conf: nothing leaves the machine
    '--no-hosts',
    '--no-negcache',
    '--bind-interfaces',
    `--listen-address=${LOOPBACK4}`,
    `--port=${port}`,
    '--pid-file=', // empty: no pid file to clean up
    '--log-facility=-', // stderr, kept for failing assertions
    '--log-queries',
    // Names of the zone without records are NXDOMAIN, answered locally.
    `--local=/${zone}/`,
    `--server=/blackhole.${zone}/${blackhole.host}#${blackhole.port}`,
  ];
  if (ipv6) args.push(`--listen-address=${LOOPBACK6}`);
  const hosts = new Set([...Object.keys(records.a), ...Object.keys(records.aaaa)]);
  for (const name of hosts) {
    const addrs = [records.a[name], records.aaaa[name]].filter((a) => a !== undefined);
    args.push(`--host-record=${name},${addrs.join(',')}`);
  }
  for (const [alias, target] of Object.entries(records.cname)) {
    args.push(`--cname=${alias},${target}`);
  }
  for (const [name, strings] of Object.entries(records.txt)) {
    // dnsmasq splits on commas outside quotes; each quoted part is one character-string.
    args.push(`--txt-record=${name},${strings.map((s) => `"${s}"`).join(',')}`);
  }
  return args;
}

async function launch(
  port: number,
  args: string[],
): Promise<{ child: ChildProcess; log: () => string }> {
  const child = spawn(tool('dnsmasq'), args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let output = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    output += chunk;
  });
  // A test process that dies must not leave the server behind.
  const killOnExit = (): void => {
    child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);
  child.once('exit', () => process.removeListener('exit', killOnExit));

  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`dnsmasq exited (${child.exitCode ?? child.signalCode}):\n${output}`);
    }
    // Ready means it answers: a name outside the zone gets REFUSED without upstreams.
    const probe = await query({ host: LOOPBACK4, port }, 'ready.invalid', { timeoutSeconds: 1 });
    if (probe.status !== null) return { child, log: () => output };
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await terminate(child);
  throw new Error(
    `dnsmasq on port ${port} did not answer within ${READY_TIMEOUT_MS} ms:\n${output}`,
  );
}

/** Stops a server process: SIGTERM, then SIGKILL if it has not exited in 5 s. */
export async function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}

/** A UDP+TCP port free on 127.0.0.1 (and so likely on ::1) right now. */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const udp = createSocket('udp4');
    const port = await new Promise<number>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(0, LOOPBACK4, () => resolve(udp.address().port));
    });
    const tcpFree = await new Promise<boolean>((resolve) => {
      const probe = createServer();
      probe.once('error', () => resolve(false));
      probe.listen(port, LOOPBACK4, () => probe.close(() => resolve(true)));
    });
    await new Promise<void>((resolve) => udp.close(() => resolve()));
    if (tcpFree) return port;
  }
  throw new Error('no port free for both UDP and TCP on 127.0.0.1');
}

/** Starts a UDP+TCP listener on 127.0.0.1 that takes queries and never answers. */
export async function startBlackhole(): Promise<Blackhole> {
  let udpDatagrams = 0;
  let tcpConnections = 0;
  const connections = new Set<TcpSocket>();
  const tcp: Server = createServer((socket) => {
    tcpConnections += 1;
    connections.add(socket);
    socket.on('data', () => undefined); // read and drop
    socket.on('error', () => undefined);
    socket.once('close', () => connections.delete(socket));
  });
  const port = await new Promise<number>((resolve, reject) => {
    tcp.once('error', reject);
    tcp.listen(0, LOOPBACK4, () => {
      const address = tcp.address();
      if (address && typeof address === 'object') resolve(address.port);
      else reject(new Error('blackhole: no TCP port'));
    });
  });
  // Same port over UDP, so the one endpoint stands for both transports.
  const udp: UdpSocket = createSocket('udp4');
  udp.on('message', () => {
    udpDatagrams += 1;
  });
  await new Promise<void>((resolve, reject) => {
    udp.once('error', reject);
    udp.bind(port, LOOPBACK4, () => resolve());
  });
  let closed: Promise<void> | null = null;
  return {
    host: LOOPBACK4,
    port,
    received: () => ({ udpDatagrams, tcpConnections }),
    close() {
      closed ??= (async () => {
        for (const socket of connections) socket.destroy();
        await Promise.all([
          new Promise<void>((resolve) => tcp.close(() => resolve())),
          new Promise<void>((resolve) => udp.close(() => resolve())),
        ]);
      })();
      return closed;
    },
  };
}

/** Parses dig's default output (header, flags, answer section, message size). */
export function parseDig(output: string, exitCode: number): DigResult {
  const header = /->>HEADER<<- opcode: \S+, status: (\S+), id: (\d+)/.exec(output);
  const flagLine = /^;; flags: ([^;]*);/m.exec(output);
  const size = /MSG SIZE\s+rcvd: (\d+)/.exec(output);
  const answers: DigResult['answers'] = [];
  const section = /;; ANSWER SECTION:\n([\s\S]*?)(?:\n\n|$)/.exec(output);
  for (const line of section?.[1]?.split('\n') ?? []) {
    const m = /^(\S+)\s+(\d+)\s+IN\s+(\S+)\s+(.*)$/.exec(line);
    if (m) {
      answers.push({ name: m[1]!.replace(/\.$/, ''), ttl: Number(m[2]), type: m[3]!, data: m[4]! });
    }
  }
  return {
    status: header ? header[1]!.replace(/,$/, '') : null,
    timedOut: exitCode === 9,
    id: header ? Number(header[2]) : null,
    flags: flagLine ? flagLine[1]!.trim().split(/\s+/) : [],
    answers,
    sizeBytes: size ? Number(size[1]) : null,
    exitCode,
    output,
  };
}

function run(file: string, args: string[]): Promise<{ exitCode: number; output: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { encoding: 'utf8', timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err && typeof err.code === 'number' ? err.code : err ? 1 : 0;
      resolve({ exitCode: code, output: `${stdout}${stderr}` });
    });
  });
}

/** A tool from scripts/system-deps.sh; sbin is not on every PATH (dnsmasq lives there). */
function tool(name: string): string {
  for (const dir of ['/usr/sbin', '/usr/bin', '/sbin', '/bin']) {
    if (existsSync(`${dir}/${name}`)) return `${dir}/${name}`;
  }
  return name;
}
