import { createCodec, ecsJson, isoMicros, latestSchema, toEcs } from '../src/index';
import type { EnrichedDnsTransaction, K8sIdentity } from '../src/index';
import { isoMicros as referenceIsoMicros, referenceToEcs } from './fixtures/ecs-reference';
import { fullEnriched } from './fixtures/records';

// toEcs was rewritten for speed; documents already indexed and the NDJSON sent to
// Elasticsearch must not change. Every variant below goes through both the rewrite and the
// mapping as it was, and the serialized documents must be the same bytes (key order too).

/** Deterministic pseudo-random numbers (mulberry32), so a failure names a reproducible case. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function variant(seed: number): EnrichedDnsTransaction {
  const rnd = prng(seed);
  const chance = (p: number): boolean => rnd() < p;
  const pick = <T>(values: readonly T[]): T => values[Math.floor(rnd() * values.length)]!;
  const r = fullEnriched();
  const tx = r.transaction;

  tx.status = pick(['ANSWERED', 'UNANSWERED', 'ORPHAN', 'MALFORMED'] as const);
  tx.transport = pick(['UDP', 'TCP'] as const);
  tx.client.ip = pick(['10.244.1.17', '10.96.0.10', 'fd00::17', '::ffff:192.0.2.1', '192.0.2.10']);
  tx.server.ip = pick(['10.96.0.10', '10.244.1.17', 'fd00::a', '2001:db8::10']);
  tx.client.port = Math.floor(rnd() * 65536);
  tx.dnsId = Math.floor(rnd() * 65536);
  tx.startTimeUs = 1_764_000_000_000_000 + Math.floor(rnd() * 1e9);
  tx.captureTimeUs = tx.startTimeUs + Math.floor(rnd() * 1500);
  tx.opcode = pick(['QUERY', 'NOTIFY', 'UPDATE']);
  tx.rcode = pick(['NOERROR', 'NXDOMAIN', 'SERVFAIL', null]);
  tx.rcodeValue = chance(0.3) ? null : pick([0, 2, 3]);
  for (const flag of ['aa', 'tc', 'rd', 'ra', 'ad', 'cd', 'do'] as const)
    tx.flags[flag] = chance(0.5);
  if (chance(0.3)) tx.endTimeUs = null;
  else tx.endTimeUs = tx.startTimeUs + Math.floor(rnd() * 5000);
  if (chance(0.3)) tx.latencyUs = null;
  else tx.latencyUs = pick([0, 1, 999, 4320]);
  if (chance(0.3)) tx.iface = null;
  else if (chance(0.2)) tx.iface = '';
  if (chance(0.3)) tx.answeredBy = null;
  else if (tx.answeredBy && chance(0.5)) tx.answeredBy.ip = pick([tx.client.ip, tx.server.ip]);
  if (chance(0.2)) tx.question = null;
  else if (tx.question && chance(0.3))
    tx.question.name = pick(['a"b\\c.example', 'ünï.example', '']);
  const answers = rnd();
  if (answers < 0.3) tx.answers = [];
  else if (answers < 0.5) tx.answers.push({ ...tx.answers[1]!, data: tx.client.ip });
  if (chance(0.4)) tx.authorities = [];
  if (chance(0.4)) tx.additionals = [];
  if (chance(0.3)) tx.queryEdns = null;
  else if (tx.queryEdns && chance(0.5)) tx.queryEdns.clientSubnet = null;
  if (chance(0.5)) tx.responseEdns = null;
  if (chance(0.3)) tx.requestBytes = null;
  else if (chance(0.2)) tx.requestBytes = 0;
  if (chance(0.3)) tx.responseBytes = null;
  else if (chance(0.2)) tx.responseBytes = 0;
  tx.malformedReason = tx.status === 'MALFORMED' ? pick(['truncated header', 'label loop']) : null;
  tx.duplicateResponses = pick([0, 1, 3]);
  if (chance(0.5)) tx.notes = [];

  const identity = (value: K8sIdentity | null): K8sIdentity | null => {
    if (value === null || chance(0.25)) return null;
    const nullable = [
      'namespace',
      'pod',
      'podUid',
      'node',
      'workloadKind',
      'workloadName',
      'service',
      'serviceNamespace',
      'serviceType',
    ] as const;
    for (const key of nullable) {
      if (chance(0.25)) value[key] = null;
      else if (chance(0.1)) value[key] = '';
      else if (value[key] === null && chance(0.3)) value[key] = `${key}-${seed}`;
    }
    value.kind = pick(['POD', 'HOST_POD', 'NODE', 'SERVICE', 'EXTERNAL', 'UNKNOWN'] as const);
    if (chance(0.3)) value.labels = {};
    return value;
  };
  r.client = identity(r.client);
  r.server = identity(r.server);
  r.answeredBy = identity(r.answeredBy);
  if (chance(0.3)) r.queryTarget = null;
  else if (r.queryTarget && chance(0.5)) {
    r.queryTarget = { internal: true, kind: 'service', namespace: 'kube-system', name: null };
  }
  if (chance(0.3)) r.domain = null;
  else if (r.domain && chance(0.5)) {
    r.domain.registeredDomain = null;
    r.domain.subdomain = chance(0.5) ? null : '';
  }
  if (chance(0.3)) r.searchList = null;
  else if (r.searchList && chance(0.5)) r.searchList.suffix = 'svc.cluster.local';
  return r;
}

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

  it('writes an identity shared by many records (a frozen object, its text cached) as toEcs does', () => {
    const shared = createCodec<EnrichedDnsTransaction>('EnrichedDnsTransaction', {
      shareRecords: ['K8sIdentity'],
    });
    const base = fullEnriched();
    for (let i = 0; i < 20; i++) {
      const r = { ...base, transaction: { ...base.transaction, dnsId: i } };
      if (i % 2 === 1) r.client = { ...base.client!, labels: { app: `v${i}`, '1': 'x' } };
      const decoded = shared.decode(shared.encode(r));
      if (decoded.status !== 'ok') throw decoded.error;
      expect(Object.isFrozen(decoded.value.client)).toBe(true);
      expect(ecsJson(decoded.value, { namespace: 'prod' })).toBe(
        JSON.stringify(toEcs(r, { namespace: 'prod' })),
      );
    }
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
