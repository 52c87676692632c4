import { z } from 'zod';

// Configuration blocks shared by every component; a component's schema nests the ones it uses.

/** TLS settings: file paths, never inline keys (they would end up in logs and process lists). */
export const tlsSchema = z.strictObject({
  enabled: z.boolean().default(false),
  /** PEM file with the CA(s) that signed the server certificate; system CAs when absent. */
  caFile: z.string().optional(),
  /** PEM client certificate and key for mutual TLS. */
  certFile: z.string().optional(),
  keyFile: z.string().optional(),
  /** Only for test clusters with self-signed certificates; never disable in production. */
  rejectUnauthorized: z.boolean().default(true),
});

export const kafkaConfigSchema = z.strictObject({
  brokers: z.array(z.string().min(1)).min(1).default(['127.0.0.1:9092']),
  clientId: z.string().default('dnsflow'),
  connectionTimeoutMs: z.number().int().positive().default(3000),
  requestTimeoutMs: z.number().int().positive().default(30000),
  /** kafkajs retries with exponential backoff and jitter before an operation fails. */
  retries: z.number().int().min(0).default(5),
  initialRetryTimeMs: z.number().int().positive().default(300),
  tls: tlsSchema.default({ enabled: false, rejectUnauthorized: true }),
  sasl: z
    .strictObject({
      mechanism: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']),
      username: z.string().min(1),
      password: z.string().min(1),
    })
    .optional(),
});

export const elasticsearchConfigSchema = z.strictObject({
  nodes: z.array(z.url()).min(1).default(['http://127.0.0.1:9200']),
  /** Base64 `id:api_key` as Elasticsearch returns it in `encoded`. */
  apiKey: z.string().min(1).optional(),
  username: z.string().min(1).optional(),
  password: z.string().min(1).optional(),
  tls: tlsSchema.default({ enabled: false, rejectUnauthorized: true }),
  requestTimeoutMs: z.number().int().positive().default(30000),
  /** Client-level retries on connection errors; per-document retries are the indexer's. */
  maxRetries: z.number().int().min(0).default(3),
});

export const logConfigSchema = z.strictObject({
  level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export const metricsConfigSchema = z.strictObject({
  enabled: z.boolean().default(true),
  host: z.string().default('0.0.0.0'),
  port: z.number().int().min(0).max(65535).default(9464),
});

export const shutdownConfigSchema = z.strictObject({
  /** How long draining may take before the process exits anyway. */
  timeoutMs: z.number().int().positive().default(30000),
});

export type TlsConfig = z.infer<typeof tlsSchema>;
export type KafkaConfig = z.infer<typeof kafkaConfigSchema>;
export type ElasticsearchConfig = z.infer<typeof elasticsearchConfigSchema>;
export type LogConfig = z.infer<typeof logConfigSchema>;
export type MetricsConfig = z.infer<typeof metricsConfigSchema>;
export type ShutdownConfig = z.infer<typeof shutdownConfigSchema>;
