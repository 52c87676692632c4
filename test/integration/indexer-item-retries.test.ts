import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Client } from '@elastic/elasticsearch';
import type { Kafka } from 'kafkajs';
import {
  DLQ_HEADERS,
  runSetup,
  startIndexer,
  transactionId,
  type RunningIndexer,
} from '@dnsflow/indexer';
import { createElasticsearch, createKafka } from '@dnsflow/runtime';
import { dnsDataStream } from '@dnsflow/schema';
import {
  duplicatedIds,
  encodeEnriched,
  enrichedRecords,
  indexerMetric,
  produce,
  readDlq,
  testIndexerConfig,
  uniqueIndexerNames,
  waitForDocs,
} from '../support/indexer';
import { esConfig, testLog } from '../support/services';

// Per-item retries against the real Elasticsearch, through a proxy that answers chosen items
// of a bulk request itself, as a busy or broken node answers them: 429 (write queue full) for
// a few documents, twice each, and 503 for two documents every time. The proxy keeps those
// items out of the request it forwards, so Elasticsearch indexes exactly the rest, and counts
// how often each document reached it. The indexer must retry only the refused items, the 429s
// until they pass and the 503s until retry.maxItemAttempts, then dead-letter those two. A
// request with one more document in it is answered 413 as a whole, as a node answers a body
// past http.max_content_length: halved until that document goes alone, it is dead-lettered.

const ES = new URL(esConfig().nodes[0]!);
const INJECTED_429 = 2;
const MAX_ITEM_ATTEMPTS = 3;

interface Injection {
  /** A request carrying this document is answered 413 as a whole (past max_content_length). */
  oversized: string;
  /** Sizes (in documents) of the requests answered 413. */
  tooLarge: number[];
  /** Documents answered 429 this many more times. */
  throttled: Map<string, number>;
  /** Documents answered 503 every time. */
  failing: Set<string>;
  /** How often each document was forwarded to Elasticsearch. */
  forwarded: Map<string, number>;
  /** How often each document was sent by the indexer. */
  sent: Map<string, number>;
}

/** Answers the chosen items of each bulk request itself; forwards everything else. */
function faultProxy(injection: Injection): Server {
  return createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const forward = (payload: Buffer, onAnswer: (status: number, text: string) => void) => {
        const out = request(
          {
            host: ES.hostname,
            port: ES.port,
            method: req.method,
            path: req.url,
            headers: { ...req.headers, host: ES.host, 'content-length': String(payload.length) },
          },
          (answer) => {
            const parts: Buffer[] = [];
            answer.on('data', (c: Buffer) => parts.push(c));
            answer.on('end', () =>
              onAnswer(answer.statusCode ?? 502, Buffer.concat(parts).toString('utf8')),
            );
          },
        );
        out.on('error', () => onAnswer(502, '{}'));
        out.end(payload);
      };
      /** Answers as Elasticsearch does (the client checks the product header). */
      const send = (status: number, text: string) => {
        res.writeHead(status, {
          'content-type': 'application/json',
          'x-elastic-product': 'Elasticsearch',
        });
        res.end(text);
      };
      if (req.method !== 'POST' || !req.url?.startsWith('/_bulk')) {
        forward(body, send);
        return;
      }
      const lines = body
        .toString('utf8')
        .split('\n')
        .filter((l) => l !== '');
      const idOf = (action: string) =>
        (JSON.parse(action) as { create: { _id: string } }).create._id;
      const actions = lines.filter((_, i) => i % 2 === 0);
      if (actions.some((a) => idOf(a) === injection.oversized)) {
        // As the HTTP layer of a node answers a body past http.max_content_length: no JSON.
        injection.tooLarge.push(actions.length);
        res.writeHead(413, { 'content-length': '0' });
        res.end();
        return;
      }
      const answers: (object | null)[] = [];
      const kept: string[] = [];
      for (let i = 0; i < lines.length; i += 2) {
        const id = idOf(lines[i]!);
        injection.sent.set(id, (injection.sent.get(id) ?? 0) + 1);
        const throttle = injection.throttled.get(id) ?? 0;
        if (throttle > 0) {
          injection.throttled.set(id, throttle - 1);
          answers.push({
            create: {
              status: 429,
              error: { type: 'es_rejected_execution_exception', reason: 'injected: queue full' },
            },
          });
        } else if (injection.failing.has(id)) {
          answers.push({
            create: {
              status: 503,
              error: { type: 'unavailable_shards_exception', reason: 'injected: no shard' },
            },
          });
        } else {
          injection.forwarded.set(id, (injection.forwarded.get(id) ?? 0) + 1);
          answers.push(null);
          kept.push(lines[i]!, lines[i + 1]!);
        }
      }
      /** The proxy's answers with Elasticsearch's for the forwarded items in between. */
      const merge = (forwardedItems: object[]) => {
        let next = 0;
        const items = answers.map((a) => a ?? forwardedItems[next++]!);
        const errors = items.some((it) => Object.values(it)[0].status >= 300);
        send(200, JSON.stringify({ errors, items }));
      };
      if (kept.length === 0) {
        merge([]);
        return;
      }
      forward(Buffer.from(`${kept.join('\n')}\n`), (status, text) => {
        if (status !== 200) {
          send(status, text);
          return;
        }
        merge((JSON.parse(text) as { items: object[] }).items);
      });
    });
  });
}

describe('dnsflow index: per-item retries', () => {
  const names = uniqueIndexerNames('it-retries');
  const records = enrichedRecords(30);
  const ids = records.map((r) => transactionId(r));
  const injection: Injection = {
    oversized: ids[7]!,
    tooLarge: [],
    throttled: new Map(ids.slice(0, 5).map((id) => [id, INJECTED_429])),
    failing: new Set(ids.slice(5, 7)),
    forwarded: new Map(),
    sent: new Map(),
  };
  const stream = dnsDataStream(names.namespace);
  let proxy: Server;
  let kafka: Kafka;
  let es: Client;
  let indexer: RunningIndexer | null = null;

  beforeAll(async () => {
    proxy = faultProxy(injection);
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    es = createElasticsearch(esConfig());
    const config = testIndexerConfig(names, {
      elasticsearch: { nodes: [`http://127.0.0.1:${(proxy.address() as AddressInfo).port}`] },
      dataStream: { namespace: names.namespace, retention: '14d' },
      topics: { ...names.topics, partitions: 1, replicationFactor: 1 },
      bulk: { maxDocs: 1000, flushIntervalMs: 200 },
      retry: { initialMs: 20, maxMs: 200, maxItemAttempts: MAX_ITEM_ATTEMPTS },
    });
    kafka = createKafka(config.kafka, testLog);
    await runSetup(config, testLog);
    await produce(
      kafka,
      names.topics.enriched,
      records.map((r) => ({ value: encodeEnriched(r) })),
    );
    indexer = await startIndexer(config, testLog);
  });

  afterAll(async () => {
    await indexer?.stop();
    await es.close();
    await new Promise((resolve) => proxy.close(resolve));
  });

  it('retries only the refused items: 429s until they pass, 5xx up to the limit, then the DLQ', async () => {
    const letters = await readDlq(kafka, names.topics.dlq, 3);
    expect(await waitForDocs(es, stream, records.length - 3)).toBe(records.length - 3);
    expect(await duplicatedIds(es, stream)).toEqual([]);
    const byReason = (reason: string) =>
      letters.filter((l) => l.headers[DLQ_HEADERS.reason] === reason);

    // The 503 documents went to the DLQ after their last attempt, with the reason.
    const exhausted = byReason('retries_exhausted');
    for (const letter of exhausted) {
      expect(letter.headers[DLQ_HEADERS.detail]).toMatch(
        new RegExp(`^503: ${MAX_ITEM_ATTEMPTS} attempts, last unavailable_shards_exception`),
      );
    }
    expect(
      exhausted.map((l) => Number(l.headers[DLQ_HEADERS.offset])).sort((x, y) => x - y),
    ).toEqual([5, 6]);

    // The request with the oversized document was halved until the document went alone, and
    // that request of one was dead-lettered instead of stopping the indexer.
    expect(injection.tooLarge[0]).toBe(records.length);
    expect(injection.tooLarge[injection.tooLarge.length - 1]).toBe(1);
    const tooLarge = byReason('request_too_large');
    expect(tooLarge.map((l) => l.headers[DLQ_HEADERS.offset])).toEqual(['7']);
    expect(tooLarge[0]?.headers[DLQ_HEADERS.detail]).toMatch(/^413: .*http\.max_content_length/);

    // Each throttled document was sent until it passed, each failing one MAX_ITEM_ATTEMPTS
    // times, and every other document once: a retry carries only the refused items.
    expect(ids.slice(0, 5).map((id) => injection.sent.get(id))).toEqual(
      Array.from({ length: 5 }, () => INJECTED_429 + 1),
    );
    expect(ids.slice(5, 7).map((id) => injection.sent.get(id))).toEqual([
      MAX_ITEM_ATTEMPTS,
      MAX_ITEM_ATTEMPTS,
    ]);
    expect(injection.sent.get(ids[7]!)).toBeUndefined();
    expect(ids.slice(8).every((id) => injection.sent.get(id) === 1)).toBe(true);
    expect([...injection.forwarded.values()].every((n) => n === 1)).toBe(true);

    const retries = async (reason: string) =>
      indexerMetric(indexer!, 'dnsflow_indexer_retries_total', { reason });
    expect(await retries('item_429')).toBe(5 * INJECTED_429);
    expect(await retries('item_5xx')).toBe(2 * (MAX_ITEM_ATTEMPTS - 1));
    expect(
      await indexerMetric(indexer!, 'dnsflow_indexer_dlq_total', {
        stage: 'index',
        reason: 'retries_exhausted',
      }),
    ).toBe(2);
    expect(
      await indexerMetric(indexer!, 'dnsflow_indexer_docs_indexed_total', { result: 'created' }),
    ).toBe(records.length - 3);
    expect(
      await indexerMetric(indexer!, 'dnsflow_indexer_dlq_total', {
        stage: 'index',
        reason: 'request_too_large',
      }),
    ).toBe(1);
  });
});
