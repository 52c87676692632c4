import type { EcsDocument } from '@dnsflow/schema';
import { ExpansionFolder, type Line } from '../src/query/expansions';
import type { Hit } from '../src/query/search';

// Folding failed search-list expansions into the line of the name the application asked.

const SUFFIXES = ['starwars.svc.cluster.local', 'svc.cluster.local', 'cluster.local'];

function hit(
  timeMs: number,
  name: string,
  type: string,
  rcode: string | undefined,
  asked: string,
  client = '10.244.1.17',
): Hit {
  const doc = {
    '@timestamp': new Date(timeMs).toISOString(),
    source: { ip: client, port: 40000 },
    dns: { question: { name, type, class: 'IN' }, ...(rcode ? { response_code: rcode } : {}) },
    dnsflow: {
      status: rcode ? 'answered' : 'unanswered',
      search: { asked_name: asked, is_expansion: name !== asked },
    },
  } as unknown as EcsDocument;
  return { id: `${timeMs}-${name}-${type}`, index: 'i', timeUs: timeMs * 1000, doc };
}

/** A glibc lookup of `unknown-galaxy` with ndots:5: every expansion, then the bare name, A and AAAA. */
function storm(startMs: number, client?: string): Hit[] {
  const hits: Hit[] = [];
  let t = startMs;
  for (const suffix of SUFFIXES) {
    for (const type of ['A', 'AAAA'])
      hits.push(hit(t++, `unknown-galaxy.${suffix}`, type, 'NXDOMAIN', 'unknown-galaxy', client));
  }
  hits.push(hit(t++, 'unknown-galaxy', 'A', 'NXDOMAIN', 'unknown-galaxy', client));
  hits.push(hit(t++, 'unknown-galaxy', 'AAAA', 'NXDOMAIN', 'unknown-galaxy', client));
  return hits;
}

function fold(hits: Hit[], maxBuffered = 1000): Line[] {
  const lines: Line[] = [];
  const folder = new ExpansionFolder({ windowUs: 2_000_000, maxBuffered }, (l) => lines.push(l));
  for (const h of hits) folder.push(h);
  folder.finish();
  return lines;
}

const summary = (lines: Line[]): string[] =>
  lines.map(
    (l) => `${l.hit.doc.dns.question?.name} ${l.hit.doc.dns.question?.type} +${l.expansions}`,
  );

describe('search-list folding', () => {
  it('folds the six failed expansions into the asked name', () => {
    expect(summary(fold(storm(1_000_000)))).toEqual([
      'unknown-galaxy A +6',
      'unknown-galaxy AAAA +0',
    ]);
  });

  it('keeps an expansion that resolved: it is what the application got', () => {
    const lines = fold([
      hit(1000, 'db.shop.svc.cluster.local', 'A', 'NOERROR', 'db'),
      hit(1001, 'db.shop.svc.cluster.local', 'AAAA', 'NOERROR', 'db'),
    ]);
    expect(summary(lines)).toEqual([
      'db.shop.svc.cluster.local A +0',
      'db.shop.svc.cluster.local AAAA +0',
    ]);
  });

  it('folds expansions that come after the asked name (names with enough dots go bare first)', () => {
    const lines = fold([
      hit(1000, 'api.github.com', 'A', 'NXDOMAIN', 'api.github.com'),
      hit(1001, 'api.github.com.cluster.local', 'A', 'NXDOMAIN', 'api.github.com'),
    ]);
    expect(summary(lines)).toEqual(['api.github.com A +1']);
  });

  it('does not fold across clients or beyond the window, and never drops an unclaimed expansion', () => {
    const lines = fold([
      ...storm(1_000_000, '10.244.1.17').slice(0, 6),
      ...storm(1_000_100, '10.244.2.9').slice(6),
      hit(
        1_010_000,
        'unknown-galaxy.cluster.local',
        'A',
        'NXDOMAIN',
        'unknown-galaxy',
        '10.244.2.9',
      ),
    ]);
    expect(summary(lines)).toEqual([
      ...SUFFIXES.flatMap((s) => [`unknown-galaxy.${s} A +0`, `unknown-galaxy.${s} AAAA +0`]),
      'unknown-galaxy A +0',
      'unknown-galaxy AAAA +0',
      'unknown-galaxy.cluster.local A +0',
    ]);
  });

  it('emits lines in time order', () => {
    const lines = fold([
      ...storm(1_000_000),
      ...storm(1_000_500, '10.244.2.9'),
      ...storm(1_005_000),
    ]);
    const times = lines.map((l) => l.hit.timeUs);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(lines.map((l) => l.expansions)).toEqual([6, 0, 6, 0, 6, 0]);
  });

  it('holds at most maxBuffered transactions, releasing the oldest first', () => {
    const hits = Array.from({ length: 50 }, (_, i) =>
      hit(1_000_000 + i, `x${i}.cluster.local`, 'A', 'NXDOMAIN', `x${i}`),
    );
    const lines: Line[] = [];
    const folder = new ExpansionFolder({ windowUs: 2_000_000, maxBuffered: 10 }, (l) =>
      lines.push(l),
    );
    for (const h of hits) folder.push(h);
    expect(lines.length).toBe(40);
    folder.finish();
    expect(lines.map((l) => l.hit.doc.dns.question?.name)).toEqual(
      hits.map((h) => h.doc.dns.question?.name),
    );
  });
});
