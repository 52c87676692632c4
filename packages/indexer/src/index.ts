export {
  bulkConfigSchema,
  dataStreamConfigSchema,
  indexerConfigSchema,
  namespaceSchema,
  retryConfigSchema,
  topicsConfigSchema,
} from './config';
export type {
  BulkConfig,
  DataStreamConfig,
  IndexerConfig,
  RetryConfig,
  TopicsConfig,
} from './config';
export { BulkFatalError, SetupError } from './errors';
export type { SetupProblem } from './errors';
export { backoffMs } from './retry';
export type { BackoffOptions } from './retry';
export { transactionId } from './document-id';
export { createEncoder } from './encoder';
export type { EncodeResult } from './encoder';
export { DLQ_HEADERS, DeadLetterQueue } from './dead-letter';
export type { DeadLetter, DeadLetterStage } from './dead-letter';
export { IndexerMetrics, WriterMetrics } from './metrics';
export type { InFlight, RetryReason } from './metrics';
export { Committer, OffsetTracker } from './offsets';
export type { Ticket, TopicPartitionOffset } from './offsets';
export { BulkWriter } from './writer';
export type {
  BulkItem,
  BulkWriterOptions,
  ItemOutcome,
  JsonRenderer,
  OutcomeHandler,
  WrittenItem,
} from './writer';
export { startIndexer } from './indexer';
export type { RunningIndexer } from './indexer';
export { MIN_ELASTICSEARCH, assertSupportedVersion, runSetup } from './setup';
export type { SetupAction, SetupItem, SetupOptions, SetupReport } from './setup';
