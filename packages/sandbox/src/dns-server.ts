import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { run } from './exec';
import type { SandboxNetwork } from './network';

/** Names the sandbox's DNS serves outside the cluster domain (there is no internet here). */
export const DEMO_ZONE = 'demo.example';
/** Addresses of `large.demo.example`: more A records than fit a 1232-byte UDP answer. */
export const LARGE_ANSWER_COUNT = 120;

export interface ClusterDnsOptions {
  /** The pod (network namespace) the server runs in. */
  podKey: string;
  podIp: string;
  /** Working directory for the Corefile and zone file. */
  dir: string;
  clusterDomain: string;
  /**
   * CoreDNS binary and a kubeconfig it can use from inside the pod. Without them the
   * server is dnsmasq: the zone and NXDOMAIN for the cluster domain, no Kubernetes names.
   */
  coredns?: { binary: string; kubeconfig: string };
}

export interface ClusterDns {
  kind: 'coredns' | 'dnsmasq';
  process: ChildProcess;
  output(): string;
}

function zoneFile(): string {
  const lines = [
    `$ORIGIN ${DEMO_ZONE}.`,
    '$TTL 60',
    `@ IN SOA ns.${DEMO_ZONE}. hostmaster.${DEMO_ZONE}. 1 7200 3600 1209600 60`,
    `@ IN NS ns.${DEMO_ZONE}.`,
    'ns IN A 192.0.2.53',
    'www IN A 192.0.2.80',
    'www IN AAAA 2001:db8::80',
    'api IN CNAME www',
  ];
  for (let i = 0; i < LARGE_ANSWER_COUNT; i++) {
    lines.push(`large IN A 198.51.100.${i + 1}`);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * CoreDNS as kube-dns: the `kubernetes` plugin answers cluster names from the API server,
 * `file` serves the demo zone, and every other name is NXDOMAIN (`template`), since
 * nothing outside this machine may be asked. One server block per zone: CoreDNS runs
 * plugins in its own fixed order, so a catch-all `template` in the same block as
 * `kubernetes` would answer first.
 */
function corefile(options: ClusterDnsOptions, kubeconfig: string): string {
  return [
    `${options.clusterDomain}:53 in-addr.arpa:53 ip6.arpa:53 {`,
    `  errors`,
    `  kubernetes ${options.clusterDomain} in-addr.arpa ip6.arpa {`,
    `    kubeconfig ${kubeconfig}`,
    `    pods insecure`,
    `  }`,
    `}`,
    `${DEMO_ZONE}:53 {`,
    `  errors`,
    `  file ${join(options.dir, 'demo.example.db')}`,
    `}`,
    `.:53 {`,
    `  errors`,
    `  template ANY ANY {`,
    `    rcode NXDOMAIN`,
    `  }`,
    `}`,
    '',
  ].join('\n');
}

/** Starts the cluster DNS in its pod and resolves once it answers. */
export async function startClusterDns(
  net: SandboxNetwork,
  options: ClusterDnsOptions,
): Promise<ClusterDns> {
  await mkdir(options.dir, { recursive: true });
  let argv: string[];
  let kind: ClusterDns['kind'];
  if (options.coredns !== undefined) {
    await writeFile(join(options.dir, 'demo.example.db'), zoneFile());
    const file = join(options.dir, 'Corefile');
    await writeFile(file, corefile(options, options.coredns.kubeconfig));
    // One CPU, as a kube-dns pod with a CPU limit of 1 gets: with GOMAXPROCS at the node's
    // core count, CoreDNS spent 0.57 of a core at 5,000 queries/s here, with 1 it spent 0.47.
    argv = ['env', 'GOMAXPROCS=1', options.coredns.binary, '-conf', file];
    kind = 'coredns';
  } else {
    const large = Array.from(
      { length: LARGE_ANSWER_COUNT },
      (_, i) => `--host-record=large.${DEMO_ZONE},198.51.100.${i + 1}`,
    );
    argv = [
      'dnsmasq',
      '--keep-in-foreground',
      '--no-resolv',
      '--no-hosts',
      '--log-facility=-',
      '--port=53',
      `--host-record=www.${DEMO_ZONE},192.0.2.80,2001:db8::80`,
      `--cname=api.${DEMO_ZONE},www.${DEMO_ZONE}`,
      ...large,
      // No upstream: every other name is NXDOMAIN, as with CoreDNS's template above.
      '--address=/#/',
    ];
    kind = 'dnsmasq';
  }
  const child = net.spawn(options.podKey, argv);
  let output = '';
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString('utf8')).slice(-20_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) {
      throw new Error(`${kind} exited (code ${child.exitCode}) in the sandbox: ${output.trim()}`);
    }
    const probe = await run(
      ['dig', `@${options.podIp}`, `www.${DEMO_ZONE}`, '+short', '+time=1', '+tries=1'],
      { allowFailure: true },
    );
    if (probe.stdout.includes('192.0.2.80')) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${kind} did not answer within 20 s in the sandbox: ${output.trim()}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { kind, process: child, output: () => output };
}
