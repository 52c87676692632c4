import type { Kafka, KafkaMessage } from 'kafkajs';
import { createCodec, type DnsTransaction, type EnrichedDnsTransaction } from '@dnsflow/schema';
import { eventually } from './eventually';
import { uniqueName } from './services';

// Kafka helpers of the enricher's integration tests: fresh topics, records in, a
// read_committed reader of what comes out.

const inputCodec = createCodec<DnsTransaction>('DnsTransaction');
const outputCodec = createCodec<EnrichedDnsTransaction>('EnrichedDnsTransaction');

/** The enricher's three topics, named for one test. */
export interface EnricherTopics {
  input: string;
  output: string;
  deadLetter: string;
}

/** Creates unique input, output and dead-letter topics with `partitions` partitions each. */
export async function createEnricherTopics(
  kafka: Kafka,
  partitions: number,
): Promise<EnricherTopics> {
  const topics = {
    input: uniqueName('it-enr-raw'),
    output: uniqueName('it-enr-out'),
    deadLetter: uniqueName('it-enr-dlq'),
  };
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({
      topics: Object.values(topics).map((topic) => ({ topic, numPartitions: partitions })),
      waitForLeaders: true,
    });
  } finally {
    await admin.disconnect();
  }
  return topics;
}

/** Produces collector records (Avro, key = client IP) and raw byte strings (poison). */
export async function produceRecords(
  kafka: Kafka,
  topic: string,
  values: readonly (DnsTransaction | Buffer)[],
): Promise<void> {
  const producer = kafka.producer();
  await producer.connect();
  try {
    for (let i = 0; i < values.length; i += 1000) {
      await producer.send({
        topic,
        acks: -1,
        messages: values
          .slice(i, i + 1000)
          .map((v) =>
            Buffer.isBuffer(v)
              ? { key: 'poison', value: v }
              : { key: v.client.ip, value: inputCodec.encode(v) },
          ),
      });
    }
  } finally {
    await producer.disconnect();
  }
}

/** Decodes an output message; throws on anything that is not an EnrichedDnsTransaction. */
export function decodeEnriched(message: KafkaMessage): EnrichedDnsTransaction {
  const decoded = outputCodec.decode(message.value ?? Buffer.alloc(0));
  if (decoded.status !== 'ok') throw decoded.error;
  return decoded.value;
}

/** The question names of output messages, in arrival order (the tests' unique field). */
export function questionNames(messages: readonly KafkaMessage[]): string[] {
  return messages.map((m) => decodeEnriched(m).transaction.question?.name ?? '');
}

/** A read_committed reader from the beginning of a topic; `messages` grows as they arrive. */
export interface CommittedReader {
  readonly messages: KafkaMessage[];
  /** The enriched record of the query for `name`, once it arrived. */
  get: (name: string, timeoutMs?: number) => Promise<EnrichedDnsTransaction>;
  /** Resolves once at least `count` messages arrived (fails the wait after `timeoutMs`). */
  waitFor: (count: number, timeoutMs?: number, intervalMs?: number) => Promise<number>;
  close: () => Promise<void>;
}

export async function committedReader(kafka: Kafka, topic: string): Promise<CommittedReader> {
  const messages: KafkaMessage[] = [];
  const byName = new Map<string, EnrichedDnsTransaction>();
  let indexed = 0;
  /** Decoded on demand, so a reader of the dead-letter topic never decodes its bytes. */
  const lookup = (name: string): EnrichedDnsTransaction | undefined => {
    for (; indexed < messages.length; indexed++) {
      const value = decodeEnriched(messages[indexed]!);
      byName.set(value.transaction.question?.name ?? '', value);
    }
    return byName.get(name);
  };
  const consumer = kafka.consumer({ groupId: uniqueName('it-enr-read'), readUncommitted: false });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: ({ message }) => {
      messages.push(message);
      return Promise.resolve();
    },
  });
  return {
    messages,
    async get(name, timeoutMs = 60_000) {
      await eventually(() => Promise.resolve(lookup(name) !== undefined), Boolean, timeoutMs, 50);
      const found = lookup(name);
      if (!found) throw new Error(`no enriched record for ${name} within ${timeoutMs} ms`);
      return found;
    },
    waitFor: (count, timeoutMs = 60_000, intervalMs = 50) =>
      eventually(
        () => Promise.resolve(messages.length),
        (n) => n >= count,
        timeoutMs,
        intervalMs,
      ),
    close: () => consumer.disconnect(),
  };
}
