import { createCodec, toEcs, type EnrichedDnsTransaction } from '@dnsflow/schema';
import { SearchListDetector } from '../src/domain/search-list';
import {
  createEnrichment,
  enrichRecord,
  enrichmentConfigSchema,
  tryEnrich,
  type EnrichDeps,
} from '../src/enrich';
import { IdentityStore } from '../src/identity/store';
import { demoCluster, transaction, us } from './support/kube';

const CHECKOUT = '10.244.1.17';
const KUBE_DNS = '10.96.0.10';
const COREDNS = '10.244.1.2';

function deps(store: IdentityStore | null): EnrichDeps {
  return {
    store,
    search: new SearchListDetector(),
    clusterDomain: 'cluster.local',
    nowUs: () => us('2026-03-01T10:31:00Z'),
  };
}

describe('enrichRecord', () => {
  it('joins both ends, the answering CoreDNS pod, and describes the name', () => {
    const record = transaction('2026-03-01T10:30:00Z', CHECKOUT, KUBE_DNS, 'www.example.co.uk', {
      answeredBy: { ip: COREDNS, port: 53 },
    });
    const enriched = enrichRecord(record, deps(demoCluster()));

    expect(enriched.transaction).toBe(record);
    expect(enriched.enrichTimeUs).toBe(us('2026-03-01T10:31:00Z'));
    expect(enriched.client).toMatchObject({
      kind: 'POD',
      namespace: 'shop',
      pod: 'checkout-6f9c7d8b5-4x2kq',
      workloadKind: 'Deployment',
      workloadName: 'checkout',
      node: 'node-a',
    });
    expect(enriched.server).toMatchObject({
      kind: 'SERVICE',
      service: 'kube-dns',
      serviceNamespace: 'kube-system',
      serviceType: 'ClusterIP',
    });
    expect(enriched.answeredBy).toMatchObject({
      kind: 'POD',
      namespace: 'kube-system',
      pod: 'coredns-7db6d8ff4d-9wqzj',
      service: 'kube-dns',
    });
    expect(enriched.domain).toMatchObject({
      registeredDomain: 'example.co.uk',
      topLevelDomain: 'co.uk',
      subdomain: 'www',
    });
    expect(enriched.queryTarget).toEqual({
      internal: false,
      kind: null,
      namespace: null,
      name: null,
    });
    expect(enriched.searchList).toEqual({
      askedName: 'www.example.co.uk',
      isExpansion: false,
      suffix: null,
    });
  });

  it('produces records the Avro codec accepts and the ECS mapping renders', () => {
    const record = transaction(
      '2026-03-01T10:30:00Z',
      CHECKOUT,
      KUBE_DNS,
      'www.example.com.shop.svc.cluster.local',
      { rcode: 'NXDOMAIN', rcodeValue: 3 },
    );
    const enriched = enrichRecord(record, deps(demoCluster()));
    const codec = createCodec<EnrichedDnsTransaction>('EnrichedDnsTransaction');
    const decoded = codec.decode(codec.encode(enriched));
    expect(decoded.status).toBe('ok');
    if (decoded.status === 'ok') expect(decoded.value).toEqual(enriched);

    const doc = toEcs(enriched);
    expect(doc.source.kubernetes).toMatchObject({
      kind: 'pod',
      namespace: 'shop',
      workload: { kind: 'Deployment', name: 'checkout' },
    });
    expect(doc.destination.kubernetes?.service).toEqual({
      name: 'kube-dns',
      namespace: 'kube-system',
      type: 'ClusterIP',
    });
    expect(doc.dnsflow.search).toEqual({
      asked_name: 'www.example.com',
      is_expansion: true,
      suffix: 'shop.svc.cluster.local',
    });
  });

  it('joins the pod a delayed record came from, not the one holding the IP now', () => {
    const store = demoCluster([], '2026-03-01T10:00:10Z');
    const pod = store.resolve(CHECKOUT, us('2026-03-01T10:05:00Z'));
    expect(pod.status).toBe('found');
    // The pod goes at 11:00 and a new pod takes its IP.
    store.apply(
      {
        type: 'DELETED',
        kind: 'Pod',
        object: {
          metadata: {
            name: 'checkout-6f9c7d8b5-4x2kq',
            namespace: 'shop',
            uid: '3f1c2a9e-8d4b-4e0a-9b6f-0c2d1e4a7b10',
          },
        },
      },
      us('2026-03-01T11:00:00Z'),
    );
    store.apply(
      {
        type: 'ADDED',
        kind: 'Pod',
        object: {
          metadata: {
            name: 'search-7c9d-abcde',
            namespace: 'catalog',
            uid: 'uid-search',
            creationTimestamp: '2026-03-01T11:00:30Z',
          },
          spec: { nodeName: 'node-a' },
          status: { phase: 'Running', podIP: CHECKOUT },
        },
      },
      us('2026-03-01T11:00:31Z'),
    );
    const late = enrichRecord(
      transaction('2026-03-01T10:59:00Z', CHECKOUT, KUBE_DNS, 'example.com'),
      deps(store),
    );
    expect(late.client).toMatchObject({ pod: 'checkout-6f9c7d8b5-4x2kq', namespace: 'shop' });
    const fresh = enrichRecord(
      transaction('2026-03-01T11:00:31Z', CHECKOUT, KUBE_DNS, 'example.com'),
      deps(store),
    );
    expect(fresh.client).toMatchObject({ pod: 'search-7c9d-abcde', namespace: 'catalog' });
  });

  it('reports pending ends while the store catches up, then UNKNOWN when forced', () => {
    const store = demoCluster([], '2026-03-01T10:00:10Z');
    const record = transaction('2026-03-01T10:30:00Z', '10.244.1.77', KUBE_DNS, 'example.com');
    expect(tryEnrich(record, deps(store))).toEqual({
      status: 'pending',
      sides: ['client'],
      reason: 'not-seen-yet',
    });
    const forced = enrichRecord(record, deps(store));
    expect(forced.client).toMatchObject({ kind: 'UNKNOWN', pod: null });
    expect(forced.server?.kind).toBe('SERVICE');

    // The pod's event arrives: the same record now joins.
    store.apply(
      {
        type: 'ADDED',
        kind: 'Pod',
        object: {
          metadata: {
            name: 'late-pod',
            namespace: 'shop',
            uid: 'uid-late',
            creationTimestamp: '2026-03-01T10:29:50Z',
          },
          spec: { nodeName: 'node-a' },
          status: { phase: 'Running', podIP: '10.244.1.77' },
        },
      },
      us('2026-03-01T10:30:01Z'),
    );
    const outcome = tryEnrich(record, deps(store));
    expect(outcome.status).toBe('ok');
    if (outcome.status === 'ok') {
      expect(outcome.record.client).toMatchObject({ kind: 'POD', pod: 'late-pod' });
      expect(outcome.unknown).toEqual([]);
    }
  });

  it('waits for a Service that may be new rather than calling its name missing', () => {
    const store = demoCluster([], '2026-03-01T10:30:01Z');
    const record = transaction(
      '2026-03-01T10:30:00Z',
      CHECKOUT,
      KUBE_DNS,
      'search.shop.svc.cluster.local',
    );
    expect(tryEnrich(record, deps(store))).toEqual({
      status: 'pending',
      sides: ['question'],
      reason: 'not-seen-yet',
    });
    store.apply(
      {
        type: 'ADDED',
        kind: 'Service',
        object: {
          metadata: {
            name: 'search',
            namespace: 'shop',
            creationTimestamp: '2026-03-01T10:29:58Z',
          },
          spec: { type: 'ClusterIP', clusterIP: '10.96.9.9' },
        },
      },
      us('2026-03-01T10:30:01Z'),
    );
    const outcome = tryEnrich(record, deps(store));
    expect(outcome.status).toBe('ok');
    if (outcome.status === 'ok') {
      expect(outcome.record.queryTarget).toMatchObject({ kind: 'service', name: 'search' });
      expect(outcome.record.searchList?.isExpansion).toBe(false);
    }
    // Once the watches are well past the record, a missing service is settled as missing.
    const later = demoCluster([], '2026-03-01T10:31:00Z');
    const missing = tryEnrich(record, deps(later));
    expect(missing.status === 'ok' && missing.record.searchList).toEqual({
      askedName: 'search',
      isExpansion: true,
      suffix: 'shop.svc.cluster.local',
    });
  });

  it('marks outside addresses EXTERNAL and counts unknown ends', () => {
    const record = transaction('2026-03-01T10:30:00Z', '10.244.1.99', '8.8.8.8', 'example.com');
    const outcome = tryEnrich(record, deps(demoCluster()));
    expect(outcome.status).toBe('ok');
    if (outcome.status === 'ok') {
      expect(outcome.record.server?.kind).toBe('EXTERNAL');
      expect(outcome.record.client?.kind).toBe('UNKNOWN');
      expect(outcome.unknown).toEqual(['client']);
      expect(outcome.record.answeredBy).toBeNull();
    }
  });

  it('leaves identities null without an identity source, and name fields null without a question', () => {
    const noStore = enrichRecord(
      transaction('2026-03-01T10:30:00Z', CHECKOUT, KUBE_DNS, 'payments.shop.svc.cluster.local'),
      deps(null),
    );
    expect([noStore.client, noStore.server, noStore.answeredBy]).toEqual([null, null, null]);
    expect(noStore.queryTarget).toEqual({
      internal: true,
      kind: null,
      namespace: 'shop',
      name: 'payments',
    });

    const malformed = enrichRecord(
      transaction('2026-03-01T10:30:00Z', CHECKOUT, KUBE_DNS, null, {
        status: 'MALFORMED',
        malformedReason: 'truncated header',
      }),
      deps(demoCluster()),
    );
    expect(malformed.client?.kind).toBe('POD');
    expect([malformed.domain, malformed.queryTarget, malformed.searchList]).toEqual([
      null,
      null,
      null,
    ]);
  });

  it('names the service a query asks for', () => {
    const enriched = enrichRecord(
      transaction('2026-03-01T10:30:00Z', CHECKOUT, KUBE_DNS, 'payments.shop.svc.cluster.local'),
      deps(demoCluster()),
    );
    expect(enriched.queryTarget).toEqual({
      internal: true,
      kind: 'service',
      namespace: 'shop',
      name: 'payments',
    });
    expect(enriched.searchList?.isExpansion).toBe(false);
  });
});

describe('enrichment configuration', () => {
  it('has defaults, and builds a working store and detector', () => {
    const config = enrichmentConfigSchema.parse({});
    expect(config).toMatchObject({
      clusterDomain: 'cluster.local',
      timeline: { tombstoneWindowMs: 900_000, maxEntries: 250_000 },
      searchList: { windowMs: 5000 },
    });
    const built = createEnrichment(config);
    expect(built.store).toBeInstanceOf(IdentityStore);
    expect(built.search.clusterDomain).toBe('cluster.local');
  });

  it('rejects unknown keys and malformed domains, naming them', () => {
    const bad = enrichmentConfigSchema.safeParse({
      clusterDomain: 'Cluster.Local.',
      timeline: { tombstoneWindow: 5 },
    });
    expect(bad.success).toBe(false);
    const paths = bad.error?.issues.map((i) => i.path.join('.'));
    expect(paths).toEqual(expect.arrayContaining(['clusterDomain', 'timeline']));
  });
});
