import type { Admin, Consumer, Kafka, Producer } from 'kafkajs';
import { eventually } from '../support/eventually';
import { CompressionTypes } from 'kafkajs';
import { createKafka } from '@dnsflow/runtime';
import { createCodec, type DnsTransaction } from '@dnsflow/schema';
import {
  KAFKA_PLAIN,
  KAFKA_SASL_BROKER,
  KAFKA_SCRAM,
  kafkaConfig,
  testLog,
  uniqueName,
} from '../support/services';

// Against the real Kafka 4 broker from scripts/services.sh: kafkajs must still speak protocol
// versions Kafka 4 serves for everything the pipeline does (idempotent produce, group consume,
// transactions with offsets).

const codec = createCodec<DnsTransaction>('DnsTransaction');

function transaction(i: number): DnsTransaction {
  return {
    captureTimeUs: 1_764_000_000_000_000 + i * 1000,
    startTimeUs: 1_764_000_000_000_000 + i * 1000,
    endTimeUs: 1_764_000_000_000_500 + i * 1000,
    latencyUs: 500,
    node: 'node-a',
    iface: 'lo',
    client: { ip: `10.244.${i % 7}.${(i % 200) + 1}`, port: 30000 + i },
    server: { ip: '10.96.0.10', port: 53 },
    answeredBy: null,
    transport: i % 5 === 0 ? 'TCP' : 'UDP',
    dnsId: i % 65536,
    opcode: 'QUERY',
    flags: { aa: false, tc: false, rd: true, ra: true, ad: false, cd: false, do: false },
    question: {
      name: `host-${i}.example.com`,
      nameRaw: `host-${i}.example.com.`,
      type: 'A',
      class: 'IN',
    },
    questionCount: 1,
    rcode: i % 3 === 0 ? 'NXDOMAIN' : 'NOERROR',
    rcodeValue: i % 3 === 0 ? 3 : 0,
    answers:
      i % 3 === 0
        ? []
        : [
            {
              name: `host-${i}.example.com`,
              type: 'A',
              class: 'IN',
              ttl: 30,
              data: `192.0.2.${i % 250}`,
            },
          ],
    answerCount: i % 3 === 0 ? 0 : 1,
    authorityCount: 0,
    additionalCount: 0,
    authorities: [],
    additionals: [],
    queryEdns: null,
    responseEdns: null,
    requestBytes: 40,
    responseBytes: 56,
    status: 'ANSWERED',
    malformedReason: null,
    duplicateResponses: 0,
    notes: [],
  };
}

/** Consumes `topic` in `group` until `count` messages arrived (or the deadline passes). */
async function consumeAll(
  kafka: Kafka,
  topic: string,
  group: string,
  count: number,
): Promise<Buffer[]> {
  const consumer: Consumer = kafka.consumer({ groupId: group });
  const values: Buffer[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`only ${values.length}/${count} messages from ${topic} in 60 s`)),
        60_000,
      );
      void consumer.run({
        eachMessage: ({ message }) => {
          if (message.value) values.push(message.value);
          if (values.length >= count) {
            clearTimeout(timer);
            resolve();
          }
          return Promise.resolve();
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
  return values;
}

describe('Kafka (real broker)', () => {
  const kafka = createKafka(kafkaConfig(), testLog);
  let admin: Admin;

  beforeAll(async () => {
    admin = kafka.admin();
    await admin.connect();
  });
  afterAll(() => admin.disconnect());

  it('round-trips Avro transactions through a topic, idempotent and compressed, consumed in a group', async () => {
    const topic = uniqueName('it-raw');
    await admin.createTopics({ topics: [{ topic, numPartitions: 3 }], waitForLeaders: true });
    const sent = Array.from({ length: 500 }, (_, i) => transaction(i));
    const producer: Producer = kafka.producer({ idempotent: true, maxInFlightRequests: 5 });
    await producer.connect();
    await producer.send({
      topic,
      acks: -1,
      compression: CompressionTypes.GZIP,
      messages: sent.map((t) => ({ key: t.client.ip, value: codec.encode(t) })),
    });
    await producer.disconnect();

    const groupId = uniqueName('it-group');
    const received = await consumeAll(kafka, topic, groupId, sent.length);
    const decoded = received.map((bytes) => {
      const result = codec.decode(bytes);
      if (result.status !== 'ok') throw result.error;
      return { ...result.value };
    });
    expect(decoded).toHaveLength(sent.length);
    const sortKey = (t: DnsTransaction): number => t.client.port;
    expect(decoded.sort((a, b) => sortKey(a) - sortKey(b))).toEqual(sent);

    // The group committed its offsets on disconnect: each partition's committed offset is its end.
    const ends = await admin.fetchTopicOffsets(topic);
    const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
    const byPartition = (list: { partition: number; offset: string }[]): string[] =>
      [...list].sort((a, b) => a.partition - b.partition).map((p) => p.offset);
    expect(byPartition(committed?.partitions ?? [])).toEqual(byPartition(ends));
    expect(ends.reduce((sum, p) => sum + Number(p.high), 0)).toBe(sent.length);
  });

  it('delivers committed transactions and hides aborted ones from read_committed consumers', async () => {
    const topic = uniqueName('it-tx');
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    const producer = kafka.producer({
      transactionalId: uniqueName('it-txid'),
      idempotent: true,
      maxInFlightRequests: 1,
    });
    await producer.connect();
    const committed = await producer.transaction();
    await committed.send({
      topic,
      messages: [0, 1].map((i) => ({ key: 'k', value: codec.encode(transaction(i)) })),
    });
    await committed.commit();
    const aborted = await producer.transaction();
    await aborted.send({ topic, messages: [{ key: 'k', value: codec.encode(transaction(99)) }] });
    await aborted.abort();
    const last = await producer.transaction();
    await last.send({ topic, messages: [{ key: 'k', value: codec.encode(transaction(2)) }] });
    await last.commit();
    await producer.disconnect();

    const received = await consumeAll(kafka, topic, uniqueName('it-group'), 3);
    const ports = received.map((b) => {
      const r = codec.decode(b);
      if (r.status !== 'ok') throw r.error;
      return r.value.client.port;
    });
    expect(ports).toEqual([30000, 30001, 30002]);
  });

  it('commits consumed offsets inside a transaction (consume-transform-produce)', async () => {
    const source = uniqueName('it-src');
    const sink = uniqueName('it-sink');
    const groupId = uniqueName('it-ctp');
    await admin.createTopics({
      topics: [{ topic: source }, { topic: sink }],
      waitForLeaders: true,
    });
    const plain = kafka.producer();
    await plain.connect();
    await plain.send({
      topic: source,
      messages: [0, 1, 2, 3].map((i) => ({ value: codec.encode(transaction(i)) })),
    });
    await plain.disconnect();

    const producer = kafka.producer({
      transactionalId: uniqueName('it-ctp-tx'),
      idempotent: true,
      maxInFlightRequests: 1,
    });
    const consumer = kafka.consumer({ groupId });
    await Promise.all([producer.connect(), consumer.connect()]);
    await consumer.subscribe({ topic: source, fromBeginning: true });
    let moved = 0;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`moved ${moved}/4 in 60 s`)), 60_000);
      void consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          const tx = await producer.transaction();
          await tx.send({ topic: sink, messages: batch.messages.map((m) => ({ value: m.value })) });
          const next = (BigInt(batch.lastOffset()) + 1n).toString();
          await tx.sendOffsets({
            consumerGroupId: groupId,
            topics: [{ topic: source, partitions: [{ partition: batch.partition, offset: next }] }],
          });
          await tx.commit();
          moved += batch.messages.length;
          if (moved >= 4) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
    await consumer.disconnect();
    await producer.disconnect();

    // The coordinator writes the commit marker after tx.commit() returns, so the
    // offsets become visible to an offset fetch a moment later.
    const offsets = await eventually(
      async () => {
        const [committed] = await admin.fetchOffsets({ groupId, topics: [source] });
        return committed?.partitions.map((p) => p.offset);
      },
      (seen) => seen?.[0] === '4',
    );
    expect(offsets).toEqual(['4']);
    expect(await consumeAll(kafka, sink, uniqueName('it-group'), 4)).toHaveLength(4);
  });

  it.each([
    ['plain', KAFKA_PLAIN],
    ['scram-sha-256', KAFKA_SCRAM],
    ['scram-sha-512', KAFKA_SCRAM],
  ] as const)('authenticates with SASL %s', async (mechanism, user) => {
    const secured = createKafka(
      kafkaConfig({ brokers: [KAFKA_SASL_BROKER], sasl: { mechanism, ...user } }),
      testLog,
    );
    const securedAdmin = secured.admin();
    await securedAdmin.connect();
    const topic = uniqueName('it-sasl');
    await securedAdmin.createTopics({ topics: [{ topic }], waitForLeaders: true });
    expect(await securedAdmin.listTopics()).toContain(topic);
    await securedAdmin.disconnect();
  });

  it('refuses a wrong SASL password with an authentication error', async () => {
    const secured = createKafka(
      kafkaConfig({
        brokers: [KAFKA_SASL_BROKER],
        retries: 0,
        sasl: { mechanism: 'scram-sha-256', username: KAFKA_SCRAM.username, password: 'wrong' },
      }),
      testLog,
    );
    const securedAdmin = secured.admin();
    await expect(securedAdmin.connect()).rejects.toThrow(
      /SASL SCRAM SHA256 authentication failed|Authentication failed/i,
    );
  });

  it('names the broker it cannot reach', async () => {
    const nowhere = createKafka(
      kafkaConfig({ brokers: ['127.0.0.1:1'], retries: 0, connectionTimeoutMs: 500 }),
      testLog,
    );
    await expect(nowhere.admin().connect()).rejects.toThrow(/127\.0\.0\.1:1/);
  });
});
