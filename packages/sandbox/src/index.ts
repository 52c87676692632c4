export { CommandError, run } from './exec';
export type { RunOptions, RunResult } from './exec';
export { SandboxNetwork } from './network';
export type { NetworkOptions, ResolverConfig, SandboxPod } from './network';
export { DelayRelay } from './delay-relay';
export type { DelayRelayOptions, DelayRelayStats } from './delay-relay';
export {
  K8S_URL,
  K8sApiError,
  controllerRef,
  createEndpointSlice,
  createNamespace,
  createNode,
  createPod,
  createService,
  createWorkload,
  deleteNamespace,
  deleteNode,
  deletePod,
  k8sCaPath,
  k8sRequest,
  k8sToken,
  kubeAccessFromStateDir,
  kubeconfigPath,
  kubeconfigWithServer,
  list,
  servicesStateDir,
  setPodIps,
  useKubeAccess,
  watch,
} from './kube';
export type {
  Container,
  EndpointOptions,
  KubeAccess,
  KubeObject,
  ListResult,
  NodeAddress,
  ObjectMeta,
  OwnerReference,
  Pod,
  PodOptions,
  RequestOptions,
  Service,
  ServiceOptions,
  ServicePort,
  Watch,
  WatchEvent,
  WatchEventType,
  Workload,
  WorkloadKind,
  WorkloadOptions,
} from './kube';
export { TcpForwarder } from './forwarder';
export { DEMO_ZONE, LARGE_ANSWER_COUNT, startClusterDns } from './dns-server';
export type { ClusterDns, ClusterDnsOptions } from './dns-server';
export { startSandboxCluster } from './cluster';
export type { ClusterPod, SandboxCluster, SandboxClusterOptions } from './cluster';
export {
  STORM_NAME,
  breakDroidResponses,
  clusterLookups,
  demoTraffic,
  load,
  missingResponses,
  searchPathStorm,
  slowLookups,
  truncatedAnswer,
} from './scenarios';
export type { LoadOptions, LoadResult } from './scenarios';
export { cachedCoreDnsBinary } from './binaries';
