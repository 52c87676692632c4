import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DnsTransaction } from '@dnsflow/schema';
import {
  RESOURCE_KINDS,
  type KubeObject,
  type KubePod,
  type KubeService,
} from '../../src/identity/kube';
import { IdentityStore } from '../../src/identity/store';

const FIXTURES = join(__dirname, '..', 'fixtures', 'kube');

/** A fresh copy of a Kubernetes object fixture (API server JSON). */
export function fixture<T extends KubeObject = KubeObject>(name: string): T {
  return JSON.parse(readFileSync(join(FIXTURES, `${name}.json`), 'utf8')) as T;
}

/** Epoch microseconds of an RFC 3339 time. */
export function us(time: string): number {
  return Date.parse(time) * 1000;
}

/** A copy of a pod fixture as another pod: new name, uid, IP, resourceVersion. */
export function podLike(
  base: string,
  changes: {
    name?: string;
    uid?: string;
    ip?: string;
    created?: string;
    rv?: string;
    phase?: string;
  },
): KubePod {
  const pod = fixture<KubePod>(base);
  const meta = pod.metadata!;
  if (changes.name) meta.name = changes.name;
  if (changes.uid) meta.uid = changes.uid;
  if (changes.created) meta.creationTimestamp = changes.created;
  meta.resourceVersion = changes.rv ?? `${meta.resourceVersion}-${changes.name ?? 'x'}`;
  if (changes.ip) {
    pod.status!.podIP = changes.ip;
    pod.status!.podIPs = [{ ip: changes.ip }];
  }
  if (changes.phase) pod.status!.phase = changes.phase;
  return pod;
}

/** A collector record of a query from `client` to `server`, at `time`. */
export function transaction(
  time: string,
  client: string,
  server: string,
  name: string | null,
  extra: Partial<DnsTransaction> = {},
): DnsTransaction {
  const start = us(time);
  return {
    captureTimeUs: start + 2000,
    startTimeUs: start,
    endTimeUs: start + 800,
    latencyUs: 800,
    node: 'node-a',
    iface: 'any',
    client: { ip: client, port: 41234 },
    server: { ip: server, port: 53 },
    answeredBy: null,
    transport: 'UDP',
    dnsId: 4321,
    opcode: 'QUERY',
    flags: { aa: false, tc: false, rd: true, ra: true, ad: false, cd: false, do: false },
    question: name === null ? null : { name, nameRaw: name, type: 'A', class: 'IN' },
    questionCount: name === null ? 0 : 1,
    rcode: 'NOERROR',
    rcodeValue: 0,
    answers: [],
    answerCount: 0,
    authorityCount: 0,
    additionalCount: 0,
    authorities: [],
    additionals: [],
    queryEdns: null,
    responseEdns: null,
    requestBytes: 40,
    responseBytes: 90,
    status: 'ANSWERED',
    malformedReason: null,
    duplicateResponses: 0,
    notes: [],
    ...extra,
  };
}

/** A copy of a Service fixture as another ClusterIP service. */
export function serviceLike(
  base: string,
  changes: { name: string; namespace: string; clusterIP: string },
): KubeService {
  const service = fixture<KubeService>(base);
  service.metadata!.name = changes.name;
  service.metadata!.namespace = changes.namespace;
  service.metadata!.uid = `uid-svc-${changes.namespace}-${changes.name}`;
  service.spec!.clusterIP = changes.clusterIP;
  service.spec!.clusterIPs = [changes.clusterIP];
  return service;
}

/**
 * The objects of a small cluster as the API server lists them: node-a, kube-dns with its
 * CoreDNS pod, the headless `postgres` service with its StatefulSet pod in `db`, and a
 * node-local DNS cache on the host network.
 */
export function clusterObjects(): KubeObject[] {
  return [
    fixture('node'),
    fixture('service-kube-dns'),
    fixture('endpointslice-kube-dns'),
    fixture('pod-coredns'),
    fixture('service-headless'),
    fixture('endpointslice-headless'),
    fixture('pod-statefulset'),
    fixture('pod-hostnetwork'),
  ];
}

/**
 * A store that listed {@link clusterObjects}, the checkout Deployment pod and a `payments`
 * ClusterIP service in `shop`, and `extra`, at 2026-03-01T10:00:10Z, with the watches
 * current until `currentUntil`.
 */
export function demoCluster(
  extra: KubeObject[] = [],
  currentUntil = '2026-03-01T12:00:00Z',
): IdentityStore {
  const objects: KubeObject[] = [
    ...clusterObjects(),
    fixture('pod-deployment'),
    fixture('replicaset'),
    serviceLike('service-kube-dns', {
      name: 'payments',
      namespace: 'shop',
      clusterIP: '10.96.8.8',
    }),
    ...extra,
  ];
  const store = new IdentityStore();
  for (const kind of RESOURCE_KINDS) {
    store.replace(
      kind,
      objects.filter((o) => o.kind === kind),
      us('2026-03-01T10:00:10Z'),
    );
  }
  store.advance(us(currentUntil));
  return store;
}
