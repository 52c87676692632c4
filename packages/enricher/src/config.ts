import { hostname } from 'node:os';
import { z } from 'zod';
import {
  kafkaConfigSchema,
  logConfigSchema,
  metricsConfigSchema,
  shutdownConfigSchema,
} from '@dnsflow/runtime';
import { enrichmentConfigSchema } from './enrich';

const MiB = 1024 * 1024;
const topic = z.string().min(1);

/** Everything `dnsflow enrich` reads (file + DNSFLOW_* env + flags; unknown keys rejected). */
export const enricherConfigSchema = z.strictObject({
  kafka: kafkaConfigSchema.prefault({}),
  topics: z
    .strictObject({
      /** Collector records (DnsTransaction) are read from here. */
      input: topic.default('dns.raw'),
      /** Enriched records (EnrichedDnsTransaction) are written here. */
      output: topic.default('dns.enriched'),
      /** Records that cannot be decoded or enriched go here with the reason in headers. */
      deadLetter: topic.default('dns.dlq'),
    })
    .prefault({}),
  consumer: z
    .strictObject({
      groupId: z.string().min(1).default('dnsflow-enricher'),
      /**
       * Input partitions processed at once. Each has its own transaction, so more of them
       * overlap Kafka round trips; one partition's records always stay in order.
       */
      partitionsConcurrently: z.number().int().min(1).max(64).default(4),
      /** Bytes fetched per partition and request: with the delay buffer, the memory bound. */
      maxBytesPerPartition: z
        .number()
        .int()
        .min(64 * 1024)
        .default(1 * MiB),
      /**
       * A fetch waits for this many bytes or `fetchMaxWaitMs`, whichever comes first: larger
       * batches mean fewer fetches and fewer transactions (each one several Kafka requests),
       * at the cost of up to `fetchMaxWaitMs` of latency when traffic is light. Default 1
       * byte: with 256 KiB the delay buffer held fewer of the records that arrived while the
       * watches were cut (test/integration/enricher-kubernetes.test.ts), not yet explained.
       */
      fetchMinBytes: z.number().int().min(1).default(1),
      fetchMaxWaitMs: z.number().int().min(0).max(5000).default(200),
      sessionTimeoutMs: z.number().int().min(6000).default(30_000),
      /** Where a new group starts: the oldest record (`earliest`) or only new ones. */
      fromBeginning: z.boolean().default(true),
    })
    .prefault({}),
  delivery: z
    .strictObject({
      /**
       * `exactly-once`: each input partition's output and its consumer offset are committed
       * in one Kafka transaction (downstream readers use read_committed). `at-least-once`:
       * plain idempotent sends, offsets committed after the broker acknowledged them; a crash
       * can repeat the records since the last commit.
       */
      mode: z.enum(['exactly-once', 'at-least-once']).default('exactly-once'),
      /**
       * Prefix of the transactional ids; the input topic and partition are appended, so a
       * partition moving to another instance fences the previous owner's producer. Must be
       * the same across the instances of one deployment and unique to it.
       */
      transactionalIdPrefix: z.string().min(1).default('dnsflow-enricher'),
      /** gzip like the collector, or none. */
      compression: z.enum(['gzip', 'none']).default('gzip'),
    })
    .prefault({}),
  kubernetes: z
    .strictObject({
      /**
       * `in-cluster`: the pod's service account; `kubeconfig`: the file at `kubeconfig`
       * (or $KUBECONFIG, ~/.kube/config); `none`: no informers (inventory file only);
       * `auto`: in-cluster inside a pod, else a kubeconfig when one exists, else none.
       */
      source: z.enum(['auto', 'in-cluster', 'kubeconfig', 'none']).default('auto'),
      kubeconfig: z.string().min(1).optional(),
      /** Context in the kubeconfig; its current context when absent. */
      context: z.string().min(1).optional(),
      /** Objects per list page (the API server's `limit`), bounding one response's memory. */
      listPageSize: z.number().int().min(1).max(10_000).default(500),
      /** Server-side end of one watch; it is reopened from the last resourceVersion. */
      watchTimeoutSeconds: z.number().int().min(10).max(3600).default(300),
      /** Reconnect backoff after a failed list or watch: first delay and cap (jittered). */
      retryInitialMs: z.number().int().positive().default(500),
      retryMaxMs: z.number().int().positive().default(30_000),
      /** How long start-up waits for the first complete list before consuming anyway. */
      syncTimeoutMs: z.number().int().positive().default(60_000),
    })
    .prefault({}),
  /** YAML/JSON file of pods, services and nodes with IPs, for hosts outside Kubernetes. */
  inventoryFile: z.string().min(1).optional(),
  /** Identity store, label allow-list, tombstone window, cluster domain, search list, domains. */
  enrichment: enrichmentConfigSchema.prefault({}),
  delay: z
    .strictObject({
      /**
       * A record with an unknown address waits this long at most, while the informers are
       * catching up, before it is emitted with that side unknown (counted).
       */
      maxWaitMs: z.number().int().min(0).default(2000),
      /**
       * Records held across all partitions (a waiting record and those behind it). Past
       * this the oldest waiting record is emitted unknown at once (counted, reason
       * `buffer_full`) so memory stays bounded.
       */
      maxRecords: z.number().int().positive().default(20_000),
    })
    .prefault({}),
  /** Name written into metrics and logs; the pod name in a Deployment. */
  instance: z.string().min(1).default(hostname()),
  /** Port 9465 by default, beside the collector's 9464 on the same host. */
  metrics: metricsConfigSchema.prefault({ port: 9465 }),
  log: logConfigSchema.prefault({}),
  shutdown: shutdownConfigSchema.prefault({}),
});

export type EnricherConfig = z.infer<typeof enricherConfigSchema>;
