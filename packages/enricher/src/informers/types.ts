// Shapes shared by the informers: the Kubernetes objects as the API server sends them (plain
// JSON, only the fields the enricher reads are typed) and the transport they arrive over.

/** Object metadata as the API server sends it. */
export interface ApiObjectMeta {
  name: string;
  namespace?: string;
  uid: string;
  resourceVersion?: string;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  ownerReferences?: {
    apiVersion: string;
    kind: string;
    name: string;
    uid: string;
    controller?: boolean;
  }[];
}

/** Any Kubernetes object in its JSON form; readers narrow the fields they use. */
export interface ApiObject {
  apiVersion?: string;
  kind?: string;
  metadata: ApiObjectMeta;
  [field: string]: unknown;
}

/** The resources the enricher watches. */
export type ResourceName =
  'pods' | 'services' | 'endpointslices' | 'nodes' | 'replicasets' | 'jobs';

/** Where a resource lives in the API (cluster-wide list and watch). */
export interface ResourceSpec {
  name: ResourceName;
  /** Kind of the items, set on objects from lists (list items carry none). */
  kind: string;
  apiVersion: string;
  /** Collection path across all namespaces. */
  path: string;
}

export const RESOURCES: Readonly<Record<ResourceName, ResourceSpec>> = {
  pods: { name: 'pods', kind: 'Pod', apiVersion: 'v1', path: '/api/v1/pods' },
  services: { name: 'services', kind: 'Service', apiVersion: 'v1', path: '/api/v1/services' },
  nodes: { name: 'nodes', kind: 'Node', apiVersion: 'v1', path: '/api/v1/nodes' },
  endpointslices: {
    name: 'endpointslices',
    kind: 'EndpointSlice',
    apiVersion: 'discovery.k8s.io/v1',
    path: '/apis/discovery.k8s.io/v1/endpointslices',
  },
  // Owner kinds: a ReplicaSet names its Deployment and a Job its CronJob in their own owner
  // references, so Deployments and CronJobs themselves need no informer.
  replicasets: {
    name: 'replicasets',
    kind: 'ReplicaSet',
    apiVersion: 'apps/v1',
    path: '/apis/apps/v1/replicasets',
  },
  jobs: { name: 'jobs', kind: 'Job', apiVersion: 'batch/v1', path: '/apis/batch/v1/jobs' },
};

/** One page of a list response. */
export interface ListPage {
  items: ApiObject[];
  /** The snapshot's resourceVersion: a watch from it misses nothing after the list. */
  resourceVersion: string;
  /** Token of the next page; absent on the last. */
  continueToken?: string;
}

/** Watch event types an informer sees (ERROR events end the stream as a {@link KubeApiError}). */
export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK';

/** An open watch: `done` settles when the stream ends (rejects with a {@link KubeApiError}). */
export interface WatchStream {
  readonly done: Promise<void>;
  abort(): void;
}

/** List and watch over HTTP; the client-node implementation is in `kube-client.ts`. */
export interface KubeTransport {
  /** The API server, for logs. */
  readonly server: string;
  list(path: string, params: { limit: number; continueToken?: string }): Promise<ListPage>;
  watch(
    path: string,
    params: { resourceVersion: string; timeoutSeconds: number },
    onEvent: (type: WatchEventType, object: ApiObject) => void,
  ): Promise<WatchStream>;
}

/**
 * A failed list or watch. `status` is the HTTP status or the code of a watch ERROR event;
 * 410 (Gone) means the resourceVersion is too old and the informer must list again.
 */
export class KubeApiError extends Error {
  override readonly name = 'KubeApiError';
  /** Network errors and 5xx/429 are worth retrying; 401/403/404 need an operator. */
  readonly retriable: boolean;

  constructor(
    readonly status: number | null,
    message: string,
    readonly path: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.retriable = status === null || status === 410 || status === 429 || status >= 500;
  }

  get gone(): boolean {
    return this.status === 410;
  }
}
