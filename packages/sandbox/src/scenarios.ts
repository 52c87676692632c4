import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DEMO_ZONE } from './dns-server';
import type { RunResult } from './exec';
import type { SandboxCluster } from './cluster';

// The DNS situations an SRE meets in an outage, each played by real clients in the
// sandbox's pods: the glibc resolver (`getent`), dig, and dnsperf for volume.

/** The name the search-path storm looks up: not in any zone, so every try is NXDOMAIN. */
export const STORM_NAME = 'unknown-galaxy';

/**
 * jar-jar-binks looks up a dotless name through glibc: with ndots:5 it tries each search
 * suffix, then the bare name, for A and AAAA (getaddrinfo with AF_UNSPEC), all NXDOMAIN.
 */
export async function searchPathStorm(cluster: SandboxCluster): Promise<RunResult> {
  return cluster.network.exec(cluster.pods.jarJar.key, ['getent', 'ahosts', STORM_NAME], {
    allowFailure: true,
  });
}

/**
 * droid's answers are lost on the way back: its queries reach the server, the answers never
 * reach it. Call {@link breakDroidResponses} once first.
 */
export async function missingResponses(cluster: SandboxCluster, names: string[]): Promise<void> {
  for (const name of names) {
    await cluster.network.exec(
      cluster.pods.droid.key,
      ['dig', `@${cluster.dnsServiceIp}`, name, '+time=1', '+tries=1'],
      { allowFailure: true },
    );
  }
}

/**
 * A firewall rule in the DNS pod's namespace drops its answers to droid. (A rule inside
 * droid's own namespace would drop them after the node saw them go by, and a node's
 * capture would rightly count them as answered.)
 */
export async function breakDroidResponses(cluster: SandboxCluster): Promise<void> {
  await cluster.network.dropOutgoingTo(cluster.pods.coredns.key, cluster.pods.droid.ip, 53);
}

/** deathstar resolves through the slow server: each answer comes `slowDelayMs` late. */
export async function slowLookups(cluster: SandboxCluster, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    await cluster.network.exec(
      cluster.pods.deathstar.key,
      ['dig', `@${cluster.slowDnsIp}`, `www.${DEMO_ZONE}`, '+time=2', '+tries=1'],
      { allowFailure: true },
    );
  }
}

/**
 * loadgen asks for a name whose answer does not fit UDP: the server answers with TC set and
 * dig retries over TCP, which gets every record.
 */
export async function truncatedAnswer(cluster: SandboxCluster): Promise<RunResult> {
  return cluster.network.exec(cluster.pods.loadgen.key, [
    'dig',
    `@${cluster.dnsServiceIp}`,
    `large.${DEMO_ZONE}`,
    'A',
    '+time=2',
    '+tries=1',
  ]);
}

/** Cluster names resolved by CoreDNS's `kubernetes` plugin from the API server. */
export async function clusterLookups(cluster: SandboxCluster): Promise<void> {
  for (const name of [`kube-dns.kube-system.svc.${cluster.clusterDomain}`, `www.${DEMO_ZONE}`]) {
    await cluster.network.exec(cluster.pods.jarJar.key, ['getent', 'ahosts', name], {
      allowFailure: true,
    });
  }
}

export interface LoadOptions {
  /** Queries to send in all (each one becomes one transaction). */
  queries: number;
  /** Queries per second (dnsperf -Q). */
  qps: number;
  /** Directory for dnsperf's input file. */
  workDir: string;
}

export interface LoadResult {
  sent: number;
  completed: number;
  lost: number;
  output: string;
}

/** dnsperf in the loadgen pod against kube-dns: a steady stream of ordinary lookups. */
export async function load(cluster: SandboxCluster, options: LoadOptions): Promise<LoadResult> {
  const input = join(options.workDir, 'dnsperf-queries.txt');
  const names = ['www', 'api', 'ns', 'missing'].flatMap((label) => [
    `${label}.${DEMO_ZONE} A`,
    `${label}.${DEMO_ZONE} AAAA`,
  ]);
  await writeFile(input, `${names.join('\n')}\n`);
  const seconds = Math.ceil(options.queries / options.qps) + 30;
  const result = await cluster.network.exec(
    cluster.pods.loadgen.key,
    [
      'dnsperf',
      '-s',
      cluster.dnsServiceIp,
      '-d',
      input,
      '-n',
      String(Math.ceil(options.queries / names.length)),
      '-Q',
      String(options.qps),
      '-c',
      '4',
      '-t',
      '2',
    ],
    { timeoutMs: seconds * 1000 },
  );
  const sent = Number(/Queries sent:\s+(\d+)/.exec(result.stdout)?.[1] ?? NaN);
  const completed = Number(/Queries completed:\s+(\d+)/.exec(result.stdout)?.[1] ?? NaN);
  const lost = Number(/Queries lost:\s+(\d+)/.exec(result.stdout)?.[1] ?? NaN);
  return { sent, completed, lost, output: result.stdout };
}

/**
 * The demo's traffic: every scenario in turn, again and again, until `signal` aborts.
 * Returns how many rounds ran.
 */
export async function demoTraffic(cluster: SandboxCluster, signal: AbortSignal): Promise<number> {
  await breakDroidResponses(cluster);
  let rounds = 0;
  while (!signal.aborted) {
    await searchPathStorm(cluster);
    await clusterLookups(cluster);
    await missingResponses(cluster, [`api.${DEMO_ZONE}`]);
    await slowLookups(cluster, 2);
    await truncatedAnswer(cluster).catch(() => undefined);
    rounds++;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(t);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const t = setTimeout(done, 2000);
      signal.addEventListener('abort', done);
    });
  }
  return rounds;
}
