import { main } from '../src/main';
import {
  QUERY_TYPES,
  RESPONSE_CODES,
  parseQueryType,
  parseResponseCode,
} from '../src/query/mnemonics';
import { parseDuration, parseTimePoint, sinceCovering } from '../src/query/time';

// Argument checking of `dnsflow observe` and `dnsflow top`: bad values are usage errors
// (exit 2) naming what was wrong, found before any Elasticsearch is asked. The node given
// here listens nowhere, so a test that got past validation would fail differently.

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(
    ['node', 'dnsflow', ...args, '--elasticsearch.nodes=http://127.0.0.1:9'],
    {
      out: (t) => {
        out += t;
      },
      err: (t) => {
        err += t;
      },
    },
  );
  return { code, out, err };
}

describe('durations and times', () => {
  it.each([
    ['30s', 30_000],
    ['10m', 600_000],
    ['2h', 7_200_000],
    ['1d', 86_400_000],
    ['1h30m', 5_400_000],
    ['1.5h', 5_400_000],
  ])('%s is %i ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['10', '10x', 'm', '-5m', '', '10m ago', '0s'])(
    '"%s" is rejected with the accepted forms',
    (text) => {
      expect(() => parseDuration(text)).toThrow(
        /expected a duration such as 30s, 10m, 1h30m or 2d/,
      );
    },
  );

  it('a point in time is a duration back from now or an ISO time', () => {
    const now = Date.UTC(2026, 0, 15, 12, 0, 0);
    expect(parseTimePoint('10m', now)).toBe(now - 600_000);
    expect(parseTimePoint('2026-01-15T11:00:00Z', now)).toBe(Date.UTC(2026, 0, 15, 11, 0, 0));
    expect(() => parseTimePoint('yesterday', now)).toThrow(/or an ISO time/);
  });

  it('suggests a --since that reaches back to a given time', () => {
    const now = Date.UTC(2026, 0, 15, 12, 0, 0);
    expect(sinceCovering(now - 3 * 3_600_000 - 60_000, now)).toBe('4h');
    expect(sinceCovering(now - 90_000, now)).toBe('2m');
    expect(sinceCovering(now - 3 * 86_400_000, now)).toBe('3d');
  });
});

describe('query types and response codes', () => {
  it('accept the names the collector writes, in any case, and TYPE<n>/RCODE<n>', () => {
    expect(parseQueryType('aaaa')).toBe('AAAA');
    expect(parseQueryType('https')).toBe('HTTPS');
    expect(parseQueryType('TYPE28')).toBe('AAAA');
    expect(parseQueryType('TYPE65280')).toBe('TYPE65280');
    expect(parseResponseCode('nxdomain')).toBe('NXDOMAIN');
    expect(parseResponseCode('RCODE2')).toBe('SERVFAIL');
    expect(parseResponseCode('3')).toBe('NXDOMAIN');
  });

  it('the valid lists hold the common names and no generic ones', () => {
    expect(QUERY_TYPES).toEqual(
      expect.arrayContaining(['A', 'AAAA', 'CNAME', 'MX', 'PTR', 'SRV', 'TXT', 'SVCB']),
    );
    expect(RESPONSE_CODES.slice(0, 6)).toEqual([
      'NOERROR',
      'FORMERR',
      'SERVFAIL',
      'NXDOMAIN',
      'NOTIMP',
      'REFUSED',
    ]);
    expect(QUERY_TYPES.some((t) => /^TYPE\d/.test(t))).toBe(false);
  });

  it('an unknown name lists the valid ones', () => {
    expect(() => parseResponseCode('NXDOMAN')).toThrow(
      /unknown response code "NXDOMAN"; valid names: NOERROR, FORMERR, SERVFAIL, NXDOMAIN/,
    );
    expect(() => parseQueryType('AAA')).toThrow(
      /unknown query type "AAA"; valid names: .*\bAAAA\b/,
    );
  });
});

describe('usage errors on the command line', () => {
  it('observe --rcode with an unknown name exits 2 and lists the valid codes', async () => {
    const r = await run(['observe', '--rcode', 'NXDOMAN']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(
      /--rcode.*unknown response code "NXDOMAN"; valid names: NOERROR, .*NXDOMAIN/,
    );
  });

  it('top --qtype with an unknown name exits 2 and lists the valid types', async () => {
    const r = await run(['top', 'pods', '--qtype', 'A,AAA']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/unknown query type "AAA"; valid names: .*AAAA/);
  });

  it('a bad duration exits 2 naming the option and the accepted forms', async () => {
    const r = await run(['observe', '--since', '10 minutes']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--since.*expected a duration such as 30s, 10m/);
  });

  it('an unknown status exits 2 with the valid ones', async () => {
    const r = await run(['observe', '--status', 'lost']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/unknown status "lost"; valid: answered, unanswered, orphan, malformed/);
  });

  it('--until before --since exits 2', async () => {
    const r = await run(['top', 'pods', '--since', '10m', '--until', '1h']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--until .* is not after --since/);
  });

  it('--follow with --until exits 2', async () => {
    const r = await run(['observe', '--follow', '--until', '5m']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--follow prints until Ctrl-C; it takes no --until/);
  });

  it('--internal and --external together exit 2', async () => {
    const r = await run(['observe', '--internal', '--external']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/cannot be used with/);
  });

  it('top with an unknown group exits 2 and lists the groups', async () => {
    const r = await run(['top', 'namespaces']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/pods, workloads, servers, domains/);
  });

  it('an unknown config key is named', async () => {
    const r = await run(['observe', '--elasticsearch.node=http://x:9200']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/elasticsearch\.node: expected no such key/);
  });
});
