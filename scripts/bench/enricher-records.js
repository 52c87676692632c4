// Shared by the enricher benchmarks (enricher-e2e.js, enricher-codec.js, enricher-join.js):
// their command-line options and the inventory and collector records of the end-to-end one.
'use strict';

/** `--name N` from the command line (a positive integer), else `dflt`; exits on bad input. */
function option(script, name, dflt) {
  const argv = process.argv.slice(2);
  const i = argv.indexOf(`--${name}`);
  if (i < 0) return dflt;
  const n = Number(argv[i + 1]);
  if (!Number.isInteger(n) || n <= 0) {
    console.error(`${script}: --${name} needs a positive integer, got ${argv[i + 1]}`);
    process.exit(2);
  }
  return n;
}

const podIp = (i) => `10.244.${(i >> 8) & 0xff}.${i & 0xff}`;
const serviceIp = (i) => `10.96.${(i >> 8) & 0xff}.${i & 0xff}`;

/**
 * An inventory of `pods` pods (Deployments, 100 nodes) and `services` ClusterIP services
 * with 5 endpoints each: the identities the join uses, no API server needed.
 */
function inventory(pods, services) {
  const nodes = Array.from({ length: 100 }, (_, i) => ({
    name: `node-${i}`,
    ip: `192.168.0.${i + 1}`,
  }));
  const podList = Array.from({ length: pods }, (_, i) => ({
    name: `app${i % 500}-5f7c9-${i}`,
    namespace: `ns${i % 50}`,
    ip: podIp(i),
    node: `node-${i % 100}`,
    labels: { app: `app${i % 500}` },
    workload: { kind: 'Deployment', name: `app${i % 500}` },
  }));
  const serviceList = Array.from({ length: services }, (_, s) => ({
    name: `svc${s}`,
    namespace: `ns${s % 50}`,
    clusterIP: serviceIp(s),
    endpoints: Array.from({ length: 5 }, (_, k) => {
      const p = (s * 5 + k) % pods;
      return { ip: podIp(p), pod: podList[p].name };
    }),
  }));
  return { nodes, pods: podList, services: serviceList };
}

/**
 * Collector record `i` of the inventory above, at `t0 + i` µs: the client a pod, the server
 * a service IP answered by one of its endpoints or (one in four) an outside resolver, the
 * name a cluster service or an external one, one answer.
 */
function record(i, t0, pods, services) {
  const s = (i * 7) % services;
  const external = i % 4 === 3;
  const name = external
    ? `host${i % 997}.example${i % 13}.com`
    : `svc${s}.ns${s % 50}.svc.cluster.local`;
  return {
    captureTimeUs: t0 + i,
    startTimeUs: t0 + i,
    endTimeUs: t0 + i + 700,
    latencyUs: 700,
    node: `node-${i % 100}`,
    iface: 'any',
    client: { ip: podIp((i * 13) % pods), port: 30000 + (i % 30000) },
    server: { ip: external ? '8.8.8.8' : serviceIp(s), port: 53 },
    answeredBy: external ? null : { ip: podIp((s * 5) % pods), port: 53 },
    transport: 'UDP',
    dnsId: i & 0xffff,
    opcode: 'QUERY',
    flags: { aa: false, tc: false, rd: true, ra: true, ad: false, cd: false, do: false },
    question: { name, nameRaw: name, type: 'A', class: 'IN' },
    questionCount: 1,
    rcode: 'NOERROR',
    rcodeValue: 0,
    answers: [{ name, type: 'A', class: 'IN', ttl: 30, data: '10.0.0.1' }],
    answerCount: 1,
    authorityCount: 0,
    additionalCount: 0,
    authorities: [],
    additionals: [],
    queryEdns: null,
    responseEdns: null,
    requestBytes: 60,
    responseBytes: 90,
    status: 'ANSWERED',
    malformedReason: null,
    duplicateResponses: 0,
    notes: [],
  };
}

module.exports = { inventory, option, record };
