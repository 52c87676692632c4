import { startCoreDns, type RunningCoreDns } from '../support/coredns';
import { freePort, startDnsServer, type DigResult, type TestDnsServer } from '../support/dns';
import { eventually } from '../support/eventually';
import {
  createEndpointSlice,
  createNamespace,
  createPod,
  createService,
  deleteNamespace,
  setPodIps,
} from '../support/k8s';
import { uniqueName } from '../support/services';

// CoreDNS with its kubernetes plugin on the local kube-apiserver answers for the services the
// tests create, like a cluster's DNS, and sends other names to a real upstream (dnsmasq).

let ns: string;
let upstream: TestDnsServer;
let coredns: RunningCoreDns;

beforeAll(async () => {
  ns = uniqueName('it-coredns');
  await createNamespace(ns);
  upstream = await startDnsServer({ ipv6: false });
  coredns = await startCoreDns({ port: await freePort(), upstream });
});

afterAll(async () => {
  await coredns?.stop();
  await upstream?.stop();
  if (ns !== undefined) await deleteNamespace(ns);
});

/** Queries until the answer has records (CoreDNS sees new objects through its watch). */
async function resolved(name: string, type = 'A'): Promise<DigResult> {
  return eventually(
    () => coredns.query(name, { type }),
    (r) => r.status === 'NOERROR' && r.answers.length > 0,
    20_000,
  );
}

function records(result: DigResult): string[] {
  return result.answers.map((a) => `${a.name} ${a.type} ${a.data}`).sort();
}

describe('CoreDNS on the local kube-apiserver', () => {
  it('resolves a ClusterIP service to its cluster IP', async () => {
    const svc = await createService(ns, 'web', {
      selector: { app: 'web' },
      ports: [{ name: 'http', port: 80, protocol: 'TCP' }],
    });
    const name = `web.${ns}.svc.cluster.local`;
    const result = await resolved(name);
    expect(records(result)).toEqual([`${name} A ${svc.spec.clusterIP}`]);
    expect(result.flags).toContain('aa');
  });

  it('resolves a headless service to its endpoints, and each endpoint by hostname', async () => {
    await createService(ns, 'db', { headless: true, selector: { app: 'db' } });
    for (const [pod, ip] of [
      ['db-0', '10.244.3.10'],
      ['db-1', '10.244.3.11'],
    ] as const) {
      await createPod(ns, pod, { labels: { app: 'db' } });
      await setPodIps(ns, pod, [ip], '192.0.2.30');
    }
    await createEndpointSlice(ns, 'db-x1', 'db', [
      { ip: '10.244.3.10', podName: 'db-0', hostname: 'db-0' },
      { ip: '10.244.3.11', podName: 'db-1', hostname: 'db-1' },
    ]);
    const name = `db.${ns}.svc.cluster.local`;
    const all = await eventually(
      () => coredns.query(name),
      (r) => r.answers.length === 2,
      20_000,
    );
    expect(records(all)).toEqual([`${name} A 10.244.3.10`, `${name} A 10.244.3.11`]);
    const one = await resolved(`db-1.${name}`);
    expect(records(one)).toEqual([`db-1.${name} A 10.244.3.11`]);
  });

  it('answers NXDOMAIN for a service that does not exist', async () => {
    const result = await coredns.query(`missing.${ns}.svc.cluster.local`);
    expect(result.status).toBe('NXDOMAIN');
  });

  it('forwards names outside the cluster to the upstream server', async () => {
    const result = await coredns.query(upstream.names.a);
    expect(result.status).toBe('NOERROR');
    expect(records(result)).toEqual([
      `${upstream.names.a} A ${upstream.records.a[upstream.names.a]}`,
    ]);
    expect(upstream.log()).toContain(upstream.names.a);
  });
});

describe('CoreDNS without an upstream', () => {
  it('answers outside names from its template', async () => {
    const alone = await startCoreDns({ port: await freePort() });
    try {
      const result = await alone.query('www.example.com');
      expect(records(result)).toEqual(['www.example.com A 192.0.2.200']);
      const cluster = await alone.query('kubernetes.default.svc.cluster.local');
      expect(records(cluster)).toEqual(['kubernetes.default.svc.cluster.local A 10.96.0.1']);
    } finally {
      await alone.stop();
    }
  });
});
