import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  freePort,
  query,
  terminate,
  type DigOptions,
  type DigResult,
  type DnsEndpoint,
} from './dns';
import { kubeconfigPath } from './k8s';
import { ROOT, services } from './services';

// CoreDNS as a cluster's DNS, on loopback: its kubernetes plugin watches the local
// kube-apiserver (scripts/services.sh up k8s) through the kubeconfig, so services and pods
// the tests create resolve under cluster.local, as in a cluster. Names outside the cluster go
// to an upstream (a dnsmasq from ./dns.ts) or, without one, get a fixed answer from the
// template plugin: the machine has no internet.
//
//   const dns = await startCoreDns({ port: await freePort() });
//   const r = await dns.query(`web.${ns}.svc.cluster.local`);
//   await dns.stop();
//
// `bash scripts/services.sh install coredns` builds the binary (bootstrap does it too).

const READY_TIMEOUT_MS = 30_000;

/** The pinned CoreDNS version: the one scripts/services/k8s.sh builds. */
export function corednsVersion(): string {
  const script = readFileSync(join(ROOT, 'scripts', 'services', 'k8s.sh'), 'utf8');
  const version = /^COREDNS_VERSION=(\S+)/m.exec(script)?.[1];
  if (version === undefined) throw new Error('scripts/services/k8s.sh names no COREDNS_VERSION');
  return version;
}

/** Path of the CoreDNS binary, built first if it is not there yet. */
export function corednsBinary(): string {
  const bin = join(
    process.env['DNSFLOW_BIN_CACHE'] ?? join(homedir(), '.cache', 'dnsflow', 'bin'),
    `coredns-${corednsVersion()}`,
  );
  if (!existsSync(bin)) {
    const install = services('install', 'coredns');
    if (install.status !== 0 || !existsSync(bin)) {
      throw new Error(`scripts/services.sh install coredns failed:\n${install.output}`);
    }
  }
  return bin;
}

/** Options of {@link startCoreDns} and {@link clusterCorefile}. */
export interface CoreDnsOptions {
  /** UDP and TCP port to serve on. */
  port: number;
  /** Address to bind (default 127.0.0.1). */
  address?: string;
  /** Cluster domain (default cluster.local). */
  clusterDomain?: string;
  /** Where names outside the cluster are forwarded, e.g. a dnsmasq from startDnsServer(). */
  upstream?: DnsEndpoint;
  /** Without an upstream: the A and AAAA every outside name gets (TEST-NET by default). */
  externalAnswer?: { a: string; aaaa: string };
  /** A whole Corefile instead of {@link clusterCorefile}'s; must bind `address`:`port`. */
  corefile?: string;
}

/** A running CoreDNS. */
export interface RunningCoreDns extends DnsEndpoint {
  /** The Corefile it runs. */
  readonly corefile: string;
  /** dig against it (see ./dns.ts). */
  query(name: string, options?: DigOptions): Promise<DigResult>;
  /** What CoreDNS printed (every query: the `log` plugin is on), for failing assertions. */
  log(): string;
  /** Stops it and removes its directory; idempotent. */
  stop(): Promise<void>;
}

/**
 * The Corefile of a cluster's DNS: `cluster.local` and the reverse zones from the kubernetes
 * plugin (the local kube-apiserver, pod records `insecure` as kubeadm sets them up), every
 * other name forwarded to `upstream` or answered by the template plugin. `readyPort` serves
 * /ready, 200 once the plugin has synced with the API server.
 */
export function clusterCorefile(options: CoreDnsOptions, readyPort: number): string {
  const address = options.address ?? '127.0.0.1';
  const domain = options.clusterDomain ?? 'cluster.local';
  const external = options.externalAnswer ?? { a: '192.0.2.200', aaaa: '2001:db8::200' };
  const outside = options.upstream
    ? [`forward . ${options.upstream.host}:${options.upstream.port}`]
    : [
        'template IN A . {',
        `  answer "{{ .Name }} 60 IN A ${external.a}"`,
        '}',
        'template IN AAAA . {',
        `  answer "{{ .Name }} 60 IN AAAA ${external.aaaa}"`,
        '}',
      ];
  const indent = (lines: string[]): string => lines.map((l) => `    ${l}`).join('\n');
  // Two server blocks on one port: CoreDNS gives each query to the block of its most
  // specific zone, so the template's "." never shadows the cluster's names.
  return `${domain}:${options.port} in-addr.arpa:${options.port} ip6.arpa:${options.port} {
    bind ${address}
    errors
    log
    ready 127.0.0.1:${readyPort}
    kubernetes ${domain} in-addr.arpa ip6.arpa {
        kubeconfig ${kubeconfigPath()} dnsflow-test
        pods insecure
        ttl 5
    }
}
.:${options.port} {
    bind ${address}
    errors
    log
${indent(outside)}
}
`;
}

/**
 * Starts CoreDNS with `options.corefile` or {@link clusterCorefile}; resolves once /ready
 * answers 200 (the kubernetes plugin synced) and the DNS port answers.
 */
export async function startCoreDns(options: CoreDnsOptions): Promise<RunningCoreDns> {
  const bin = corednsBinary();
  const readyPort = await freePort();
  const corefile = options.corefile ?? clusterCorefile(options, readyPort);
  const dir = mkdtempSync(join(tmpdir(), 'dnsflow-coredns-'));
  writeFileSync(join(dir, 'Corefile'), corefile);
  const child = spawn(bin, ['-conf', join(dir, 'Corefile')], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const append = (chunk: string): void => {
    output += chunk;
  };
  child.stdout?.setEncoding('utf8').on('data', append);
  child.stderr?.setEncoding('utf8').on('data', append);
  // A test process that dies must not leave the server behind.
  const killOnExit = (): void => {
    child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);
  child.once('exit', () => process.removeListener('exit', killOnExit));

  const address = options.address ?? '127.0.0.1';
  let stopped: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    stopped ??= terminate(child).then(() => rmSync(dir, { recursive: true, force: true }));
    return stopped;
  };
  try {
    await waitReady(
      child,
      options.corefile === undefined ? readyPort : null,
      {
        host: address,
        port: options.port,
      },
      () => output,
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    host: address,
    port: options.port,
    corefile,
    query: (name, opts = {}) => query({ host: address, port: options.port }, name, opts),
    log: () => output,
    stop,
  };
}

async function waitReady(
  child: ChildProcess,
  readyPort: number | null,
  endpoint: DnsEndpoint,
  output: () => string,
): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`coredns exited (${child.exitCode ?? child.signalCode}):\n${output()}`);
    }
    const ready =
      readyPort === null ||
      (await fetch(`http://127.0.0.1:${readyPort}/ready`)
        .then((res) => res.status === 200)
        .catch(() => false));
    if (ready) {
      const probe = await query(endpoint, 'ready.invalid', { timeoutSeconds: 1 });
      if (probe.status !== null) return;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(
    `coredns on ${endpoint.host}:${endpoint.port} not ready in ${READY_TIMEOUT_MS} ms:\n${output()}`,
  );
}
