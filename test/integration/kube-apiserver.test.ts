import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../support/dns';
import {
  K8S_URL,
  K8sApiError,
  createEndpointSlice,
  createNamespace,
  createNode,
  createPod,
  createService,
  createWorkload,
  deleteNamespace,
  deleteNode,
  deletePod,
  expireWatches,
  k8sRequest,
  kubeconfigPath,
  kubeconfigWithServer,
  list,
  setPodIps,
  watch,
  type KubeObject,
  type ListResult,
  type Pod,
  type Service,
  type Watch,
} from '../support/k8s';
import { Relay } from '../support/relay';
import { uniqueName } from '../support/services';

// The kube-apiserver that scripts/services.sh runs is a real one on etcd, and the helpers in
// test/support/k8s.ts make the objects and events the enricher's informers will see.

const namespaces: string[] = [];
const nodes: string[] = [];
const watches: Watch[] = [];
const relays: Relay[] = [];
const files: string[] = [];

async function namespace(prefix: string): Promise<string> {
  const ns = uniqueName(prefix);
  await createNamespace(ns);
  namespaces.push(ns);
  return ns;
}

afterEach(async () => {
  watches.splice(0).forEach((w) => w.close());
  for (const relay of relays.splice(0)) await relay.cut();
  files.splice(0).forEach((f) => rmSync(f, { force: true }));
  for (const ns of namespaces.splice(0)) await deleteNamespace(ns);
  for (const node of nodes.splice(0)) await deleteNode(node);
});

function podsPath(ns: string): string {
  return `/api/v1/namespaces/${ns}/pods`;
}

describe('kube-apiserver', () => {
  it('is a real API server reachable with the kubeconfig the service wrote', async () => {
    const version = await k8sRequest<{ gitVersion: string }>('GET', '/version');
    expect(version.gitVersion).toMatch(/^v1\.\d+\.\d+/);
    const kubeconfig = readFileSync(kubeconfigPath(), 'utf8');
    expect(kubeconfig).toContain(`server: ${K8S_URL}`);
    // The bootstrap controllers ran: the default namespace and the kubernetes service exist.
    const svc = await k8sRequest<Service>('GET', '/api/v1/namespaces/default/services/kubernetes');
    expect(svc.spec.clusterIP).toBe('10.96.0.1');
  });

  it('authenticates tokens and authorizes with RBAC', async () => {
    await expect(k8sRequest('GET', '/api/v1/pods', { token: null })).rejects.toMatchObject({
      statusCode: 403,
      reason: 'Forbidden',
    });
    await expect(k8sRequest('GET', '/api/v1/pods', { token: 'not-a-token' })).rejects.toMatchObject(
      {
        statusCode: 401,
      },
    );
    await expect(
      k8sRequest('GET', '/api/v1/namespaces/no-such-namespace-here'),
    ).rejects.toMatchObject({
      statusCode: 404,
      reason: 'NotFound',
    });
  });

  it('streams ADDED, MODIFIED and DELETED for a pod from a listed resourceVersion', async () => {
    const ns = await namespace('it-k8s-watch');
    const node = uniqueName('it-node');
    nodes.push(node);
    await createNode(node, ['192.0.2.10']);
    const listed = await list<Pod>(podsPath(ns));
    expect(listed.items).toEqual([]);
    const w = await watch(podsPath(ns), { resourceVersion: listed.metadata.resourceVersion });
    watches.push(w);

    const created = await createPod(ns, 'web-1', { labels: { app: 'web' }, nodeName: node });
    expect(created.status?.podIP).toBeUndefined();
    await setPodIps(ns, 'web-1', ['10.244.1.7', 'fd00:10:244:1::7'], '192.0.2.10');
    await deletePod(ns, 'web-1');

    const deleted = await w.waitFor((e) => e.type === 'DELETED');
    // The second MODIFIED is the deletion starting (deletionTimestamp), as on any cluster.
    const seen = w.events.map((e) => e.type);
    expect(seen).toEqual(['ADDED', 'MODIFIED', 'MODIFIED', 'DELETED']);
    expect(w.events[2]!.object.metadata.deletionTimestamp).toEqual(expect.any(String));
    const modified = w.events[1]!.object as Pod;
    expect(modified.status).toMatchObject({
      phase: 'Running',
      podIP: '10.244.1.7',
      podIPs: [{ ip: '10.244.1.7' }, { ip: 'fd00:10:244:1::7' }],
      hostIP: '192.0.2.10',
    });
    expect(modified.spec.nodeName).toBe(node);
    expect(Number(deleted.object.metadata.resourceVersion)).toBeGreaterThan(
      Number(listed.metadata.resourceVersion),
    );
  });

  it('ends the initial events of a watch with a BOOKMARK when asked for bookmarks', async () => {
    const ns = await namespace('it-k8s-bookmark');
    await createPod(ns, 'db-0');
    const w = await watch(podsPath(ns), {
      sendInitialEvents: true,
      resourceVersionMatch: 'NotOlderThan',
      allowWatchBookmarks: true,
    });
    watches.push(w);
    const bookmark = await w.waitFor((e) => e.type === 'BOOKMARK');
    expect(w.events.map((e) => `${e.type} ${e.object.metadata.name ?? ''}`)).toEqual([
      'ADDED db-0',
      'BOOKMARK ',
    ]);
    expect(bookmark.object.metadata.annotations).toEqual({ 'k8s.io/initial-events-end': 'true' });
    expect(Number(bookmark.object.metadata.resourceVersion)).toBeGreaterThan(0);
  });

  it('answers 410 Gone (Expired) for a resourceVersion older than expireWatches()', async () => {
    const ns = await namespace('it-k8s-expire');
    await createPod(ns, 'old');
    const listed = await list<Pod>(podsPath(ns));
    // Before: watching from the listed version works.
    const before = await watch(podsPath(ns), { resourceVersion: listed.metadata.resourceVersion });
    watches.push(before);
    await createPod(ns, 'new');
    await before.waitFor((e) => e.type === 'ADDED' && e.object.metadata.name === 'new');

    const compacted = await expireWatches();
    expect(compacted).toBeGreaterThan(Number(listed.metadata.resourceVersion));

    const after = await watch(podsPath(ns), { resourceVersion: listed.metadata.resourceVersion });
    watches.push(after);
    const error = await after.waitFor((e) => e.type === 'ERROR');
    expect(error.object).toMatchObject({ kind: 'Status', code: 410, reason: 'Expired' });
    await after.ended;
    // A list pinned to that exact version is gone as well.
    await expect(
      list(podsPath(ns), {
        resourceVersion: listed.metadata.resourceVersion,
        resourceVersionMatch: 'Exact',
      }),
    ).rejects.toMatchObject({ statusCode: 410, reason: 'Expired' });
    // Listing again gives a fresh version to watch from.
    const relisted = await list<Pod>(podsPath(ns));
    expect(relisted.items.map((p) => p.metadata.name).sort()).toEqual(['new', 'old']);
    const again = await watch(podsPath(ns), { resourceVersion: relisted.metadata.resourceVersion });
    watches.push(again);
    await deletePod(ns, 'old');
    await again.waitFor((e) => e.type === 'DELETED' && e.object.metadata.name === 'old');
    expect(again.events.some((e) => e.type === 'ERROR')).toBe(false);
  });

  it('gives a watcher cut off by an outage 410 when it comes back after an expiry', async () => {
    const ns = await namespace('it-k8s-outage');
    const port = await freePort();
    const relay = new Relay(port, { host: '127.0.0.1', port: Number(new URL(K8S_URL).port) });
    relays.push(relay);
    await relay.restore();
    const server = `https://127.0.0.1:${port}`;
    const kubeconfig = kubeconfigWithServer(server, join(tmpdir(), `${uniqueName('kc')}.yaml`));
    files.push(kubeconfig);
    expect(readFileSync(kubeconfig, 'utf8')).toContain(`server: ${server}`);

    const listed = await list<Pod>(podsPath(ns));
    const first = await watch(
      podsPath(ns),
      { resourceVersion: listed.metadata.resourceVersion },
      server,
    );
    watches.push(first);
    await createPod(ns, 'seen');
    const seen = await first.waitFor((e) => e.type === 'ADDED');
    await relay.cut();
    await first.ended;
    // While the client is away, its last version expires (and the pod changes).
    await createPod(ns, 'missed');
    await expireWatches();
    await relay.restore();
    const again = await watch(
      podsPath(ns),
      { resourceVersion: seen.object.metadata.resourceVersion },
      server,
    );
    watches.push(again);
    const gone = await again.waitFor((e) => e.type === 'ERROR');
    expect(gone.object).toMatchObject({ code: 410, reason: 'Expired' });
    // Listing again through the relay shows what was missed.
    const relisted = await k8sRequest<ListResult<Pod>>('GET', podsPath(ns), { server });
    expect(relisted.items.map((p) => p.metadata.name).sort()).toEqual(['missed', 'seen']);
  });

  it('resolves the owner chains of workload pods', async () => {
    const ns = await namespace('it-k8s-owners');
    const chains: [string, string[]][] = [];
    for (const [kind, name] of [
      ['Deployment', 'api'],
      ['CronJob', 'backup'],
      ['StatefulSet', 'db'],
      ['DaemonSet', 'agent'],
    ] as const) {
      const workload = await createWorkload(ns, kind, name);
      const pod = await createPod(ns, `${name}-pod`, {
        labels: { app: name },
        ownerReferences: [workload.podOwnerReference],
      });
      chains.push([pod.metadata.name, await ownerChain(ns, pod)]);
    }
    expect(chains).toEqual([
      ['api-pod', [expect.stringMatching(/^ReplicaSet\/api-[0-9a-f]{10}$/), 'Deployment/api']],
      ['backup-pod', [expect.stringMatching(/^Job\/backup-\d+$/), 'CronJob/backup']],
      ['db-pod', ['StatefulSet/db']],
      ['agent-pod', ['DaemonSet/agent']],
    ]);
  });

  it('allocates service IPs and stores endpoint slices for ClusterIP and headless services', async () => {
    const ns = await namespace('it-k8s-svc');
    const web = await createService(ns, 'web', {
      selector: { app: 'web' },
      ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 }],
    });
    expect(web.spec.clusterIP).toMatch(/^10\.96\.\d+\.\d+$/);
    const db = await createService(ns, 'db', { headless: true, selector: { app: 'db' } });
    expect(db.spec.clusterIP).toBe('None');
    const pinned = await createService(ns, 'dns', { clusterIP: '10.96.200.10' });
    expect(pinned.spec.clusterIP).toBe('10.96.200.10');

    await createPod(ns, 'db-0', { labels: { app: 'db' } });
    await createEndpointSlice(ns, 'db-abcde', 'db', [
      { ip: '10.244.2.5', podName: 'db-0', hostname: 'db-0' },
    ]);
    const slices = await list(`/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices`, {
      labelSelector: 'kubernetes.io/service-name=db',
    });
    expect(slices.items).toHaveLength(1);
    expect(slices.items[0]).toMatchObject({
      addressType: 'IPv4',
      endpoints: [
        {
          addresses: ['10.244.2.5'],
          hostname: 'db-0',
          targetRef: { kind: 'Pod', namespace: ns, name: 'db-0' },
        },
      ],
      metadata: { ownerReferences: [{ kind: 'Service', name: 'db', uid: db.metadata.uid }] },
    });
  });

  it('keeps node addresses and removes a deleted namespace with its pods', async () => {
    const node = uniqueName('it-node');
    nodes.push(node);
    await createNode(node, ['192.0.2.20', { type: 'ExternalIP', address: '198.51.100.20' }]);
    const got = await k8sRequest<KubeObject>('GET', `/api/v1/nodes/${node}`);
    expect(got.status?.['addresses']).toEqual([
      { type: 'InternalIP', address: '192.0.2.20' },
      { type: 'ExternalIP', address: '198.51.100.20' },
      { type: 'Hostname', address: node },
    ]);

    const ns = uniqueName('it-k8s-gone');
    await createNamespace(ns);
    await createPod(ns, 'p', { nodeName: node });
    await deleteNamespace(ns);
    await expect(k8sRequest('GET', `/api/v1/namespaces/${ns}`)).rejects.toBeInstanceOf(K8sApiError);
    const pods = await list(podsPath(ns));
    expect(pods.items).toEqual([]);
  });
});

/** `Kind/name` of each owner up the controller references, each fetched from the API. */
async function ownerChain(ns: string, obj: KubeObject): Promise<string[]> {
  const chain: string[] = [];
  let current = obj;
  for (;;) {
    const ref = current.metadata.ownerReferences?.find((r) => r.controller === true);
    if (ref === undefined) return chain;
    const [group, version] = ref.apiVersion.includes('/')
      ? ref.apiVersion.split('/')
      : ['', ref.apiVersion];
    const base = group === '' ? `/api/${version}` : `/apis/${group}/${version}`;
    const resource = `${ref.kind.toLowerCase()}s`;
    const owner = await k8sRequest<KubeObject>(
      'GET',
      `${base}/namespaces/${ns}/${resource}/${ref.name}`,
    );
    expect(owner.metadata.uid).toBe(ref.uid);
    chain.push(`${owner.kind}/${owner.metadata.name}`);
    current = owner;
  }
}
