import { Registry } from 'prom-client';
import { createLogger } from '@dnsflow/runtime';
import { IdentityStore } from '../src/identity/store';
import { Informer } from '../src/informers/informer';
import { storeSink } from '../src/informers/store-sink';
import {
  KubeApiError,
  RESOURCES,
  type ApiObject,
  type KubeTransport,
  type ListPage,
  type WatchEventType,
  type WatchStream,
} from '../src/informers/types';
import { EnricherMetrics } from '../src/metrics';
import { podObject } from './runtime-fixtures';

// The informer's list/watch state machine over an in-memory transport that behaves like the
// API server's protocol (paged lists, watches from a resourceVersion, bookmarks, 410 Gone).
// The informers against the real kube-apiserver: test/integration/enricher-kubernetes.test.ts.

const log = createLogger('test', {
  level: (process.env['DNSFLOW_TEST_LOG'] as 'debug' | undefined) ?? 'silent',
});
const T0_MS = Date.parse('2026-01-01T00:10:00Z');

interface OpenWatch {
  resourceVersion: string;
  push(type: WatchEventType, object: ApiObject): void;
  end(err?: Error): void;
}

/** The objects of one collection, listed in pages, and the watches opened on it. */
class ScriptedApi implements KubeTransport {
  readonly server = 'memory://';
  objects: ApiObject[] = [];
  resourceVersion = '100';
  lists: { continueToken?: string }[] = [];
  readonly watches: OpenWatch[] = [];
  /** Makes the next list fail with this error. */
  listError: Error | null = null;
  /** While set, a watch being opened waits for this promise (a slow API server). */
  opening: Promise<void> | null = null;

  list(_path: string, params: { limit: number; continueToken?: string }): Promise<ListPage> {
    this.lists.push(params.continueToken ? { continueToken: params.continueToken } : {});
    if (this.listError) {
      const err = this.listError;
      this.listError = null;
      return Promise.reject(err);
    }
    const start = Number(params.continueToken ?? '0');
    const end = start + params.limit;
    return Promise.resolve({
      items: this.objects.slice(start, end).map((o) => structuredClone(o)),
      resourceVersion: this.resourceVersion,
      ...(end < this.objects.length ? { continueToken: String(end) } : {}),
    });
  }

  watch(
    _path: string,
    params: { resourceVersion: string },
    onEvent: (type: WatchEventType, object: ApiObject) => void,
  ): Promise<WatchStream> {
    let settle: (err?: Error) => void = () => undefined;
    const done = new Promise<void>((resolve, reject) => {
      settle = (err) => (err ? reject(err) : resolve());
    });
    const open = async (): Promise<WatchStream> => {
      if (this.opening) await this.opening;
      this.watches.push({
        resourceVersion: params.resourceVersion,
        push: (type, object) => onEvent(type, object),
        end: (err) => settle(err),
      });
      return { done, abort: () => settle() };
    };
    return open();
  }

  get lastWatch(): OpenWatch {
    return this.watches[this.watches.length - 1]!;
  }
}

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 5));
  if (!check()) throw new Error('condition not reached');
}

async function metric(registry: Registry, name: string, labels: Record<string, string> = {}) {
  const values = (await registry.getSingleMetric(name)?.get())?.values ?? [];
  return values
    .filter((v) => Object.entries(labels).every(([k, want]) => v.labels[k] === want))
    .reduce((sum, v) => sum + v.value, 0);
}

function setup() {
  const registry = new Registry();
  const api = new ScriptedApi();
  const store = new IdentityStore({ requiredKinds: ['Pod'] });
  let clockMs = T0_MS;
  const sleeps: number[] = [];
  /** Backoff sleeps end when the test says so (all at once with `wake`). */
  let sleepers: (() => void)[] = [];
  const informer = new Informer(
    RESOURCES.pods,
    api,
    storeSink(store, log),
    {
      pageSize: 2,
      watchTimeoutSeconds: 60,
      retryInitialMs: 100,
      retryMaxMs: 400,
      nowMs: () => clockMs,
      sleep: (ms) => {
        sleeps.push(ms);
        return new Promise<void>((resolve) => sleepers.push(resolve));
      },
    },
    new EnricherMetrics(registry),
    log,
  );
  return {
    registry,
    api,
    store,
    informer,
    sleeps,
    tick: (ms: number) => (clockMs += ms),
    wake: () => {
      for (const resolve of sleepers) resolve();
      sleepers = [];
    },
    nowUs: () => clockMs * 1000,
  };
}

const pod = (name: string, ip: string, rv = '1') => podObject('shop', name, ip, { rv });

/** {@link setup}, listed with one pod (`a`, 10.0.0.1) and watching. */
async function watchingOnePod() {
  const parts = setup();
  parts.api.objects = [pod('a', '10.0.0.1')];
  parts.informer.start();
  await until(() => parts.api.watches.length === 1);
  return parts;
}

describe('Informer', () => {
  it('lists every page, then watches from the list version; events reach the store', async () => {
    const { api, store, informer, registry, nowUs } = setup();
    api.objects = [pod('a', '10.0.0.1'), pod('b', '10.0.0.2'), pod('c', '10.0.0.3')];
    informer.start();
    await until(() => api.watches.length === 1);

    expect(api.lists).toEqual([{}, { continueToken: '2' }]);
    expect(api.lastWatch.resourceVersion).toBe('100');
    expect(informer.synced).toBe(true);
    expect(informer.catchingUp).toBe(false);
    expect(store.resolve('10.0.0.3', nowUs())).toMatchObject({
      status: 'found',
      identity: { pod: 'c' },
    });

    api.lastWatch.push('ADDED', { ...pod('d', '10.0.0.4', '101'), kind: 'Pod' });
    expect(store.resolve('10.0.0.4', nowUs())).toMatchObject({ identity: { pod: 'd' } });
    expect(informer.size).toBe(4);
    expect(
      await metric(registry, 'dnsflow_enricher_informer_relists_total', { reason: 'initial' }),
    ).toBe(1);
    expect(await metric(registry, 'dnsflow_enricher_informer_objects')).toBe(4);
    await informer.stop();
  });

  it('reopens a watch the server ended from the last version it saw, bookmarks included, without listing again', async () => {
    const { api, informer, tick, sleeps } = await watchingOnePod();
    api.lastWatch.push('MODIFIED', { ...pod('a', '10.0.0.1', '150'), kind: 'Pod' });
    api.lastWatch.push('BOOKMARK', {
      kind: 'Pod',
      metadata: { name: '', uid: '', resourceVersion: '180' },
    });
    tick(60_000);
    api.lastWatch.end();
    await until(() => api.watches.length === 2);

    expect(api.lastWatch.resourceVersion).toBe('180');
    expect(api.lists).toHaveLength(1);
    expect(sleeps).toEqual([]);
    await informer.stop();
  });

  it('waits before reopening a watch the server ended right after it opened, so it cannot spin', async () => {
    const { api, informer, tick, sleeps, wake } = await watchingOnePod();
    for (let i = 0; i < 3; i++) {
      api.lastWatch.end();
      await until(() => sleeps.length === i + 1);
      expect(api.watches).toHaveLength(i + 1);
      tick(sleeps[i]!);
      wake();
      await until(() => api.watches.length === i + 2);
    }
    // Growing: 100, 200, 400 ceilings; the version held is reused, nothing listed again.
    expect(sleeps[2]).toBeGreaterThanOrEqual(200);
    expect(api.watches.map((w) => w.resourceVersion)).toEqual(['100', '100', '100', '100']);
    expect(api.lists).toHaveLength(1);
    await informer.stop();
  });

  it('lists again at once after a first 410 Gone, and waits when the list itself keeps answering 410', async () => {
    const { api, informer, sleeps, wake, registry } = await watchingOnePod();
    api.listError = new KubeApiError(410, 'continue token expired', '/api/v1/pods');
    api.lastWatch.end(new KubeApiError(410, 'too old resource version', '/api/v1/pods'));
    // The first 410 (the watch's) lists at once; that list's 410 waits.
    await until(() => sleeps.length === 1);
    expect(api.lists).toHaveLength(2);
    wake();
    await until(() => api.watches.length === 2);
    expect(api.lists).toHaveLength(3);
    expect(
      await metric(registry, 'dnsflow_enricher_informer_relists_total', { reason: 'gone' }),
    ).toBe(1);
    expect(await metric(registry, 'dnsflow_enricher_informer_errors_total', { kind: 'gone' })).toBe(
      2,
    );
    await informer.stop();
  });

  it('lists again after 410 Gone; a pod deleted meanwhile becomes a tombstone, the others stay as they were', async () => {
    const { api, store, informer, registry, tick, nowUs } = setup();
    api.objects = [pod('stays', '10.0.0.1'), pod('leaves', '10.0.0.2')];
    informer.start();
    await until(() => api.watches.length === 1);
    tick(1000);
    const whileThere = nowUs();
    const before = store.resolve('10.0.0.1', whileThere);

    tick(1000);
    api.objects = [pod('stays', '10.0.0.1')];
    api.resourceVersion = '300';
    api.lastWatch.end(new KubeApiError(410, 'too old resource version', '/api/v1/pods'));
    await until(() => api.watches.length === 2);
    tick(1000);

    expect(api.lastWatch.resourceVersion).toBe('300');
    expect(
      await metric(registry, 'dnsflow_enricher_informer_relists_total', { reason: 'gone' }),
    ).toBe(1);
    expect(store.resolve('10.0.0.1', nowUs())).toEqual(before);
    expect(store.resolve('10.0.0.2', whileThere)).toMatchObject({ identity: { pod: 'leaves' } });
    expect(store.resolve('10.0.0.2', nowUs())).not.toMatchObject({ status: 'found' });
    expect(informer.size).toBe(1);
    await informer.stop();
  });

  it('lists again after a broken watch instead of resuming it: a pod gone and a pod come meanwhile', async () => {
    const { api, store, informer, registry, sleeps, tick, wake, nowUs } = setup();
    api.objects = [pod('stays', '10.0.0.1'), pod('leaves', '10.0.0.2')];
    informer.start();
    await until(() => api.watches.length === 1);
    tick(1000);
    const whileThere = nowUs();
    api.lastWatch.end(new KubeApiError(null, 'socket hang up', '/api/v1/pods'));
    await until(() => sleeps.length === 1);
    // While the watch is down: one pod goes, one comes.
    tick(300);
    const arrivedMs = T0_MS + 1300;
    api.objects = [
      pod('stays', '10.0.0.1'),
      podObject('shop', 'arrives', '10.0.0.3', {
        rv: '250',
        created: new Date(arrivedMs).toISOString(),
      }),
    ];
    api.resourceVersion = '300';
    tick(200);
    wake();
    await until(() => api.watches.length === 2);

    // Resumed from version 100, the watch would look current before its replay of the break
    // arrived; the list is complete when it does.
    expect(api.lists).toHaveLength(2);
    expect(api.lastWatch.resourceVersion).toBe('300');
    expect(informer.catchingUp).toBe(false);
    expect(
      await metric(registry, 'dnsflow_enricher_informer_relists_total', { reason: 'broken' }),
    ).toBe(1);
    // The pod that came during the break holds its IP from its creation on.
    expect(store.resolve('10.0.0.3', (arrivedMs + 100) * 1000)).toMatchObject({
      status: 'found',
      identity: { pod: 'arrives' },
    });
    expect(store.resolve('10.0.0.2', whileThere)).toMatchObject({ identity: { pod: 'leaves' } });
    expect(store.resolve('10.0.0.2', nowUs())).not.toMatchObject({ status: 'found' });
    expect(informer.size).toBe(2);
    await informer.stop();
  });

  it('stays out of date after a list until the watch that follows it is open', async () => {
    const { api, informer, sleeps, wake } = await watchingOnePod();
    let opened: () => void = () => undefined;
    api.opening = new Promise((resolve) => (opened = resolve));
    api.lastWatch.end(new KubeApiError(null, 'socket hang up', '/api/v1/pods'));
    await until(() => sleeps.length === 1);
    wake();
    await until(() => api.lists.length === 2);
    // Listed, the watch not open yet: changes after the list have no way in so far.
    await new Promise((r) => setTimeout(r, 20));
    expect(informer.catchingUp).toBe(true);
    opened();
    await until(() => api.watches.length === 2);
    expect(informer.catchingUp).toBe(false);
    await informer.stop();
  });

  it('retries a broken watch with growing, capped backoff and is out of date meanwhile', async () => {
    const { api, informer, sleeps, tick, wake, registry } = await watchingOnePod();
    for (let i = 0; i < 4; i++) {
      api.lastWatch.end(new KubeApiError(null, 'socket hang up', '/api/v1/pods'));
      await until(() => sleeps.length === i + 1);
      tick(500);
      expect(informer.catchingUp).toBe(true);
      expect(informer.lagSeconds()).toBe(0.5);
      wake();
      await until(() => api.watches.length === i + 2);
      expect(informer.catchingUp).toBe(false);
    }

    expect(api.lists).toHaveLength(5);
    expect(api.watches.map((w) => w.resourceVersion)).toEqual(['100', '100', '100', '100', '100']);
    // Jittered into [ceiling/2, ceiling]: 100, 200, 400, then capped at 400.
    expect(sleeps).toHaveLength(4);
    sleeps.forEach((ms, i) => {
      const ceiling = Math.min(400, 100 * 2 ** i);
      expect(ms).toBeGreaterThanOrEqual(ceiling / 2);
      expect(ms).toBeLessThanOrEqual(ceiling);
    });
    expect(
      await metric(registry, 'dnsflow_enricher_informer_errors_total', { kind: 'network' }),
    ).toBe(4);
    expect(
      await metric(registry, 'dnsflow_enricher_informer_relists_total', { reason: 'broken' }),
    ).toBe(4);
    // A watch that stays up for the longest delay starts the backoff afresh when it breaks.
    tick(400);
    api.lastWatch.end(new KubeApiError(null, 'socket hang up', '/api/v1/pods'));
    await until(() => sleeps.length === 5);
    expect(sleeps[4]).toBeLessThanOrEqual(100);
    wake();
    await until(() => api.watches.length === 6);
    await informer.stop();
  });

  it('retries a failed first list and counts as not synced until it succeeds', async () => {
    const { api, informer, sleeps, wake } = setup();
    api.listError = new KubeApiError(503, 'GET /api/v1/pods: HTTP 503', '/api/v1/pods');
    const synced = informer.waitSynced(5000);
    informer.start();
    await until(() => sleeps.length === 1);
    expect(informer.synced).toBe(false);
    wake();

    expect(await synced).toBe(true);
    expect(api.lists).toHaveLength(2);
    expect(informer.lagSeconds()).toBe(0);
    await informer.stop();
  });
});
