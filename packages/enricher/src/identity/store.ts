import { isIP } from 'node:net';
import type { K8sIdentity } from '@dnsflow/schema';
import {
  OWNER_KINDS,
  isResourceKind,
  kubeTimeMicros,
  type KubeEndpointSlice,
  type KubeNode,
  type KubeObject,
  type KubeOwnerReference,
  type KubePod,
  type KubeService,
  type KubeWatchEvent,
  type ResourceKind,
} from './kube';
import { DEFAULT_LABEL_ALLOW_LIST, labelFilter, type LabelFilter } from './labels';
import { controllerOf, resolveWorkload, type OwnerInfo } from './owners';
import { AddressRanges } from './ranges';
import { Timeline, type TimelineStats } from './timeline';

// The identity store keeps the current state of the watched objects (pods, services,
// endpointslices, nodes, owners) and, derived from it, a timeline per key of who held it:
//
//   <ip>                          a pod IP, a Service ClusterIP, a node address, or an
//                                 endpoint of a selectorless Service
//   <ip>#<port>                   a hostNetwork pod's declared port on its node's address
//   svc/<ns>/<name>               a Service's DNS name (headless ones included)
//   host/<ns>/<subdomain>/<host>  a pod's DNS name under a headless Service
//
// Every event recomputes the keys it can affect from the current state, so the order in
// which related objects arrive (pod before its ReplicaSet, slice before its Service) does
// not matter, and replaying the same state changes nothing.

/** Why a lookup cannot be answered yet; the caller may wait a little and ask again. */
export type PendingReason =
  /** A required kind has not been listed yet (the informers are starting). */
  | 'not-synced'
  /** The record is newer than the last moment the watches are known to be current. */
  | 'not-seen-yet';

/** Why a lookup is answered with "unknown" rather than "external". */
export type UnknownReason =
  /** Something held the IP around then, but its tombstone was pruned or evicted. */
  | 'forgotten'
  /** The IP is in a cluster pod/service range, yet no object held it. */
  | 'cluster-range';

/** What the store knows about an IP at a time. */
export type Resolution =
  | { status: 'found'; identity: K8sIdentity }
  | { status: 'external' }
  | { status: 'unknown'; reason: UnknownReason }
  | { status: 'pending'; reason: PendingReason };

/** Why an event was not applied. */
export type ApplyIgnoredReason =
  | 'unknown-kind'
  | 'missing-name'
  /** A DELETED for an older object of the same name (a different uid) than the one held. */
  | 'stale-delete';

/** Outcome of {@link IdentityStore.apply}. */
export type ApplyResult =
  | { status: 'applied'; changedKeys: number }
  | { status: 'ignored'; reason: ApplyIgnoredReason; detail: string };

/** Outcome of {@link IdentityStore.replace}. */
export interface ReplaceResult {
  kind: ResourceKind;
  /** Objects in the list. */
  listed: number;
  /** Objects held before and absent from the list: now tombstones. */
  removed: number;
  /** Timeline keys whose holder changed. */
  changedKeys: number;
  /** List items without a name. */
  ignored: number;
}

/** Options of {@link IdentityStore.apply} and {@link IdentityStore.replace}. */
export interface ApplyOptions {
  /** Intervals from a static inventory: never pruned or evicted. */
  pinned?: boolean;
}

/** Options of {@link IdentityStore}. */
export interface IdentityStoreOptions {
  /** Label keys copied into pod identities: exact keys or `prefix*` (default: common app labels). */
  labelAllowList?: readonly string[];
  /** How long the holder of an IP is remembered after it let go (default 15 minutes). */
  tombstoneWindowMs?: number;
  /** Cap on timeline intervals; the oldest tombstones are evicted past it (default 250,000). */
  maxEntries?: number;
  /** Kinds that must be listed before an unknown IP counts as external (default Pod, Service, Node). */
  requiredKinds?: readonly ResourceKind[];
  /** Pod and service CIDRs: unknown IPs inside are `unknown`, never `external`. Node podCIDRs are added. */
  clusterCidrs?: readonly string[];
  /**
   * How far watch events may trail the packets they explain (default 2 s): an unknown IP in
   * a cluster range stays pending until the watermark is this far past the record.
   */
  watchLagMs?: number;
}

/** Counters of an {@link IdentityStore}. */
export interface IdentityStoreStats extends TimelineStats {
  /** Objects held per kind. */
  objects: Record<ResourceKind, number>;
  synced: ResourceKind[];
  /** Records up to this time (epoch µs) can be joined without waiting. */
  watermarkUs: number;
}

/** The store's answers about cluster DNS names, for the domain and search-list code. */
export interface ClusterDirectory {
  /** The Service `<name>.<namespace>.svc` as of `atUs`, or null when none existed then. */
  findService(namespace: string, name: string, atUs: number): K8sIdentity | null;
  /** The pod `<hostname>.<subdomain>.<namespace>.svc` as of `atUs`, or null. */
  findPodByHostname(
    namespace: string,
    subdomain: string,
    hostname: string,
    atUs: number,
  ): K8sIdentity | null;
  /** The identity that held `ip` at `atUs`. */
  resolve(ip: string, atUs: number, port?: number): Resolution;
  /** Whether any pod or service of this namespace is known. */
  hasNamespace(namespace: string): boolean;
}

interface PodState {
  /** From a static inventory: a re-list of the watched kind leaves it alone. */
  pinned: boolean;
  key: string;
  uid: string | null;
  namespace: string;
  name: string;
  labels: Record<string, string>;
  node: string | null;
  hostNetwork: boolean;
  /** Addresses that belong to the pod itself (empty for hostNetwork pods). */
  ips: string[];
  /** Timeline keys this pod can hold. */
  keys: string[];
  controller: KubeOwnerReference | null;
  /** Succeeded and Failed pods keep status.podIP, but the IP is free for reuse. */
  active: boolean;
  createdUs: number | null;
  resourceVersion: string | undefined;
}

interface ServiceState {
  /** From a static inventory: a re-list of the watched kind leaves it alone. */
  pinned: boolean;
  key: string;
  namespace: string;
  name: string;
  type: string;
  clusterIps: string[];
  createdUs: number | null;
  resourceVersion: string | undefined;
}

interface SliceEndpoint {
  addresses: string[];
  /** `<ns>/<name>` of the pod the endpoint targets, or null (selectorless services). */
  podKey: string | null;
}

interface SliceState {
  /** From a static inventory: a re-list of the watched kind leaves it alone. */
  pinned: boolean;
  key: string;
  namespace: string;
  service: string | null;
  endpoints: SliceEndpoint[];
  resourceVersion: string | undefined;
}

interface NodeState {
  /** From a static inventory: a re-list of the watched kind leaves it alone. */
  pinned: boolean;
  name: string;
  addresses: string[];
  podCidrs: string[];
  createdUs: number | null;
  resourceVersion: string | undefined;
}

interface OwnerState extends OwnerInfo {
  /** From a static inventory: a re-list of the watched kind leaves it alone. */
  pinned: boolean;
  key: string;
  resourceVersion: string | undefined;
}

interface Computed {
  identity: K8sIdentity | null;
  sinceUs: number | null;
}

const EMPTY_LABELS: Readonly<Record<string, string>> = Object.freeze({});
const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

const EXTERNAL: Resolution = Object.freeze({ status: 'external' });
const NOT_SYNCED: Resolution = Object.freeze({ status: 'pending', reason: 'not-synced' });
const NOT_SEEN_YET: Resolution = Object.freeze({ status: 'pending', reason: 'not-seen-yet' });
const FORGOTTEN: Resolution = Object.freeze({ status: 'unknown', reason: 'forgotten' });
const CLUSTER_RANGE: Resolution = Object.freeze({ status: 'unknown', reason: 'cluster-range' });

/** A frozen identity with every field present. */
function identity(fields: Partial<K8sIdentity> & Pick<K8sIdentity, 'kind'>): K8sIdentity {
  return Object.freeze({
    kind: fields.kind,
    namespace: fields.namespace ?? null,
    pod: fields.pod ?? null,
    podUid: fields.podUid ?? null,
    labels: fields.labels ? Object.freeze(fields.labels) : EMPTY_LABELS,
    node: fields.node ?? null,
    workloadKind: fields.workloadKind ?? null,
    workloadName: fields.workloadName ?? null,
    service: fields.service ?? null,
    serviceNamespace: fields.serviceNamespace ?? null,
    serviceType: fields.serviceType ?? null,
  });
}

/** Identity of a key that nobody holds: `EXTERNAL` or `UNKNOWN`. */
export function identityOf(resolution: Resolution): K8sIdentity {
  switch (resolution.status) {
    case 'found':
      return resolution.identity;
    case 'external':
      return EXTERNAL_IDENTITY;
    default:
      return UNKNOWN_IDENTITY;
  }
}

const EXTERNAL_IDENTITY = identity({ kind: 'EXTERNAL' });
const UNKNOWN_IDENTITY = identity({ kind: 'UNKNOWN' });

export const serviceKey = (namespace: string, name: string): string => `svc/${namespace}/${name}`;
export const hostnameKey = (namespace: string, subdomain: string, hostname: string): string =>
  `host/${namespace}/${subdomain}/${hostname}`;
const hostPortKey = (ip: string, port: number): string => `${ip}#${port}`;
const isIpKey = (key: string): boolean => !key.includes('/') && !key.includes('#');

function addTo<K, V>(index: Map<K, Set<V>>, key: K, value: V): void {
  let set = index.get(key);
  if (!set) index.set(key, (set = new Set()));
  set.add(value);
}

function removeFrom<K, V>(index: Map<K, Set<V>>, key: K, value: V): void {
  const set = index.get(key);
  if (!set) return;
  set.delete(value);
  if (set.size === 0) index.delete(key);
}

function validIps(values: readonly (string | undefined)[]): string[] {
  const out: string[] = [];
  for (const v of values) if (v && isIP(v) !== 0 && !out.includes(v)) out.push(v);
  return out;
}

/**
 * Kubernetes identity over time: fed by watch events and re-lists (or a static inventory),
 * answers who held an IP, a Service name or a pod hostname at a given time.
 */
export class IdentityStore implements ClusterDirectory {
  private readonly timeline: Timeline;
  private readonly filterLabels: LabelFilter;
  private readonly requiredKinds: readonly ResourceKind[];
  private readonly staticCidrs: readonly string[];
  private readonly pruneEveryUs: number;
  private readonly watchLagUs: number;

  private readonly pods = new Map<string, PodState>();
  private readonly services = new Map<string, ServiceState>();
  private readonly slices = new Map<string, SliceState>();
  private readonly nodes = new Map<string, NodeState>();
  private readonly owners = new Map<string, OwnerState>();

  /** Timeline key -> pods that can hold it. */
  private readonly podsByKey = new Map<string, Set<string>>();
  private readonly servicesByIp = new Map<string, string>();
  private readonly nodesByIp = new Map<string, string>();
  private readonly slicesByIp = new Map<string, Set<string>>();
  private readonly slicesByPod = new Map<string, Set<string>>();
  private readonly slicesByService = new Map<string, Set<string>>();
  private readonly podsByOwner = new Map<string, Set<string>>();
  private readonly namespaces = new Map<string, number>();
  /**
   * Addresses with hostNetwork ports in the timeline, so most lookups with a port skip the
   * second one. Node addresses only, and never shrunk: their tombstones may still answer.
   */
  private readonly ipsWithPorts = new Set<string>();

  private readonly synced = new Set<ResourceKind>();
  private watermark = -Infinity;
  private lastPruneUs = -Infinity;
  private ranges: AddressRanges | null = null;
  private rangesStale = true;
  private pinned = false;

  constructor(options: IdentityStoreOptions = {}) {
    const windowUs = (options.tombstoneWindowMs ?? 15 * 60_000) * 1000;
    this.timeline = new Timeline({
      tombstoneWindowUs: windowUs,
      maxEntries: options.maxEntries ?? 250_000,
    });
    this.filterLabels = labelFilter(options.labelAllowList ?? DEFAULT_LABEL_ALLOW_LIST);
    this.requiredKinds = options.requiredKinds ?? ['Pod', 'Service', 'Node'];
    this.staticCidrs = options.clusterCidrs ?? [];
    this.watchLagUs = (options.watchLagMs ?? 2000) * 1000;
    // Pruning walks a queue; a few times per window is plenty.
    this.pruneEveryUs = Math.max(1_000_000, Math.min(windowUs / 4, 10_000_000));
  }

  /** Applies one watch event observed at `atMicros` (epoch µs). */
  apply(event: KubeWatchEvent, atMicros: number, options: ApplyOptions = {}): ApplyResult {
    const kind = event.kind ?? event.object.kind;
    if (!isResourceKind(kind)) {
      return {
        status: 'ignored',
        reason: 'unknown-kind',
        detail: `expected one of Pod, Service, EndpointSlice, Node or an owner kind, found ${JSON.stringify(kind)}`,
      };
    }
    const name = event.object.metadata?.name;
    if (!name) {
      return {
        status: 'ignored',
        reason: 'missing-name',
        detail: `${kind} ${event.type} without metadata.name`,
      };
    }
    this.pinned = options.pinned ?? false;
    const affected = new Set<string>();
    if (event.type === 'DELETED') {
      const key = this.objectKey(kind, event.object);
      const held = this.heldUid(kind, key);
      const uid = event.object.metadata?.uid;
      if (held && uid && held !== uid) {
        return {
          status: 'ignored',
          reason: 'stale-delete',
          detail: `${kind} ${key}: deleted uid ${uid}, held uid ${held}`,
        };
      }
      this.remove(kind, key, affected);
    } else {
      this.upsert(kind, event.object, affected);
    }
    const changedKeys = this.recompute(affected, atMicros);
    this.maybePrune(atMicros);
    return { status: 'applied', changedKeys };
  }

  /**
   * Replaces everything held of `kind` by a fresh list (the informer's initial list, or a
   * re-list after 410 Gone). Objects absent from the list are deleted as of `atMicros` and
   * become tombstones; objects listed unchanged change nothing, so a re-list neither loses
   * nor duplicates identities. Marks `kind` as synced.
   */
  replace(
    kind: ResourceKind,
    objects: readonly KubeObject[],
    atMicros: number,
    options: ApplyOptions = {},
  ): ReplaceResult {
    this.pinned = options.pinned ?? false;
    const affected = new Set<string>();
    const listed = new Set<string>();
    let ignored = 0;
    for (const object of objects) {
      if (!object.metadata?.name) {
        ignored++;
        continue;
      }
      listed.add(this.objectKey(kind, object));
    }
    let removed = 0;
    for (const key of this.keysOf(kind)) {
      if (!listed.has(key)) {
        this.remove(kind, key, affected);
        removed++;
      }
    }
    for (const object of objects) {
      if (object.metadata?.name) this.upsert(kind, object, affected);
    }
    const changedKeys = this.recompute(affected, atMicros);
    this.synced.add(kind);
    this.maybePrune(atMicros);
    return { kind, listed: listed.size, removed, changedKeys, ignored };
  }

  /** Marks `kind` as listed without replacing anything (e.g. a kind that is not watched). */
  markSynced(kind: ResourceKind): void {
    this.synced.add(kind);
  }

  /** Whether every required kind (or `kind`) has been listed. */
  isSynced(kind?: ResourceKind): boolean {
    if (kind) return this.synced.has(kind);
    return this.requiredKinds.every((k) => this.synced.has(k));
  }

  /**
   * Declares every watch current up to `atMicros` (a tick while all of them are connected
   * and not catching up): an IP no one held in a record up to that time is external, not
   * pending. Only the caller knows that all watches are healthy, so applying events does
   * not advance this by itself. Also prunes expired tombstones now and then.
   */
  advance(atMicros: number): void {
    if (atMicros > this.watermark) this.watermark = atMicros;
    this.maybePrune(atMicros);
  }

  private maybePrune(atMicros: number): void {
    if (Number.isFinite(atMicros) && atMicros - this.lastPruneUs >= this.pruneEveryUs) {
      this.lastPruneUs = atMicros;
      this.timeline.prune(atMicros);
    }
  }

  /**
   * Whether what the store says about `atMicros` is final: every required kind is listed
   * and the watches are current past that time by the watch lag.
   */
  settled(atMicros: number): boolean {
    return this.isSynced() && atMicros <= this.watermark - this.watchLagUs;
  }

  /** Drops tombstones older than the window as of `atMicros`; returns how many. */
  prune(atMicros: number): number {
    this.lastPruneUs = atMicros;
    return this.timeline.prune(atMicros);
  }

  /**
   * Who held `ip` at `atMicros`. With `port`, a hostNetwork pod that declares that port on
   * the node's address wins over the node itself (e.g. a node-local DNS cache on :53).
   */
  resolve(ip: string, atMicros: number, port?: number): Resolution {
    if (port !== undefined && this.ipsWithPorts.has(ip)) {
      const onPort = this.timeline.lookup(hostPortKey(ip, port), atMicros);
      if (onPort.status === 'found') return onPort;
    }
    const held = this.timeline.lookup(ip, atMicros);
    if (held.status === 'found') return held;
    if (!this.isSynced()) return NOT_SYNCED;
    if (atMicros > this.watermark) return NOT_SEEN_YET;
    if (held.status === 'forgotten') return FORGOTTEN;
    if (this.inClusterRange(ip)) {
      // A pod's first packets can beat its watch event (the IP is in use before the kubelet
      // reports it): an unknown cluster address that recent is most likely such a pod.
      return this.settled(atMicros) ? CLUSTER_RANGE : NOT_SEEN_YET;
    }
    return EXTERNAL;
  }

  findService(namespace: string, name: string, atMicros: number): K8sIdentity | null {
    const found = this.timeline.lookup(serviceKey(namespace, name), atMicros);
    return found.status === 'found' ? found.identity : null;
  }

  findPodByHostname(
    namespace: string,
    subdomain: string,
    hostname: string,
    atMicros: number,
  ): K8sIdentity | null {
    const found = this.timeline.lookup(hostnameKey(namespace, subdomain, hostname), atMicros);
    return found.status === 'found' ? found.identity : null;
  }

  hasNamespace(namespace: string): boolean {
    return this.namespaces.has(namespace);
  }

  stats(): IdentityStoreStats {
    const objects = {} as Record<ResourceKind, number>;
    objects.Pod = this.pods.size;
    objects.Service = this.services.size;
    objects.EndpointSlice = this.slices.size;
    objects.Node = this.nodes.size;
    for (const kind of OWNER_KINDS) objects[kind] = 0;
    for (const owner of this.owners.values()) {
      const kind = owner.key.slice(0, owner.key.indexOf('/')) as ResourceKind;
      objects[kind]++;
    }
    return {
      ...this.timeline.stats(),
      objects,
      synced: [...this.synced],
      watermarkUs: this.watermark,
    };
  }

  // --- state -------------------------------------------------------------------------------

  private objectKey(kind: ResourceKind, object: KubeObject): string {
    const meta = object.metadata ?? {};
    if (kind === 'Node') return meta.name ?? '';
    const namespaced = `${meta.namespace ?? 'default'}/${meta.name ?? ''}`;
    return OWNER_KINDS.includes(kind) ? `${kind}/${namespaced}` : namespaced;
  }

  /** Keys of `kind` a re-list from the same source replaces (inventory and watches apart). */
  private keysOf(kind: ResourceKind): string[] {
    const source = (map: Map<string, { pinned: boolean }>): string[] => {
      const keys: string[] = [];
      for (const [key, state] of map) if (state.pinned === this.pinned) keys.push(key);
      return keys;
    };
    switch (kind) {
      case 'Pod':
        return source(this.pods);
      case 'Service':
        return source(this.services);
      case 'EndpointSlice':
        return source(this.slices);
      case 'Node':
        return source(this.nodes);
      default:
        return source(this.owners).filter((k) => k.startsWith(`${kind}/`));
    }
  }

  private heldUid(kind: ResourceKind, key: string): string | null {
    return kind === 'Pod' ? (this.pods.get(key)?.uid ?? null) : null;
  }

  private upsert(kind: ResourceKind, object: KubeObject, affected: Set<string>): void {
    const key = this.objectKey(kind, object);
    const rv = object.metadata?.resourceVersion;
    // The same resourceVersion is the same object: a re-list repeats most of them.
    if (rv !== undefined && this.stateOf(kind, key)?.resourceVersion === rv) return;
    this.remove(kind, key, affected);
    switch (kind) {
      case 'Pod':
        return this.addPod(key, object as KubePod, affected);
      case 'Service':
        return this.addService(key, object as KubeService, affected);
      case 'EndpointSlice':
        return this.addSlice(key, object, affected);
      case 'Node':
        return this.addNode(key, object as KubeNode, affected);
      default:
        this.owners.set(key, {
          key,
          controller: controllerOf(object.metadata?.ownerReferences),
          resourceVersion: rv,
          pinned: this.pinned,
        });
        this.touchPodsOf(key, affected);
    }
  }

  private stateOf(
    kind: ResourceKind,
    key: string,
  ): { resourceVersion: string | undefined } | undefined {
    switch (kind) {
      case 'Pod':
        return this.pods.get(key);
      case 'Service':
        return this.services.get(key);
      case 'EndpointSlice':
        return this.slices.get(key);
      case 'Node':
        return this.nodes.get(key);
      default:
        return this.owners.get(key);
    }
  }

  private remove(kind: ResourceKind, key: string, affected: Set<string>): void {
    switch (kind) {
      case 'Pod':
        return this.removePod(key, affected);
      case 'Service':
        return this.removeService(key, affected);
      case 'EndpointSlice':
        return this.removeSlice(key, affected);
      case 'Node':
        return this.removeNode(key, affected);
      default:
        if (this.owners.delete(key)) this.touchPodsOf(key, affected);
    }
  }

  private addPod(key: string, pod: KubePod, affected: Set<string>): void {
    const meta = pod.metadata ?? {};
    const namespace = meta.namespace ?? 'default';
    const spec = pod.spec ?? {};
    const status = pod.status ?? {};
    const hostNetwork = spec.hostNetwork === true;
    const podIps = validIps([status.podIP, ...(status.podIPs ?? []).map((p) => p.ip)]);
    const keys: string[] = [];
    if (hostNetwork) {
      // The pod shares its node's addresses: it cannot own them, but the ports it declares
      // on them are its own (a node-local DNS cache on :53, say).
      const hostIps = validIps([status.hostIP, ...podIps]);
      const ports = new Set<number>();
      for (const c of spec.containers ?? []) {
        for (const p of c.ports ?? []) ports.add(p.hostPort ?? p.containerPort);
      }
      for (const ip of hostIps) {
        if (ports.size > 0) this.ipsWithPorts.add(ip);
        for (const port of ports) keys.push(hostPortKey(ip, port));
      }
    } else {
      keys.push(...podIps);
    }
    if (spec.hostname && spec.subdomain) {
      keys.push(hostnameKey(namespace, spec.subdomain, spec.hostname));
    }
    const state: PodState = {
      key,
      uid: meta.uid ?? null,
      namespace,
      name: meta.name ?? '',
      labels: meta.labels ?? {},
      node: spec.nodeName ?? null,
      hostNetwork,
      ips: hostNetwork ? [] : podIps,
      keys,
      controller: controllerOf(meta.ownerReferences),
      active: status.phase !== 'Succeeded' && status.phase !== 'Failed',
      createdUs: kubeTimeMicros(meta.creationTimestamp),
      resourceVersion: meta.resourceVersion,
      pinned: this.pinned,
    };
    this.pods.set(key, state);
    for (const k of keys) {
      addTo(this.podsByKey, k, key);
      affected.add(k);
    }
    if (state.controller) addTo(this.podsByOwner, this.ownerKeyOf(state), key);
    this.countNamespace(namespace, 1);
  }

  private removePod(key: string, affected: Set<string>): void {
    const pod = this.pods.get(key);
    if (!pod) return;
    this.pods.delete(key);
    for (const k of pod.keys) {
      removeFrom(this.podsByKey, k, key);
      affected.add(k);
    }
    if (pod.controller) removeFrom(this.podsByOwner, this.ownerKeyOf(pod), key);
    this.countNamespace(pod.namespace, -1);
  }

  private ownerKeyOf(pod: PodState): string {
    return `${pod.controller!.kind}/${pod.namespace}/${pod.controller!.name}`;
  }

  private touchPodsOf(ownerKey: string, affected: Set<string>): void {
    for (const podKey of this.podsByOwner.get(ownerKey) ?? []) {
      for (const k of this.pods.get(podKey)?.keys ?? []) affected.add(k);
    }
  }

  private addService(key: string, service: KubeService, affected: Set<string>): void {
    const meta = service.metadata ?? {};
    const spec = service.spec ?? {};
    const headless = spec.clusterIP === 'None';
    const state: ServiceState = {
      key,
      namespace: meta.namespace ?? 'default',
      name: meta.name ?? '',
      type: headless ? 'Headless' : (spec.type ?? 'ClusterIP'),
      clusterIps: headless ? [] : validIps([spec.clusterIP, ...(spec.clusterIPs ?? [])]),
      createdUs: kubeTimeMicros(meta.creationTimestamp),
      resourceVersion: meta.resourceVersion,
      pinned: this.pinned,
    };
    this.services.set(key, state);
    for (const ip of state.clusterIps) {
      this.servicesByIp.set(ip, key);
      affected.add(ip);
    }
    affected.add(serviceKey(state.namespace, state.name));
    this.touchEndpointsOf(key, affected);
    this.countNamespace(state.namespace, 1);
  }

  private removeService(key: string, affected: Set<string>): void {
    const service = this.services.get(key);
    if (!service) return;
    this.services.delete(key);
    for (const ip of service.clusterIps) {
      if (this.servicesByIp.get(ip) === key) this.servicesByIp.delete(ip);
      affected.add(ip);
    }
    affected.add(serviceKey(service.namespace, service.name));
    this.touchEndpointsOf(key, affected);
    this.countNamespace(service.namespace, -1);
  }

  /** The keys of every endpoint of a service: their identities name the service. */
  private touchEndpointsOf(serviceKeyText: string, affected: Set<string>): void {
    for (const sliceKey of this.slicesByService.get(serviceKeyText) ?? []) {
      const slice = this.slices.get(sliceKey);
      if (slice) this.touchSlice(slice, affected);
    }
  }

  private touchSlice(slice: SliceState, affected: Set<string>): void {
    for (const endpoint of slice.endpoints) {
      for (const ip of endpoint.addresses) {
        affected.add(ip);
        for (const podKey of this.podsByKey.get(ip) ?? []) this.touchPod(podKey, affected);
      }
      if (endpoint.podKey) this.touchPod(endpoint.podKey, affected);
    }
  }

  private touchPod(podKey: string, affected: Set<string>): void {
    for (const k of this.pods.get(podKey)?.keys ?? []) affected.add(k);
  }

  private addSlice(key: string, slice: KubeEndpointSlice, affected: Set<string>): void {
    const meta = slice.metadata ?? {};
    const namespace = meta.namespace ?? 'default';
    const service = meta.labels?.[SERVICE_NAME_LABEL] ?? null;
    const endpoints: SliceEndpoint[] = (slice.endpoints ?? []).map((e) => ({
      addresses: validIps(e.addresses ?? []),
      podKey:
        e.targetRef?.kind === 'Pod' && e.targetRef.name
          ? `${e.targetRef.namespace ?? namespace}/${e.targetRef.name}`
          : null,
    }));
    const state: SliceState = {
      key,
      namespace,
      service,
      endpoints,
      resourceVersion: meta.resourceVersion,
      pinned: this.pinned,
    };
    this.slices.set(key, state);
    for (const endpoint of endpoints) {
      for (const ip of endpoint.addresses) addTo(this.slicesByIp, ip, key);
      if (endpoint.podKey) addTo(this.slicesByPod, endpoint.podKey, key);
    }
    if (service) addTo(this.slicesByService, `${namespace}/${service}`, key);
    this.touchSlice(state, affected);
  }

  private removeSlice(key: string, affected: Set<string>): void {
    const slice = this.slices.get(key);
    if (!slice) return;
    this.slices.delete(key);
    for (const endpoint of slice.endpoints) {
      for (const ip of endpoint.addresses) removeFrom(this.slicesByIp, ip, key);
      if (endpoint.podKey) removeFrom(this.slicesByPod, endpoint.podKey, key);
    }
    if (slice.service) removeFrom(this.slicesByService, `${slice.namespace}/${slice.service}`, key);
    this.touchSlice(slice, affected);
  }

  private addNode(key: string, node: KubeNode, affected: Set<string>): void {
    const addresses = validIps(
      (node.status?.addresses ?? [])
        .filter((a) => a.type === 'InternalIP' || a.type === 'ExternalIP')
        .map((a) => a.address),
    );
    const spec = node.spec ?? {};
    const state: NodeState = {
      name: key,
      addresses,
      podCidrs: [...new Set([spec.podCIDR, ...(spec.podCIDRs ?? [])])].filter(
        (c): c is string => typeof c === 'string' && c.length > 0,
      ),
      createdUs: kubeTimeMicros(node.metadata?.creationTimestamp),
      resourceVersion: node.metadata?.resourceVersion,
      pinned: this.pinned,
    };
    this.nodes.set(key, state);
    for (const ip of addresses) {
      this.nodesByIp.set(ip, key);
      affected.add(ip);
    }
    this.rangesStale = true;
  }

  private removeNode(key: string, affected: Set<string>): void {
    const node = this.nodes.get(key);
    if (!node) return;
    this.nodes.delete(key);
    for (const ip of node.addresses) {
      if (this.nodesByIp.get(ip) === key) this.nodesByIp.delete(ip);
      affected.add(ip);
    }
    this.rangesStale = true;
  }

  private countNamespace(namespace: string, delta: number): void {
    const n = (this.namespaces.get(namespace) ?? 0) + delta;
    if (n > 0) this.namespaces.set(namespace, n);
    else this.namespaces.delete(namespace);
  }

  // --- derived identities ------------------------------------------------------------------

  private recompute(keys: Set<string>, atUs: number): number {
    let changed = 0;
    for (const key of keys) {
      const { identity: holder, sinceUs } = this.compute(key);
      const current = this.timeline.current(key);
      const previousGone = current !== null && !this.stillHolds(current, key);
      const options = { sinceUs, previousGone, pinned: this.pinned };
      if (this.timeline.set(key, holder, atUs, options)) changed++;
    }
    return changed;
  }

  /** Whether the object behind `holder` still exists and still claims `key`. */
  private stillHolds(holder: K8sIdentity, key: string): boolean {
    switch (holder.kind) {
      case 'POD':
      case 'HOST_POD': {
        const pod = this.pods.get(`${holder.namespace}/${holder.pod}`);
        return (
          pod !== undefined && pod.active && pod.uid === holder.podUid && pod.keys.includes(key)
        );
      }
      case 'SERVICE': {
        const service = this.services.get(`${holder.serviceNamespace}/${holder.service}`);
        return (
          service !== undefined && (key.startsWith('svc/') || service.clusterIps.includes(key))
        );
      }
      case 'NODE':
        return (
          holder.node !== null && this.nodes.get(holder.node)?.addresses.includes(key) === true
        );
      default:
        return this.slicesByIp.has(key);
    }
  }

  private compute(key: string): Computed {
    if (key.startsWith('svc/')) {
      const service = this.services.get(key.slice(4));
      return service
        ? { identity: this.serviceIdentity(service), sinceUs: service.createdUs }
        : NOBODY;
    }
    const pod = this.podHolding(key);
    if (pod) return { identity: this.podIdentity(pod), sinceUs: pod.createdUs };
    if (!isIpKey(key)) return NOBODY;
    const serviceKeyText = this.servicesByIp.get(key);
    const service = serviceKeyText ? this.services.get(serviceKeyText) : undefined;
    if (service) return { identity: this.serviceIdentity(service), sinceUs: service.createdUs };
    const nodeName = this.nodesByIp.get(key);
    const node = nodeName ? this.nodes.get(nodeName) : undefined;
    if (node)
      return { identity: identity({ kind: 'NODE', node: node.name }), sinceUs: node.createdUs };
    return { identity: this.selectorlessEndpoint(key), sinceUs: null };
  }

  /**
   * The pod that holds a key now. Two pods can claim one IP for a moment (the new pod's
   * event before the old one's deletion); the newer pod wins, as the old one's sandbox is
   * gone by the time the IP is handed out again.
   */
  private podHolding(key: string): PodState | undefined {
    let best: PodState | undefined;
    for (const podKey of this.podsByKey.get(key) ?? []) {
      const pod = this.pods.get(podKey);
      if (!pod?.active) continue;
      if (!best || (pod.createdUs ?? 0) >= (best.createdUs ?? 0)) best = pod;
    }
    return best;
  }

  private podIdentity(pod: PodState): K8sIdentity {
    const workload = resolveWorkload(
      {
        namespace: pod.namespace,
        name: pod.name,
        labels: pod.labels,
        controller: pod.controller,
      },
      (kind, namespace, name) => this.owners.get(`${kind}/${namespace}/${name}`),
    );
    const service = this.serviceOfPod(pod);
    return identity({
      kind: pod.hostNetwork ? 'HOST_POD' : 'POD',
      namespace: pod.namespace,
      pod: pod.name,
      podUid: pod.uid,
      labels: this.filterLabels(pod.labels),
      node: pod.node,
      workloadKind: workload.kind,
      workloadName: workload.name,
      service: service?.name ?? null,
      serviceNamespace: service?.namespace ?? null,
      serviceType: service?.type ?? null,
    });
  }

  /**
   * The service whose endpointslices list the pod (by targetRef or by address). The record
   * has room for one: with several, the alphabetically first, so the choice is stable.
   */
  private serviceOfPod(
    pod: PodState,
  ): { name: string; namespace: string; type: string | null } | null {
    const sliceKeys = new Set(this.slicesByPod.get(pod.key) ?? []);
    for (const ip of pod.ips) for (const k of this.slicesByIp.get(ip) ?? []) sliceKeys.add(k);
    let best: SliceState | undefined;
    for (const k of sliceKeys) {
      const slice = this.slices.get(k);
      if (!slice?.service) continue;
      if (!best || `${slice.namespace}/${slice.service}` < `${best.namespace}/${best.service}`) {
        best = slice;
      }
    }
    if (!best?.service) return null;
    const service = this.services.get(`${best.namespace}/${best.service}`);
    return { name: best.service, namespace: best.namespace, type: service?.type ?? null };
  }

  private serviceIdentity(service: ServiceState): K8sIdentity {
    return identity({
      kind: 'SERVICE',
      namespace: service.namespace,
      service: service.name,
      serviceNamespace: service.namespace,
      serviceType: service.type,
    });
  }

  /**
   * An endpoint address no pod, service or node holds: the backend of a Service without a
   * selector (an external database behind a cluster name). It stays EXTERNAL, but says
   * which Service points at it.
   */
  private selectorlessEndpoint(ip: string): K8sIdentity | null {
    let best: SliceState | undefined;
    for (const k of this.slicesByIp.get(ip) ?? []) {
      const slice = this.slices.get(k);
      if (!slice?.service) continue;
      const direct = slice.endpoints.some((e) => e.podKey === null && e.addresses.includes(ip));
      if (!direct) continue;
      if (!best || `${slice.namespace}/${slice.service}` < `${best.namespace}/${best.service}`) {
        best = slice;
      }
    }
    if (!best?.service) return null;
    return identity({
      kind: 'EXTERNAL',
      service: best.service,
      serviceNamespace: best.namespace,
      serviceType: this.services.get(`${best.namespace}/${best.service}`)?.type ?? null,
    });
  }

  private inClusterRange(ip: string): boolean {
    if (this.rangesStale) {
      const cidrs = [...this.staticCidrs];
      for (const node of this.nodes.values()) cidrs.push(...node.podCidrs);
      this.ranges = new AddressRanges(cidrs);
      this.rangesStale = false;
    }
    return this.ranges !== null && this.ranges.has(ip);
  }
}

const NOBODY: Computed = Object.freeze({ identity: null, sinceUs: null });
