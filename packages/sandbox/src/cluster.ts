import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DelayRelay } from './delay-relay';
import { startClusterDns, type ClusterDns } from './dns-server';
import { TcpForwarder } from './forwarder';
import {
  createEndpointSlice,
  createNamespace,
  createNode,
  createPod,
  createService,
  createWorkload,
  deletePod,
  k8sRequest,
  setPodIps,
  useKubeAccess,
  type KubeAccess,
} from './kube';
import { SandboxNetwork, type ResolverConfig } from './network';

/** One simulated pod: where it is in the API and on the network. */
export interface ClusterPod {
  key: string;
  namespace: string;
  name: string;
  ip: string;
  workload: { kind: string; name: string };
}

export interface SandboxClusterOptions {
  /** Prefix of interfaces and namespaces (1-5 characters), unique per sandbox. */
  name: string;
  /** First three octets of the pod /24, e.g. `10.244.0`. */
  podSubnet: string;
  /** Must lie inside the API server's service range when one is used. */
  serviceCidr?: string;
  dnsServiceIp?: string;
  clusterDomain?: string;
  nodeName?: string;
  /** Corefile, zone, inventory and kubeconfig for CoreDNS go here. */
  workDir: string;
  /**
   * The API server to register the sandbox's objects in (the real one `scripts/services.sh
   * up k8s` runs). Without it the cluster is described by a static inventory file.
   */
  kube?: KubeAccess;
  /** A CoreDNS binary; without one (or without `kube`) the cluster DNS is dnsmasq. */
  corednsBinary?: string;
  /** Latency the slow DNS server adds (default 200 ms). */
  slowDelayMs?: number;
}

export interface SandboxCluster {
  network: SandboxNetwork;
  dns: ClusterDns;
  dnsServiceIp: string;
  clusterDomain: string;
  /** A DNS server behind a slow link, that forwards to the cluster DNS. */
  slowDnsIp: string;
  slowDelayMs: number;
  nodeName: string;
  pods: {
    coredns: ClusterPod;
    jarJar: ClusterPod;
    droid: ClusterPod;
    deathstar: ClusterPod;
    loadgen: ClusterPod;
  };
  /** Written when there is no API server: the enricher's `inventory.file`. */
  inventoryFile: string | undefined;
  /** Whether the objects live in a real API server. */
  registered: boolean;
  stop(): Promise<void>;
}

interface PodPlan {
  role: keyof SandboxCluster['pods'];
  namespace: string;
  workload: { kind: 'Deployment' | 'StatefulSet'; name: string };
  /** Pod name suffix after the workload name: what the controllers would generate. */
  suffix: string;
  octet: number;
  labels: Record<string, string>;
  /** Which resolver the pod uses; undefined for the DNS server itself. */
  resolver?: 'cluster' | 'slow';
}

// Names as Kubernetes controllers make them: <deployment>-<pod-template-hash>-<5 chars>,
// <statefulset>-<ordinal>.
const PLAN: PodPlan[] = [
  {
    role: 'coredns',
    namespace: 'kube-system',
    workload: { kind: 'Deployment', name: 'coredns' },
    suffix: '5d78c9869d-k8s2x',
    octet: 10,
    labels: { 'k8s-app': 'kube-dns' },
  },
  {
    role: 'jarJar',
    namespace: 'starwars',
    workload: { kind: 'Deployment', name: 'jar-jar-binks' },
    suffix: '7b9f6c8d5-x2x7k',
    octet: 31,
    labels: { app: 'jar-jar-binks', team: 'gungans' },
    resolver: 'cluster',
  },
  {
    role: 'droid',
    namespace: 'starwars',
    workload: { kind: 'Deployment', name: 'droid' },
    suffix: '6d5b8f7c9-q4w8n',
    octet: 32,
    labels: { app: 'droid' },
    resolver: 'cluster',
  },
  {
    role: 'deathstar',
    namespace: 'empire',
    workload: { kind: 'StatefulSet', name: 'deathstar' },
    suffix: '0',
    octet: 33,
    labels: { app: 'deathstar' },
    resolver: 'slow',
  },
  {
    role: 'loadgen',
    namespace: 'default',
    workload: { kind: 'Deployment', name: 'loadgen' },
    suffix: '84c7d9b6f5-m2kq9',
    octet: 40,
    labels: { app: 'loadgen' },
    resolver: 'cluster',
  },
];

const SLOW_OCTET = 20;

/**
 * A simulated one-node cluster: pods in network namespaces, kube-dns (CoreDNS with its
 * `kubernetes` plugin, or dnsmasq) behind its ClusterIP, a slow DNS server, and the same
 * pods, services, endpointslices and node registered in the real API server, so the
 * enricher's informers see what a cluster would show them.
 */
export async function startSandboxCluster(options: SandboxClusterOptions): Promise<SandboxCluster> {
  const serviceCidr = options.serviceCidr ?? '10.96.0.0/16';
  const dnsServiceIp = options.dnsServiceIp ?? '10.96.0.10';
  const clusterDomain = options.clusterDomain ?? 'cluster.local';
  const nodeName = options.nodeName ?? `${options.name}-node`;
  const slowDelayMs = options.slowDelayMs ?? 200;
  const network = await SandboxNetwork.create({
    name: options.name,
    podSubnet: options.podSubnet,
    serviceCidr,
  });
  const stops: (() => Promise<void>)[] = [() => network.destroy()];
  const stop = async (): Promise<void> => {
    for (const fn of stops.reverse()) await fn().catch(() => undefined);
  };
  try {
    const slowDnsIp = `${options.podSubnet}.${SLOW_OCTET}`;
    const pods = {} as SandboxCluster['pods'];
    for (const plan of PLAN) {
      const name = `${plan.workload.name}-${plan.suffix}`;
      const key = `${plan.namespace}/${name}`;
      const resolver: ResolverConfig | undefined =
        plan.resolver === undefined
          ? undefined
          : {
              nameservers: [plan.resolver === 'slow' ? slowDnsIp : dnsServiceIp],
              search: [
                `${plan.namespace}.svc.${clusterDomain}`,
                `svc.${clusterDomain}`,
                clusterDomain,
              ],
              ndots: 5,
            };
      const pod = await network.addPod(key, plan.octet, resolver);
      pods[plan.role] = {
        key,
        namespace: plan.namespace,
        name,
        ip: pod.ip,
        workload: plan.workload,
      };
    }
    await network.addServiceIp(dnsServiceIp, pods.coredns.ip);

    let registered = false;
    let corednsKubeconfig: string | undefined;
    if (options.kube !== undefined) {
      await register(options.kube, nodeName, network.gateway, pods, dnsServiceIp);
      registered = true;
      // CoreDNS reaches the API server through the node's bridge address, as a pod reaches
      // the `kubernetes` service; the certificate names `localhost`.
      const forwarder = await TcpForwarder.start(
        { host: network.gateway, port: options.kube.port },
        { host: '127.0.0.1', port: options.kube.port },
      );
      stops.push(() => forwarder.stop());
      corednsKubeconfig = join(options.workDir, 'coredns-kubeconfig');
      await writeFile(
        corednsKubeconfig,
        podKubeconfig(`https://${network.gateway}:${options.kube.port}`, options.kube),
        { mode: 0o600 },
      );
    }
    const dns = await startClusterDns(network, {
      podKey: pods.coredns.key,
      podIp: pods.coredns.ip,
      dir: options.workDir,
      clusterDomain,
      ...(options.corednsBinary !== undefined && corednsKubeconfig !== undefined
        ? { coredns: { binary: options.corednsBinary, kubeconfig: corednsKubeconfig } }
        : {}),
    });

    await network.addNodeAddress(slowDnsIp);
    const relay = await DelayRelay.start({
      listen: { host: slowDnsIp, port: 53 },
      upstream: { host: pods.coredns.ip, port: 53 },
      delayMs: slowDelayMs,
    });
    stops.push(() => relay.stop());

    let inventoryFile: string | undefined;
    if (!registered) {
      inventoryFile = join(options.workDir, 'inventory.json');
      await writeFile(
        inventoryFile,
        JSON.stringify(inventory(nodeName, network.gateway, pods, dnsServiceIp), null, 2),
      );
    }
    return {
      network,
      dns,
      dnsServiceIp,
      clusterDomain,
      slowDnsIp,
      slowDelayMs,
      nodeName,
      pods,
      inventoryFile,
      registered,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

function podKubeconfig(server: string, kube: KubeAccess): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: 'sandbox',
        cluster: { server, 'certificate-authority': kube.caPath, 'tls-server-name': 'localhost' },
      },
    ],
    users: [{ name: 'coredns', user: { token: kube.token } }],
    contexts: [{ name: 'sandbox', context: { cluster: 'sandbox', user: 'coredns' } }],
    'current-context': 'sandbox',
  });
}

async function register(
  kube: KubeAccess,
  nodeName: string,
  nodeIp: string,
  pods: SandboxCluster['pods'],
  dnsServiceIp: string,
): Promise<void> {
  useKubeAccess(kube);
  await createNode(nodeName, [nodeIp]).catch(ignoreExists);
  const namespaces = new Set(Object.values(pods).map((p) => p.namespace));
  for (const ns of namespaces) await createNamespace(ns).catch(ignoreExists);
  for (const plan of PLAN) {
    const pod = pods[plan.role];
    // A previous sandbox may have left its objects (there is no garbage collector without
    // a controller manager): its pod and workload are replaced.
    await deletePod(plan.namespace, pod.name).catch(() => undefined);
    const resource = plan.workload.kind === 'Deployment' ? 'deployments' : 'statefulsets';
    await k8sRequest(
      'DELETE',
      `/apis/apps/v1/namespaces/${plan.namespace}/${resource}/${plan.workload.name}`,
    ).catch(() => undefined);
    const owner = await createWorkload(plan.namespace, plan.workload.kind, plan.workload.name, {
      labels: plan.labels,
    });
    await createPod(plan.namespace, pod.name, {
      labels: plan.labels,
      ownerReferences: [owner.podOwnerReference],
      nodeName,
    });
    await setPodIps(plan.namespace, pod.name, [pod.ip], nodeIp);
  }
  // kube-dns may be there from an earlier sandbox: keep the Service (its ClusterIP is
  // the same) and point its EndpointSlice at this sandbox's CoreDNS pod.
  const existing = await k8sRequest(
    'GET',
    '/api/v1/namespaces/kube-system/services/kube-dns',
  ).catch(() => undefined);
  if (existing === undefined) {
    await createService('kube-system', 'kube-dns', {
      clusterIP: dnsServiceIp,
      selector: { 'k8s-app': 'kube-dns' },
      ports: [
        { name: 'dns', port: 53, protocol: 'UDP', targetPort: 53 },
        { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: 53 },
      ],
    });
  }
  await k8sRequest(
    'DELETE',
    '/apis/discovery.k8s.io/v1/namespaces/kube-system/endpointslices/kube-dns-sandbox',
  ).catch(() => undefined);
  await createEndpointSlice('kube-system', 'kube-dns-sandbox', 'kube-dns', [
    { ip: pods.coredns.ip, podName: pods.coredns.name, nodeName },
  ]);
}

function ignoreExists(err: unknown): void {
  if (err instanceof Error && 'statusCode' in err && err.statusCode === 409) return;
  throw err;
}

/** The same cluster as a static inventory (the enricher's `inventory.file` format). */
function inventory(
  nodeName: string,
  nodeIp: string,
  pods: SandboxCluster['pods'],
  dnsServiceIp: string,
): unknown {
  return {
    nodes: [{ name: nodeName, ips: [nodeIp] }],
    pods: Object.values(pods).map((p) => ({
      name: p.name,
      namespace: p.namespace,
      ip: p.ip,
      node: nodeName,
      workload: p.workload,
    })),
    services: [
      {
        name: 'kube-dns',
        namespace: 'kube-system',
        clusterIP: dnsServiceIp,
        endpoints: [{ ip: pods.coredns.ip, pod: pods.coredns.name }],
      },
    ],
  };
}
