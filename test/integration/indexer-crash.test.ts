import { spawn, type ChildProcess } from 'node:child_process';
import type { Client } from '@elastic/elasticsearch';
import { runSetup } from '@dnsflow/indexer';
import { createElasticsearch, createKafka } from '@dnsflow/runtime';
import { dnsDataStream } from '@dnsflow/schema';
import { freePort } from '../support/dns';
import { eventually } from '../support/eventually';
import {
  buildCli,
  countDocs,
  duplicatedIds,
  enrichedRecords,
  produceRecords,
  testIndexerConfig,
  uniqueIndexerNames,
  waitForDocs,
} from '../support/indexer';
import { metricSum, scrapeMetrics } from '../support/metrics';
import { esConfig, testLog } from '../support/services';

// `dnsflow index` as a real process, killed with SIGKILL while bulk requests are in flight
// and started again: records whose documents were not acknowledged were not committed, so
// they are read again, and their deterministic _ids make the second create a no-op.

const TOTAL = 20_000;

describe('dnsflow index: killed with SIGKILL mid-batch', () => {
  const names = uniqueIndexerNames('it-crash');
  const config = testIndexerConfig(names, {
    dataStream: { namespace: names.namespace, retention: '14d' },
  });
  const stream = dnsDataStream(names.namespace);
  const children: ChildProcess[] = [];
  let es: Client;
  let bin = '';

  const start = (flags: string[]): ChildProcess => {
    const child = spawn(
      process.execPath,
      [
        bin,
        'index',
        `--topics.enriched=${names.topics.enriched}`,
        `--topics.dlq=${names.topics.dlq}`,
        `--consumer.groupId=${names.groupId}`,
        `--dataStream.namespace=${names.namespace}`,
        // Small requests, one at a time: the kill lands between acknowledgements.
        '--bulk.maxDocs=100',
        '--bulk.concurrency=1',
        '--log.level=warn',
        ...flags,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'], env: process.env },
    );
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.once('exit', (code, signal) => {
      if (code !== 0 && signal !== 'SIGKILL')
        testLog.error({ code, signal, stderr }, 'indexer exited');
    });
    children.push(child);
    return child;
  };
  const exited = (child: ChildProcess): Promise<number | null> =>
    child.exitCode !== null || child.signalCode !== null
      ? Promise.resolve(child.exitCode)
      : new Promise((resolve) => child.once('exit', (code) => resolve(code)));

  beforeAll(async () => {
    bin = buildCli();
    es = createElasticsearch(esConfig());
    await runSetup(config, testLog);
    await produceRecords(
      createKafka(config.kafka, testLog),
      names.topics.enriched,
      enrichedRecords(TOTAL),
    );
  }, 180_000);

  afterAll(async () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    await es?.close();
  });

  it('loses nothing and duplicates nothing after a restart', async () => {
    // No commit for a minute: everything the first process got acknowledged before the kill
    // is read again by the second.
    const first = start(['--metrics.enabled=false', '--consumer.commitIntervalMs=60000']);
    const atKill = await eventually(
      () => countDocs(es, stream),
      (n) => n >= 1000,
      60_000,
      100,
    );
    first.kill('SIGKILL');
    await exited(first);
    // A bulk request the process sent before it died may still be finishing in Elasticsearch.
    let afterKill = -1;
    await eventually(
      async () => {
        const before = afterKill;
        afterKill = await countDocs(es, stream);
        return afterKill === before;
      },
      Boolean,
      30_000,
      500,
    );
    expect(atKill).toBeGreaterThanOrEqual(1000);
    // Killed part way: some documents in, most still to come.
    expect(afterKill).toBeLessThan(TOTAL);

    const metricsPort = await freePort();
    const second = start([`--metrics.port=${metricsPort}`]);
    expect(await waitForDocs(es, stream, TOTAL, 120_000)).toBe(TOTAL);
    expect(await duplicatedIds(es, stream)).toEqual([]);

    // The second process created what was missing, and counted the records it read again as
    // duplicates (409s): successes, not errors or dead letters.
    const metrics = await eventually(
      () => scrapeMetrics(metricsPort),
      (text) =>
        metricSum(text, 'dnsflow_indexer_docs_indexed_total', { result: 'created' }) ===
        TOTAL - afterKill,
      30_000,
      200,
    );
    const indexed = (result: string): number =>
      metricSum(metrics, 'dnsflow_indexer_docs_indexed_total', { result });
    expect(indexed('created')).toBe(TOTAL - afterKill);
    expect(indexed('duplicate')).toBeGreaterThan(0);
    expect(indexed('duplicate')).toBeLessThanOrEqual(afterKill);
    expect(metricSum(metrics, 'dnsflow_indexer_docs_rejected_total')).toBe(0);

    // SIGTERM drains, commits and exits 0.
    second.kill('SIGTERM');
    expect(await exited(second)).toBe(0);
    expect(await countDocs(es, stream)).toBe(TOTAL);
  }, 300_000);
});
