import type { Client } from '@elastic/elasticsearch';
import { Registry } from 'prom-client';
import {
  BulkWriter,
  WriterMetrics,
  runSetup,
  transactionId,
  type BulkItem,
  type BulkWriterOptions,
  type ItemOutcome,
} from '@dnsflow/indexer';
import { createElasticsearch } from '@dnsflow/runtime';
import {
  dnsDataStream,
  EcsTranscoder,
  ecsJson,
  toEcs,
  type EcsDocument,
  type EnrichedDnsTransaction,
} from '@dnsflow/schema';
import {
  encodeEnriched,
  enrichedRecords,
  testIndexerConfig,
  uniqueIndexerNames,
} from '../support/indexer';
import { esConfig, testLog } from '../support/services';

// The writer builds each bulk request as one Buffer of NDJSON. What it sends must be what it
// sent when every document was a JSON.stringify'd string joined by the client: the same
// action lines, the same document bytes, in order, whether a document came as text, as bytes
// or as an object. Small bulk and in-flight bounds make it split requests by bytes, refuse
// documents and take them again; a document of multi-byte text larger than a fresh body
// buffer makes it grow one mid-write.

describe('dnsflow index: the bulk request body', () => {
  const names = uniqueIndexerNames('it-body');
  const config = testIndexerConfig(names, {
    dataStream: { namespace: names.namespace, retention: '14d' },
  });
  const stream = dnsDataStream(names.namespace);
  let es: Client;

  beforeAll(async () => {
    es = createElasticsearch(esConfig());
    await runSetup(config, testLog);
  });

  afterAll(async () => {
    await es.close();
  });

  /**
   * Offers every item to a new writer with `options` (waiting for room when refused),
   * flushes, and returns each document's outcome and how many offers were refused.
   */
  /** Writes `items` with one request at a time; `options` override the defaults below. */
  async function writeAll(
    options: Partial<Omit<BulkWriterOptions, 'retry'>>,
    items: Iterable<BulkItem<number>>,
  ): Promise<{ outcomes: ItemOutcome['status'][]; refusals: number; refused: Set<number> }> {
    const outcomes: ItemOutcome['status'][] = [];
    const writer = new BulkWriter<number>(
      es,
      {
        maxDocs: 1000,
        maxBytes: 5 * 1024 * 1024,
        flushIntervalMs: 50,
        concurrency: 1,
        maxInFlightBytes: 64 * 1024 * 1024,
        ...options,
        retry: { initialMs: 100, maxMs: 1000, maxItemAttempts: 3 },
      },
      (_item, outcome) => {
        outcomes.push(outcome.status);
      },
      new WriterMetrics(new Registry(), 'test_'),
      testLog,
    );
    let refusals = 0;
    const refused = new Set<number>();
    for (const item of items) {
      while (!writer.offer(item)) {
        refusals++;
        refused.add(item.context);
        await writer.whenRoom();
      }
    }
    await writer.flush();
    writer.close();
    return { outcomes, refusals, refused };
  }

  /** The records as items of `index`, each document as its JSON text. */
  const textItems = (records: EnrichedDnsTransaction[], index: string): BulkItem<number>[] =>
    records.map((r, i) => ({
      index,
      id: transactionId(r),
      document: ecsJson(r, { namespace: names.namespace }),
      context: i,
    }));

  /** Copies of the bodies of the bulk requests the client sends until `stop` is called. */
  function captureBodies(): { bodies: Buffer[]; stop: () => void } {
    const bodies: Buffer[] = [];
    const listener = (
      err: unknown,
      result: { meta: { request: { params: { path: string; body?: unknown } } } } | null,
    ): void => {
      const params = result?.meta.request.params;
      if (err === null && params?.path === '/_bulk' && Buffer.isBuffer(params.body)) {
        bodies.push(Buffer.from(params.body));
      }
    };
    es.diagnostic.on('request', listener);
    return { bodies, stop: () => es.diagnostic.off('request', listener) };
  }

  it('sends the NDJSON the client made of stringified documents and indexes every document', async () => {
    const records: EnrichedDnsTransaction[] = enrichedRecords(120);
    // 90,000 characters of two-byte UTF-8: more than a fresh body buffer holds in bytes, as
    // the first document (taken at once) and amid others (refused until they are done).
    for (const r of [records[0]!, records[7]!, records[6]!]) {
      r.transaction.notes = ['é'.repeat(30_000), 'ünï', 'ü'.repeat(60_000)];
    }
    records[8]!.transaction.question!.name = 'ünïcödé.名前.example';
    const expected = (r: EnrichedDnsTransaction): EcsDocument =>
      toEcs(r, { namespace: names.namespace });
    const transcoder = new EcsTranscoder({ namespace: names.namespace });
    // The four forms the writer takes: the document's JSON text, the document itself, its
    // UTF-8 bytes, and a renderer writing them into the body (as the indexer transcodes them
    // from Avro; valid until the next record is read, so items are made as they are offered).
    const document = (r: EnrichedDnsTransaction, i: number): BulkItem<number>['document'] => {
      if (i % 4 === 0) return ecsJson(r, { namespace: names.namespace });
      if (i % 4 === 1) return expected(r);
      if (i % 4 === 2) {
        const bytes = transcoder.transcode(encodeEnriched(r));
        if (bytes === null) throw new Error(`record ${i} was not transcoded`);
        return bytes;
      }
      if (!transcoder.read(encodeEnriched(r))) throw new Error(`record ${i} was not read`);
      return transcoder;
    };
    function* items(): Generator<BulkItem<number>> {
      for (let i = 0; i < records.length; i++) {
        const r = records[i]!;
        yield { index: stream, id: transactionId(r), document: document(r, i), context: i };
      }
    }

    const { bodies, stop } = captureBodies();
    const { outcomes, refusals, refused } = await writeAll(
      { maxBytes: 16_000, maxInFlightBytes: 40_000 },
      items(),
    );
    stop();

    expect(outcomes).toEqual(records.map(() => 'created'));
    expect(refusals).toBeGreaterThan(0);
    // Each form was refused and taken again at least once, a rendered document included.
    expect(new Set([...refused].map((i) => i % 4))).toEqual(new Set([0, 1, 2, 3]));
    expect(bodies.length).toBeGreaterThan(10);
    const before = records
      .map(
        (r) =>
          `${JSON.stringify({ create: { _index: stream, _id: transactionId(r) } })}\n${JSON.stringify(expected(r))}\n`,
      )
      .join('');
    expect(Buffer.concat(bodies).toString('utf8')).toBe(before);

    // A data stream is searched, not read by id (the documents are in its backing index).
    await es.indices.refresh({ index: stream });
    const ids = records.map((r) => transactionId(r));
    const found = await es.search<EcsDocument>({
      index: stream,
      size: records.length,
      query: { ids: { values: ids } },
    });
    const byId = new Map(found.hits.hits.map((h) => [h._id, h._source]));
    const indexed = ids.map((id) => byId.get(id) ?? null);
    const sent: unknown[] = records.map((r) => JSON.parse(JSON.stringify(expected(r))) as unknown);
    expect(indexed).toEqual(sent);
  });
  it('writes a first document of three-byte text whole, in a body grown to just its size', async () => {
    // 300,000 bytes of three-byte UTF-8 that count as 100,000 characters: the first body is
    // sized by the characters, the document is cut short there and written again into a body
    // exactly as long as its bytes.
    const records = enrichedRecords(3, Date.UTC(2026, 0, 16, 12, 0, 0) * 1000);
    records[0]!.transaction.notes = ['名'.repeat(100_000)];
    const third = dnsDataStream(`${names.namespace}c`);
    const { bodies, stop } = captureBodies();
    const { outcomes } = await writeAll({}, textItems(records, third));
    stop();

    expect(outcomes).toEqual(['created', 'created', 'created']);
    const sent = records
      .map(
        (r) =>
          `${JSON.stringify({ create: { _index: third, _id: transactionId(r) } })}\n${JSON.stringify(toEcs(r, { namespace: names.namespace }))}\n`,
      )
      .join('');
    expect(Buffer.concat(bodies).toString('utf8')).toBe(sent);
  });

  it('sends full requests while others wait behind the one in flight, at the memory bound too', async () => {
    const records = enrichedRecords(100);
    // A stream of its own: the first test created these documents already.
    const second = dnsDataStream(`${names.namespace}b`);
    const docBytes = (r: EnrichedDnsTransaction): number =>
      Buffer.byteLength(JSON.stringify(toEcs(r, { namespace: names.namespace }))) + 100;
    const average = records.reduce((sum, r) => sum + docBytes(r), 0) / records.length;
    const { bodies, stop } = captureBodies();
    const { outcomes, refusals } = await writeAll(
      {
        maxDocs: 10,
        // Long enough that only a full request, the memory bound or the final flush sends one.
        flushIntervalMs: 60_000,
        // About 3.5 requests: one in flight, two ready, one filling when the bound is hit.
        maxInFlightBytes: Math.round(average * 35),
      },
      textItems(records, second),
    );
    stop();
    // Documents per request: half its lines.
    const sizes = bodies
      .map((body) => body.toString('utf8').split('\n').length - 1)
      .map((n) => n / 2);

    expect(outcomes).toEqual(records.map(() => 'created'));
    expect(refusals).toBeGreaterThan(0);
    // Refused documents waited for room instead of cutting the filling request short.
    expect(sizes).toEqual(Array.from({ length: 10 }, () => 10));
  });
  it('writes the action line of any _id as JSON.stringify does, and each is the id indexed', async () => {
    // The indexer's ids are base64url and copied byte by byte; the writer takes any string
    // (alerts have ids of their own), and one that needs escaping or is not ASCII is written
    // as JSON text. Renderers too, so the action line is checked before a transcoded document.
    const ids = [
      'plain-id_0',
      'quote"d',
      'back\\slash',
      'tab\there',
      'ünï',
      '名前',
      'emoji-🙂',
      'del\u007f',
    ];
    const records = enrichedRecords(ids.length, Date.UTC(2026, 0, 17, 12, 0, 0) * 1000);
    const fourth = dnsDataStream(`${names.namespace}d`);
    const transcoder = new EcsTranscoder({ namespace: names.namespace });
    function* items(): Generator<BulkItem<number>> {
      for (let i = 0; i < records.length; i++) {
        const renderer = i % 2 === 0 && transcoder.read(encodeEnriched(records[i]!));
        const document = renderer
          ? transcoder
          : ecsJson(records[i]!, { namespace: names.namespace });
        yield { index: fourth, id: ids[i]!, document, context: i };
      }
    }
    const { bodies, stop } = captureBodies();
    const { outcomes } = await writeAll({ maxDocs: 3 }, items());
    stop();

    expect(outcomes).toEqual(ids.map(() => 'created'));
    const sent = records
      .map(
        (r, i) =>
          `${JSON.stringify({ create: { _index: fourth, _id: ids[i] } })}\n${JSON.stringify(toEcs(r, { namespace: names.namespace }))}\n`,
      )
      .join('');
    expect(Buffer.concat(bodies).toString('utf8')).toBe(sent);
    await es.indices.refresh({ index: fourth });
    const found = await es.search({ index: fourth, size: 20, query: { ids: { values: ids } } });
    expect(found.hits.hits.map((h) => h._id).sort()).toEqual([...ids].sort());
  });
});
