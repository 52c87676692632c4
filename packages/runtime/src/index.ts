export { ConfigError } from './errors';
export type { ConfigProblem } from './errors';
export { loadConfig } from './config';
export type { ConfigSources } from './config';
export {
  elasticsearchConfigSchema,
  kafkaConfigSchema,
  logConfigSchema,
  metricsConfigSchema,
  shutdownConfigSchema,
  tlsSchema,
} from './schemas';
export type {
  ElasticsearchConfig,
  KafkaConfig,
  LogConfig,
  MetricsConfig,
  ShutdownConfig,
  TlsConfig,
} from './schemas';
export { REDACTED_PATHS, createLogger } from './logger';
export type { Logger } from './logger';
export { createRegistry, createStageMetrics, startMetricsServer } from './metrics';
export type { CheckResult, HealthCheck, MetricsServer, StageMetrics } from './metrics';
export { createKafka } from './kafka';
export {
  MAX_DECOMPRESSED_BATCH_BYTES,
  decompressGzipBatch,
  gzipCodec,
  installGzipCodec,
} from './gzip';
export { createElasticsearch } from './elasticsearch';
export { tlsOptions } from './tls';
export { createShutdown } from './shutdown';
export type { Shutdown, ShutdownOptions, ShutdownStep } from './shutdown';
