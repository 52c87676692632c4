'use strict';
// One pod informer of the enricher's, on one namespace, run on its own against a kubeconfig
// (a child process: jest cannot load @kubernetes/client-node, an ES module). Its logs go to
// stdout as JSON lines ('listed' with the reason of each list). A line `resolve <ip>` on
// stdin answers with a JSON line {resolved: <ip>, pod: <name|null>}; the end of stdin stops it.
//
//   node test/support/informer-probe.js <kubeconfig> <namespace> <watchTimeoutSeconds>

const { createInterface } = require('node:readline');
const { Registry } = require('prom-client');
const { createLogger } = require('../../packages/runtime');
const {
  EnricherMetrics,
  IdentityStore,
  Informer,
  RESOURCES,
  createKubeTransport,
  storeSink,
} = require('../../packages/enricher');

async function main() {
  const [kubeconfig, namespace, watchTimeoutSeconds] = process.argv.slice(2);
  const pods = {
    ...RESOURCES.pods,
    path: `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods`,
  };
  const log = createLogger('informer-probe', { level: 'info' });
  const store = new IdentityStore({ requiredKinds: ['Pod'] });
  const transport = await createKubeTransport({ source: 'kubeconfig', kubeconfig });
  const informer = new Informer(
    pods,
    transport,
    storeSink(store, log),
    {
      pageSize: 500,
      watchTimeoutSeconds: Number(watchTimeoutSeconds),
      retryInitialMs: 200,
      retryMaxMs: 1000,
    },
    new EnricherMetrics(new Registry()),
    log,
  );
  informer.start();
  createInterface({ input: process.stdin }).on('line', (line) => {
    const [command, ip] = line.trim().split(/\s+/);
    if (command !== 'resolve' || !ip) return;
    const found = store.resolve(ip, Date.now() * 1000);
    const pod = found.status === 'found' ? found.identity.pod : null;
    process.stdout.write(`${JSON.stringify({ resolved: ip, pod })}\n`);
  });
  process.stdin.on('end', () => {
    void informer.stop().then(() => process.exit(0));
  });
}

main().catch((err) => {
  process.stderr.write(`${err.stack ?? err}\n`);
  process.exit(1);
});
