import { ecsJson, isoMicros, latestSchema, toEcs } from '../src/index';
import type { EnrichedDnsTransaction } from '../src/index';
import { isoMicros as referenceIsoMicros, referenceToEcs } from './fixtures/ecs-reference';
import { prng, variant } from './fixtures/variants';
import { fullEnriched } from './fixtures/records';

// toEcs was rewritten for speed; documents already indexed and the NDJSON sent to
// Elasticsearch must not change. Every variant below goes through both the rewrite and the
// mapping as it was, and the serialized documents must be the same bytes (key order too).

/** Renders 2,000 variants with `render` and expects the previous mapping's JSON for each. */
function expectAsBefore(
  render: (record: EnrichedDnsTransaction, options: { namespace?: string }) => string,
): void {
  let differing = 0;
  for (let seed = 1; seed <= 2000; seed++) {
    const options = seed % 2 === 0 ? { namespace: 'prod' } : {};
    const actual = render(variant(seed), options);
    const expected = JSON.stringify(referenceToEcs(variant(seed), options));
    if (actual !== expected) {
      differing++;
      expect({ seed, document: actual }).toEqual({ seed, document: expected });
    }
  }
  expect(differing).toBe(0);
}

describe('toEcs, rewritten', () => {
  it('renders the fully populated record exactly as the previous mapping did', () => {
    expect(JSON.stringify(toEcs(fullEnriched(), { namespace: 'prod' }))).toBe(
      JSON.stringify(referenceToEcs(fullEnriched(), { namespace: 'prod' })),
    );
  });

  it('renders 2,000 varied records exactly as the previous mapping did', () => {
    expectAsBefore((record, options) => JSON.stringify(toEcs(record, options)));
  });

  it('varies the records enough to reach every optional field both ways', () => {
    const present = new Map<string, number>();
    const count = (value: unknown, prefix: string): void => {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) return;
      for (const [key, child] of Object.entries(value)) {
        const path = prefix ? `${prefix}.${key}` : key;
        present.set(path, (present.get(path) ?? 0) + 1);
        count(child, path);
      }
    };
    for (let seed = 1; seed <= 2000; seed++) count(toEcs(variant(seed)), '');
    const optional = [
      'event.end',
      'event.duration',
      'network.bytes',
      'source.bytes',
      'source.kubernetes',
      'source.kubernetes.pod',
      'source.kubernetes.labels',
      'destination.kubernetes.service',
      'related.hosts',
      'observer.ingress',
      'dns.response_code',
      'dns.question',
      'dns.question.registered_domain',
      'dns.answers',
      'dns.resolved_ip',
      'dnsflow.latency_us',
      'dnsflow.rcode_value',
      'dnsflow.authorities',
      'dnsflow.edns',
      'dnsflow.edns.query.client_subnet',
      'dnsflow.malformed_reason',
      'dnsflow.notes',
      'dnsflow.answered_by.kubernetes',
      'dnsflow.query_target.kind',
      'dnsflow.domain',
      'dnsflow.search.suffix',
    ];
    for (const path of optional) {
      expect({ path, present: (present.get(path) ?? 0) > 0 }).toEqual({ path, present: true });
      expect({ path, absent: (present.get(path) ?? 0) < 2000 }).toEqual({ path, absent: true });
    }
  });

  it('formats timestamps exactly as before, across seconds, years and odd inputs', () => {
    const values = [
      0,
      1,
      999,
      1000,
      999_999,
      1_000_000,
      1_764_000_000_000_001,
      1_764_000_000_999_999,
      1_764_000_001_000_000,
      1_764_000_000_000_001, // back to a second formatted before
      -1,
      -1_000_001,
      // Late 9999 and early 10000 (a six-digit year); beyond 2^53, so whatever double
      // these land on, which both implementations get alike.
      253_402_300_799_999 * 1000,
      253_402_300_800_001 * 1000,
      1_764_000_000_000_000.5,
    ];
    const rnd = prng(42);
    for (let i = 0; i < 500; i++) values.push(1_764_000_000_000_000 + Math.floor(rnd() * 5e6));
    for (const value of values) {
      expect({ value, iso: isoMicros(value) }).toEqual({ value, iso: referenceIsoMicros(value) });
    }
    for (const bad of [NaN, 8.64e18 + 1000]) {
      expect(() => isoMicros(bad)).toThrow(RangeError);
      expect(() => referenceIsoMicros(bad)).toThrow(RangeError);
    }
  });
});

// ecsJson writes the document's JSON text straight from the record, for the indexer. It must
// be exactly the text JSON.stringify makes of the mapping (what was sent before, key order,
// escapes and number formats included).
describe('ecsJson', () => {
  it('is the previous mapping serialized, for the fully populated record and 2,000 variants', () => {
    expect(ecsJson(fullEnriched(), { namespace: 'prod' })).toBe(
      JSON.stringify(referenceToEcs(fullEnriched(), { namespace: 'prod' })),
    );
    expectAsBefore(ecsJson);
  });

  it('is JSON.stringify of toEcs for 5,000 random records of the schema', () => {
    const type = latestSchema('EnrichedDnsTransaction').type;
    let differing = 0;
    for (let i = 0; i < 5000; i++) {
      const record = type.random() as unknown as EnrichedDnsTransaction;
      const render = (f: () => string): string => {
        try {
          return f();
        } catch (err) {
          return `threw ${String(err)}`;
        }
      };
      const actual = render(() => ecsJson(record, { namespace: `ns${i}` }));
      const expected = render(() => JSON.stringify(toEcs(record, { namespace: `ns${i}` })));
      if (actual !== expected) {
        differing++;
        expect({ i, document: actual }).toEqual({ i, document: expected });
      }
    }
    expect(differing).toBe(0);
  });

  it('escapes strings and formats numbers as JSON.stringify does', () => {
    const odd = [
      'quote " backslash \\ slash /',
      'controls \u0000\u0001\n\r\t\u001f and \u007f',
      'lone surrogates \ud800 \udfff, a pair \ud83d\ude00',
      'line separators \u2028\u2029, ünïcödé, 名前',
      '',
    ];
    for (const text of odd) {
      const r = fullEnriched();
      const tx = r.transaction;
      tx.node = text;
      tx.notes = [text, 'plain'];
      tx.question!.name = text;
      tx.answers[0]!.data = text;
      r.client!.labels = { [text]: text, '10': 'integer-like keys first', a: 'b' };
      r.client!.pod = text;
      r.domain!.entropy = NaN;
      r.domain!.digitRatio = Infinity;
      r.searchList!.suffix = text;
      expect(ecsJson(r, { namespace: text })).toBe(JSON.stringify(toEcs(r, { namespace: text })));
    }
  });
});
