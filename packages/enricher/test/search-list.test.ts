import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SearchExpansion } from '@dnsflow/schema';
import { SearchListDetector } from '../src/domain/search-list';
import type { IdentityStore } from '../src/identity/store';
import { demoCluster, us } from './support/kube';

const pod = { clientIp: '10.244.1.17', namespace: 'shop' };
const start = us('2026-03-01T10:30:00Z');

/**
 * What glibc sends for one getaddrinfo() with `search shop.svc.cluster.local
 * svc.cluster.local cluster.local` and `ndots:5`: A and AAAA for each candidate, 1 ms apart.
 */
function glibcSequence(name: string, extraSuffixes: string[] = []): string[] {
  const suffixes = [
    'shop.svc.cluster.local',
    'svc.cluster.local',
    'cluster.local',
    ...extraSuffixes,
  ];
  const dots = name.split('.').length - 1;
  const expanded = suffixes.map((s) => `${name}.${s}`);
  const order = dots >= 5 ? [name, ...expanded] : [...expanded, name];
  return order.flatMap((n) => [n, n]);
}

function classifyAll(
  detector: SearchListDetector,
  store: IdentityStore | null,
  names: string[],
  client: { clientIp: string; namespace: string | null } = pod,
  from = start,
): SearchExpansion[] {
  return names.map((name, i) =>
    detector.classify({ ...client, name, atUs: from + i * 1000 }, store),
  );
}

describe('search-list expansion', () => {
  it('marks each search suffix of example.com as an expansion, A and AAAA, and the bare name as asked', () => {
    const detector = new SearchListDetector();
    const marks = classifyAll(detector, demoCluster(), glibcSequence('example.com'));
    expect(marks).toEqual([
      { askedName: 'example.com', isExpansion: true, suffix: 'shop.svc.cluster.local' },
      { askedName: 'example.com', isExpansion: true, suffix: 'shop.svc.cluster.local' },
      { askedName: 'example.com', isExpansion: true, suffix: 'svc.cluster.local' },
      { askedName: 'example.com', isExpansion: true, suffix: 'svc.cluster.local' },
      { askedName: 'example.com', isExpansion: true, suffix: 'cluster.local' },
      { askedName: 'example.com', isExpansion: true, suffix: 'cluster.local' },
      { askedName: 'example.com', isExpansion: false, suffix: null },
      { askedName: 'example.com', isExpansion: false, suffix: null },
    ]);
  });

  it('labels records the same when the bare name arrives before its expansions', () => {
    const names = glibcSequence('example.com');
    const reversed = [...names].reverse();
    const marks = classifyAll(new SearchListDetector(), demoCluster(), reversed);
    expect(marks.map((m) => [m.askedName, m.isExpansion])).toEqual(
      reversed.map((n) => ['example.com', n !== 'example.com']),
    );
  });

  it('never calls a name of a real service an expansion', () => {
    const detector = new SearchListDetector();
    const store = demoCluster();
    // `payments` exists in shop: the first candidate is answered, nothing else is sent.
    expect(
      detector.classify({ ...pod, name: 'payments.shop.svc.cluster.local', atUs: start }, store),
    ).toEqual({ askedName: 'payments.shop.svc.cluster.local', isExpansion: false, suffix: null });
    // Another namespace's service by `<svc>.<ns>`: one expansion, then the real name.
    const marks = classifyAll(detector, store, [
      'kube-dns.kube-system.shop.svc.cluster.local',
      'kube-dns.kube-system.svc.cluster.local',
    ]);
    expect(marks).toEqual([
      {
        askedName: 'kube-dns.kube-system',
        isExpansion: true,
        suffix: 'shop.svc.cluster.local',
      },
      { askedName: 'kube-dns.kube-system.svc.cluster.local', isExpansion: false, suffix: null },
    ]);
    // A StatefulSet pod by its stable name.
    expect(
      detector.classify(
        { ...pod, name: 'postgres-0.postgres.db.svc.cluster.local', atUs: start },
        store,
      ).isExpansion,
    ).toBe(false);
  });

  it('groups a missing service under the short name the application used', () => {
    const marks = classifyAll(new SearchListDetector(), demoCluster(), glibcSequence('redis'));
    expect(marks.map((m) => [m.askedName, m.isExpansion])).toEqual([
      ['redis', true],
      ['redis', true],
      ['redis', true],
      ['redis', true],
      ['redis', true],
      ['redis', true],
      ['redis', false],
      ['redis', false],
    ]);
  });

  it('keeps a full cluster name typed without a trailing dot as the asked name', () => {
    // 4 dots < ndots: the resolver tries the search list first, then the name itself.
    const names = glibcSequence('ghost.shop.svc.cluster.local');
    const marks = classifyAll(new SearchListDetector(), demoCluster(), names);
    const asked = 'ghost.shop.svc.cluster.local';
    expect(marks.map((m) => [m.askedName, m.isExpansion])).toEqual(
      names.map((n) => [asked, n !== asked]),
    );
  });

  it('tries the bare name first for names with ndots dots, then the expansions', () => {
    const names = glibcSequence('a.b.c.d.example.com');
    const marks = classifyAll(new SearchListDetector(), demoCluster(), names);
    const asked = 'a.b.c.d.example.com';
    expect(names.slice(0, 2)).toEqual([asked, asked]);
    expect(marks.map((m) => [m.askedName, m.isExpansion])).toEqual(
      names.map((n) => [asked, n !== asked]),
    );
  });

  it('finds the namespace suffix for clients that are not pods from the known namespaces', () => {
    const node = { clientIp: '192.168.10.11', namespace: null };
    const detector = new SearchListDetector();
    const store = demoCluster();
    expect(
      detector.classify(
        { ...node, name: 'example.com.shop.svc.cluster.local', atUs: start },
        store,
      ),
    ).toEqual({ askedName: 'example.com', isExpansion: true, suffix: 'shop.svc.cluster.local' });
    // `nowhere` is no namespace the cluster has: the suffix is svc.cluster.local.
    expect(
      detector.classify(
        { ...node, name: 'example.com.nowhere.svc.cluster.local', atUs: start },
        store,
      ),
    ).toEqual({
      askedName: 'example.com.nowhere',
      isExpansion: true,
      suffix: 'svc.cluster.local',
    });
  });

  it("marks the node's own search domains only after the cluster expansions of the same name", () => {
    const detector = new SearchListDetector({ extraSearchDomains: ['ec2.internal'] });
    const store = demoCluster();
    const names = glibcSequence('example.com', ['ec2.internal']);
    const marks = classifyAll(detector, store, names);
    expect(marks.filter((m) => m.suffix === 'ec2.internal')).toHaveLength(2);
    expect(marks.map((m) => m.askedName)).toEqual(names.map(() => 'example.com'));
    // Another client asking for a host in that domain directly.
    expect(
      detector.classify(
        {
          clientIp: '10.244.1.80',
          namespace: 'shop',
          name: 'ip-10-0-0-1.ec2.internal',
          atUs: start,
        },
        store,
      ),
    ).toEqual({ askedName: 'ip-10-0-0-1.ec2.internal', isExpansion: false, suffix: null });
  });

  it('remembers a client only for the window, and only so many clients', () => {
    const detector = new SearchListDetector({ windowMs: 1000, maxClients: 2 });
    const store = demoCluster();
    const ghost = 'ghost.shop.svc.cluster.local';
    classifyAll(detector, store, [`${ghost}.shop.svc.cluster.local`]);
    // Two seconds later the bare name is no longer tied to the expansion.
    expect(
      detector.classify({ ...pod, name: ghost, atUs: start + 2_000_000 }, store),
    ).toMatchObject({ askedName: 'ghost', isExpansion: true });

    // The first client has been idle past the window: it expires; of the three new ones,
    // the third pushes out the least recently seen.
    for (const ip of ['10.244.1.81', '10.244.1.82', '10.244.1.83']) {
      detector.classify(
        {
          clientIp: ip,
          namespace: 'shop',
          name: 'x.shop.svc.cluster.local',
          atUs: start + 5_000_000,
        },
        store,
      );
    }
    expect(detector.stats()).toMatchObject({ clients: 2, evictedClients: 1 });
  });

  it('leaves names alone when the client is not a pod and no namespace fits', () => {
    const detector = new SearchListDetector();
    expect(
      detector.classify(
        { clientIp: '203.0.113.9', namespace: null, name: 'www.example.com', atUs: start },
        null,
      ),
    ).toEqual({ askedName: 'www.example.com', isExpansion: false, suffix: null });
  });

  it('groups the queries of a real glibc capture, a new source port per candidate', () => {
    const capture = JSON.parse(
      readFileSync(join(__dirname, 'fixtures', 'glibc', 'queries.json'), 'utf8'),
    ) as { queries: { timeUs: number; clientIp: string; clientPort: number; name: string }[] };
    const detector = new SearchListDetector();
    const store = demoCluster();
    const marks = capture.queries.map((q) =>
      detector.classify(
        { clientIp: q.clientIp, namespace: 'shop', name: q.name, atUs: q.timeUs },
        store,
      ),
    );
    const summary = capture.queries.map(
      (q, i) => `${q.name} -> ${marks[i]!.askedName}${marks[i]!.isExpansion ? ' (expansion)' : ''}`,
    );
    expect(summary).toEqual([
      'example.com.shop.svc.cluster.local -> example.com (expansion)',
      'example.com.shop.svc.cluster.local -> example.com (expansion)',
      'example.com.svc.cluster.local -> example.com (expansion)',
      'example.com.svc.cluster.local -> example.com (expansion)',
      'example.com.cluster.local -> example.com (expansion)',
      'example.com.cluster.local -> example.com (expansion)',
      'example.com -> example.com',
      'example.com -> example.com',
      'payments.shop.svc.cluster.local -> payments.shop.svc.cluster.local',
      'payments.shop.svc.cluster.local -> payments.shop.svc.cluster.local',
      'redis.shop.svc.cluster.local -> redis (expansion)',
      'redis.shop.svc.cluster.local -> redis (expansion)',
      'redis.svc.cluster.local -> redis (expansion)',
      'redis.svc.cluster.local -> redis (expansion)',
      'redis.cluster.local -> redis (expansion)',
      'redis.cluster.local -> redis (expansion)',
      'redis -> redis',
      'redis -> redis',
      'redis -> redis',
      'redis -> redis',
      'a.b.c.d.example.com -> a.b.c.d.example.com',
      'a.b.c.d.example.com -> a.b.c.d.example.com',
    ]);
    // Each candidate went out from its own source port: grouping cannot key on ip:port.
    expect(new Set(capture.queries.slice(0, 8).map((q) => q.clientPort)).size).toBe(4);
  });
});
