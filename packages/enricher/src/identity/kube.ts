// The parts of Kubernetes objects the identity store reads, as structural types. They accept
// both the JSON the API server sends and the typed objects @kubernetes/client-node builds from
// it (where timestamps are Date instances), without importing that ESM-only package here.

/** Object kinds the identity store understands. */
export type ResourceKind =
  | 'Pod'
  | 'Service'
  | 'EndpointSlice'
  | 'Node'
  | 'ReplicaSet'
  | 'Job'
  | 'Deployment'
  | 'CronJob'
  | 'StatefulSet'
  | 'DaemonSet';

/** Every kind in {@link ResourceKind}, in the order a full sync lists them. */
export const RESOURCE_KINDS: readonly ResourceKind[] = [
  'Node',
  'Service',
  'EndpointSlice',
  'Deployment',
  'StatefulSet',
  'DaemonSet',
  'CronJob',
  'ReplicaSet',
  'Job',
  'Pod',
];

/** Kinds that only matter as owners of pods (the workload chain). */
export const OWNER_KINDS: readonly ResourceKind[] = [
  'ReplicaSet',
  'Job',
  'Deployment',
  'CronJob',
  'StatefulSet',
  'DaemonSet',
];

/** RFC 3339 text (API JSON) or a Date (client-node objects). */
export type KubeTime = string | Date;

export interface KubeOwnerReference {
  apiVersion?: string;
  kind: string;
  name: string;
  uid?: string;
  controller?: boolean;
}

export interface KubeObjectMeta {
  name?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  labels?: Record<string, string>;
  ownerReferences?: KubeOwnerReference[];
  creationTimestamp?: KubeTime;
  deletionTimestamp?: KubeTime;
}

export interface KubeContainerPort {
  containerPort: number;
  hostPort?: number;
  protocol?: string;
  name?: string;
}

export interface KubePod {
  kind?: string;
  metadata?: KubeObjectMeta;
  spec?: {
    nodeName?: string;
    hostNetwork?: boolean;
    hostname?: string;
    subdomain?: string;
    containers?: { name?: string; ports?: KubeContainerPort[] }[];
  };
  status?: {
    phase?: string;
    podIP?: string;
    podIPs?: { ip?: string }[];
    hostIP?: string;
    startTime?: KubeTime;
  };
}

export interface KubeService {
  kind?: string;
  metadata?: KubeObjectMeta;
  spec?: {
    type?: string;
    clusterIP?: string;
    clusterIPs?: string[];
    externalName?: string;
  };
}

export interface KubeEndpoint {
  addresses?: string[];
  hostname?: string;
  nodeName?: string;
  conditions?: { ready?: boolean; serving?: boolean; terminating?: boolean };
  targetRef?: { kind?: string; name?: string; namespace?: string; uid?: string };
}

export interface KubeEndpointSlice {
  kind?: string;
  metadata?: KubeObjectMeta;
  addressType?: string;
  endpoints?: KubeEndpoint[];
  ports?: { name?: string; port?: number; protocol?: string }[];
}

export interface KubeNode {
  kind?: string;
  metadata?: KubeObjectMeta;
  spec?: { podCIDR?: string; podCIDRs?: string[] };
  status?: { addresses?: { type?: string; address?: string }[] };
}

/** Deployment, ReplicaSet, Job, CronJob, StatefulSet, DaemonSet: only metadata matters. */
export interface KubeOwnerObject {
  kind?: string;
  metadata?: KubeObjectMeta;
}

/** Any object the store accepts. */
export type KubeObject = KubePod | KubeService | KubeEndpointSlice | KubeNode | KubeOwnerObject;

/** A watch event as the API server streams it (BOOKMARK and ERROR are the informer's business). */
export interface KubeWatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: KubeObject;
  /**
   * The kind, for objects that do not say it themselves: items of a list response carry no
   * `kind`, and client-node's typed objects may not either. Defaults to `object.kind`.
   */
  kind?: ResourceKind;
}

/** Epoch microseconds of a Kubernetes timestamp, or null when absent or unreadable. */
export function kubeTimeMicros(value: KubeTime | undefined): number | null {
  if (value === undefined || value === null) return null;
  const ms = value instanceof Date ? value.getTime() : Date.parse(value);
  return Number.isFinite(ms) ? ms * 1000 : null;
}

/** Whether `kind` names one of the {@link ResourceKind}s. */
export function isResourceKind(kind: unknown): kind is ResourceKind {
  return typeof kind === 'string' && (RESOURCE_KINDS as readonly string[]).includes(kind);
}
