import { hostname } from 'node:os';
import { z } from 'zod';
import {
  kafkaConfigSchema,
  logConfigSchema,
  metricsConfigSchema,
  shutdownConfigSchema,
} from '@dnsflow/runtime';

const port = z.number().int().min(1).max(65535);
const MiB = 1024 * 1024;

/** Everything `dnsflow collect` reads (file + DNSFLOW_* env + flags; unknown keys rejected). */
export const collectorConfigSchema = z.strictObject({
  /** Node name written into every record; the Kubernetes node name in a DaemonSet. */
  node: z.string().min(1).default(hostname()),
  capture: z
    .strictObject({
      /** Interfaces to capture on; `any` captures all (Linux cooked headers). */
      interfaces: z.array(z.string().min(1)).min(1).default(['any']),
      /** DNS ports: 53 and any extras such as 5353 (mDNS) or a resolver on a high port. */
      ports: z.array(port).min(1).default([53]),
      /** Ports whose traffic is counted but not decoded (853 DNS over TLS: encrypted). */
      metadataPorts: z.array(port).default([]),
      /** A BPF filter replacing the one built from the ports. */
      filter: z.string().min(1).optional(),
      snaplenBytes: z.number().int().min(256).max(262144).default(65535),
      /** Kernel capture buffer per interface; too small means kernel drops under load. */
      bufferBytes: z
        .number()
        .int()
        .min(1 * MiB)
        .default(32 * MiB),
      promiscuous: z.boolean().default(false),
      /**
       * With several interfaces, how long a frame waits for earlier frames from the other
       * interfaces, so the copies of a packet (client side, across a NAT) pair in wire order.
       */
      reorderWindowMs: z.number().int().min(0).max(10_000).default(300),
    })
    .prefault({}),
  decode: z
    .strictObject({
      fragmentTimeoutMs: z.number().int().positive().default(30_000),
      maxFragmentBytes: z
        .number()
        .int()
        .positive()
        .default(16 * MiB),
      tcpMaxFlowBytes: z
        .number()
        .int()
        .positive()
        .default(256 * 1024),
      tcpMaxTotalBytes: z
        .number()
        .int()
        .positive()
        .default(64 * MiB),
      tcpIdleTimeoutMs: z.number().int().positive().default(60_000),
    })
    .prefault({}),
  pairing: z
    .strictObject({
      timeoutMs: z.number().int().positive().default(5000),
      maxPending: z.number().int().positive().default(100_000),
      /** Memory bound of the pending table (query bytes + ~400 bytes each). */
      maxPendingBytes: z
        .number()
        .int()
        .positive()
        .default(160 * MiB),
      duplicateWindowMs: z.number().int().min(0).default(50),
    })
    .prefault({}),
  kafka: kafkaConfigSchema.prefault({}),
  publish: z
    .strictObject({
      topic: z.string().min(1).default('dns.raw'),
      batchSize: z.number().int().positive().default(500),
      lingerMs: z.number().int().positive().default(100),
      maxQueued: z.number().int().positive().default(20_000),
      compression: z.enum(['gzip', 'none']).default('gzip'),
      /** Unacknowledged this long, a send counts as failed and its records are spooled. */
      sendTimeoutMs: z.number().int().positive().default(10_000),
      retryInitialMs: z.number().int().positive().default(500),
      retryMaxMs: z.number().int().positive().default(30_000),
    })
    .prefault({}),
  spool: z
    .strictObject({
      dir: z.string().min(1).default('/var/lib/dnsflow/spool'),
      maxBytes: z
        .number()
        .int()
        .positive()
        .default(1024 * MiB),
      segmentBytes: z
        .number()
        .int()
        .positive()
        .default(16 * MiB),
    })
    .prefault({}),
  dnsMetrics: z
    .strictObject({
      prefix: z.string().default('dnsflow_'),
      /**
       * The `source` label of the DNS metrics: none, the client address, or the client's
       * `namespace/workload` from `workloadsFile`.
       */
      sourceContext: z.enum(['none', 'ip', 'workload']).default('none'),
      /** JSON map of `namespace/workload` → addresses/CIDRs (see workloads.ts). */
      workloadsFile: z.string().min(1).optional(),
    })
    .refine((m) => m.sourceContext !== 'workload' || m.workloadsFile !== undefined, {
      message: 'a JSON workload map file (sourceContext workload reads one)',
      path: ['workloadsFile'],
    })
    .prefault({}),
  metrics: metricsConfigSchema.prefault({}),
  log: logConfigSchema.prefault({}),
  shutdown: shutdownConfigSchema.prefault({}),
});

export type CollectorConfig = z.infer<typeof collectorConfigSchema>;
