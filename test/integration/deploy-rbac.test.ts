import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { RESOURCES } from '@dnsflow/enricher';
import { request } from 'node:https';
import { K8S_URL, K8sApiError, deleteNamespace, k8sCaPath, k8sRequest } from '../support/k8s';
import { eventually } from '../support/eventually';
import { ROOT, uniqueName } from '../support/services';

// deploy/enricher-rbac.yaml applied to the real kube-apiserver (RBAC on): the enricher's
// service account can list and watch everything its informers watch, and nothing more.

interface Manifest {
  kind: string;
  metadata: { name: string; namespace?: string };
  rules?: { apiGroups: string[]; resources: string[]; verbs: string[] }[];
  roleRef?: { name: string };
  subjects?: { name: string; namespace: string }[];
}

const suffix = uniqueName('rbac').replace(/[^a-z0-9-]/g, '');
const namespace = `dnsflow-${suffix}`;
const role = `dnsflow-enricher-${suffix}`;
let token: string;

/** The manifests with names made unique for this run. */
function manifests(): Manifest[] {
  const text = readFileSync(join(ROOT, 'deploy', 'enricher-rbac.yaml'), 'utf8');
  return parseAllDocuments(text).map((doc) => {
    const m = doc.toJS() as Manifest;
    if (m.kind === 'Namespace') m.metadata.name = namespace;
    if (m.metadata.namespace !== undefined) m.metadata.namespace = namespace;
    if (m.kind.startsWith('ClusterRole')) m.metadata.name = role;
    if (m.roleRef) m.roleRef.name = role;
    for (const s of m.subjects ?? []) s.namespace = namespace;
    return m;
  });
}

const PATHS: Record<string, (m: Manifest) => string> = {
  Namespace: () => '/api/v1/namespaces',
  ServiceAccount: (m) => `/api/v1/namespaces/${m.metadata.namespace}/serviceaccounts`,
  ClusterRole: () => '/apis/rbac.authorization.k8s.io/v1/clusterroles',
  ClusterRoleBinding: () => '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings',
};

async function status(promise: Promise<unknown>): Promise<number> {
  try {
    await promise;
    return 200;
  } catch (err) {
    if (err instanceof K8sApiError) return err.statusCode;
    throw err;
  }
}

/** The HTTP status of opening a watch as the service account (the stream is then closed). */
function watchStatus(path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${K8S_URL}${path}?watch=true&timeoutSeconds=1&allowWatchBookmarks=true`,
      { ca: readFileSync(k8sCaPath()), headers: { authorization: `Bearer ${token}` } },
      (res) => {
        resolve(res.statusCode ?? 0);
        res.destroy();
      },
    );
    req.on('error', reject);
    req.end();
  });
}

beforeAll(async () => {
  for (const m of manifests()) {
    const path = PATHS[m.kind];
    if (path === undefined) throw new Error(`deploy/enricher-rbac.yaml: unexpected kind ${m.kind}`);
    await k8sRequest('POST', path(m), { body: m });
  }
  // A short-lived token for the service account, as the kubelet would mount one.
  const request = await k8sRequest<{ status: { token: string } }>(
    'POST',
    `/api/v1/namespaces/${namespace}/serviceaccounts/dnsflow-enricher/token`,
    { body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: {} } },
  );
  token = request.status.token;
  // The API server authorizes from a cache of roles and bindings that follows their writes
  // a moment later (one CI run in several saw a 403 right after the POSTs): wait until it
  // allows the service account one of the reads. What the tests assert is asked as the
  // service account itself; a binding that never takes lets them fail on what was seen.
  const review = {
    apiVersion: 'authorization.k8s.io/v1',
    kind: 'SubjectAccessReview',
    spec: {
      user: `system:serviceaccount:${namespace}:dnsflow-enricher`,
      groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`],
      resourceAttributes: { verb: 'list', resource: 'pods' },
    },
  };
  await eventually(
    async () =>
      (
        await k8sRequest<{ status: { allowed?: boolean } }>(
          'POST',
          '/apis/authorization.k8s.io/v1/subjectaccessreviews',
          { body: review },
        )
      ).status.allowed === true,
    (allowed) => allowed,
    30_000,
    100,
  );
});

afterAll(async () => {
  await k8sRequest(
    'DELETE',
    `/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/${role}`,
  ).catch(() => undefined);
  await k8sRequest('DELETE', `/apis/rbac.authorization.k8s.io/v1/clusterroles/${role}`).catch(
    () => undefined,
  );
  await deleteNamespace(namespace).catch(() => undefined);
});

test('the role grants read verbs on exactly the resources the informers watch', () => {
  const roleDoc = manifests().find((m) => m.kind === 'ClusterRole');
  const granted = (roleDoc?.rules ?? []).flatMap((r) => r.resources).sort();
  expect(granted).toEqual(Object.keys(RESOURCES).sort());
  for (const rule of roleDoc?.rules ?? [])
    expect(rule.verbs.sort()).toEqual(['get', 'list', 'watch']);
});

test('the service account lists and watches every informer resource', async () => {
  for (const spec of Object.values(RESOURCES)) {
    expect([
      spec.path,
      await status(k8sRequest('GET', spec.path, { token, query: { limit: 1 } })),
    ]).toEqual([spec.path, 200]);
    expect([`${spec.path} watch`, await watchStatus(spec.path)]).toEqual([
      `${spec.path} watch`,
      200,
    ]);
  }
});

test('the service account can neither write nor read secrets', async () => {
  expect(
    await status(
      k8sRequest('POST', `/api/v1/namespaces/${namespace}/pods`, {
        token,
        body: {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: 'not-allowed' },
          spec: { containers: [{ name: 'x', image: 'registry.invalid/x:1' }] },
        },
      }),
    ),
  ).toBe(403);
  expect(await status(k8sRequest('GET', '/api/v1/secrets', { token }))).toBe(403);
  expect(await status(k8sRequest('DELETE', `/api/v1/nodes/any-node`, { token }))).toBe(403);
});
