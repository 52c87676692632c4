import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { isIP } from 'node:net';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import type {
  KubeEndpointSlice,
  KubeNode,
  KubeObject,
  KubePod,
  KubeService,
  KubeWatchEvent,
  ResourceKind,
} from './identity/kube';
import type { IdentityStore } from './identity/store';

// A static inventory names pods, services and nodes with their addresses, for hosts outside
// Kubernetes and for replaying old captures when the cluster's past state is known. Entries
// become Kubernetes-shaped objects fed to the same identity store as the informers, with
// their validity (`from`, `to`) as the times of their ADDED and DELETED events:
//
//   nodes:
//     - { name: node-a, ips: [192.168.10.11], podCIDRs: [10.244.1.0/24] }
//   pods:
//     - name: web-7d4b9c-x2x9q
//       namespace: shop
//       ip: 10.244.1.17
//       node: node-a
//       labels: { app: web }
//       workload: { kind: Deployment, name: web }
//       from: 2026-03-01T10:00:00Z
//       to: 2026-03-01T12:00:00Z
//   services:
//     - name: web
//       namespace: shop
//       clusterIP: 10.96.4.20            # "None" for a headless service
//       endpoints: [{ ip: 10.244.1.17, pod: web-7d4b9c-x2x9q }]

const ip = z.string().refine((v) => isIP(v) !== 0, { message: 'an IPv4 or IPv6 address' });
const cidr = z.string().refine(
  (v) => {
    const [address, bits, extra] = v.split('/');
    const family = address ? isIP(address) : 0;
    const prefix = Number(bits);
    return (
      extra === undefined &&
      family !== 0 &&
      Number.isInteger(prefix) &&
      prefix >= 0 &&
      prefix <= (family === 4 ? 32 : 128)
    );
  },
  { message: 'a CIDR such as 10.244.0.0/16' },
);
const name = z.string().min(1);
/** RFC 3339 with an offset or Z, e.g. 2026-03-01T10:00:00Z. */
const time = z.iso.datetime({ offset: true });
const labels = z.record(z.string(), z.string());
const validity = { from: time.optional(), to: time.optional() };

const podEntry = z
  .strictObject({
    name,
    namespace: name.default('default'),
    uid: name.optional(),
    ip: ip.optional(),
    ips: z.array(ip).optional(),
    node: name.optional(),
    labels: labels.optional(),
    hostNetwork: z.boolean().default(false),
    /** Ports a hostNetwork pod listens on at its node's addresses. */
    ports: z.array(z.number().int().min(1).max(65535)).optional(),
    hostname: name.optional(),
    subdomain: name.optional(),
    workload: z.strictObject({ kind: name, name }).optional(),
    ...validity,
  })
  .refine((p) => p.hostNetwork || p.ip !== undefined || (p.ips?.length ?? 0) > 0, {
    message: 'ip or ips (a pod without an address joins nothing), or hostNetwork: true',
    path: ['ip'],
  });

const serviceEntry = z.strictObject({
  name,
  namespace: name.default('default'),
  type: z.enum(['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName']).default('ClusterIP'),
  clusterIP: z.union([ip, z.literal('None')]).optional(),
  clusterIPs: z.array(ip).optional(),
  endpoints: z
    .array(z.strictObject({ ip, pod: name.optional(), hostname: name.optional() }))
    .optional(),
  ...validity,
});

const nodeEntry = z
  .strictObject({
    name,
    ip: ip.optional(),
    ips: z.array(ip).optional(),
    podCIDRs: z.array(cidr).optional(),
    ...validity,
  })
  .refine((n) => n.ip !== undefined || (n.ips?.length ?? 0) > 0, {
    message: 'ip or ips',
    path: ['ip'],
  });

/** The inventory file's schema (unknown keys rejected). */
export const inventorySchema = z.strictObject({
  pods: z.array(podEntry).default([]),
  services: z.array(serviceEntry).default([]),
  nodes: z.array(nodeEntry).default([]),
});

export type Inventory = z.infer<typeof inventorySchema>;

/** One problem in an inventory: where, what was expected, what was found. */
export interface InventoryProblem {
  /** Path in the document, e.g. `pods[3].ip`. */
  path: string;
  expected: string;
  found: string;
}

/** An inventory file that cannot be used; the message lists every problem with its path. */
export class InventoryError extends Error {
  override readonly name = 'InventoryError';
  /** Reading the same file again gives the same answer. */
  readonly retriable = false;

  constructor(
    /** The file, or `<inline>` for text parsed directly. */
    readonly source: string,
    readonly problems: readonly InventoryProblem[],
    options?: { cause?: unknown },
  ) {
    super(
      `invalid inventory ${source}:\n${problems
        .map((p) => `  ${p.path || '(root)'}: expected ${p.expected}, found ${p.found}`)
        .join('\n')}`,
      options,
    );
  }
}

function pathText(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    out += typeof part === 'number' ? `[${part}]` : out === '' ? String(part) : `.${String(part)}`;
  }
  return out;
}

function valueAt(tree: unknown, path: readonly PropertyKey[]): unknown {
  let node = tree;
  for (const key of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<PropertyKey, unknown>)[key];
  }
  return node;
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value);
  const shown = text.length > 60 ? `${text.slice(0, 57)}...` : text;
  return `${Array.isArray(value) ? 'list' : value === null ? 'null' : typeof value} ${shown}`;
}

/** Validates an inventory document (already parsed from YAML or JSON). */
export function validateInventory(document: unknown, source = '<inline>'): Inventory {
  const result = inventorySchema.safeParse(document ?? {});
  if (!result.success) {
    throw new InventoryError(
      source,
      result.error.issues.flatMap((issue): InventoryProblem[] => {
        if (issue.code === 'unrecognized_keys') {
          return issue.keys.map((k) => ({
            path: pathText([...issue.path, k]),
            expected: 'no such key (unknown keys are rejected)',
            found: describe(valueAt(document, [...issue.path, k])),
          }));
        }
        const expected =
          issue.code === 'invalid_type'
            ? issue.expected
            : issue.message.replace(/^Invalid (option|input): /, '').replace(/^expected /, '');
        return [
          { path: pathText(issue.path), expected, found: describe(valueAt(document, issue.path)) },
        ];
      }),
    );
  }
  const inventory = result.data;
  const problems = [
    ...overlaps('pods', inventory.pods),
    ...overlaps('services', inventory.services),
    ...overlaps('nodes', inventory.nodes),
    ...inverted('pods', inventory.pods),
    ...inverted('services', inventory.services),
    ...inverted('nodes', inventory.nodes),
  ];
  if (problems.length > 0) throw new InventoryError(source, problems);
  return inventory;
}

interface Dated {
  name: string;
  namespace?: string;
  from?: string | undefined;
  to?: string | undefined;
}

const startOf = (e: Dated): number => (e.from ? Date.parse(e.from) : -Infinity);
const endOf = (e: Dated): number => (e.to ? Date.parse(e.to) : Infinity);

function inverted(list: string, entries: readonly Dated[]): InventoryProblem[] {
  return entries.flatMap((e, i) =>
    startOf(e) >= endOf(e)
      ? [{ path: `${list}[${i}].to`, expected: `a time after from (${e.from})`, found: `${e.to}` }]
      : [],
  );
}

/** Two entries with the same name must not be valid at the same time. */
function overlaps(list: string, entries: readonly Dated[]): InventoryProblem[] {
  const problems: InventoryProblem[] = [];
  const byName = new Map<string, number[]>();
  entries.forEach((e, i) => {
    const key = `${e.namespace ?? ''}/${e.name}`;
    for (const j of byName.get(key) ?? []) {
      const other = entries[j]!;
      if (startOf(e) < endOf(other) && startOf(other) < endOf(e)) {
        problems.push({
          path: `${list}[${i}]`,
          expected: `a validity (from/to) apart from ${list}[${j}], which has the same name`,
          found: `${e.namespace ? `${e.namespace}/` : ''}${e.name} valid at the same time`,
        });
      }
    }
    byName.set(key, [...(byName.get(key) ?? []), i]);
  });
  return problems;
}

/** Parses inventory text (YAML, of which JSON is a subset); `source` names it in errors. */
export function parseInventory(text: string, source = '<inline>', json = false): Inventory {
  let document: unknown;
  try {
    document = json ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new InventoryError(
      source,
      [{ path: '', expected: json ? 'JSON' : 'YAML', found: (err as Error).message }],
      { cause: err },
    );
  }
  if (
    document !== null &&
    document !== undefined &&
    (typeof document !== 'object' || Array.isArray(document))
  ) {
    throw new InventoryError(source, [
      {
        path: '',
        expected: 'a mapping with pods, services and nodes',
        found: describe(document),
      },
    ]);
  }
  return validateInventory(document, source);
}

/** Reads and validates an inventory file (`.json` as JSON, anything else as YAML). */
export function loadInventoryFile(path: string): Inventory {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new InventoryError(
      path,
      [{ path: '', expected: 'a readable file', found: (err as Error).message }],
      { cause: err },
    );
  }
  return parseInventory(text, path, extname(path) === '.json');
}

/** Options of {@link applyInventory}. */
export interface ApplyInventoryOptions {
  /**
   * The inventory is the only identity source (no informers): the store counts as synced
   * and current, so an IP it does not name is external at once instead of pending.
   */
  authoritative?: boolean;
}

/** What {@link applyInventory} loaded. */
export interface InventorySummary {
  pods: number;
  services: number;
  nodes: number;
  events: number;
}

interface TimedEvent {
  atUs: number;
  order: number;
  event: KubeWatchEvent;
}

const micros = (text: string | undefined): number | null =>
  text === undefined ? null : Date.parse(text) * 1000;

/**
 * Loads an inventory into the store: each entry is an object added at its `from` (or held
 * since ever) and deleted at its `to`, applied in time order so an IP handed from one entry
 * to another keeps both in its timeline. Inventory intervals are pinned: never pruned,
 * evicted, or removed by an informer's re-list.
 */
export function applyInventory(
  store: IdentityStore,
  inventory: Inventory,
  options: ApplyInventoryOptions = {},
): InventorySummary {
  const events: TimedEvent[] = [];
  const add = (kind: ResourceKind, object: KubeObject, from?: string, to?: string): void => {
    const fromUs = micros(from) ?? 0;
    events.push({ atUs: fromUs, order: 1, event: { type: 'ADDED', kind, object } });
    const toUs = micros(to);
    if (toUs !== null)
      events.push({ atUs: toUs, order: 0, event: { type: 'DELETED', kind, object } });
  };

  for (const n of inventory.nodes) add('Node', nodeObject(n), n.from, n.to);
  for (const s of inventory.services) {
    add('Service', serviceObject(s), s.from, s.to);
    if (s.endpoints) add('EndpointSlice', sliceObject(s), s.from, s.to);
  }
  for (const p of inventory.pods) add('Pod', podObject(p), p.from, p.to);

  // Deletions before additions at the same instant: an IP handed over at time t goes to the
  // new holder from t on.
  events.sort((a, b) => a.atUs - b.atUs || a.order - b.order);
  for (const { atUs, event } of events) store.apply(event, atUs, { pinned: true });

  if (options.authoritative) {
    for (const kind of ['Pod', 'Service', 'EndpointSlice', 'Node'] as const) store.markSynced(kind);
    store.advance(Infinity);
  }
  return {
    pods: inventory.pods.length,
    services: inventory.services.length,
    nodes: inventory.nodes.length,
    events: events.length,
  };
}

function creation(from: string | undefined): string {
  return from ?? new Date(0).toISOString();
}

function podObject(p: Inventory['pods'][number]): KubePod {
  const ips = [...new Set([...(p.ip ? [p.ip] : []), ...(p.ips ?? [])])];
  return {
    kind: 'Pod',
    metadata: {
      name: p.name,
      namespace: p.namespace,
      uid: p.uid,
      labels: p.labels,
      creationTimestamp: creation(p.from),
      ownerReferences: p.workload
        ? [{ kind: p.workload.kind, name: p.workload.name, controller: true }]
        : undefined,
    },
    spec: {
      nodeName: p.node,
      hostNetwork: p.hostNetwork,
      hostname: p.hostname,
      subdomain: p.subdomain,
      containers: p.ports ? [{ ports: p.ports.map((port) => ({ containerPort: port })) }] : [],
    },
    status: {
      phase: 'Running',
      podIP: ips[0],
      podIPs: ips.map((address) => ({ ip: address })),
    },
  };
}

function serviceObject(s: Inventory['services'][number]): KubeService {
  return {
    kind: 'Service',
    metadata: { name: s.name, namespace: s.namespace, creationTimestamp: creation(s.from) },
    spec: { type: s.type, clusterIP: s.clusterIP, clusterIPs: s.clusterIPs },
  };
}

function sliceObject(s: Inventory['services'][number]): KubeEndpointSlice {
  return {
    kind: 'EndpointSlice',
    metadata: {
      name: `${s.name}-inventory`,
      namespace: s.namespace,
      labels: { 'kubernetes.io/service-name': s.name },
    },
    endpoints: (s.endpoints ?? []).map((e) => ({
      addresses: [e.ip],
      hostname: e.hostname,
      targetRef: e.pod ? { kind: 'Pod', name: e.pod, namespace: s.namespace } : undefined,
    })),
  };
}

function nodeObject(n: Inventory['nodes'][number]): KubeNode {
  const ips = [...new Set([...(n.ip ? [n.ip] : []), ...(n.ips ?? [])])];
  return {
    kind: 'Node',
    metadata: { name: n.name, creationTimestamp: creation(n.from) },
    spec: { podCIDRs: n.podCIDRs },
    status: { addresses: ips.map((address) => ({ type: 'InternalIP', address })) },
  };
}
