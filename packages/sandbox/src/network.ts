import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { spawn, type ChildProcess } from 'node:child_process';
import { run, type RunOptions, type RunResult } from './exec';

/**
 * A simulated node network: a Linux bridge (the node's pod network), one network namespace
 * per "pod" joined to it by a veth pair, service IPs translated to pod IPs by nftables DNAT
 * on the node as kube-proxy does, and a per-pod resolv.conf. Everything lives in namespaces
 * and addresses this sandbox creates; nothing routes off the machine: pods have no default
 * route and the service range is a blackhole on the node unless DNAT rewrote the packet.
 */

export interface NetworkOptions {
  /** Short name (letters/digits, at most 5 characters) that prefixes every interface, namespace and table. */
  name: string;
  /** First three octets of the pod /24, e.g. `10.244.7`; the node (bridge) takes `.1`. */
  podSubnet: string;
  /** The service range, e.g. `10.96.0.0/16`; pods route it via the node. */
  serviceCidr: string;
}

export interface ResolverConfig {
  nameservers: string[];
  search: string[];
  ndots: number;
  /** Seconds per try (glibc `timeout:`), default 1 so scenarios with no answer end quickly. */
  timeoutSeconds?: number;
  attempts?: number;
}

export interface SandboxPod {
  /** Key the caller chose, e.g. `starwars/jar-jar-binks-7d4f9b8c6d-x2x7k`. */
  key: string;
  netns: string;
  ip: string;
  /** The veth end on the node side (what a capture on the node sees). */
  hostVeth: string;
}

const NAME_RE = /^[a-z][a-z0-9]{0,4}$/;
const IP_FORWARD = '/proc/sys/net/ipv4/ip_forward';

export class SandboxNetwork {
  readonly bridge: string;
  readonly gateway: string;
  private readonly table: string;
  private readonly pods = new Map<string, SandboxPod>();
  private readonly hostAddresses: string[] = [];
  private readonly children = new Set<ChildProcess>();
  private nextVeth = 0;
  private forwardingBefore: string | undefined;

  private constructor(private readonly options: NetworkOptions) {
    this.bridge = `${options.name}br0`;
    this.gateway = `${options.podSubnet}.1`;
    this.table = `${options.name}_sandbox`;
  }

  /** Creates the bridge, the blackhole for the service range and the NAT table. */
  static async create(options: NetworkOptions): Promise<SandboxNetwork> {
    if (!NAME_RE.test(options.name)) {
      throw new Error(
        `sandbox name must be 1-5 lowercase letters/digits starting with a letter, found "${options.name}"`,
      );
    }
    const net = new SandboxNetwork(options);
    await SandboxNetwork.removeLeftovers(options.name);
    await run(['ip', 'link', 'add', net.bridge, 'type', 'bridge']);
    await run(['ip', 'addr', 'add', `${net.gateway}/24`, 'dev', net.bridge]);
    await run(['ip', 'link', 'set', net.bridge, 'up']);
    await run(['ip', 'route', 'replace', 'blackhole', options.serviceCidr]);
    // After DNAT a pod's packet to a service IP is routed by the node to another pod.
    net.forwardingBefore = (await readFile(IP_FORWARD, 'utf8')).trim();
    await writeFile(IP_FORWARD, '1\n');
    await run(['nft', 'add', 'table', 'ip', net.table]);
    await run([
      'nft',
      'add',
      'chain',
      'ip',
      net.table,
      'prerouting',
      '{ type nat hook prerouting priority -100; }',
    ]);
    return net;
  }

  /** Removes what a crashed sandbox of the same name may have left (namespaces, bridge, table). */
  static async removeLeftovers(name: string): Promise<void> {
    const { stdout } = await run(['ip', 'netns', 'list'], { allowFailure: true });
    for (const line of stdout.split('\n')) {
      const ns = line.split(' ')[0];
      if (ns !== undefined && ns.startsWith(`${name}-`)) {
        await run(['ip', 'netns', 'del', ns], { allowFailure: true });
        await rm(`/etc/netns/${ns}`, { recursive: true, force: true });
      }
    }
    await run(['ip', 'link', 'del', `${name}br0`], { allowFailure: true });
    await run(['nft', 'delete', 'table', 'ip', `${name}_sandbox`], { allowFailure: true });
  }

  /** Every pod created so far. */
  listPods(): SandboxPod[] {
    return [...this.pods.values()];
  }

  pod(key: string): SandboxPod {
    const pod = this.pods.get(key);
    if (pod === undefined) throw new Error(`no sandbox pod "${key}"`);
    return pod;
  }

  /** A pod: its own namespace, an address on the pod /24, a route to services via the node. */
  async addPod(key: string, hostOctet: number, resolver?: ResolverConfig): Promise<SandboxPod> {
    if (this.pods.has(key)) throw new Error(`sandbox pod "${key}" exists already`);
    const index = this.nextVeth++;
    const netns = `${this.options.name}-${index}`;
    const hostVeth = `${this.options.name}v${index}`;
    const ip = `${this.options.podSubnet}.${hostOctet}`;
    await run(['ip', 'netns', 'add', netns]);
    await run([
      'ip',
      'link',
      'add',
      hostVeth,
      'type',
      'veth',
      'peer',
      'name',
      'eth0',
      'netns',
      netns,
    ]);
    await run(['ip', 'link', 'set', hostVeth, 'master', this.bridge, 'up']);
    await run(['ip', '-n', netns, 'addr', 'add', `${ip}/24`, 'dev', 'eth0']);
    await run(['ip', '-n', netns, 'link', 'set', 'eth0', 'up']);
    await run(['ip', '-n', netns, 'link', 'set', 'lo', 'up']);
    await run(['ip', '-n', netns, 'route', 'add', this.options.serviceCidr, 'via', this.gateway]);
    if (resolver !== undefined) await this.setResolver(netns, resolver);
    const pod = { key, netns, ip, hostVeth };
    this.pods.set(key, pod);
    return pod;
  }

  /**
   * `ip netns exec` bind-mounts /etc/netns/<ns>/resolv.conf over /etc/resolv.conf, so the
   * glibc resolver of any process started in the pod uses the pod's search list and ndots.
   */
  private async setResolver(netns: string, resolver: ResolverConfig): Promise<void> {
    const lines = [
      ...resolver.nameservers.map((ns) => `nameserver ${ns}`),
      ...(resolver.search.length > 0 ? [`search ${resolver.search.join(' ')}`] : []),
      `options ndots:${resolver.ndots} timeout:${resolver.timeoutSeconds ?? 1} attempts:${resolver.attempts ?? 1}`,
    ];
    await mkdir(`/etc/netns/${netns}`, { recursive: true });
    await writeFile(`/etc/netns/${netns}/resolv.conf`, `${lines.join('\n')}\n`);
    // An empty hosts file: names must be answered by DNS, as in a pod.
    await writeFile(`/etc/netns/${netns}/hosts`, '127.0.0.1 localhost\n');
  }

  /** An extra address on the node's bridge, for a server that runs on the node itself. */
  async addNodeAddress(ip: string): Promise<void> {
    await run(['ip', 'addr', 'add', `${ip}/32`, 'dev', this.bridge]);
    this.hostAddresses.push(ip);
  }

  /** A ClusterIP: UDP and TCP to `serviceIp:port` are rewritten to `targetIp:port`, as kube-proxy does. */
  async addServiceIp(serviceIp: string, targetIp: string, port = 53): Promise<void> {
    for (const proto of ['udp', 'tcp']) {
      await run([
        'nft',
        'add',
        'rule',
        'ip',
        this.table,
        'prerouting',
        'ip',
        'daddr',
        serviceIp,
        proto,
        'dport',
        String(port),
        'dnat',
        'to',
        targetIp,
      ]);
    }
  }

  /** Drops, inside the pod, every UDP and TCP packet coming from port `sourcePort` (its DNS answers). */
  async dropIncomingFromPort(key: string, sourcePort = 53): Promise<void> {
    await this.podFirewall(key, 'input', (proto) => [proto, 'sport', String(sourcePort)]);
  }

  /**
   * Drops, inside the pod `key`, what it sends from `sourcePort` to `destinationIp`: a DNS
   * server pod whose answers to one client are lost on the way back, before they reach
   * the node (where a capture would see them).
   */
  async dropOutgoingTo(key: string, destinationIp: string, sourcePort = 53): Promise<void> {
    await this.podFirewall(key, 'output', (proto) => [
      'ip',
      'daddr',
      destinationIp,
      proto,
      'sport',
      String(sourcePort),
    ]);
  }

  private async podFirewall(
    key: string,
    hook: 'input' | 'output',
    match: (proto: string) => string[],
  ): Promise<void> {
    const { netns } = this.pod(key);
    const nft = (...args: string[]): Promise<RunResult> =>
      run(['ip', 'netns', 'exec', netns, 'nft', ...args]);
    await nft('add', 'table', 'inet', 'pod_firewall');
    await nft(
      'add',
      'chain',
      'inet',
      'pod_firewall',
      hook,
      `{ type filter hook ${hook} priority 0; }`,
    );
    for (const proto of ['udp', 'tcp']) {
      await nft('add', 'rule', 'inet', 'pod_firewall', hook, ...match(proto), 'drop');
    }
  }

  /** Runs a command inside a pod's namespace (with its resolv.conf). */
  exec(key: string, argv: readonly string[], options?: RunOptions): Promise<RunResult> {
    return run(['ip', 'netns', 'exec', this.pod(key).netns, ...argv], options);
  }

  /** Starts a long-running process inside a pod's namespace; it is killed by {@link destroy}. */
  spawn(key: string, argv: readonly string[]): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', this.pod(key).netns, ...argv], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
    return child;
  }

  /** Stops what runs in the pods and removes namespaces, bridge, routes and NAT rules. */
  async destroy(): Promise<void> {
    for (const child of this.children) child.kill('SIGKILL');
    this.children.clear();
    await run(['ip', 'route', 'del', 'blackhole', this.options.serviceCidr], {
      allowFailure: true,
    });
    await SandboxNetwork.removeLeftovers(this.options.name);
    if (this.forwardingBefore !== undefined) {
      await writeFile(IP_FORWARD, `${this.forwardingBefore}\n`);
      this.forwardingBefore = undefined;
    }
    this.pods.clear();
  }
}
