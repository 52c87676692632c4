import { parseClusterName, queryTarget } from '../src/domain/cluster-names';
import { demoCluster, us } from './support/kube';

const CD = 'cluster.local';
const at = us('2026-03-01T10:30:00Z');

describe('cluster names', () => {
  it('parses the forms of the Kubernetes DNS specification', () => {
    expect(parseClusterName('payments.shop.svc.cluster.local', CD)).toEqual({
      form: 'service',
      namespace: 'shop',
      service: 'payments',
    });
    expect(parseClusterName('_postgres._tcp.postgres.db.svc.cluster.local', CD)).toEqual({
      form: 'service',
      namespace: 'db',
      service: 'postgres',
    });
    expect(parseClusterName('postgres-0.postgres.db.svc.cluster.local', CD)).toEqual({
      form: 'service-pod',
      namespace: 'db',
      service: 'postgres',
      hostname: 'postgres-0',
    });
    expect(parseClusterName('10-244-1-17.shop.pod.cluster.local', CD)).toEqual({
      form: 'pod-ip',
      namespace: 'shop',
      ip: '10.244.1.17',
    });
    expect(parseClusterName('fd00-10-244--17.shop.pod.cluster.local', CD)).toEqual({
      form: 'pod-ip',
      namespace: 'shop',
      ip: 'fd00:10:244::17',
    });
    expect(parseClusterName('shop.svc.cluster.local', CD)).toEqual({ form: 'other' });
    expect(parseClusterName('example.com', CD)).toBeNull();
    expect(parseClusterName('notcluster.local', CD)).toBeNull();
  });

  it('follows a configured cluster domain', () => {
    expect(parseClusterName('payments.shop.svc.k8s.example.net', 'k8s.example.net')).toEqual({
      form: 'service',
      namespace: 'shop',
      service: 'payments',
    });
    expect(parseClusterName('payments.shop.svc.cluster.local', 'k8s.example.net')).toBeNull();
  });

  it('resolves a service name to the service, as of the record time', () => {
    const store = demoCluster();
    expect(queryTarget('payments.shop.svc.cluster.local', at, store, CD)).toEqual({
      internal: true,
      kind: 'service',
      namespace: 'shop',
      name: 'payments',
    });
    // Before the service existed (it was created 2026-01-15), the name named nothing.
    expect(
      queryTarget('payments.shop.svc.cluster.local', us('2026-01-01T00:00:00Z'), store, CD),
    ).toEqual({ internal: true, kind: null, namespace: 'shop', name: 'payments' });
  });

  it('resolves pod names: by hostname under a headless service, and by dashed IP', () => {
    const store = demoCluster();
    expect(queryTarget('postgres-0.postgres.db.svc.cluster.local', at, store, CD)).toEqual({
      internal: true,
      kind: 'pod',
      namespace: 'db',
      name: 'postgres-0',
    });
    expect(queryTarget('10-244-2-5.postgres.db.svc.cluster.local', at, store, CD)).toMatchObject({
      kind: 'pod',
      name: 'postgres-0',
    });
    expect(queryTarget('10-244-1-17.shop.pod.cluster.local', at, store, CD)).toEqual({
      internal: true,
      kind: 'pod',
      namespace: 'shop',
      name: 'checkout-6f9c7d8b5-4x2kq',
    });
    // The IP is a pod of another namespace: the name names no pod.
    expect(queryTarget('10-244-1-17.db.pod.cluster.local', at, store, CD)).toMatchObject({
      kind: null,
      namespace: 'db',
    });
  });

  it('flags names outside the cluster domain external', () => {
    expect(queryTarget('www.example.com', at, demoCluster(), CD)).toEqual({
      internal: false,
      kind: null,
      namespace: null,
      name: null,
    });
    expect(queryTarget('cluster.local', at, null, CD)).toMatchObject({ internal: true });
  });
});
