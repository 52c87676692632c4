import type { Kafka } from 'kafkajs';
import type { RunningCollector } from '@dnsflow/collector';
import { createCodec, type DnsTransaction } from '@dnsflow/schema';
import { eventually } from './eventually';
import { uniqueName } from './services';

const codec = createCodec<DnsTransaction>('DnsTransaction');

/**
 * Reads a topic from the beginning until `expected` records arrived (60 s at most), then
 * one more second to catch extras, decoding each as a DnsTransaction.
 */
export async function readTopic(
  kafka: Kafka,
  topic: string,
  expected: number,
): Promise<DnsTransaction[]> {
  const consumer = kafka.consumer({ groupId: uniqueName('it-collector-read') });
  const out: DnsTransaction[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const decoded = codec.decode(message.value ?? Buffer.alloc(0));
        if (decoded.status !== 'ok')
          throw new Error(`undecodable record: ${decoded.error.message}`);
        out.push(decoded.value);
        return Promise.resolve();
      },
    });
    // Wait for everything expected, then a little longer to catch extras.
    await eventually(
      () => Promise.resolve(out.length),
      (n) => n >= expected,
      60_000,
    );
    await new Promise((r) => setTimeout(r, 1000));
  } finally {
    await consumer.disconnect();
  }
  return out;
}

/** Sum over all label sets of a collector metric. */
export async function metricValue(collector: RunningCollector, name: string): Promise<number> {
  const metric = await collector.registry.getSingleMetric(name)?.get();
  return (metric?.values ?? []).reduce((sum, v) => sum + v.value, 0);
}

/** Creates a topic and waits for its leader; the admin client is closed again. */
export async function createTopic(kafka: Kafka, topic: string): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic }], waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
}
