export { RESOURCE_KINDS, OWNER_KINDS, isResourceKind, kubeTimeMicros } from './identity/kube';
export type {
  KubeContainerPort,
  KubeEndpoint,
  KubeEndpointSlice,
  KubeNode,
  KubeObject,
  KubeObjectMeta,
  KubeOwnerObject,
  KubeOwnerReference,
  KubePod,
  KubeService,
  KubeTime,
  KubeWatchEvent,
  ResourceKind,
} from './identity/kube';
export { Timeline, identityKey } from './identity/timeline';
export type {
  TimelineLookup,
  TimelineOptions,
  TimelineSetOptions,
  TimelineStats,
} from './identity/timeline';
export { controllerOf, resolveWorkload } from './identity/owners';
export type { OwnerInfo, OwnerLookup, Workload } from './identity/owners';
export { DEFAULT_LABEL_ALLOW_LIST, labelFilter } from './identity/labels';
export type { LabelFilter } from './identity/labels';
export { IdentityStore, hostnameKey, identityOf, serviceKey } from './identity/store';
export type {
  ApplyIgnoredReason,
  ApplyOptions,
  ApplyResult,
  ClusterDirectory,
  IdentityStoreOptions,
  IdentityStoreStats,
  PendingReason,
  ReplaceResult,
  Resolution,
  UnknownReason,
} from './identity/store';
export { domainFeatures } from './domain/features';
export type { DomainFeatureOptions } from './domain/features';
export {
  DEFAULT_CLUSTER_DOMAIN,
  dashedIp,
  isUnder,
  parseClusterName,
  queryTarget,
} from './domain/cluster-names';
export type { ClusterName } from './domain/cluster-names';
export { SearchListDetector } from './domain/search-list';
export type { SearchListOptions, SearchListStats, SearchQuery } from './domain/search-list';
export {
  createEnrichment,
  enrichRecord,
  enrichmentConfigSchema,
  enrichmentOf,
  recordTimeUs,
  tryEnrich,
  tryEnrichment,
} from './enrich';
export type {
  EnrichDeps,
  EnrichOutcome,
  Enrichment,
  EnrichmentConfig,
  EnrichmentOutcome,
  End,
  JoinRecord,
  PendingOutcome,
  Side,
} from './enrich';
export {
  InventoryError,
  applyInventory,
  inventorySchema,
  loadInventoryFile,
  parseInventory,
  validateInventory,
} from './inventory';
export type {
  ApplyInventoryOptions,
  Inventory,
  InventoryProblem,
  InventorySummary,
} from './inventory';
export { enricherConfigSchema } from './config';
export type { EnricherConfig } from './config';
export { EnricherMetrics } from './metrics';
export type { DeadLetterReason, JoinSide, UnknownIpReason } from './metrics';
export { resolveKubeSource, startEnricher } from './enricher';
export type { EnricherOptions, RunningEnricher } from './enricher';
export { KubeApiError, RESOURCES } from './informers/types';
export type {
  ApiObject,
  ApiObjectMeta,
  KubeTransport,
  ListPage,
  ResourceName,
  ResourceSpec,
  WatchEventType,
  WatchStream,
} from './informers/types';
export { Informer } from './informers/informer';
export type { InformerOptions, InformerSink } from './informers/informer';
export { InformerSet, WATCHED } from './informers/informer-set';
export type { IdentitySource } from './informers/informer-set';
export { createKubeTransport } from './informers/kube-client';
export type { KubeClientOptions } from './informers/kube-client';
export { BatchProcessor } from './pipeline/batch';
export type {
  BatchCodecs,
  BatchControl,
  BatchProcessorOptions,
  InputMessage,
} from './pipeline/batch';
export { DEAD_LETTER_HEADERS, deadLetter } from './pipeline/dead-letter';
export { RecordTranscoder } from './pipeline/transcoder';
export { KeyHashPartitioner, murmur2 } from './pipeline/partitioner';
export type { DecodedInput, DecodedResult } from './pipeline/transcoder';
export { AtLeastOnceDelivery, ExactlyOnceDelivery } from './pipeline/delivery';
export type { DeliveryOptions } from './pipeline/delivery';
export { startPipeline } from './pipeline/consumer';
export type { RunningPipeline } from './pipeline/consumer';
export type {
  Delivery,
  IdentityProgress,
  InputPartition,
  JoinOutcome,
  Joiner,
  OutputRecord,
} from './pipeline/types';
export { enrichmentJoiner } from './pipeline/join';
export { storeSink } from './informers/store-sink';
