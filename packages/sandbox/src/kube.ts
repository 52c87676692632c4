import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { Agent, request } from 'node:https';
import { homedir } from 'node:os';
import { join } from 'node:path';

// A small client for the real kube-apiserver that `scripts/services.sh up k8s` runs (see
// scripts/services/k8s.sh): plain node:https with the admin token and the CA from the
// services state dir. The sandbox registers its simulated cluster with it, and the tests
// use it to play a cluster's controllers. (@kubernetes/client-node is an ES module that
// jest on Node 20 cannot load, and this needs only a few calls.)
//
// The cluster has no kubelet, scheduler or controllers: callers create the objects a cluster
// would have (pods already bound to a node, ReplicaSets owned by Deployments, Jobs owned by
// CronJobs, EndpointSlices for a Service) and play the kubelet's part (pod status, deletion).

/** Where and how to reach the API server as its admin. */
export interface KubeAccess {
  url: string;
  port: number;
  token: string;
  caPath: string;
  kubeconfig: string;
}

/** The services state dir of scripts/services.sh (`DNSFLOW_SERVICES_DIR` overrides it). */
export function servicesStateDir(): string {
  return process.env['DNSFLOW_SERVICES_DIR'] ?? join(homedir(), '.cache', 'dnsflow', 'services');
}

/** The local API server's access, if `scripts/services.sh install k8s` has set one up. */
export function kubeAccessFromStateDir(stateDir = servicesStateDir()): KubeAccess | undefined {
  const dir = join(stateDir, 'k8s');
  const tokenFile = join(dir, 'token');
  if (!existsSync(tokenFile)) return undefined;
  return {
    url: K8S_URL,
    port: Number(new URL(K8S_URL).port),
    token: readFileSync(tokenFile, 'utf8').trim(),
    caPath: join(dir, 'pki', 'ca.crt'),
    kubeconfig: join(dir, 'kubeconfig'),
  };
}

/** The API server's URL. */
export const K8S_URL = 'https://127.0.0.1:16443';

/** Shows in managedFields as the manager of what was written. */
const USER_AGENT = 'dnsflow-sandbox';

let access: KubeAccess | undefined;
function current(): KubeAccess {
  access ??= kubeAccessFromStateDir();
  if (access === undefined) {
    throw new Error(
      `no local kube-apiserver credentials in ${join(servicesStateDir(), 'k8s')}: run scripts/services.sh up k8s`,
    );
  }
  return access;
}

/** Points every call of this module at `kube` instead of the local services' API server. */
export function useKubeAccess(kube: KubeAccess): void {
  if (access?.caPath !== kube.caPath) agent = undefined;
  access = kube;
}

/** kubeconfig with the admin token, for clients (CoreDNS, the enricher). */
export function kubeconfigPath(): string {
  return current().kubeconfig;
}

/**
 * Writes a copy of the kubeconfig whose cluster is at `server` (e.g. a relay on another
 * 127.0.0.1 port, which the certificate covers) and returns its path. A client on it loses
 * its watches when the relay is cut and re-watches from its last resourceVersion when
 * restored.
 */
export function kubeconfigWithServer(server: string, path: string): string {
  const text = readFileSync(kubeconfigPath(), 'utf8');
  writeFileSync(path, text.replace(/^(\s*server:).*$/m, `$1 ${server}`), { mode: 0o600 });
  return path;
}

/** The CA that signed the API server's certificate (PEM path). */
export function k8sCaPath(): string {
  return current().caPath;
}

/** The admin bearer token (user in system:masters). */
export function k8sToken(): string {
  return current().token;
}

let agent: Agent | undefined;
function k8sAgent(): Agent {
  agent ??= new Agent({ ca: readFileSync(k8sCaPath()), keepAlive: false });
  return agent;
}

// ---------------------------------------------------------------- object shapes

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid: string;
  resourceVersion: string;
  generateName?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  creationTimestamp?: string;
  deletionTimestamp?: string;
}

/** Any API object; `spec` and `status` as the server returned them. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
}

export interface Pod extends KubeObject {
  spec: { nodeName?: string; hostNetwork?: boolean; containers: Container[] } & Record<
    string,
    unknown
  >;
  status?: {
    phase?: string;
    podIP?: string;
    podIPs?: { ip: string }[];
    hostIP?: string;
    hostIPs?: { ip: string }[];
  } & Record<string, unknown>;
}

export interface Service extends KubeObject {
  spec: {
    clusterIP: string;
    clusterIPs?: string[];
    selector?: Record<string, string>;
    ports?: ServicePort[];
  } & Record<string, unknown>;
}

export interface NodeAddress {
  type: 'InternalIP' | 'ExternalIP' | 'Hostname' | 'InternalDNS' | 'ExternalDNS';
  address: string;
}

export interface Container {
  name: string;
  image: string;
  ports?: { name?: string; containerPort: number; protocol?: 'TCP' | 'UDP' | 'SCTP' }[];
}

export interface ServicePort {
  name?: string;
  port: number;
  protocol?: 'TCP' | 'UDP' | 'SCTP';
  targetPort?: number | string;
}

export interface ListResult<T extends KubeObject = KubeObject> {
  items: T[];
  metadata: { resourceVersion: string; continue?: string };
}

/** A Status the API server answered with instead of the object. */
export class K8sApiError extends Error {
  constructor(
    readonly method: string,
    readonly path: string,
    readonly statusCode: number,
    readonly reason: string,
    message: string,
  ) {
    super(`${method} ${path}: ${statusCode} ${reason}: ${message}`);
    this.name = 'K8sApiError';
  }
}

// ---------------------------------------------------------------- requests

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  /** Defaults to JSON; PATCH defaults to a JSON merge patch. */
  contentType?: string;
  /** Bearer token instead of the admin's; null sends none (the anonymous user). */
  token?: string | null;
  /** Another way to the API server, e.g. a relay (default {@link K8S_URL}). */
  server?: string;
}

function pathWithQuery(path: string, query: RequestOptions['query']): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) params.set(k, String(v));
  const text = params.toString();
  return text === '' ? path : `${path}?${text}`;
}

function statusError(method: string, path: string, code: number, text: string): K8sApiError {
  let reason = 'Unknown';
  let message = text.slice(0, 500);
  try {
    const status = JSON.parse(text) as { reason?: string; message?: string };
    reason = status.reason ?? reason;
    message = status.message ?? message;
  } catch {
    // not a Status object: keep the raw text
  }
  return new K8sApiError(method, path, code, reason, message);
}

/**
 * One request to the API server as the admin user; resolves with the parsed JSON body,
 * rejects with a {@link K8sApiError} for any status outside 2xx.
 */
export async function k8sRequest<T = unknown>(
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
  path: string,
  options: RequestOptions = {},
): Promise<T> {
  const target = pathWithQuery(path, options.query);
  const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
  const contentType =
    options.contentType ??
    (method === 'PATCH' ? 'application/merge-patch+json' : 'application/json');
  const token = options.token === undefined ? k8sToken() : options.token;
  return new Promise<T>((resolve, reject) => {
    const req = request(
      `${options.server ?? current().url}${target}`,
      {
        method,
        agent: k8sAgent(),
        timeout: 30_000,
        headers: {
          ...(token === null ? {} : { authorization: `Bearer ${token}` }),
          accept: 'application/json',
          'user-agent': USER_AGENT,
          ...(payload === undefined
            ? {}
            : { 'content-type': contentType, 'content-length': Buffer.byteLength(payload) }),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const code = res.statusCode ?? 0;
          if (code < 200 || code > 299) {
            reject(statusError(method, target, code, text));
            return;
          }
          try {
            resolve((text === '' ? {} : JSON.parse(text)) as T);
          } catch (err) {
            reject(
              new Error(`${method} ${target}: response is not JSON: ${text.slice(0, 200)}`, {
                cause: err,
              }),
            );
          }
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${target}: no answer in 30 s`)));
    req.on('error', reject);
    req.end(payload);
  });
}

/** LIST a collection path (e.g. `/api/v1/namespaces/x/pods`). */
export async function list<T extends KubeObject = KubeObject>(
  path: string,
  query: RequestOptions['query'] = {},
): Promise<ListResult<T>> {
  return k8sRequest<ListResult<T>>('GET', path, { query });
}

// ---------------------------------------------------------------- watches

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export interface WatchEvent {
  type: WatchEventType;
  /** The object; for ERROR a Status (`code` 410 and `reason` Expired when too old). */
  object: KubeObject & { code?: number; reason?: string; message?: string };
}

/**
 * An open watch: events as they arrive, in order. `ended` resolves when the server closes
 * the stream (after an ERROR event, or a timeout) or `close()` is called.
 */
export interface Watch {
  readonly events: readonly WatchEvent[];
  readonly ended: Promise<void>;
  /** Resolves with the first event (from the start of the stream) that `match` accepts. */
  waitFor(match: (e: WatchEvent) => boolean, timeoutMs?: number): Promise<WatchEvent>;
  close(): void;
}

/**
 * WATCH a collection path: `query` carries resourceVersion, allowWatchBookmarks,
 * sendInitialEvents, labelSelector... Resolves once the response headers arrived, so
 * writes made after it are seen by the watch. `server` may be a relay (default
 * {@link K8S_URL}).
 */
export async function watch(
  path: string,
  query: RequestOptions['query'] = {},
  server = current().url,
): Promise<Watch> {
  const target = pathWithQuery(path, { ...query, watch: true });
  const events: WatchEvent[] = [];
  const waiters = new Set<() => void>();
  const notify = (): void => waiters.forEach((w) => w());
  let endStream: () => void = () => undefined;
  const ended = new Promise<void>((resolve) => {
    endStream = () => {
      resolve();
      notify();
    };
  });
  let isEnded = false;
  ended.then(() => (isEnded = true)).catch(() => undefined);

  const req = request(`${server}${target}`, {
    method: 'GET',
    agent: k8sAgent(),
    headers: {
      authorization: `Bearer ${k8sToken()}`,
      accept: 'application/json',
      'user-agent': USER_AGENT,
    },
  });
  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    req.on('response', resolve);
    req.on('error', reject);
    req.end();
  });
  if ((res.statusCode ?? 0) !== 200) {
    const chunks: Buffer[] = [];
    for await (const c of res) chunks.push(c as Buffer);
    throw statusError('WATCH', target, res.statusCode ?? 0, Buffer.concat(chunks).toString());
  }
  // One JSON event per line.
  let buffered = '';
  res.setEncoding('utf8');
  res.on('data', (chunk: string) => {
    buffered += chunk;
    for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
      const line = buffered.slice(0, nl).trim();
      buffered = buffered.slice(nl + 1);
      if (line === '') continue;
      try {
        events.push(JSON.parse(line) as WatchEvent);
      } catch {
        // Not an event: end the watch, and say why in what waitFor reports.
        events.push({
          type: 'ERROR',
          object: { reason: 'Unparsable', message: line.slice(0, 200) } as WatchEvent['object'],
        });
        req.destroy();
        break;
      }
    }
    notify();
  });
  res.on('end', endStream);
  res.on('close', endStream);
  res.on('error', endStream);

  return {
    events,
    ended,
    close: () => {
      req.destroy();
      endStream();
    },
    waitFor: (match, timeoutMs = 30_000) =>
      new Promise<WatchEvent>((resolve, reject) => {
        const check = (): void => {
          const found = events.find(match);
          if (found !== undefined) done(() => resolve(found));
          else if (isEnded)
            done(() => reject(new Error(`watch ${target} ended; events: ${summary()}`)));
        };
        const timer = setTimeout(
          () =>
            done(() =>
              reject(
                new Error(
                  `no matching event on ${target} in ${timeoutMs} ms; events: ${summary()}`,
                ),
              ),
            ),
          timeoutMs,
        );
        const done = (settle: () => void): void => {
          clearTimeout(timer);
          waiters.delete(check);
          settle();
        };
        waiters.add(check);
        check();
      }),
  };

  function summary(): string {
    return events
      .map((e) => `${e.type} ${e.object.metadata?.name ?? e.object.reason ?? ''}`)
      .join(', ');
  }
}

// ---------------------------------------------------------------- namespaces, nodes

/** Creates a namespace (each test uses its own, e.g. `uniqueName('it-x')`). */
export async function createNamespace(
  name: string,
  labels: Record<string, string> = {},
): Promise<KubeObject> {
  return k8sRequest<KubeObject>('POST', '/api/v1/namespaces', {
    body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } },
  });
}

/** The namespaced collections the helpers create, for {@link deleteNamespace}. */
const NAMESPACED = [
  '/api/v1/namespaces/{ns}/pods',
  '/api/v1/namespaces/{ns}/services',
  '/apis/discovery.k8s.io/v1/namespaces/{ns}/endpointslices',
  '/apis/apps/v1/namespaces/{ns}/replicasets',
  '/apis/apps/v1/namespaces/{ns}/deployments',
  '/apis/apps/v1/namespaces/{ns}/statefulsets',
  '/apis/apps/v1/namespaces/{ns}/daemonsets',
  '/apis/batch/v1/namespaces/{ns}/jobs',
  '/apis/batch/v1/namespaces/{ns}/cronjobs',
  '/api/v1/namespaces/{ns}/configmaps',
];

/**
 * Deletes a namespace and everything the helpers put in it. A cluster's namespace controller
 * would do this; here the objects are deleted first (pods at once, as a kubelet confirms,
 * watchers see DELETED), then the namespace is finalized so it is gone, not Terminating.
 */
export async function deleteNamespace(name: string): Promise<void> {
  const ns = encodeURIComponent(name);
  for (const collection of NAMESPACED) {
    await k8sRequest('DELETE', collection.replace('{ns}', ns), {
      body: {
        apiVersion: 'v1',
        kind: 'DeleteOptions',
        gracePeriodSeconds: 0,
        propagationPolicy: 'Background',
      },
    }).catch(ignoreNotFound);
  }
  try {
    await k8sRequest('DELETE', `/api/v1/namespaces/${ns}`);
    const current = await k8sRequest<KubeObject>('GET', `/api/v1/namespaces/${ns}`);
    await k8sRequest('PUT', `/api/v1/namespaces/${ns}/finalize`, {
      body: { ...current, spec: { finalizers: [] } },
    });
  } catch (err) {
    ignoreNotFound(err);
  }
}

function ignoreNotFound(err: unknown): void {
  if (err instanceof K8sApiError && err.statusCode === 404) return;
  throw err;
}

/**
 * Creates a Node with its addresses in status (as a kubelet registers it). A string address
 * is an InternalIP; a Hostname address equal to the name is added unless one is given.
 */
export async function createNode(
  name: string,
  addresses: (string | NodeAddress)[],
  labels: Record<string, string> = {},
): Promise<KubeObject> {
  const list: NodeAddress[] = addresses.map((a) =>
    typeof a === 'string' ? { type: 'InternalIP', address: a } : a,
  );
  if (!list.some((a) => a.type === 'Hostname')) list.push({ type: 'Hostname', address: name });
  await k8sRequest('POST', '/api/v1/nodes', {
    body: {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name, labels: { 'kubernetes.io/hostname': name, ...labels } },
    },
  });
  return k8sRequest<KubeObject>('PATCH', `/api/v1/nodes/${encodeURIComponent(name)}/status`, {
    body: { status: { addresses: list } },
  });
}

/** Deletes a Node (nodes are cluster-wide: tests name theirs uniquely and delete them). */
export async function deleteNode(name: string): Promise<void> {
  await k8sRequest('DELETE', `/api/v1/nodes/${encodeURIComponent(name)}`).catch(ignoreNotFound);
}

// ---------------------------------------------------------------- pods

export interface PodOptions {
  labels?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  /** The node the pod runs on (no scheduler: pods are created bound). */
  nodeName?: string;
  hostNetwork?: boolean;
  containers?: Container[];
}

const DEFAULT_CONTAINERS: Container[] = [{ name: 'app', image: 'registry.invalid/dnsflow/test:1' }];

/** Creates a Pod bound to `nodeName`; it stays Pending until {@link setPodIps}. */
export async function createPod(ns: string, name: string, options: PodOptions = {}): Promise<Pod> {
  return k8sRequest<Pod>('POST', `/api/v1/namespaces/${encodeURIComponent(ns)}/pods`, {
    body: {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name,
        labels: options.labels ?? {},
        ownerReferences: options.ownerReferences ?? [],
      },
      spec: {
        ...(options.nodeName === undefined ? {} : { nodeName: options.nodeName }),
        hostNetwork: options.hostNetwork ?? false,
        containers: options.containers ?? DEFAULT_CONTAINERS,
      },
    },
  });
}

/**
 * Does what a kubelet does once the sandbox is up: PATCHes the pod's `status` subresource
 * with phase Running, its IPs (one per family) and the node's IP. A host-network pod's IPs
 * are its node's, so `hostIP` defaults to the first IP there.
 */
export async function setPodIps(
  ns: string,
  name: string,
  ips: string[],
  hostIP?: string,
): Promise<Pod> {
  const host = hostIP ?? ips[0];
  return k8sRequest<Pod>(
    'PATCH',
    `/api/v1/namespaces/${encodeURIComponent(ns)}/pods/${encodeURIComponent(name)}/status`,
    {
      body: {
        status: {
          phase: 'Running',
          startTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
          podIP: ips[0],
          podIPs: ips.map((ip) => ({ ip })),
          ...(host === undefined ? {} : { hostIP: host, hostIPs: [{ ip: host }] }),
        },
      },
    },
  );
}

/**
 * Deletes a pod. By default at once (grace period 0), as after a kubelet confirmed it:
 * watchers see a MODIFIED event with deletionTimestamp, then DELETED. With
 * `gracePeriodSeconds` > 0 the pod only gets its deletionTimestamp (the MODIFIED event) and
 * stays, like a terminating pod, until deleted again with 0.
 */
export async function deletePod(ns: string, name: string, gracePeriodSeconds = 0): Promise<void> {
  await k8sRequest(
    'DELETE',
    `/api/v1/namespaces/${encodeURIComponent(ns)}/pods/${encodeURIComponent(name)}`,
    { body: { apiVersion: 'v1', kind: 'DeleteOptions', gracePeriodSeconds } },
  );
}

// ---------------------------------------------------------------- workloads (pod owners)

/** A workload object and the owner reference its pods carry. */
export interface Workload {
  /** The top of the chain: the Deployment, CronJob, StatefulSet, DaemonSet, Job, ReplicaSet. */
  object: KubeObject;
  /** The pods' direct owner: the ReplicaSet of a Deployment, the Job of a CronJob, or `object`. */
  podOwner: KubeObject;
  /** Put this in {@link PodOptions.ownerReferences}. */
  podOwnerReference: OwnerReference;
}

/** The controller reference to `owner`, as controllers set it on what they create. */
export function controllerRef(owner: KubeObject): OwnerReference {
  return {
    apiVersion: owner.apiVersion,
    kind: owner.kind,
    name: owner.metadata.name,
    uid: owner.metadata.uid,
    controller: true,
    blockOwnerDeletion: true,
  };
}

function podTemplate(labels: Record<string, string>, restartPolicy?: string): unknown {
  return {
    metadata: { labels },
    spec: { containers: DEFAULT_CONTAINERS, ...(restartPolicy ? { restartPolicy } : {}) },
  };
}

/** The kinds {@link createWorkload} makes. */
export type WorkloadKind =
  'Deployment' | 'ReplicaSet' | 'StatefulSet' | 'DaemonSet' | 'Job' | 'CronJob';

/** Where each workload kind lives, and the smallest spec the API server accepts for it. */
const WORKLOAD_KINDS: Record<
  WorkloadKind,
  {
    apiVersion: string;
    resource: string;
    spec: (name: string, labels: Record<string, string>) => unknown;
  }
> = {
  Deployment: { apiVersion: 'apps/v1', resource: 'deployments', spec: (_n, l) => replicated(l) },
  ReplicaSet: { apiVersion: 'apps/v1', resource: 'replicasets', spec: (_n, l) => replicated(l) },
  StatefulSet: {
    apiVersion: 'apps/v1',
    resource: 'statefulsets',
    spec: (name, l) => ({ serviceName: name, ...replicated(l) }),
  },
  DaemonSet: {
    apiVersion: 'apps/v1',
    resource: 'daemonsets',
    spec: (_n, l) => ({ selector: { matchLabels: l }, template: podTemplate(l) }),
  },
  // The API server adds the controller-uid selector and labels of a Job itself.
  Job: {
    apiVersion: 'batch/v1',
    resource: 'jobs',
    spec: (_n, l) => ({ template: podTemplate(l, 'Never') }),
  },
  CronJob: {
    apiVersion: 'batch/v1',
    resource: 'cronjobs',
    spec: (_n, l) => ({
      schedule: '0 0 1 1 *',
      jobTemplate: { spec: { template: podTemplate(l, 'Never') } },
    }),
  },
};

function replicated(labels: Record<string, string>): Record<string, unknown> {
  return { replicas: 1, selector: { matchLabels: labels }, template: podTemplate(labels) };
}

async function createWorkloadObject(
  ns: string,
  kind: WorkloadKind,
  name: string,
  labels: Record<string, string>,
  ownerReferences: OwnerReference[] = [],
): Promise<KubeObject> {
  const { apiVersion, resource, spec } = WORKLOAD_KINDS[kind];
  return k8sRequest<KubeObject>(
    'POST',
    `/apis/${apiVersion}/namespaces/${encodeURIComponent(ns)}/${resource}`,
    {
      body: {
        apiVersion,
        kind,
        metadata: { name, labels, ownerReferences },
        spec: spec(name, labels),
      },
    },
  );
}

function workload(object: KubeObject, podOwner = object): Workload {
  return { object, podOwner, podOwnerReference: controllerRef(podOwner) };
}

/** Options of the workload helpers. */
export interface WorkloadOptions {
  /** The pods' labels, also the selector; `{ app: <name> }` by default. */
  labels?: Record<string, string>;
  /** Owner references of the top object (e.g. a standalone ReplicaSet's custom controller). */
  ownerReferences?: OwnerReference[];
}

/**
 * Creates a workload the way its controllers would leave it, so pod owner references resolve
 * through the API: a Deployment with the ReplicaSet `<name>-<hash>` it owns
 * (pod-template-hash label), a CronJob with a Job `<name>-<minutes>` it scheduled, or a
 * StatefulSet, DaemonSet, standalone ReplicaSet or Job. Pods belong to
 * {@link Workload.podOwnerReference}: the ReplicaSet, the Job, or the object itself.
 */
export async function createWorkload(
  ns: string,
  kind: WorkloadKind,
  name: string,
  options: WorkloadOptions = {},
): Promise<Workload> {
  const labels = options.labels ?? { app: name };
  const object = await createWorkloadObject(ns, kind, name, labels, options.ownerReferences);
  if (kind === 'Deployment') {
    const hash = object.metadata.uid.replace(/-/g, '').slice(0, 10);
    const rsLabels = { ...labels, 'pod-template-hash': hash };
    const replicaSet = await createWorkloadObject(ns, 'ReplicaSet', `${name}-${hash}`, rsLabels, [
      controllerRef(object),
    ]);
    return workload(object, replicaSet);
  }
  if (kind === 'CronJob') {
    // The CronJob controller names its Jobs after the scheduled time in minutes.
    const jobName = `${name}-${Math.floor(Date.now() / 60_000)}`;
    const job = await createWorkloadObject(ns, 'Job', jobName, labels, [controllerRef(object)]);
    return workload(object, job);
  }
  return workload(object);
}

// ---------------------------------------------------------------- services, endpointslices

export interface ServiceOptions {
  /** A fixed IP from 10.96.0.0/16, or 'None' for a headless service; allocated if absent. */
  clusterIP?: string;
  headless?: boolean;
  selector?: Record<string, string>;
  ports?: ServicePort[];
}

/** Creates a ClusterIP (or headless) Service; the result carries the allocated clusterIP. */
export async function createService(
  ns: string,
  name: string,
  options: ServiceOptions = {},
): Promise<Service> {
  const clusterIP = options.headless === true ? 'None' : options.clusterIP;
  return k8sRequest<Service>('POST', `/api/v1/namespaces/${encodeURIComponent(ns)}/services`, {
    body: {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name },
      spec: {
        type: 'ClusterIP',
        ...(clusterIP === undefined ? {} : { clusterIP }),
        ...(options.selector === undefined ? {} : { selector: options.selector }),
        ports: options.ports ?? [{ name: 'dns', port: 53, protocol: 'UDP', targetPort: 53 }],
      },
    },
  });
}

export interface EndpointOptions {
  ip: string;
  /** The pod behind the address (targetRef). */
  podName?: string;
  nodeName?: string;
  ready?: boolean;
  /** Headless services: the DNS name's first label. */
  hostname?: string;
}

/**
 * Creates the EndpointSlice the endpointslice controller would make for `service`: the
 * `kubernetes.io/service-name` label, an owner reference to the Service, one endpoint per IP
 * (all of one family: IPv6 if the first IP has a colon), the given ports or port 53/UDP.
 */
export async function createEndpointSlice(
  ns: string,
  name: string,
  service: string,
  endpoints: EndpointOptions[],
  ports: ServicePort[] = [{ name: 'dns', port: 53, protocol: 'UDP' }],
): Promise<KubeObject> {
  const owner = await k8sRequest<Service>(
    'GET',
    `/api/v1/namespaces/${encodeURIComponent(ns)}/services/${encodeURIComponent(service)}`,
  );
  return k8sRequest<KubeObject>(
    'POST',
    `/apis/discovery.k8s.io/v1/namespaces/${encodeURIComponent(ns)}/endpointslices`,
    {
      body: {
        apiVersion: 'discovery.k8s.io/v1',
        kind: 'EndpointSlice',
        metadata: {
          name,
          labels: {
            'kubernetes.io/service-name': service,
            'endpointslice.kubernetes.io/managed-by': 'dnsflow-tests',
          },
          ownerReferences: [controllerRef(owner)],
        },
        addressType: endpoints[0]?.ip.includes(':') ? 'IPv6' : 'IPv4',
        endpoints: endpoints.map((e) => ({
          addresses: [e.ip],
          conditions: { ready: e.ready ?? true },
          ...(e.hostname === undefined ? {} : { hostname: e.hostname }),
          ...(e.nodeName === undefined ? {} : { nodeName: e.nodeName }),
          ...(e.podName === undefined
            ? {}
            : { targetRef: { kind: 'Pod', namespace: ns, name: e.podName } }),
        })),
        ports: ports.map((p) => ({
          name: p.name ?? '',
          port: p.port,
          protocol: p.protocol ?? 'TCP',
        })),
      },
    },
  );
}
