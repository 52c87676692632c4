import type { K8sIdentity } from '@dnsflow/schema';
import { Timeline } from '../src/identity/timeline';

function pod(name: string): K8sIdentity {
  return {
    kind: 'POD',
    namespace: 'shop',
    pod: name,
    podUid: `uid-${name}`,
    labels: {},
    node: 'node-a',
    workloadKind: 'Pod',
    workloadName: name,
    service: null,
    serviceNamespace: null,
    serviceType: null,
  };
}

const holder = (t: Timeline, key: string, atUs: number): string | null => {
  const found = t.lookup(key, atUs);
  return found.status === 'found' ? found.identity.pod : found.status;
};

describe('timeline', () => {
  it('keeps one interval per holder and ignores a repeated holder', () => {
    const t = new Timeline({ tombstoneWindowUs: 1000, maxEntries: 100 });
    expect(t.set('10.0.0.1', pod('a'), 100)).toBe(true);
    expect(t.set('10.0.0.1', { ...pod('a') }, 150)).toBe(false);
    expect(t.set('10.0.0.1', pod('b'), 200)).toBe(true);
    expect([
      holder(t, '10.0.0.1', 99),
      holder(t, '10.0.0.1', 199),
      holder(t, '10.0.0.1', 200),
    ]).toEqual(['free', 'a', 'b']);
    expect(t.stats()).toMatchObject({ keys: 1, intervals: 2, open: 1 });
  });

  it('drops a holder replaced at the instant it appeared', () => {
    const t = new Timeline({ tombstoneWindowUs: 1000, maxEntries: 100 });
    t.set('k', pod('a'), 100);
    t.set('k', pod('b'), 100);
    expect(t.stats()).toMatchObject({ intervals: 1, open: 1 });
    expect(holder(t, 'k', 100)).toBe('b');
  });

  it('starts a holder of a free key at its own start, never before the previous end', () => {
    const t = new Timeline({ tombstoneWindowUs: 1000, maxEntries: 100 });
    t.set('k', pod('a'), 100);
    t.set('k', null, 300);
    t.set('k', pod('b'), 500, { sinceUs: 250 });
    expect([holder(t, 'k', 299), holder(t, 'k', 300), holder(t, 'k', 450)]).toEqual([
      'a',
      'b',
      'b',
    ]);
  });

  it('never prunes or evicts pinned intervals', () => {
    const t = new Timeline({ tombstoneWindowUs: 10, maxEntries: 1 });
    t.set('k', pod('a'), 0, { pinned: true });
    t.set('k', null, 100);
    t.set('j', pod('b'), 100);
    t.set('j', null, 200);
    t.prune(10_000);
    expect(holder(t, 'k', 50)).toBe('a');
    expect(holder(t, 'j', 150)).toBe('forgotten');
  });

  it('bounds the marks of forgotten keys too', () => {
    const t = new Timeline({ tombstoneWindowUs: 1, maxEntries: 2 });
    for (let i = 0; i < 10; i++) {
      t.set(`10.0.0.${i}`, pod(`p${i}`), i * 10);
      t.set(`10.0.0.${i}`, null, i * 10 + 5);
    }
    t.prune(1000);
    expect(t.stats()).toMatchObject({ intervals: 0, keys: 2 });
    expect(holder(t, '10.0.0.9', 92)).toBe('forgotten');
    expect(holder(t, '10.0.0.0', 2)).toBe('free');
  });
});
