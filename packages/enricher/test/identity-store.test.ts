import type { K8sIdentity } from '@dnsflow/schema';
import type {
  KubeEndpointSlice,
  KubeNode,
  KubeObject,
  KubePod,
  KubeService,
  ResourceKind,
} from '../src/identity/kube';
import { IdentityStore, type IdentityStoreOptions, type Resolution } from '../src/identity/store';
import { clusterObjects, fixture, podLike, us } from './support/kube';

const T0 = '2026-03-01T10:00:10Z';

/** A store that has listed every required kind at T0 with these objects. */
function synced(objects: KubeObject[], options: IdentityStoreOptions = {}): IdentityStore {
  const store = new IdentityStore(options);
  const byKind = new Map<ResourceKind, KubeObject[]>();
  for (const o of objects) {
    const kind = o.kind as ResourceKind;
    byKind.set(kind, [...(byKind.get(kind) ?? []), o]);
  }
  for (const kind of ['Node', 'Service', 'EndpointSlice', 'ReplicaSet', 'Job', 'Pod'] as const) {
    store.replace(kind, byKind.get(kind) ?? [], us(T0));
  }
  return store;
}

function found(resolution: Resolution): K8sIdentity {
  if (resolution.status !== 'found') {
    throw new Error(`expected an identity, got ${JSON.stringify(resolution)}`);
  }
  return resolution.identity;
}

const checkoutIp = '10.244.1.17';

describe('identity store: pods and their workloads', () => {
  it('joins a Deployment pod with its namespace, node, allow-listed labels and Deployment', () => {
    const store = synced([fixture('node'), fixture('pod-deployment'), fixture('replicaset')]);
    expect(found(store.resolve(checkoutIp, us('2026-03-01T10:05:00Z')))).toEqual({
      kind: 'POD',
      namespace: 'shop',
      pod: 'checkout-6f9c7d8b5-4x2kq',
      podUid: '3f1c2a9e-8d4b-4e0a-9b6f-0c2d1e4a7b10',
      // team and pod-template-hash are not on the default allow-list
      labels: { app: 'checkout', 'app.kubernetes.io/name': 'checkout' },
      node: 'node-a',
      workloadKind: 'Deployment',
      workloadName: 'checkout',
      service: null,
      serviceNamespace: null,
      serviceType: null,
    });
  });

  it('infers the Deployment from pod-template-hash while the ReplicaSet is not known', () => {
    const store = synced([fixture('pod-deployment')]);
    const who = found(store.resolve(checkoutIp, us('2026-03-01T10:05:00Z')));
    expect([who.workloadKind, who.workloadName]).toEqual(['Deployment', 'checkout']);
  });

  it('stops at a ReplicaSet that has no owner', () => {
    const rs = fixture('replicaset');
    delete rs.metadata!.ownerReferences;
    const pod = fixture<KubePod>('pod-deployment');
    delete pod.metadata!.labels!['pod-template-hash'];
    const store = synced([pod, rs]);
    const who = found(store.resolve(checkoutIp, us('2026-03-01T10:05:00Z')));
    expect([who.workloadKind, who.workloadName]).toEqual(['ReplicaSet', 'checkout-6f9c7d8b5']);
  });

  it('follows Job -> CronJob, and reports the Job while the Job object is unknown', () => {
    const at = us('2026-03-01T00:00:30Z');
    const withJob = synced([fixture('pod-cronjob'), fixture('job')]);
    const who = found(withJob.resolve('10.244.2.31', at));
    expect([who.workloadKind, who.workloadName]).toEqual(['CronJob', 'nightly-report']);

    const withoutJob = synced([fixture('pod-cronjob')]);
    const alone = found(withoutJob.resolve('10.244.2.31', at));
    expect([alone.workloadKind, alone.workloadName]).toEqual(['Job', 'nightly-report-29539440']);
  });

  it('updates the workload when the ReplicaSet arrives after its pod', () => {
    const rs = fixture('replicaset');
    rs.metadata!.ownerReferences![0]!.name = 'checkout-v2';
    const store = synced([fixture('pod-deployment')]);
    store.apply({ type: 'ADDED', object: rs }, us('2026-03-01T10:01:00Z'));
    expect(found(store.resolve(checkoutIp, us('2026-03-01T10:00:30Z'))).workloadName).toBe(
      'checkout',
    );
    expect(found(store.resolve(checkoutIp, us('2026-03-01T10:02:00Z'))).workloadName).toBe(
      'checkout-v2',
    );
  });

  it('names StatefulSet pods and bare pods', () => {
    const bare = podLike('pod-deployment', { name: 'debug', ip: '10.244.1.50' });
    delete bare.metadata!.ownerReferences;
    const store = synced([fixture('pod-statefulset'), bare]);
    const at = us('2026-03-01T10:05:00Z');
    const sts = found(store.resolve('10.244.2.5', at));
    expect([sts.workloadKind, sts.workloadName]).toEqual(['StatefulSet', 'postgres']);
    const lone = found(store.resolve('10.244.1.50', at));
    expect([lone.workloadKind, lone.workloadName]).toEqual(['Pod', 'debug']);
  });

  it('keeps a label change in the timeline: older records keep the older labels', () => {
    const store = synced([fixture('pod-deployment')]);
    const relabelled = fixture<KubePod>('pod-deployment');
    relabelled.metadata!.labels!.version = 'v2';
    relabelled.metadata!.resourceVersion = '184300';
    store.apply({ type: 'MODIFIED', object: relabelled }, us('2026-03-01T10:30:00Z'));
    expect(found(store.resolve(checkoutIp, us('2026-03-01T10:20:00Z'))).labels.version).toBe(
      undefined,
    );
    expect(found(store.resolve(checkoutIp, us('2026-03-01T10:40:00Z'))).labels.version).toBe('v2');
  });

  it('copies the labels the configured allow-list names, prefixes included', () => {
    const store = synced([fixture('pod-deployment')], { labelAllowList: ['team', 'app.*'] });
    expect(found(store.resolve(checkoutIp, us('2026-03-01T10:05:00Z'))).labels).toEqual({
      team: 'payments',
      'app.kubernetes.io/name': 'checkout',
    });
  });
});

describe('identity store: services, nodes and the outside world', () => {
  const cluster = (): IdentityStore => synced(clusterObjects());
  const at = us('2026-03-01T10:05:00Z');

  it('resolves a ClusterIP to its Service, and the pod behind it to the pod with the service', () => {
    const store = cluster();
    expect(found(store.resolve('10.96.0.10', at, 53))).toMatchObject({
      kind: 'SERVICE',
      namespace: 'kube-system',
      service: 'kube-dns',
      serviceNamespace: 'kube-system',
      serviceType: 'ClusterIP',
      pod: null,
    });
    expect(found(store.resolve('10.244.1.2', at, 53))).toMatchObject({
      kind: 'POD',
      pod: 'coredns-7db6d8ff4d-9wqzj',
      workloadKind: 'Deployment',
      workloadName: 'coredns',
      service: 'kube-dns',
      serviceType: 'ClusterIP',
      labels: { 'k8s-app': 'kube-dns' },
    });
  });

  it('joins the pods of a headless service through its EndpointSlice, and knows its DNS names', () => {
    const store = cluster();
    expect(found(store.resolve('10.244.2.5', at))).toMatchObject({
      kind: 'POD',
      namespace: 'db',
      pod: 'postgres-0',
      service: 'postgres',
      serviceNamespace: 'db',
      serviceType: 'Headless',
    });
    expect(store.findService('db', 'postgres', at)?.serviceType).toBe('Headless');
    expect(store.findService('db', 'mysql', at)).toBeNull();
    expect(store.findPodByHostname('db', 'postgres', 'postgres-0', at)?.pod).toBe('postgres-0');
  });

  it('drops the service from a pod when its EndpointSlice no longer lists it', () => {
    const store = cluster();
    const slice = fixture<KubeEndpointSlice>('endpointslice-headless');
    slice.endpoints = [];
    slice.metadata!.resourceVersion = '170700';
    store.apply({ type: 'MODIFIED', object: slice }, us('2026-03-01T10:10:00Z'));
    expect(found(store.resolve('10.244.2.5', at)).service).toBe('postgres');
    expect(found(store.resolve('10.244.2.5', us('2026-03-01T10:11:00Z'))).service).toBeNull();
  });

  it('resolves a node address to the node, and a hostNetwork pod by the port it declares', () => {
    const store = cluster();
    expect(found(store.resolve('192.168.10.11', at))).toMatchObject({
      kind: 'NODE',
      node: 'node-a',
      pod: null,
    });
    expect(found(store.resolve('192.168.10.11', at, 53))).toMatchObject({
      kind: 'HOST_POD',
      namespace: 'kube-system',
      pod: 'node-local-dns-x7k2p',
      node: 'node-a',
      workloadKind: 'DaemonSet',
      workloadName: 'node-local-dns',
    });
    expect(found(store.resolve('192.168.10.11', at, 22)).kind).toBe('NODE');
  });

  it('calls an address nothing held external, or unknown inside a node pod CIDR', () => {
    const store = cluster();
    // The watches are known current past the records' time, by more than the watch lag.
    store.advance(at + 5_000_000);
    expect(store.resolve('93.184.216.34', at)).toEqual({ status: 'external' });
    expect(store.resolve('2001:db8::1', at)).toEqual({ status: 'external' });
    expect(store.resolve('10.244.1.99', at)).toEqual({
      status: 'unknown',
      reason: 'cluster-range',
    });
  });

  it('honours configured cluster CIDRs for service addresses', () => {
    const store = synced([fixture('node')], { clusterCidrs: ['10.96.0.0/12'] });
    store.advance(at + 5_000_000);
    expect(store.resolve('10.96.7.7', at)).toEqual({ status: 'unknown', reason: 'cluster-range' });
  });

  it('tells "not synced yet" and "newer than the watches" apart from external', () => {
    const store = new IdentityStore();
    expect(store.resolve('93.184.216.34', at)).toEqual({
      status: 'pending',
      reason: 'not-synced',
    });
    for (const kind of ['Pod', 'Service', 'Node'] as const) {
      store.replace(kind, [], us('2026-03-01T10:00:00Z'));
    }
    expect(store.resolve('93.184.216.34', at)).toEqual({
      status: 'pending',
      reason: 'not-seen-yet',
    });
    store.advance(us('2026-03-01T10:06:00Z'));
    expect(store.resolve('93.184.216.34', at)).toEqual({ status: 'external' });
  });

  it('joins both addresses of a dual-stack pod and service', () => {
    const pod = fixture<KubePod>('pod-deployment');
    pod.status!.podIPs = [{ ip: '10.244.1.17' }, { ip: 'fd00:10:244:1::11' }];
    const service = fixture<KubeService>('service-kube-dns');
    service.spec!.clusterIPs = ['10.96.0.10', 'fd00:10:96::a'];
    const store = synced([pod, service]);
    expect(found(store.resolve('fd00:10:244:1::11', at)).pod).toBe('checkout-6f9c7d8b5-4x2kq');
    expect(found(store.resolve('10.244.1.17', at)).pod).toBe('checkout-6f9c7d8b5-4x2kq');
    expect(found(store.resolve('fd00:10:96::a', at)).service).toBe('kube-dns');
  });

  it('keeps an unknown cluster address pending for the watch lag, an outside one not', () => {
    const store = cluster();
    store.advance(at);
    expect(store.resolve('10.244.1.99', at - 1_000_000)).toEqual({
      status: 'pending',
      reason: 'not-seen-yet',
    });
    expect(store.resolve('93.184.216.34', at - 1_000_000)).toEqual({ status: 'external' });
    expect(store.resolve('10.244.1.99', at - 3_000_000)).toEqual({
      status: 'unknown',
      reason: 'cluster-range',
    });
  });

  it('ignores events it cannot place, and deletions of an older pod of the same name', () => {
    const store = cluster();
    expect(
      store.apply({ type: 'ADDED', object: { kind: 'ConfigMap', metadata: { name: 'x' } } }, at),
    ).toMatchObject({ status: 'ignored', reason: 'unknown-kind' });
    expect(store.apply({ type: 'ADDED', object: { kind: 'Pod', metadata: {} } }, at)).toMatchObject(
      { status: 'ignored', reason: 'missing-name' },
    );
    const older = fixture<KubePod>('pod-statefulset');
    older.metadata!.uid = 'an-earlier-postgres-0';
    expect(store.apply({ type: 'DELETED', object: older }, at)).toMatchObject({
      status: 'ignored',
      reason: 'stale-delete',
    });
    expect(found(store.resolve('10.244.2.5', us('2026-03-01T10:06:00Z'))).pod).toBe('postgres-0');
  });

  it('takes the kind from the event when a list item does not carry one', () => {
    const store = cluster();
    const service = fixture<KubeService>('service-kube-dns');
    delete service.kind;
    service.metadata!.name = 'metrics';
    service.spec!.clusterIP = '10.96.3.3';
    service.spec!.clusterIPs = ['10.96.3.3'];
    expect(store.apply({ type: 'ADDED', object: service, kind: 'Service' }, at).status).toBe(
      'applied',
    );
    expect(found(store.resolve('10.96.3.3', at)).service).toBe('metrics');
  });
});

describe('identity store: pod churn and the timeline', () => {
  const ip = '10.244.1.40';
  const oldPod = (): KubePod =>
    podLike('pod-deployment', {
      name: 'checkout-6f9c7d8b5-old11',
      uid: 'uid-old',
      ip,
      created: '2026-03-01T10:00:00Z',
    });
  const newPod = (): KubePod =>
    podLike('pod-deployment', {
      name: 'checkout-6f9c7d8b5-new22',
      uid: 'uid-new',
      ip,
      created: '2026-03-01T11:00:02Z',
    });

  it('joins a delayed record with the pod that held the IP then, after the IP was reused', () => {
    const store = synced([fixture('node'), oldPod()]);
    store.apply({ type: 'DELETED', object: oldPod() }, us('2026-03-01T11:00:00Z'));
    store.apply({ type: 'ADDED', object: newPod() }, us('2026-03-01T11:00:05Z'));

    expect(found(store.resolve(ip, us('2026-03-01T10:30:00Z'))).pod).toBe(
      'checkout-6f9c7d8b5-old11',
    );
    // The new pod holds the IP from its creation on (its event came 3 s later).
    expect(found(store.resolve(ip, us('2026-03-01T11:00:03Z'))).pod).toBe(
      'checkout-6f9c7d8b5-new22',
    );
    // Between the two, nobody: inside node-a's pod CIDR, so unknown rather than external.
    store.advance(us('2026-03-01T11:00:10Z'));
    expect(store.resolve(ip, us('2026-03-01T11:00:01Z'))).toEqual({
      status: 'unknown',
      reason: 'cluster-range',
    });
  });

  it('hands the IP to the new pod when its event comes before the old pod is deleted', () => {
    const store = synced([oldPod()]);
    store.apply({ type: 'ADDED', object: newPod() }, us('2026-03-01T11:00:05Z'));
    store.apply({ type: 'DELETED', object: oldPod() }, us('2026-03-01T11:00:07Z'));
    expect(found(store.resolve(ip, us('2026-03-01T11:00:04Z'))).podUid).toBe('uid-old');
    expect(found(store.resolve(ip, us('2026-03-01T11:00:06Z'))).podUid).toBe('uid-new');
    expect(found(store.resolve(ip, us('2026-03-01T11:00:08Z'))).podUid).toBe('uid-new');
  });

  it('frees the IP of a pod that completed, though the pod object stays', () => {
    const job = podLike('pod-cronjob', { ip, uid: 'uid-job' });
    const store = synced([job]);
    const done = podLike('pod-cronjob', { ip, uid: 'uid-job', phase: 'Succeeded', rv: '190100' });
    store.apply({ type: 'MODIFIED', object: done }, us('2026-03-01T10:20:00Z'));
    store.advance(us('2026-03-01T10:22:00Z'));
    expect(found(store.resolve(ip, us('2026-03-01T10:19:00Z'))).podUid).toBe('uid-job');
    expect(store.resolve(ip, us('2026-03-01T10:21:00Z')).status).toBe('external');
  });

  it('forgets a deleted pod after the tombstone window and says so', () => {
    const store = synced([fixture('node'), oldPod()], { tombstoneWindowMs: 10 * 60_000 });
    store.apply({ type: 'DELETED', object: oldPod() }, us('2026-03-01T11:00:00Z'));
    store.advance(us('2026-03-01T11:09:00Z'));
    expect(found(store.resolve(ip, us('2026-03-01T10:30:00Z'))).podUid).toBe('uid-old');
    store.advance(us('2026-03-01T11:10:01Z'));
    expect(store.resolve(ip, us('2026-03-01T10:30:00Z'))).toEqual({
      status: 'unknown',
      reason: 'forgotten',
    });
    expect(store.stats()).toMatchObject({ pruned: 1, evicted: 0 });
  });

  it('evicts the oldest tombstones past the entry cap and counts them', () => {
    const store = synced([fixture('node')], { maxEntries: 3 });
    for (let i = 0; i < 5; i++) {
      const pod = podLike('pod-deployment', {
        name: `web-${i}`,
        uid: `uid-${i}`,
        ip: `10.244.1.${100 + i}`,
      });
      store.apply({ type: 'ADDED', object: pod }, us(`2026-03-01T10:0${i}:00Z`));
      store.apply({ type: 'DELETED', object: pod }, us(`2026-03-01T10:0${i}:30Z`));
    }
    store.advance(us('2026-03-01T10:05:00Z'));
    const stats = store.stats();
    // The node address is the one open interval; two tombstones fit beside it.
    expect(stats).toMatchObject({ intervals: 3, open: 1, evicted: 3 });
    expect(store.resolve('10.244.1.100', us('2026-03-01T10:00:10Z'))).toEqual({
      status: 'unknown',
      reason: 'forgotten',
    });
    expect(found(store.resolve('10.244.1.104', us('2026-03-01T10:04:10Z'))).pod).toBe('web-4');
  });

  it('re-lists after a lost watch without losing or duplicating identities', () => {
    const a = podLike('pod-deployment', { name: 'web-a', uid: 'uid-a', ip: '10.244.1.61' });
    const b = podLike('pod-deployment', { name: 'web-b', uid: 'uid-b', ip: '10.244.1.62' });
    const c = podLike('pod-deployment', { name: 'web-c', uid: 'uid-c', ip: '10.244.1.63' });
    const store = synced([fixture('node'), a, b]);
    const before = store.stats();

    // While the watch was down, web-b went away and web-c came; the re-list shows that.
    const relist = store.replace('Pod', [a, c], us('2026-03-01T10:20:00Z'));
    expect(relist).toMatchObject({ listed: 2, removed: 1, changedKeys: 2 });
    store.advance(us('2026-03-01T10:26:00Z'));
    expect(found(store.resolve('10.244.1.61', us('2026-03-01T10:25:00Z'))).pod).toBe('web-a');
    expect(found(store.resolve('10.244.1.62', us('2026-03-01T10:15:00Z'))).pod).toBe('web-b');
    expect(store.resolve('10.244.1.62', us('2026-03-01T10:25:00Z')).status).toBe('unknown');
    expect(found(store.resolve('10.244.1.63', us('2026-03-01T10:25:00Z'))).pod).toBe('web-c');
    // web-a kept its single interval: one more (web-c) than before, web-b's is a tombstone.
    expect(store.stats()).toMatchObject({ intervals: before.intervals + 1, open: before.open });

    // The same list again changes nothing.
    expect(store.replace('Pod', [a, c], us('2026-03-01T10:30:00Z'))).toMatchObject({
      removed: 0,
      changedKeys: 0,
    });
    expect(store.stats().intervals).toBe(before.intervals + 1);
  });

  it('on a re-list, gives a reused IP to the new pod from its creation, not from the re-list', () => {
    const store = synced([oldPod()], { tombstoneWindowMs: 60 * 60_000 });
    // The watch was down while the old pod went and a new one (created 11:00:02) took its IP.
    store.replace('Pod', [newPod()], us('2026-03-01T11:20:00Z'));
    expect(found(store.resolve(ip, us('2026-03-01T10:59:00Z'))).podUid).toBe('uid-old');
    expect(found(store.resolve(ip, us('2026-03-01T11:10:00Z'))).podUid).toBe('uid-new');
  });

  it('backdates identities listed at start-up to their creation, for replayed records', () => {
    const store = synced([fixture('node'), fixture('pod-deployment')]);
    // Listed at 10:00:10; the pod exists since 10:00:00.
    store.advance(us(T0));
    expect(found(store.resolve(checkoutIp, us('2026-03-01T10:00:05Z'))).pod).toBe(
      'checkout-6f9c7d8b5-4x2kq',
    );
    expect(store.resolve(checkoutIp, us('2026-03-01T09:59:00Z')).status).toBe('unknown');
    const node = fixture<KubeNode>('node');
    expect(found(store.resolve('192.168.10.11', us('2026-02-01T00:00:00Z'))).node).toBe(
      node.metadata!.name,
    );
  });
});
