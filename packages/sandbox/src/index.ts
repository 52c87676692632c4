export { CommandError, run } from './exec';
export type { RunOptions, RunResult } from './exec';
export { SandboxNetwork } from './network';
export type { NetworkOptions, ResolverConfig, SandboxPod } from './network';
export { DelayRelay } from './delay-relay';
export type { DelayRelayOptions, DelayRelayStats } from './delay-relay';
