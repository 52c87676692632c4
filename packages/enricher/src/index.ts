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
  recordTimeUs,
  tryEnrich,
} from './enrich';
export type { EnrichDeps, EnrichOutcome, EnrichmentConfig, Side } from './enrich';
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
