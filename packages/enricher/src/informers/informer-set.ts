import type { Logger } from '@dnsflow/runtime';
import type { EnricherMetrics } from '../metrics';
import { Informer, type InformerOptions, type InformerSink } from './informer';
import { RESOURCES, type KubeTransport, type ResourceName } from './types';

/** The resources the enricher watches, owners first so pods find their workloads. */
export const WATCHED: readonly ResourceName[] = [
  'nodes',
  'services',
  'endpointslices',
  'replicasets',
  'jobs',
  'pods',
];

/** The state of every informer together, as the pipeline sees it. */
export interface IdentitySource {
  /** True while some informer may be missing changes (first list, re-list, reconnect). */
  readonly catchingUp: boolean;
  /** Resolves at the next change of the identity view, or after `timeoutMs`. */
  changed(timeoutMs: number): Promise<void>;
}

/** Informers on pods, services, endpointslices, nodes and the owner kinds, run together. */
export class InformerSet implements IdentitySource {
  readonly informers: Informer[];
  private waiters: (() => void)[] = [];
  private lagTimer: NodeJS.Timeout | null = null;

  constructor(
    transport: KubeTransport,
    sink: InformerSink,
    options: Omit<InformerOptions, 'onProgress'>,
    private readonly metrics: EnricherMetrics,
    log: Logger,
    resources: readonly ResourceName[] = WATCHED,
  ) {
    const onProgress = (): void => {
      for (const wake of this.waiters.splice(0)) wake();
    };
    this.informers = resources.map(
      (name) =>
        new Informer(
          RESOURCES[name],
          transport,
          sink,
          { ...options, onProgress },
          metrics,
          log.child({ part: 'informer' }),
        ),
    );
  }

  get catchingUp(): boolean {
    return this.informers.some((i) => i.catchingUp);
  }

  get synced(): boolean {
    return this.informers.every((i) => i.synced);
  }

  changed(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(wake, Math.max(0, timeoutMs));
      function wake(): void {
        clearTimeout(timer);
        resolve();
      }
      this.waiters.push(wake);
    });
  }

  /** Starts every informer; the lag gauge is refreshed each second. */
  start(): void {
    for (const informer of this.informers) informer.start();
    this.lagTimer = setInterval(() => this.updateLag(), 1000);
    this.lagTimer.unref();
  }

  /** Resolves true when every informer completed its first list within `timeoutMs`. */
  async waitSynced(timeoutMs: number): Promise<boolean> {
    const results = await Promise.all(this.informers.map((i) => i.waitSynced(timeoutMs)));
    this.updateLag();
    return results.every(Boolean);
  }

  async stop(): Promise<void> {
    if (this.lagTimer) clearInterval(this.lagTimer);
    await Promise.all(this.informers.map((i) => i.stop()));
    for (const wake of this.waiters.splice(0)) wake();
  }

  private updateLag(): void {
    for (const informer of this.informers) {
      this.metrics.informerLag.set({ resource: informer.resource.name }, informer.lagSeconds());
    }
  }
}
