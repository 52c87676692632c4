import { Registry } from 'prom-client';
import { createLogger } from '@dnsflow/runtime';
import { createCodec, type DnsTransaction, type EnrichedDnsTransaction } from '@dnsflow/schema';
import { createEnrichment, enrichmentConfigSchema } from '../src/enrich';
import type { IdentityStore } from '../src/identity/store';
import { EnricherMetrics } from '../src/metrics';
import { BatchProcessor, type BatchControl, type InputMessage } from '../src/pipeline/batch';
import { DEAD_LETTER_HEADERS } from '../src/pipeline/dead-letter';
import { enrichmentJoiner } from '../src/pipeline/join';
import type {
  Delivery,
  IdentityProgress,
  InputPartition,
  OutputRecord,
} from '../src/pipeline/types';
import { nodeObject, podObject, record, serviceObject } from './runtime-fixtures';

const input = createCodec<DnsTransaction>('DnsTransaction');
const output = createCodec<EnrichedDnsTransaction>('EnrichedDnsTransaction');
const log = createLogger('test', { level: 'silent' });
const SOURCE = { topic: 'dns.raw', partition: 3 };
const T0 = Date.parse('2026-01-01T00:10:00Z') * 1000;

/** Deliveries as the processor made them, in order. */
class RecordedDelivery implements Delivery {
  readonly calls: { input: InputPartition; records: OutputRecord[]; nextOffset: string }[] = [];
  failNext = false;

  deliver(input: InputPartition, records: readonly OutputRecord[], nextOffset: string) {
    if (this.failNext) {
      this.failNext = false;
      return Promise.reject(new Error('broker unavailable'));
    }
    this.calls.push({ input, records: [...records], nextOffset });
    return Promise.resolve();
  }

  get outputs(): OutputRecord[] {
    return this.calls.flatMap((c) => c.records);
  }
}

/** Wakes waiters when the test changes the store, like the informers do. */
class Progress implements IdentityProgress {
  private waiters: (() => void)[] = [];
  changed(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
  notify(): void {
    for (const wake of this.waiters.splice(0)) wake();
  }
}

function control(overrides: Partial<BatchControl> = {}): BatchControl & { resolved: string[] } {
  const resolved: string[] = [];
  return {
    resolved,
    heartbeat: () => Promise.resolve(),
    isRunning: () => true,
    isStale: () => false,
    resolveOffset: (offset) => void resolved.push(offset),
    ...overrides,
  };
}

function messages(records: (DnsTransaction | Buffer)[], firstOffset = 100): InputMessage[] {
  return records.map((r, i) => ({
    offset: String(firstOffset + i),
    key: null,
    value: Buffer.isBuffer(r) ? r : input.encode(r),
  }));
}

function decodeOut(r: OutputRecord): EnrichedDnsTransaction {
  const decoded = output.decode(r.value);
  if (decoded.status !== 'ok') throw decoded.error;
  return decoded.value;
}

async function metric(registry: Registry, name: string, labels: Record<string, string> = {}) {
  const values = (await registry.getSingleMetric(name)?.get())?.values ?? [];
  return values
    .filter((v) => Object.entries(labels).every(([k, want]) => v.labels[k] === want))
    .reduce((sum, v) => sum + v.value, 0);
}

function setup(options: { maxWaitMs?: number; maxHeldRecords?: number } = {}) {
  const registry = new Registry();
  const metrics = new EnricherMetrics(registry);
  const enrichment = createEnrichment(enrichmentConfigSchema.parse({}));
  const delivery = new RecordedDelivery();
  const progress = new Progress();
  const processor = new BatchProcessor(
    { input, output },
    enrichmentJoiner(enrichment),
    progress,
    delivery,
    {
      outputTopic: 'dns.enriched',
      deadLetterTopic: 'dns.dlq',
      maxWaitMs: options.maxWaitMs ?? 5000,
      maxHeldRecords: options.maxHeldRecords ?? 1000,
      pollMs: 20,
    },
    metrics,
    log,
  );
  return { registry, store: enrichment.store, delivery, progress, processor };
}

/** The cluster the tests join against: one pod, kube-dns, one node, listed at `atUs`. */
function syncCluster(
  store: IdentityStore,
  atUs: number,
  pods = [podObject('shop', 'web', '10.244.1.5')],
) {
  store.replace('Pod', pods, atUs);
  store.replace('Service', [serviceObject('kube-system', 'kube-dns', '10.96.0.10')], atUs);
  store.replace('Node', [nodeObject('node-a', '192.168.0.10')], atUs);
}

describe('BatchProcessor', () => {
  it('sends an undecodable record to the dead-letter topic with the reason and enriches the ones after it', async () => {
    const { processor, delivery, store, registry } = setup();
    syncCluster(store, T0 + 10_000_000);
    const poison = Buffer.from([0xc3, 0x01, 1, 2, 3, 4, 5, 6, 7, 8, 0xff, 0xff]);
    const batch = messages([
      record('10.244.1.5', '10.96.0.10', 'a.example.com', T0),
      poison,
      record('10.244.1.5', '10.96.0.10', 'b.example.com', T0 + 1),
    ]);
    const ctl = control();
    await processor.process(SOURCE, batch, ctl);

    expect(delivery.calls).toHaveLength(1);
    expect(delivery.calls[0]!.nextOffset).toBe('103');
    expect(ctl.resolved).toEqual(['102']);
    const [first, dead, third] = delivery.outputs;
    expect(dead!.topic).toBe('dns.dlq');
    expect(dead!.value.equals(poison)).toBe(true);
    expect(dead!.headers).toMatchObject({
      [DEAD_LETTER_HEADERS.reason]: 'undecodable',
      [DEAD_LETTER_HEADERS.sourceTopic]: 'dns.raw',
      [DEAD_LETTER_HEADERS.sourcePartition]: '3',
      [DEAD_LETTER_HEADERS.sourceOffset]: '101',
    });
    expect(dead!.headers![DEAD_LETTER_HEADERS.error]).toMatch(/unknown-fingerprint/);
    expect([first!.topic, third!.topic]).toEqual(['dns.enriched', 'dns.enriched']);
    expect(decodeOut(third!).client).toMatchObject({ kind: 'POD', namespace: 'shop', pod: 'web' });
    expect(decodeOut(third!).server).toMatchObject({ kind: 'SERVICE', service: 'kube-dns' });
    expect(first!.key?.toString()).toBe('10.244.1.5');
    expect(
      await metric(registry, 'dnsflow_enricher_dead_letter_total', { reason: 'undecodable' }),
    ).toBe(1);
    expect(await metric(registry, 'dnsflow_enricher_received_total')).toBe(3);
    expect(await metric(registry, 'dnsflow_enricher_sent_total')).toBe(2);
    expect(
      await metric(registry, 'dnsflow_enricher_joins_total', { side: 'client', result: 'hit' }),
    ).toBe(2);
  });

  it('holds a record until the informers list its pod, then joins it (records before it go out first)', async () => {
    const { processor, delivery, store, progress, registry } = setup();
    // Everything known up to T0 + 1 s; the second record is newer than that.
    syncCluster(store, T0 + 1_000_000);
    const batch = messages([
      record('10.244.1.5', '10.96.0.10', 'early.example.com', T0),
      record('10.244.1.9', '10.96.0.10', 'late.example.com', T0 + 2_000_000),
    ]);
    const running = processor.process(SOURCE, batch, control());
    await new Promise((r) => setTimeout(r, 100));
    expect(delivery.calls.map((c) => c.nextOffset)).toEqual(['101']);
    expect(processor.heldRecords).toBe(1);
    expect(await metric(registry, 'dnsflow_enricher_delay_buffer_records')).toBe(1);

    store.apply(
      {
        type: 'ADDED',
        kind: 'Pod',
        object: podObject('shop', 'new', '10.244.1.9', { created: '2026-01-01T00:10:01Z' }),
      },
      T0 + 3_000_000,
    );
    progress.notify();
    await running;

    expect(delivery.calls.map((c) => c.nextOffset)).toEqual(['101', '102']);
    expect(decodeOut(delivery.calls[1]!.records[0]!).client).toMatchObject({
      kind: 'POD',
      pod: 'new',
    });
    expect(await metric(registry, 'dnsflow_enricher_delayed_records_total')).toBe(1);
    expect(await metric(registry, 'dnsflow_enricher_unknown_ips_total')).toBe(0);
    expect(processor.heldRecords).toBe(0);
  });

  it('emits a record whose address stays pending as UNKNOWN after the wait, counted', async () => {
    const { processor, delivery, registry } = setup({ maxWaitMs: 150 });
    // Nothing listed: the store is not synced, every address is pending.
    await processor.process(
      SOURCE,
      messages([record('10.244.1.5', '10.96.0.10', 'x.example.com', T0)]),
      control(),
    );

    expect(delivery.calls).toHaveLength(1);
    const out = decodeOut(delivery.outputs[0]!);
    expect(out.client?.kind).toBe('UNKNOWN');
    expect(out.server?.kind).toBe('UNKNOWN');
    expect(
      await metric(registry, 'dnsflow_enricher_unknown_ips_total', { reason: 'wait_expired' }),
    ).toBe(2);
    expect(await metric(registry, 'dnsflow_enricher_joins_total', { result: 'miss' })).toBe(2);
  });

  it('releases waiting records early when more than maxHeldRecords are held', async () => {
    const { processor, delivery, registry } = setup({ maxWaitMs: 60_000, maxHeldRecords: 2 });
    const batch = messages(
      [0, 1, 2].map((i) => record('10.244.1.5', '10.96.0.10', `n${i}.example.com`, T0 + i)),
    );
    await processor.process(SOURCE, batch, control());

    expect(delivery.outputs).toHaveLength(3);
    expect(
      await metric(registry, 'dnsflow_enricher_unknown_ips_total', { reason: 'buffer_full' }),
    ).toBe(6);
  });

  it('gives up a waiting batch without delivering when the consumer stops', async () => {
    const { processor, delivery } = setup({ maxWaitMs: 60_000 });
    let running = true;
    const ctl = control({ isRunning: () => running });
    const done = processor.process(
      SOURCE,
      messages([record('10.244.1.5', '10.96.0.10', 'a.example.com', T0)]),
      ctl,
    );
    await new Promise((r) => setTimeout(r, 50));
    running = false;
    await done;

    expect(delivery.calls).toHaveLength(0);
    expect(ctl.resolved).toEqual([]);
    expect(processor.heldRecords).toBe(0);
  });

  it('propagates a failed delivery without resolving its offsets or counting its records as sent', async () => {
    const { processor, delivery, store, registry } = setup();
    syncCluster(store, T0 + 10_000_000);
    delivery.failNext = true;
    const ctl = control();
    await expect(
      processor.process(
        SOURCE,
        messages([record('10.244.1.5', '10.96.0.10', 'a.example.com', T0)]),
        ctl,
      ),
    ).rejects.toThrow('broker unavailable');
    expect(ctl.resolved).toEqual([]);
    expect(await metric(registry, 'dnsflow_enricher_sent_total')).toBe(0);
    expect(processor.heldRecords).toBe(0);
  });
});
