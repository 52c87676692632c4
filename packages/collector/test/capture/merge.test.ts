import { TimeOrderedMerge } from '../../src/capture/merge';

interface Item {
  tsUs: number;
  name: string;
}

function merge(options: { sources?: number; windowUs?: number; maxQueued?: number } = {}) {
  const out: string[] = [];
  let early = 0;
  const m = new TimeOrderedMerge<Item>({
    sources: options.sources ?? 2,
    windowUs: options.windowUs ?? 250_000,
    maxQueued: options.maxQueued ?? 100,
    deliver: (item) => out.push(item.name),
    onEarly: (n) => {
      early += n;
    },
  });
  return { m, out, early: () => early };
}

describe('TimeOrderedMerge', () => {
  it('puts a query seen late on the client interface before its copy across the NAT', () => {
    const { m, out } = merge();
    // The DNS pod's interface (source 1) hands over its block first.
    m.push(1, { tsUs: 1_000_100, name: 'query after DNAT' });
    m.push(1, { tsUs: 1_000_300, name: 'response from the pod' });
    m.release(1_000_400);
    expect(out).toEqual([]);
    // Then the client's interface (source 0).
    m.push(0, { tsUs: 1_000_000, name: 'query as sent' });
    m.push(0, { tsUs: 1_000_400, name: 'response as received' });
    m.release(1_000_500);
    expect(out).toEqual(['query as sent', 'query after DNAT', 'response from the pod']);
    // The rest leaves once the window has passed with nothing earlier from source 1.
    m.release(1_000_400 + 250_000);
    expect(out).toEqual([
      'query as sent',
      'query after DNAT',
      'response from the pod',
      'response as received',
    ]);
    expect(m.size).toBe(0);
  });

  it('does not let an idle interface hold frames longer than the window', () => {
    const { m, out } = merge({ sources: 3, windowUs: 100_000 });
    m.push(0, { tsUs: 5_000_000, name: 'a' });
    m.release(5_050_000);
    expect(out).toEqual([]);
    m.release(5_100_000);
    expect(out).toEqual(['a']);
  });

  it('bounds what waits: the oldest frames leave early, in order, none is lost', () => {
    const { m, out, early } = merge({ maxQueued: 3 });
    m.push(0, { tsUs: 30, name: 'c' });
    m.push(1, { tsUs: 10, name: 'a' });
    m.push(1, { tsUs: 20, name: 'b' });
    m.push(0, { tsUs: 40, name: 'd' });
    expect(out).toEqual(['a']);
    expect(early()).toBe(1);
    m.flush();
    expect(out).toEqual(['a', 'b', 'c', 'd']);
  });

  it('rejects a merge without sources', () => {
    expect(
      () =>
        new TimeOrderedMerge<Item>({ sources: 0, windowUs: 1, maxQueued: 1, deliver: () => {} }),
    ).toThrow(/at least 1 source, found 0/);
  });
});
