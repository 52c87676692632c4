// Reads a Zeek btest of the peer corpus: which trace the test replays, which dns.log
// (or zeek-cut extract of it) it compares, and the rows of that baseline.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** One row of a Zeek log, by column name; Zeek's unset marker `-` is kept as is. */
export type ZeekRow = Record<string, string>;

/** A parsed Zeek ASCII log (or a zeek-cut extract with a plain header line). */
export interface ZeekLog {
  columns: string[];
  rows: ZeekRow[];
  /** Zeek's marker for an unset field (`-` unless the header says otherwise). */
  unset: string;
  /** Zeek's marker for an empty container (`(empty)`). */
  empty: string;
  /** Separator between the elements of a vector or set column. */
  setSeparator: string;
}

/** What one btest expects of dns.log, with the trace that produces it. */
export interface ZeekExpectation {
  /** The trace, an absolute path. */
  pcap: string;
  /** Baseline file name as the test diffs it (dns.log, dns.log.cut, ...). */
  baseline: string;
  log: ZeekLog;
  /** Options on the zeek command line that change what is logged (`-C`, `name=value`). */
  zeekArgs: string[];
}

/** A Zeek case: the btest script, and the dns.log expectations it holds (may be none). */
export interface ZeekCase {
  /** Directory name under zeek/ (`scripts.base.protocols.dns.flip`, `_extra/...`). */
  name: string;
  dir: string;
  script: string;
  expectations: ZeekExpectation[];
  /** Why the case has no dns.log expectation, when it has none. */
  noExpectation: string | null;
}

/**
 * Parses a Zeek ASCII log. Handles both the full format (`#fields` header, `#separator`,
 * `#set_separator`, `#unset_field`, `#empty_field`) and the header-line format that
 * `zeek-cut -m` writes.
 */
export function parseZeekLog(text: string): ZeekLog {
  const log: ZeekLog = { columns: [], rows: [], unset: '-', empty: '(empty)', setSeparator: ',' };
  let headerSeen = false;
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('### ')) continue;
    if (line.startsWith('#')) {
      const [key, ...rest] = line.split(/[\t ]/);
      const value = rest.join(' ');
      if (key === '#fields') {
        log.columns = line.split('\t').slice(1);
        headerSeen = true;
      } else if (key === '#set_separator') log.setSeparator = value;
      else if (key === '#unset_field') log.unset = value;
      else if (key === '#empty_field') log.empty = value;
      continue;
    }
    const cells = line.split('\t');
    if (!headerSeen) {
      // zeek-cut -m: the first plain line names the columns.
      log.columns = cells;
      headerSeen = true;
      continue;
    }
    const row: ZeekRow = {};
    log.columns.forEach((column, i) => {
      // An empty column name comes from zeek-cut asked for a column the log lacks.
      if (column !== '') row[column] = cells[i] ?? '';
    });
    log.rows.push(row);
  }
  return log;
}

/** Splits a vector/set cell into its elements; unset and empty give none. */
export function zeekList(log: ZeekLog, cell: string | undefined): string[] {
  if (cell === undefined || cell === log.unset || cell === log.empty) return [];
  return cell.split(log.setSeparator);
}

interface ExecStep {
  words: string[];
}

function execLines(script: string): ExecStep[] {
  const steps: ExecStep[] = [];
  for (const line of script.split('\n')) {
    const m = /^#\s*@TEST-EXEC(?:-FAIL)?:\s*(.*)$/.exec(line);
    if (m?.[1] !== undefined) steps.push({ words: m[1].trim().split(/\s+/) });
  }
  return steps;
}

function findFile(root: string, name: string): string | null {
  if (!existsSync(root)) return null;
  for (const entry of readdirSync(root, { withFileTypes: true })) {
    const path = join(root, entry.name);
    if (entry.isDirectory()) {
      const found = findFile(path, name);
      if (found !== null) return found;
    } else if (entry.name === name) return path;
  }
  return null;
}

/**
 * Loads one Zeek case. The `@TEST-EXEC` lines are followed in order: the last
 * `zeek -r $TRACES/...` before a `btest-diff` of dns.log, or before the `zeek-cut ... <
 * dns.log` that made the diffed extract, names the trace that baseline comes from.
 */
export function loadZeekCase(corpus: string, name: string): ZeekCase {
  const dir = join(corpus, 'zeek', name);
  const scriptFile = readdirSync(dir).find((f) => /\.(zeek|test|bro|sh)$/.test(f));
  const script = scriptFile === undefined ? '' : readFileSync(join(dir, scriptFile), 'utf8');
  const baselineDir = join(dir, 'Baseline', name.replace(/^_extra\//, ''));
  const expectations: ZeekExpectation[] = [];
  let trace: string | null = null;
  let zeekArgs: string[] = [];
  /**
   * dns.log and the files zeek-cut derived from it, by name, with the run they come from:
   * a cut is taken right after its run, and a test may diff it after later runs.
   */
  const fromDnsLog = new Map<string, { trace: string | null; zeekArgs: string[] } | null>([
    ['dns.log', null],
  ]);
  for (const { words } of execLines(script)) {
    if (words[0] === 'zeek' || words[0] === 'bro') {
      const r = words.findIndex((w) => w === '-r' || /^-[a-zA-Z]*r$/.test(w));
      const path = r >= 0 ? words[r + 1] : undefined;
      if (path !== undefined) {
        const file = path.replace(/^\$TRACES\//, '');
        trace = findFile(join(dir, 'traces'), file.split('/').pop() ?? file);
        zeekArgs = words.filter((w) => w === '-C' || /^[a-z_:]+=/.test(w));
      }
      continue;
    }
    const lt = words.indexOf('<');
    const gt = words.indexOf('>');
    if (words[0] === 'zeek-cut' && lt >= 0 && words[lt + 1] === 'dns.log' && gt >= 0) {
      const out = words[gt + 1];
      if (out !== undefined) fromDnsLog.set(out, { trace, zeekArgs });
      continue;
    }
    if (words[0] === 'btest-diff' && words[1] !== undefined && fromDnsLog.has(words[1])) {
      const baseline = words[1];
      // dns.log itself is the latest run's.
      const run = fromDnsLog.get(baseline) ?? { trace, zeekArgs };
      const file = join(baselineDir, baseline);
      if (run.trace !== null && existsSync(file)) {
        expectations.push({
          pcap: run.trace,
          baseline,
          log: parseZeekLog(readFileSync(file, 'utf8')),
          zeekArgs: run.zeekArgs,
        });
      }
    }
  }
  let noExpectation: string | null = null;
  if (expectations.length === 0) {
    const files = existsSync(baselineDir) ? readdirSync(baselineDir) : [];
    noExpectation =
      files.length === 0
        ? 'no dns.log baseline: the test checks with inline grep/test only'
        : `no dns.log baseline: the test compares ${files.join(', ')} (script prints, weird/conn/tunnel logs), not transactions`;
  }
  return { name, dir, script, expectations, noExpectation };
}

/** Every Zeek case directory of the corpus, extras included. */
export function listZeekCases(corpus: string): string[] {
  const root = join(corpus, 'zeek');
  const names: string[] = [];
  for (const entry of readdirSync(root, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    if (entry.name === '_extra') {
      for (const extra of readdirSync(join(root, '_extra'), { withFileTypes: true })) {
        if (extra.isDirectory()) names.push(`_extra/${extra.name}`);
      }
    } else names.push(entry.name);
  }
  return names.sort();
}
