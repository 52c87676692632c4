// Fuzzing of decode → DNS decode → pairing with mutations of every frame of the peer
// corpus. The engine (mutations, checks, report) is scripts/fuzz-collector.js, which
// runs 1,000,000 mutations over the built packages; here it runs on the sources with
// fewer. FUZZ_COUNT and FUZZ_SEED change the run (a failing seed replays exactly).
import * as collector from '@dnsflow/collector';
import * as runtime from '@dnsflow/runtime';
import * as schema from '@dnsflow/schema';
import * as promClient from 'prom-client';
import { runFuzz } from '../../../scripts/fuzz-collector';

const COUNT = Number(process.env.FUZZ_COUNT ?? 50_000);
const SEED = Number(process.env.FUZZ_SEED ?? 1);
const CORPUS = process.env.DNSFLOW_CORPUS ?? '/work/shared/corpus';

type Report = Awaited<ReturnType<typeof runFuzz>>;

/** What the engine found of the given kinds: the failing input (hex) and stack, if any. */
const failuresOf = (report: Report, ...kinds: string[]): unknown[] =>
  report.failures.filter((f: { kind: string }) => kinds.includes(f.kind));

describe(`fuzzing the collector pipeline (${COUNT} mutations, seed ${SEED})`, () => {
  let report: Report;

  beforeAll(async () => {
    report = await runFuzz({
      collector,
      schema,
      runtime,
      promClient,
      count: COUNT,
      seed: SEED,
      corpusDir: CORPUS,
    });
  }, 600_000);

  it('mutates every kind of input it claims to', () => {
    // A fuzzer that silently fed nothing, or only one strategy, would pass everything.
    expect(report.corpus.frames).toBeGreaterThan(1000);
    expect(report.framesFed).toBeGreaterThanOrEqual(COUNT);
    for (const strategy of [
      'sequence',
      'bitflip',
      'truncate',
      'length',
      'crafted',
      'splice',
      'tcp',
    ]) {
      expect(report.strategies[strategy]).toBeGreaterThan(0);
    }
    // Both outcomes are exercised: messages that decode and messages that do not.
    expect(report.decodedOk).toBeGreaterThan(COUNT / 10);
    expect(report.malformedDecodes).toBeGreaterThan(COUNT / 1000);
  });

  it('lets no exception escape the decoder, the DNS decoder, pairing or the Avro encoder', () => {
    expect(failuresOf(report, 'exception', 'fuzzer')).toEqual([]);
  });

  it('turns every DNS message into a decoded message or a MALFORMED record with a reason', () => {
    expect(failuresOf(report, 'decode', 'record', 'accounting')).toEqual([]);
    expect(report.records.MALFORMED).toBe(report.malformedDecodes);
    expect(report.records.ANSWERED).toBeGreaterThan(0);
  });

  it('keeps pairing and reassembly state under the configured bounds, and the heap flat', () => {
    expect(failuresOf(report, 'bound', 'memory')).toEqual([]);
    expect(report.memory.heapGrowth).toBeLessThan(64 * 1024 * 1024);
  });
});
