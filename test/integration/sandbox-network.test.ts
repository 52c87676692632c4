import { collectorConfigSchema, createPipeline, LiveCapture } from '@dnsflow/collector';
import { loadConfig } from '@dnsflow/runtime';
import { DelayRelay, SandboxNetwork, run } from '@dnsflow/sandbox';
import type { DnsTransaction } from '@dnsflow/schema';
import { once } from 'node:events';

// The simulated node the demo and the end-to-end tests stand on: pods in network
// namespaces, kube-dns behind a service IP (nftables DNAT), per-pod resolv.conf with a
// Kubernetes search list, a firewall that drops a pod's DNS answers, a slow server.

const SUBNET = '10.244.201';
const SERVICE_IP = '10.96.201.10';
const DNS_POD_IP = `${SUBNET}.10`;
const SLOW_IP = `${SUBNET}.20`;

let net: SandboxNetwork;

/** dnsmasq as the cluster DNS inside the `kube-dns` pod: one name, NXDOMAIN for the rest. */
async function startDnsPod(): Promise<void> {
  const dnsmasq = net.spawn('kube-dns', [
    'dnsmasq',
    '--keep-in-foreground',
    '--no-resolv',
    '--no-hosts',
    '--log-facility=-',
    '--port=53',
    '--address=/web.default.svc.cluster.local/10.96.201.80',
    // Everything else in cluster.local does not exist (authoritative NXDOMAIN).
    '--address=/cluster.local/',
    '--address=/galaxy.test/192.0.2.7',
  ]);
  const ready = await Promise.race([
    once(dnsmasq.stderr!, 'data').then(() => true),
    once(dnsmasq, 'exit').then(() => false),
  ]);
  if (!ready) throw new Error('dnsmasq did not start in the sandbox pod');
}

beforeAll(async () => {
  net = await SandboxNetwork.create({
    name: 'dfsn',
    podSubnet: SUBNET,
    serviceCidr: '10.96.201.0/24',
  });
  await net.addPod('kube-dns', 10);
  const resolver = {
    nameservers: [SERVICE_IP],
    search: ['starwars.svc.cluster.local', 'svc.cluster.local', 'cluster.local'],
    ndots: 5,
  };
  await net.addPod('starwars/jar-jar', 31, resolver);
  await net.addPod('starwars/droid', 32, resolver);
  await net.addServiceIp(SERVICE_IP, DNS_POD_IP);
  await startDnsPod();
});

afterAll(async () => {
  await net?.destroy();
});

test('a pod resolves through the service IP with its search list, as glibc in a pod does', async () => {
  const found = await net.exec('starwars/jar-jar', ['getent', 'hosts', 'web.default']);
  expect(found.stdout).toContain('10.96.201.80');
  // A name with no dots goes through every search suffix and fails: exit 2 = not found.
  const missing = await net.exec('starwars/jar-jar', ['getent', 'ahosts', 'unknown-galaxy'], {
    allowFailure: true,
  });
  expect(missing.exitCode).toBe(2);
});

test('a pod whose answers are dropped by its firewall gets no answer', async () => {
  const before = await net.exec('starwars/droid', [
    'dig',
    `@${SERVICE_IP}`,
    'x.galaxy.test',
    '+short',
    '+time=1',
    '+tries=1',
  ]);
  expect(before.stdout.trim()).toBe('192.0.2.7');
  await net.dropIncomingFromPort('starwars/droid', 53);
  const after = await net.exec(
    'starwars/droid',
    ['dig', `@${SERVICE_IP}`, 'x.galaxy.test', '+time=1', '+tries=1'],
    { allowFailure: true },
  );
  expect(after.exitCode).toBe(9); // dig: no reply from server
});

test('a server behind the delay relay answers, and not before the delay', async () => {
  await net.addNodeAddress(SLOW_IP);
  const relay = await DelayRelay.start({
    listen: { host: SLOW_IP, port: 53 },
    upstream: { host: DNS_POD_IP, port: 53 },
    delayMs: 200,
  });
  try {
    const started = process.hrtime.bigint();
    const answer = await net.exec('starwars/jar-jar', [
      'dig',
      `@${SLOW_IP}`,
      'y.galaxy.test',
      '+short',
      '+time=2',
      '+tries=1',
    ]);
    const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
    expect(answer.stdout.trim()).toBe('192.0.2.7');
    expect(elapsedMs).toBeGreaterThanOrEqual(200);
    const tcp = await net.exec('starwars/jar-jar', [
      'dig',
      `@${SLOW_IP}`,
      'y.galaxy.test',
      '+tcp',
      '+short',
      '+time=2',
      '+tries=1',
    ]);
    expect(tcp.stdout.trim()).toBe('192.0.2.7');
    expect(relay.stats().relayed).toBe(2);
  } finally {
    await relay.stop();
  }
});

test("a collector on the pods' own interfaces records one transaction per lookup across the NAT", async () => {
  // One libpcap handle per interface, as a node collector on a routed CNI's pod interfaces:
  // the client's view (to the service IP) and the DNS pod's (after DNAT) arrive in blocks
  // from two handles, in either order, and must pair as on the wire.
  const config = loadConfig(collectorConfigSchema, {});
  const records: DnsTransaction[] = [];
  const pipeline = createPipeline(config, { onTransaction: (tx) => records.push(tx) });
  const capture = new LiveCapture({
    interfaces: [net.pod('starwars/jar-jar').hostVeth, net.pod('kube-dns').hostVeth],
  });
  const running = capture.run((frame) => pipeline.frame(frame));
  const names = Array.from({ length: 20 }, (_, i) => `n${i}.galaxy.test`);
  for (const name of names) {
    const answer = await net.exec('starwars/jar-jar', [
      'dig',
      `@${SERVICE_IP}`,
      name,
      '+short',
      '+time=2',
      '+tries=1',
    ]);
    expect(answer.stdout.trim()).toBe('192.0.2.7');
  }
  await new Promise((resolve) => setTimeout(resolve, 500));
  await capture.stop();
  await running;
  pipeline.finish();
  const asked = records.filter((r) => r.question?.name.endsWith('.galaxy.test'));
  expect(asked.map((r) => r.question?.name).sort()).toEqual([...names].sort());
  for (const r of asked) {
    expect(r.status).toBe('ANSWERED');
    expect(r.server).toEqual({ ip: SERVICE_IP, port: 53 });
    expect(r.answeredBy).toEqual({ ip: DNS_POD_IP, port: 53 });
  }
});

test('destroy removes the namespaces, the bridge and the NAT table', async () => {
  const probe = await SandboxNetwork.create({
    name: 'dfsp',
    podSubnet: '10.244.202',
    serviceCidr: '10.96.202.0/24',
  });
  await probe.addPod('a', 5);
  await probe.destroy();
  const ns = await run(['ip', 'netns', 'list']);
  expect(ns.stdout).not.toContain('dfsp-');
  const links = await run(['ip', 'link', 'show']);
  expect(links.stdout).not.toContain('dfspbr0');
  const tables = await run(['nft', 'list', 'tables']);
  expect(tables.stdout).not.toContain('dfsp_sandbox');
});
