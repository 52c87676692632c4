import { join } from 'node:path';
import { SearchListDetector } from '../src/domain/search-list';
import { enrichRecord } from '../src/enrich';
import { IdentityStore, type Resolution } from '../src/identity/store';
import {
  InventoryError,
  applyInventory,
  loadInventoryFile,
  parseInventory,
} from '../src/inventory';
import { fixture, transaction, us } from './support/kube';

const dir = join(__dirname, 'fixtures', 'inventory');

function loadedLab(): IdentityStore {
  const store = new IdentityStore();
  applyInventory(store, loadInventoryFile(join(dir, 'lab.yaml')), { authoritative: true });
  return store;
}

function pod(resolution: Resolution): string | null {
  return resolution.status === 'found' ? resolution.identity.pod : null;
}

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InventoryError);
    return (err as InventoryError).problems.map((p) => `${p.path}: ${p.expected}`);
  }
  throw new Error('expected an InventoryError');
}

describe('static inventory', () => {
  it('loads pods, services and nodes into the store', () => {
    const store = loadedLab();
    const at = us('2026-03-01T11:00:00Z');
    expect(store.resolve('10.43.0.10', at)).toMatchObject({
      status: 'found',
      identity: { kind: 'SERVICE', service: 'kube-dns', namespace: 'kube-system' },
    });
    expect(store.resolve('10.42.0.5', at)).toMatchObject({
      status: 'found',
      identity: {
        kind: 'POD',
        pod: 'coredns-0',
        node: 'edge-1',
        workloadKind: 'Deployment',
        workloadName: 'coredns',
        service: 'kube-dns',
        labels: { 'k8s-app': 'kube-dns' },
      },
    });
    expect(store.resolve('192.168.50.2', at)).toMatchObject({
      status: 'found',
      identity: { kind: 'NODE', node: 'edge-1' },
    });
    expect(store.resolve('192.168.50.3', at, 53)).toMatchObject({
      status: 'found',
      identity: { kind: 'HOST_POD', pod: 'dns-cache' },
    });
    expect(store.findPodByHostname('finance', 'ledger', 'ledger-0', at)?.pod).toBe('ledger-0');
    expect(store.findService('finance', 'ledger', at)?.serviceType).toBe('Headless');
  });

  it('keeps labels off the allow-list out of identities', () => {
    const store = loadedLab();
    const found = store.resolve('10.42.0.20', us('2026-03-01T11:00:00Z'));
    expect(found).toMatchObject({ status: 'found', identity: { labels: { app: 'web' } } });
  });

  it('honours validity times: an IP handed from one pod to another', () => {
    const store = loadedLab();
    expect(pod(store.resolve('10.42.0.20', us('2026-03-01T11:59:59Z')))).toBe('web-old');
    expect(pod(store.resolve('10.42.0.20', us('2026-03-01T12:00:00Z')))).toBe('web-new');
  });

  it('is authoritative when asked: an address it does not name is external at once', () => {
    const store = loadedLab();
    expect(store.resolve('1.1.1.1', us('2030-01-01T00:00:00Z'))).toEqual({ status: 'external' });
    expect(store.resolve('10.42.0.99', us('2030-01-01T00:00:00Z'))).toEqual({
      status: 'unknown',
      reason: 'cluster-range',
    });
  });

  it('enriches a replayed capture from the inventory alone', () => {
    const enriched = enrichRecord(
      transaction(
        '2026-03-01T11:30:00Z',
        '10.42.0.20',
        '10.43.0.10',
        'ledger.finance.svc.cluster.local',
        {
          answeredBy: { ip: '10.42.0.5', port: 53 },
        },
      ),
      { store: loadedLab(), search: new SearchListDetector(), clusterDomain: 'cluster.local' },
    );
    expect(enriched.client).toMatchObject({ pod: 'web-old', namespace: 'shop' });
    expect(enriched.server).toMatchObject({ kind: 'SERVICE', service: 'kube-dns' });
    expect(enriched.answeredBy).toMatchObject({ pod: 'coredns-0' });
    expect(enriched.queryTarget).toMatchObject({ kind: 'service', name: 'ledger' });
  });

  it('survives pruning and an informer re-list of the same kinds', () => {
    const store = loadedLab();
    store.prune(us('2030-01-01T00:00:00Z'));
    store.replace('Pod', [fixture('pod-deployment')], us('2030-01-01T00:00:00Z'));
    expect(pod(store.resolve('10.42.0.20', us('2026-03-01T11:00:00Z')))).toBe('web-old');
    expect(pod(store.resolve('10.42.0.5', us('2030-01-01T00:00:00Z')))).toBe('coredns-0');
    expect(pod(store.resolve('10.244.1.17', us('2030-01-01T00:00:00Z')))).toBe(
      'checkout-6f9c7d8b5-4x2kq',
    );
  });

  it('reads JSON as well as YAML', () => {
    const inventory = loadInventoryFile(join(dir, 'lab.json'));
    expect(inventory.pods).toHaveLength(1);
    expect(inventory.pods[0]).toMatchObject({ name: 'web', namespace: 'shop', hostNetwork: false });
  });

  it('lists every problem with its path', () => {
    const problems = problemsOf(() => loadInventoryFile(join(dir, 'broken.yaml')));
    expect(problems).toEqual(
      expect.arrayContaining([
        'pods[0].ip: an IPv4 or IPv6 address',
        'pods[1].name: string',
        'pods[2].form: no such key (unknown keys are rejected)',
        expect.stringMatching(/^services\[0\]\.type: one of "ClusterIP"/) as string,
        'nodes[0].podCIDRs[0]: a CIDR such as 10.244.0.0/16',
      ]),
    );
    expect(problems).toHaveLength(5);
  });

  it('names the file and the value it found in the message', () => {
    const path = join(dir, 'broken.yaml');
    expect(() => loadInventoryFile(path)).toThrow(
      `invalid inventory ${path}:\n  pods[0].ip: expected an IPv4 or IPv6 address, found string "10.42.0.300"`,
    );
  });

  it('rejects overlapping validity for one name and inverted times', () => {
    expect(problemsOf(() => loadInventoryFile(join(dir, 'overlap.yaml')))).toEqual([
      'pods[1]: a validity (from/to) apart from pods[0], which has the same name',
      'pods[2].to: a time after from (2026-03-01T11:00:00Z)',
    ]);
  });

  it('rejects a missing file, bad syntax and a document that is not a mapping', () => {
    expect(problemsOf(() => loadInventoryFile(join(dir, 'absent.yaml')))).toEqual([
      ': a readable file',
    ]);
    expect(problemsOf(() => parseInventory('pods: [name: x', 'inline.yaml'))).toEqual([': YAML']);
    expect(problemsOf(() => parseInventory('- a\n- b\n'))).toEqual([
      ': a mapping with pods, services and nodes',
    ]);
    expect(problemsOf(() => parseInventory('{"pods": 1}', 'x.json', true))).toEqual([
      'pods: array',
    ]);
  });

  it('accepts an empty file as an empty inventory', () => {
    expect(parseInventory('')).toEqual({ pods: [], services: [], nodes: [] });
  });
});
