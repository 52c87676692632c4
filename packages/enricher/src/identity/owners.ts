import type { KubeOwnerReference } from './kube';

/** The top of a pod's owner chain. */
export interface Workload {
  kind: string;
  name: string;
}

/** What the chain walk needs to know about one owner object (a ReplicaSet, a Job, ...). */
export interface OwnerInfo {
  /** The owner's own controller reference, if it has one. */
  controller: KubeOwnerReference | null;
}

/** Looks an owner object up by kind, namespace and name; undefined when not (yet) known. */
export type OwnerLookup = (kind: string, namespace: string, name: string) => OwnerInfo | undefined;

/** Owner chains are short (Pod -> ReplicaSet -> Deployment); a cycle must not hang us. */
const MAX_CHAIN = 8;

/** The label the Deployment controller puts on its ReplicaSets' pods. */
const POD_TEMPLATE_HASH = 'pod-template-hash';

/** The controlling owner reference of an object: the one marked controller, else the first. */
export function controllerOf(
  refs: readonly KubeOwnerReference[] | undefined,
): KubeOwnerReference | null {
  if (!refs || refs.length === 0) return null;
  return refs.find((r) => r.controller === true) ?? refs[0] ?? null;
}

/**
 * Follows a pod's owner references to its workload: ReplicaSet -> Deployment, Job ->
 * CronJob, StatefulSet, DaemonSet, or `Pod` for a bare pod. Owners that are known are
 * followed up their own controller references; the walk stops at the first owner that is
 * not known (or has no controller) and reports it.
 *
 * One fallback when the pod's ReplicaSet is not (yet) known, e.g. the pod event arrived
 * before the ReplicaSet's: the Deployment controller names ReplicaSets
 * `<deployment>-<pod-template-hash>` and labels their pods with that hash, so a ReplicaSet
 * whose name ends in `-<the pod's pod-template-hash>` is taken to belong to the Deployment
 * named by the rest. No such guess is made for a Job of unknown owner: a CronJob names its
 * Jobs `<cronjob>-<scheduled minutes>`, but nothing on the pod confirms it and people name
 * their own Jobs like that too, so the workload stays the Job.
 */
export function resolveWorkload(
  pod: {
    namespace: string;
    name: string;
    labels: Readonly<Record<string, string>>;
    controller: KubeOwnerReference | null;
  },
  lookup: OwnerLookup,
): Workload {
  let current = pod.controller;
  if (!current) return { kind: 'Pod', name: pod.name };
  for (let depth = 0; depth < MAX_CHAIN; depth++) {
    const info = lookup(current.kind, pod.namespace, current.name);
    if (info === undefined) {
      if (depth === 0 && current.kind === 'ReplicaSet') {
        const inferred = deploymentOfReplicaSet(current.name, pod.labels[POD_TEMPLATE_HASH]);
        if (inferred) return { kind: 'Deployment', name: inferred };
      }
      break;
    }
    if (!info.controller) break;
    current = info.controller;
  }
  return { kind: current.kind, name: current.name };
}

/** The Deployment a ReplicaSet name implies, given the pod-template-hash of its pods. */
function deploymentOfReplicaSet(replicaSet: string, hash: string | undefined): string | null {
  if (!hash) return null;
  const suffix = `-${hash}`;
  return replicaSet.length > suffix.length && replicaSet.endsWith(suffix)
    ? replicaSet.slice(0, -suffix.length)
    : null;
}
