import { spawn, type ChildProcess } from 'node:child_process';
import type { Client } from '@elastic/elasticsearch';
import { runSetup } from '@dnsflow/indexer';
import { createElasticsearch, createKafka } from '@dnsflow/runtime';
import { dnsDataStream } from '@dnsflow/schema';
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

  const start = (): ChildProcess => {
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
        '--metrics.enabled=false',
        '--log.level=warn',
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
    const first = start();
    const atKill = await eventually(
      () => countDocs(es, stream),
      (n) => n > 0,
      60_000,
      100,
    );
    first.kill('SIGKILL');
    await exited(first);
    const afterKill = await countDocs(es, stream);
    expect(atKill).toBeGreaterThan(0);
    // Killed part way: some documents in, most still to come.
    expect(afterKill).toBeLessThan(TOTAL);

    const second = start();
    expect(await waitForDocs(es, stream, TOTAL, 120_000)).toBe(TOTAL);
    expect(await duplicatedIds(es, stream)).toEqual([]);

    // SIGTERM drains, commits and exits 0.
    second.kill('SIGTERM');
    expect(await exited(second)).toBe(0);
    expect(await countDocs(es, stream)).toBe(TOTAL);
  }, 300_000);
});
