import type { Logger } from '@dnsflow/runtime';
import type { EnricherMetrics } from '../metrics';
import {
  KubeApiError,
  type ApiObject,
  type KubeTransport,
  type ResourceSpec,
  type WatchStream,
} from './types';

/** Where an informer's view of the cluster goes (the identity store, via an adapter). */
export interface InformerSink {
  /**
   * A complete list of the resource: objects missing from it are gone, unchanged ones must
   * change nothing (so a re-list neither loses nor duplicates identities).
   */
  replace(resource: ResourceSpec, objects: readonly ApiObject[], receivedUs: number): void;
  /** One watch event. */
  event(
    resource: ResourceSpec,
    type: 'ADDED' | 'MODIFIED' | 'DELETED',
    object: ApiObject,
    receivedUs: number,
  ): void;
}

export interface InformerOptions {
  /** Objects per list page. */
  pageSize: number;
  /** Server-side watch timeout; each watch uses a random value in [t, 2t) to spread reconnects. */
  watchTimeoutSeconds: number;
  retryInitialMs: number;
  retryMaxMs: number;
  /** Called after anything changed the sink, so waiting records can look again. */
  onProgress?: () => void;
  /** Clock, injectable for tests. */
  nowMs?: () => number;
  /** Sleep, injectable for tests; must resolve early when `signal` aborts. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

type ListReason = 'initial' | 'gone' | 'broken';

/** A watch open this long (or `retryMaxMs` if less) was a recovery, whatever ended it. */
const HEALTHY_WATCH_MS = 5000;

function sleepFor(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done);
  });
}

/**
 * Keeps a sink in step with one resource through list + watch: a complete (paged) list, then
 * a watch from the list's resourceVersion with bookmarks. A watch the server ended (its
 * timeout) is reopened at once from the last version it saw. A watch that broke, or whose
 * version was compacted away (410 Gone), is followed by a fresh list instead, after a backoff
 * (exponential with jitter, capped) for a broken one; the sink diffs the list against what it
 * holds, so objects that vanished meanwhile become deletions and unchanged ones change nothing.
 *
 * Why not resume a broken watch: a resumed watch replays what it missed only after it has
 * opened, and an open watch is what tells the store its view is current. A record of the
 * break could be judged in between, without the changes still on their way (an address not
 * known yet taken for an external one). A list is complete when it arrives. After a server
 * timeout the reopen is immediate, so the replay covers milliseconds, like any watch event.
 *
 * Written on client-node's transport rather than its ListWatch because ListWatch stops for
 * good on any error other than 410, requests no bookmarks and offers no hooks for the lag
 * and re-list figures the enricher reports.
 */
export class Informer {
  /** Keys (namespace/name) of the objects currently held, for the object count. */
  private readonly known = new Set<string>();
  private resourceVersion = '';
  private outOfDateSinceMs: number | null;
  private hasSynced = false;
  private syncedWaiters: (() => void)[] = [];
  private stream: WatchStream | null = null;
  /** How long the last watch stayed open. */
  private lastWatchMs = 0;
  private readonly stopper = new AbortController();
  private running: Promise<void> | null = null;
  private readonly nowMs: () => number;
  private readonly sleep: (ms: number, signal: AbortSignal) => Promise<void>;

  constructor(
    readonly resource: ResourceSpec,
    private readonly transport: KubeTransport,
    private readonly sink: InformerSink,
    private readonly options: InformerOptions,
    private readonly metrics: EnricherMetrics,
    private readonly log: Logger,
  ) {
    this.nowMs = options.nowMs ?? Date.now;
    this.sleep = options.sleep ?? sleepFor;
    this.outOfDateSinceMs = this.nowMs();
  }

  /** True once the first complete list reached the sink. */
  get synced(): boolean {
    return this.hasSynced;
  }

  /** True while the sink may be missing changes: before the first list, re-listing, reconnecting. */
  get catchingUp(): boolean {
    return this.outOfDateSinceMs !== null;
  }

  /** Seconds the view has been out of date; 0 while watching after a complete list. */
  lagSeconds(): number {
    return this.outOfDateSinceMs === null ? 0 : (this.nowMs() - this.outOfDateSinceMs) / 1000;
  }

  /** Objects currently known. */
  get size(): number {
    return this.known.size;
  }

  /** Starts listing and watching in the background. */
  start(): void {
    this.running ??= this.loop();
  }

  /** Resolves once synced, or after `timeoutMs` (resolving false). */
  waitSynced(timeoutMs: number): Promise<boolean> {
    if (this.hasSynced) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      timer.unref();
      this.syncedWaiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  /** Stops watching; resolves when the loop has ended. */
  async stop(): Promise<void> {
    this.stopper.abort();
    this.stream?.abort();
    await this.running;
  }

  private get stopped(): boolean {
    return this.stopper.signal.aborted;
  }

  private async loop(): Promise<void> {
    let reason: ListReason = 'initial';
    let attempt = 0;
    while (!this.stopped) {
      try {
        if (this.resourceVersion === '') await this.relist(reason);
        if (this.stopped) break;
        await this.watchOnce();
        if (this.stopped) break;
        // Ended by the server: reopened from its version at once, unless it ended right
        // after it opened (then it waits like a failure, so it cannot spin).
        if (this.watchStayedUp()) {
          attempt = 0;
          continue;
        }
        await this.sleep(this.backoffMs(attempt++), this.stopper.signal);
      } catch (err) {
        if (this.stopped) break;
        this.markOutOfDate();
        const gone = err instanceof KubeApiError && err.gone;
        if (gone) {
          this.log.info(
            { resource: this.resource.name },
            'resourceVersion too old (410 Gone): listing again',
          );
        }
        const status = err instanceof KubeApiError ? err.status : null;
        this.metrics.informerErrors.inc({
          resource: this.resource.name,
          kind: gone ? 'gone' : status === null ? 'network' : `http_${status}`,
        });
        // Only a list catches up now: after 410 Gone the version we hold was compacted away;
        // after a break a resumed watch would replay what it missed too late (see above).
        if (!this.hasSynced) reason = 'initial';
        else if (gone) reason = 'gone';
        else if (this.resourceVersion !== '') reason = 'broken';
        this.resourceVersion = '';
        if (this.watchStayedUp()) attempt = 0;
        // A first 410 lists again at once; a repeated one (an expired continue token on every
        // try) waits like any failure.
        if (gone && attempt === 0) {
          attempt++;
          continue;
        }
        const delayMs = this.backoffMs(attempt++);
        this.log.warn(
          { resource: this.resource.name, err, retryInMs: Math.round(delayMs) },
          'list/watch failed; retrying',
        );
        await this.sleep(delayMs, this.stopper.signal);
      }
    }
  }

  /**
   * Whether the last watch stayed open long enough to count as a recovery (the backoff
   * starts afresh after it); consumed by the call.
   */
  private watchStayedUp(): boolean {
    const lasted = this.lastWatchMs;
    this.lastWatchMs = 0;
    return lasted >= Math.min(this.options.retryMaxMs, HEALTHY_WATCH_MS);
  }

  private backoffMs(attempt: number): number {
    const { retryInitialMs, retryMaxMs } = this.options;
    const ceiling = Math.min(retryMaxMs, retryInitialMs * 2 ** Math.min(attempt, 20));
    // Jitter keeps a fleet of enrichers from reconnecting in lockstep after an API outage.
    return ceiling / 2 + (Math.random() * ceiling) / 2;
  }

  private markOutOfDate(): void {
    this.outOfDateSinceMs ??= this.nowMs();
  }

  private async relist(reason: ListReason): Promise<void> {
    const name = this.resource.name;
    const items: ApiObject[] = [];
    let token: string | undefined;
    let version = '';
    do {
      const page = await this.transport.list(this.resource.path, {
        limit: this.options.pageSize,
        ...(token !== undefined ? { continueToken: token } : {}),
      });
      version = page.resourceVersion;
      token = page.continueToken;
      for (const item of page.items) items.push(this.withKind(item));
      if (this.stopped) return;
    } while (token !== undefined);
    this.sink.replace(this.resource, items, this.nowMs() * 1000);
    this.known.clear();
    for (const item of items) this.known.add(keyOf(item));
    this.resourceVersion = version;
    this.metrics.informerRelists.inc({ resource: name, reason });
    this.metrics.informerObjects.set({ resource: name }, this.known.size);
    // Still out of date: changes since the list come with the watch, once it is open.
    this.log.info(
      { resource: name, reason, objects: items.length, resourceVersion: version },
      'listed',
    );
    if (!this.hasSynced) {
      this.hasSynced = true;
      for (const wake of this.syncedWaiters.splice(0)) wake();
    }
    this.options.onProgress?.();
  }

  /** Watches until the stream ends normally (server timeout); rejects when it breaks. */
  private async watchOnce(): Promise<void> {
    const t = this.options.watchTimeoutSeconds;
    const stream = await this.transport.watch(
      this.resource.path,
      { resourceVersion: this.resourceVersion, timeoutSeconds: t + Math.floor(Math.random() * t) },
      (type, raw) => {
        const name = this.resource.name;
        this.metrics.informerEvents.inc({ resource: name, type });
        const object = this.withKind(raw);
        const receivedUs = this.nowMs() * 1000;
        if (type === 'BOOKMARK') {
          // A bookmark only moves the version on, so a reopened watch starts past it.
          this.resourceVersion = object.metadata.resourceVersion ?? this.resourceVersion;
          return;
        }
        if (type === 'DELETED') {
          this.observeDelay(object.metadata.deletionTimestamp, receivedUs);
          this.known.delete(keyOf(object));
        } else {
          if (type === 'ADDED') this.observeDelay(object.metadata.creationTimestamp, receivedUs);
          this.known.add(keyOf(object));
        }
        this.sink.event(this.resource, type, object, receivedUs);
        this.resourceVersion = object.metadata.resourceVersion ?? this.resourceVersion;
        this.metrics.informerObjects.set({ resource: name }, this.known.size);
        this.options.onProgress?.();
      },
    );
    this.stream = stream;
    // Stopped while the watch was being opened: stop() found no stream to abort.
    if (this.stopped) stream.abort();
    // Open from a version we hold (a list's, or the last event's when the server ended the
    // watch before): the changes since then come first, within milliseconds, then live ones.
    this.outOfDateSinceMs = null;
    this.options.onProgress?.();
    const openedMs = this.nowMs();
    try {
      await stream.done;
    } finally {
      this.lastWatchMs = this.nowMs() - openedMs;
      this.stream = null;
      if (!this.stopped) this.markOutOfDate();
    }
  }

  private observeDelay(timestamp: string | undefined, receivedUs: number): void {
    if (!timestamp) return;
    const atMs = Date.parse(timestamp);
    if (!Number.isFinite(atMs)) return;
    this.metrics.informerEventDelay.observe(
      { resource: this.resource.name },
      Math.max(0, receivedUs / 1000 - atMs) / 1000,
    );
  }

  /** List items carry no kind; the sink wants every object to say what it is. */
  private withKind(object: ApiObject): ApiObject {
    if (object.kind) return object;
    return { ...object, kind: this.resource.kind, apiVersion: this.resource.apiVersion };
  }
}

function keyOf(object: ApiObject): string {
  return `${object.metadata.namespace ?? ''}/${object.metadata.name}`;
}
