import { isIP } from 'node:net';
import type { QueryTarget } from '@dnsflow/schema';
import type { ClusterDirectory } from '../identity/store';

/** The cluster domain when none is configured. */
export const DEFAULT_CLUSTER_DOMAIN = 'cluster.local';

/**
 * What a name under the cluster domain names, by the Kubernetes DNS specification:
 *
 * - `service`: `<svc>.<ns>.svc.<cd>`, or the SRV form `_<port>._<proto>.<svc>.<ns>.svc.<cd>`
 * - `service-pod`: `<hostname>.<svc>.<ns>.svc.<cd>`, a pod behind a headless service
 *   (`hostname` is the pod's spec.hostname, or its IP with dashes when it has none)
 * - `pod-ip`: `<a-b-c-d>.<ns>.pod.<cd>` (IPv6 with dashes for colons)
 * - `other`: anything else under the cluster domain
 */
export type ClusterName =
  | { form: 'service'; namespace: string; service: string }
  | { form: 'service-pod'; namespace: string; service: string; hostname: string }
  | { form: 'pod-ip'; namespace: string; ip: string }
  | { form: 'other' };

const OTHER: ClusterName = Object.freeze({ form: 'other' });

/** Whether `name` is `suffix` or ends with `.suffix`. */
export function isUnder(name: string, suffix: string): boolean {
  return (
    name === suffix ||
    (name.length > suffix.length &&
      name.endsWith(suffix) &&
      name.charCodeAt(name.length - suffix.length - 1) === 0x2e)
  );
}

/** The IP a dashed label spells (`10-1-2-3`, `fd00--a`), or null. */
export function dashedIp(label: string): string | null {
  // Most labels are words: only digits, hex letters and dashes can spell an address.
  if (!label.includes('-') || !/^[0-9a-f-]+$/.test(label)) return null;
  const v4 = label.replace(/-/g, '.');
  if (isIP(v4) === 4) return v4;
  const v6 = label.replace(/-/g, ':');
  return isIP(v6) === 6 ? v6 : null;
}

/**
 * Parses a normalised name (lowercase, no trailing dot) against the cluster domain; null
 * when the name is not under it.
 */
export function parseClusterName(name: string, clusterDomain: string): ClusterName | null {
  if (!isUnder(name, clusterDomain)) return null;
  if (name === clusterDomain) return OTHER;
  const labels = name.slice(0, name.length - clusterDomain.length - 1).split('.');
  const zone = labels[labels.length - 1];
  const rest = labels.slice(0, -1);
  if (zone === 'svc') {
    if (rest.length === 2) return { form: 'service', namespace: rest[1]!, service: rest[0]! };
    if (rest.length === 4 && rest[0]!.startsWith('_') && rest[1]!.startsWith('_')) {
      return { form: 'service', namespace: rest[3]!, service: rest[2]! };
    }
    if (rest.length === 3) {
      return { form: 'service-pod', namespace: rest[2]!, service: rest[1]!, hostname: rest[0]! };
    }
    return OTHER;
  }
  if (zone === 'pod' && rest.length === 2) {
    const ip = dashedIp(rest[0]!);
    if (ip) return { form: 'pod-ip', namespace: rest[1]!, ip };
  }
  return OTHER;
}

const EXTERNAL_TARGET: QueryTarget = Object.freeze({
  internal: false,
  kind: null,
  namespace: null,
  name: null,
});
const UNNAMED_INTERNAL: QueryTarget = Object.freeze({
  internal: true,
  kind: null,
  namespace: null,
  name: null,
});

/**
 * What the queried name is as of `atUs`: for a cluster name, the service or pod it names
 * (kind null, with the namespace and name the query claims, when no such object existed
 * then); for any other name `internal: false`.
 */
export function queryTarget(
  name: string,
  atUs: number,
  directory: ClusterDirectory | null,
  clusterDomain: string,
): QueryTarget {
  const parsed = parseClusterName(name, clusterDomain);
  if (!parsed) return EXTERNAL_TARGET;
  switch (parsed.form) {
    case 'other':
      return UNNAMED_INTERNAL;
    case 'service': {
      const found = directory?.findService(parsed.namespace, parsed.service, atUs);
      return {
        internal: true,
        kind: found ? 'service' : null,
        namespace: parsed.namespace,
        name: parsed.service,
      };
    }
    case 'service-pod': {
      const pod = directory ? podBehindService(directory, parsed, atUs) : null;
      return {
        internal: true,
        kind: pod ? 'pod' : null,
        namespace: parsed.namespace,
        name: pod ?? parsed.hostname,
      };
    }
    case 'pod-ip': {
      const resolution = directory?.resolve(parsed.ip, atUs);
      const pod =
        resolution?.status === 'found' &&
        resolution.identity.pod !== null &&
        resolution.identity.namespace === parsed.namespace
          ? resolution.identity.pod
          : null;
      return {
        internal: true,
        kind: pod ? 'pod' : null,
        namespace: parsed.namespace,
        name: pod ?? parsed.ip,
      };
    }
  }
}

/** Name of the pod `<hostname>.<svc>.<ns>.svc` names: by spec.hostname, else by dashed IP. */
function podBehindService(
  directory: ClusterDirectory,
  parsed: { namespace: string; service: string; hostname: string },
  atUs: number,
): string | null {
  const byName = directory.findPodByHostname(
    parsed.namespace,
    parsed.service,
    parsed.hostname,
    atUs,
  );
  if (byName?.pod) return byName.pod;
  const ip = dashedIp(parsed.hostname);
  if (!ip) return null;
  const resolution = directory.resolve(ip, atUs);
  if (resolution.status !== 'found') return null;
  const who = resolution.identity;
  return who.pod !== null && who.namespace === parsed.namespace ? who.pod : null;
}
