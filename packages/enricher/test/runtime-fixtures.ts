import type { DnsTransaction } from '@dnsflow/schema';
import type { ApiObject } from '../src/informers/types';
import { transaction } from './support/kube';

// Small API-server-shaped objects and collector records for the runtime tests.

const CREATED = '2026-01-01T00:00:00Z';

/** A running pod with one IP, as the API server sends it (list items carry no kind). */
export function podObject(
  namespace: string,
  name: string,
  ip: string,
  options: { uid?: string; rv?: string; node?: string; created?: string } = {},
): ApiObject {
  return {
    metadata: {
      name,
      namespace,
      uid: options.uid ?? `uid-${namespace}-${name}`,
      resourceVersion: options.rv ?? '1',
      creationTimestamp: options.created ?? CREATED,
      labels: { app: name },
    },
    spec: { nodeName: options.node ?? 'node-a', containers: [{ name: 'main' }] },
    status: {
      phase: 'Running',
      podIP: ip,
      podIPs: [{ ip }],
      hostIP: '192.168.0.10',
      startTime: options.created ?? CREATED,
    },
  };
}

/** A node with one internal address. */
export function nodeObject(name: string, ip: string, rv = '1'): ApiObject {
  return {
    metadata: { name, uid: `uid-node-${name}`, resourceVersion: rv, creationTimestamp: CREATED },
    spec: {},
    status: { addresses: [{ type: 'InternalIP', address: ip }] },
  };
}

/** A ClusterIP service. */
export function serviceObject(namespace: string, name: string, clusterIP: string): ApiObject {
  return {
    metadata: {
      name,
      namespace,
      uid: `uid-svc-${namespace}-${name}`,
      resourceVersion: '1',
      creationTimestamp: CREATED,
    },
    spec: { type: 'ClusterIP', clusterIP, clusterIPs: [clusterIP] },
  };
}

/** A collector record: `client` asks `server` for `name` at `startTimeUs` (µs precision). */
export function record(
  client: string,
  server: string,
  name: string,
  startTimeUs: number,
  dnsId = 1,
): DnsTransaction {
  return transaction(new Date(startTimeUs / 1000).toISOString(), client, server, name, {
    captureTimeUs: startTimeUs + 1000,
    startTimeUs,
    endTimeUs: startTimeUs + 500,
    latencyUs: 500,
    client: { ip: client, port: 40000 + (dnsId % 20000) },
    dnsId: dnsId & 0xffff,
  });
}
