import { mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import {
  STORM_NAME,
  cachedCoreDnsBinary,
  demoTraffic,
  kubeAccessFromStateDir,
  startSandboxCluster,
  type SandboxCluster,
} from '@dnsflow/sandbox';
import type { Io } from './decode';

export interface Demo {
  cluster: SandboxCluster;
  /** `--<stage>.<key>=<value>` flags that point the pipeline at the sandbox. */
  flags: string[];
  banner: string[];
  stop(): Promise<void>;
}

export interface DemoOptions {
  /** Where scripts/services.sh keeps its state (kubeconfig, CoreDNS binary). */
  servicesDir?: string;
  workDir?: string;
}

/**
 * `dnsflow run --demo`: a simulated cluster on this machine whose pods make the DNS
 * mistakes of a real outage, so a newcomer sees data within a minute.
 */
export async function startDemo(options: DemoOptions, io: Io): Promise<Demo> {
  const servicesDir =
    options.servicesDir ??
    process.env['DNSFLOW_SERVICES_DIR'] ??
    join(homedir(), '.cache', 'dnsflow', 'services');
  const workDir = options.workDir ?? join(homedir(), '.cache', 'dnsflow', 'demo');
  mkdirSync(workDir, { recursive: true });
  const kube = kubeAccessFromStateDir(servicesDir);
  const coredns = cachedCoreDnsBinary();
  if (kube === undefined) {
    io.out(
      'demo: no local API server (run `npm run services -- up k8s`); using a static inventory\n',
    );
  }
  const cluster = await startSandboxCluster({
    name: 'dfdem',
    podSubnet: '10.244.0',
    workDir,
    ...(kube !== undefined ? { kube } : {}),
    ...(coredns !== undefined ? { corednsBinary: coredns } : {}),
  });
  const traffic = new AbortController();
  const rounds = demoTraffic(cluster, traffic.signal).catch(() => 0);
  const flags = [
    '--collector.capture.interfaces=any',
    `--collector.node=${cluster.nodeName}`,
    ...(kube !== undefined
      ? [
          '--enricher.kubernetes.source=kubeconfig',
          `--enricher.kubernetes.kubeconfig=${kube.kubeconfig}`,
        ]
      : ['--enricher.kubernetes.source=none', `--enricher.inventoryFile=${cluster.inventoryFile}`]),
  ];
  const { jarJar } = cluster.pods;
  const banner = [
    '',
    `dnsflow demo: a simulated node "${cluster.nodeName}" with pods in network namespaces,`,
    `kube-dns (${cluster.dns.kind}) at ${cluster.dnsServiceIp}, ${cluster.registered ? 'objects in the local kube-apiserver' : 'identities from a static inventory'}.`,
    'Its pods keep making the DNS mistakes of an outage:',
    `  ${jarJar.key} looks up "${STORM_NAME}" (ndots:5 search-path NXDOMAIN storm)`,
    `  ${cluster.pods.droid.key} never gets its answers (a firewall drops them)`,
    `  ${cluster.pods.deathstar.key} asks a DNS server ${cluster.slowDelayMs} ms away`,
    `  ${cluster.pods.loadgen.key} gets an answer too large for UDP and retries over TCP`,
    '',
    'Where to look, in another terminal (give it ~30 s):',
    '  npx dnsflow top pods --rcode NXDOMAIN --since 10m',
    `  npx dnsflow observe --pod ${jarJar.key} --since 10m`,
    '  npx dnsflow observe --status unanswered --since 10m',
    '  npx dnsflow top servers --since 10m',
    '  curl -s 127.0.0.1:9464/metrics | grep dns_      (collector, Hubble-style metrics)',
    '',
  ];
  return {
    cluster,
    flags,
    banner,
    stop: async () => {
      traffic.abort();
      await rounds;
      await cluster.stop();
    },
  };
}
