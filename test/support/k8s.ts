// The kube-apiserver client lives in packages/sandbox (the demo registers its pods with
// it too); tests import it from here, beside what only tests do to the server.

// The whole sandbox API: the kube client above all.
export * from '@dnsflow/sandbox';

/** etcd's client URL (its JSON gateway serves the compaction that expires watches). */
export const ETCD_URL = 'http://127.0.0.1:12379';

// ---------------------------------------------------------------- expiring watches

async function etcdPost<T>(path: string, body: unknown): Promise<T> {
  const res = await fetch(`${ETCD_URL}${path}`, { method: 'POST', body: JSON.stringify(body) });
  const text = await res.text();
  if (!res.ok) throw new Error(`etcd ${path}: ${res.status} ${text.slice(0, 300)}`);
  return JSON.parse(text) as T;
}

/**
 * Expires every resourceVersion handed out so far: a watch (or a list with
 * resourceVersionMatch=Exact) from one of them now fails with 410 Gone / reason Expired,
 * as after a client was away longer than the cluster keeps history. One write to etcd makes
 * the current revision newer than all of them, then etcd is compacted at that revision.
 * Watches already open keep running; informers meet the 410 when they re-watch.
 *
 * Compaction is cluster-wide: a concurrent test that re-watches from an old version sees
 * the 410 too, which any client must handle by listing again. Returns the compacted revision.
 */
export async function expireWatches(): Promise<number> {
  const b64 = (s: string): string => Buffer.from(s).toString('base64');
  const put = await etcdPost<{ header: { revision: string } }>('/v3/kv/put', {
    key: b64('/dnsflow/expire-marker'),
    value: b64(String(Date.now())),
  });
  const revision = Number(put.header.revision);
  await etcdPost('/v3/kv/compaction', { revision: String(revision), physical: true });
  return revision;
}
