// The conformance suite: every case of the peer corpus must keep the status that
// packages/collector/conformance/results.json records for it. A case that stops matching
// is a regression; a case that starts matching means the report is stale.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { listCases, runCase, type CaseStatus } from './corpus';

const RESULTS = join(__dirname, '..', '..', 'conformance', 'results.json');
const recorded = JSON.parse(readFileSync(RESULTS, 'utf8')) as Record<string, CaseStatus>;
const cases = listCases();

describe('conformance with the peer corpus', () => {
  it('finds the corpus and records a status for each of its cases', () => {
    expect(cases.length).toBeGreaterThan(100);
    const missing = cases.filter((id) => recorded[id] === undefined);
    expect(missing).toEqual([]);
  });

  it.each(cases)('%s keeps its recorded status', async (id) => {
    const result = await runCase(id);
    const was = recorded[id];
    if (was === 'matched' && result.status !== 'matched') {
      throw new Error(
        `${id} no longer matches (${result.status}):\n  ${[result.reason, ...result.differences].join('\n  ')}`,
      );
    }
    if (was !== undefined && was !== 'matched' && result.status === 'matched') {
      throw new Error(
        `${id} now matches but is recorded as ${was}: run \`npm run conformance\` to regenerate the report`,
      );
    }
    expect(result.status).toBe(was);
  });
});
