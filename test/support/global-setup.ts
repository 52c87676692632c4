import { services } from './services';

// Brings up the real Kafka, Elasticsearch nodes and kube-apiserver (on etcd) the integration
// tests use, reusing ones already running; remembers what it started so the teardown stops
// only that. A service it starts begins on empty data: what earlier runs left (thousands of
// test topics and data streams) only slows the start and could hide a test's own records.

const NEEDED = ['kafka', 'es', 'es-secure', 'k8s'];

export default function setup(): void {
  const before = NEEDED.filter((svc) => services('status', svc).status === 0);
  const up = services('up', '--fresh', ...NEEDED);
  if (up.status !== 0) {
    throw new Error(
      `scripts/services.sh up --fresh ${NEEDED.join(' ')} failed (exit ${up.status}):\n${up.output}`,
    );
  }
  process.env['DNSFLOW_TEST_STARTED_SERVICES'] = NEEDED.filter((svc) => !before.includes(svc)).join(
    ' ',
  );
}
