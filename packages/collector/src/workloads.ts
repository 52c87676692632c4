import { readFileSync } from 'node:fs';
import { BlockList, isIP } from 'node:net';
import { z } from 'zod';
import { WorkloadMapError } from './errors';

/** The label value of an address no entry of the map covers. */
export const UNKNOWN_WORKLOAD = 'unknown';

/** Addresses looked up are remembered up to this many; then the memory starts over. */
const MAX_CACHED = 65536;

const addressOrCidr = z.string().refine(
  (text) => {
    const [address = '', prefix, extra] = text.split('/');
    const family = isIP(address);
    if (family === 0 || extra !== undefined) return false;
    if (prefix === undefined) return true;
    const bits = Number(prefix);
    return /^\d+$/.test(prefix) && bits <= (family === 4 ? 32 : 128);
  },
  { message: 'expected an IPv4 or IPv6 address, or one with a /prefix' },
);

const workloadMapSchema = z.strictObject({
  /** `namespace/workload` → the pod addresses and CIDRs of that workload. */
  workloads: z.record(
    z.string().regex(/^[^/\s]+\/[^/\s]+$/, 'expected namespace/workload'),
    z.array(addressOrCidr).min(1),
  ),
});

interface Entry {
  workload: string;
  prefix: number;
  list: BlockList;
}

/**
 * Which workload an address belongs to, from a static file: the `workload` source
 * context of the DNS metrics without the enricher. The file is JSON,
 * `{"workloads": {"kube-system/coredns": ["10.244.0.3", "10.244.1.0/24"], ...}}`,
 * generated from the cluster by whatever the operator uses; the label's values are the
 * file's names plus `unknown`, so the metrics stay bounded. The most specific entry wins
 * when several cover an address. Matching is node:net's BlockList, one per entry.
 */
export class WorkloadMap {
  private readonly entries: Entry[] = [];
  private readonly cache = new Map<string, string>();

  constructor(workloads: Record<string, string[]>) {
    for (const [workload, addresses] of Object.entries(workloads)) {
      for (const text of addresses) {
        const [address = '', prefix] = text.split('/');
        const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
        const bits = prefix === undefined ? (family === 'ipv4' ? 32 : 128) : Number(prefix);
        const list = new BlockList();
        list.addSubnet(address, bits, family);
        this.entries.push({ workload, prefix: bits, list });
      }
    }
    this.entries.sort((a, b) => b.prefix - a.prefix);
  }

  /** `namespace/workload` of an address, or `unknown`. */
  lookup(ip: string): string {
    let workload = this.cache.get(ip);
    if (workload === undefined) {
      workload = UNKNOWN_WORKLOAD;
      const family = isIP(ip) === 6 ? 'ipv6' : 'ipv4';
      for (const entry of this.entries) {
        if (entry.list.check(ip, family)) {
          workload = entry.workload;
          break;
        }
      }
      if (this.cache.size >= MAX_CACHED) this.cache.clear();
      this.cache.set(ip, workload);
    }
    return workload;
  }
}

/** Reads and checks a workload map file; throws {@link WorkloadMapError} naming what is wrong. */
export function loadWorkloadMap(path: string): WorkloadMap {
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    const detail = err instanceof Error ? err.message : String(err);
    throw new WorkloadMapError(path, `cannot read it as JSON: ${detail}`, { cause: err });
  }
  const parsed = workloadMapSchema.safeParse(doc);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => {
      const where = i.path.map(String).join('.') || '(top)';
      // zod reports a bad record key without the key check's own message.
      return `${where}: ${i.code === 'invalid_key' ? 'expected namespace/workload as the name' : i.message}`;
    });
    throw new WorkloadMapError(path, problems.join('; '));
  }
  return new WorkloadMap(parsed.data.workloads);
}
