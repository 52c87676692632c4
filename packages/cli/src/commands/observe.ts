import { once } from 'node:events';
import { type Command, Option } from 'commander';
import { configFlags, positiveInt } from '../options';
import { ExpansionFolder, isFailedExpansion, type Line } from '../query/expansions';
import { buildQuery, type QueryFilters } from '../query/filters';
import { addQueryOptions, filtersFrom, type QueryOptionValues } from '../query/options';
import { LineWriter, OUTPUTS, type Output } from '../query/render';
import { keyText, type DnsSearch, type Hit, type HitKey } from '../query/search';
import { noDataMessage, openSearch, type ConfigOptions } from '../query/session';
import type { Io } from './decode';

/** What `dnsflow observe` was asked. */
export interface ObserveOptions extends ConfigOptions {
  filters: QueryFilters;
  /** The newest N transactions (in time order) instead of everything in the range. */
  last?: number;
  follow: boolean;
  output: Output;
  /** Resolves when --follow should stop (default: SIGINT or SIGTERM). */
  until?: Promise<void>;
}

const DEFAULT_SINCE = '15m';
const DEFAULT_SINCE_MS = 15 * 60_000;

/**
 * Waits while the terminal or pipe is behind: a range of millions of transactions is read
 * no faster than `| less` or `| jq` takes it, so memory stays at about one page.
 */
async function outputDrained(): Promise<void> {
  if (process.stdout.writableNeedDrain) await once(process.stdout, 'drain');
}

function untilInterrupted(): Promise<void> {
  return new Promise((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

/** The newest `last` shown transactions, with the failed expansions around them to fold. */
async function newestHits(
  search: DnsSearch,
  filters: QueryFilters,
  last: number,
  windowUs: number,
  maxBuffered: number,
): Promise<Hit[]> {
  const shown: Hit[] = [];
  for await (const page of search.scan(buildQuery(filters), 'desc', last)) shown.push(...page);
  shown.reverse();
  const first = shown[0];
  const lastHit = shown[shown.length - 1];
  if (filters.includeExpansions === true || first === undefined || lastHit === undefined)
    return shown;
  const around: QueryFilters = {
    ...filters,
    fromMs: Math.floor((first.timeUs - windowUs) / 1000),
    toMs: Math.ceil((lastHit.timeUs + windowUs) / 1000) + 1,
  };
  const folded: Hit[] = [];
  for await (const page of search.scan(buildQuery(around, 'only'), 'asc', maxBuffered))
    folded.push(...page);
  return [...shown, ...folded].sort((a, b) => a.timeUs - b.timeUs);
}

/**
 * `dnsflow observe`: the DNS flow log from Elasticsearch, in time order, with failed
 * search-list expansions folded into the name the application asked for. --follow keeps
 * printing transactions as they are indexed until Ctrl-C.
 */
export async function observeCommand(options: ObserveOptions, io: Io): Promise<number> {
  const { config, search } = openSearch(options);
  const o = config.observe;
  const windowUs = o.expansionWindowMs * 1000;
  const filters = options.filters;
  const writer = new LineWriter(options.output, (text) => io.out(text));
  // --last N counts shown lines; failed expansions it fetched only to fold are not shown alone.
  // Failed expansions are listed only with --include-expansions, as top counts them only
  // then. Those whose asked name is shown become its "+N"; the others (the filters left the
  // asked name out) are counted in the closing note. --last fetched extra ones only to fold.
  let folded = 0;
  let hidden = 0;
  const show = (line: Line): void => {
    if (
      filters.includeExpansions !== true &&
      line.expansions === 0 &&
      isFailedExpansion(line.hit)
    ) {
      if (options.last === undefined) hidden++;
      return;
    }
    folded += line.expansions;
    writer.add(line);
  };
  const folder =
    filters.includeExpansions === true
      ? undefined
      : new ExpansionFolder({ windowUs, maxBuffered: o.maxBufferedDocs }, show);
  const put = (hit: Hit): void => {
    if (folder !== undefined) folder.push(hit);
    else show({ hit, expansions: 0 });
  };
  const seen = new Map<string, number>();
  const remember = (hit: HitKey): boolean => {
    const key = keyText(hit);
    if (seen.has(key)) return false;
    seen.set(key, hit.timeUs);
    // Insertion order is roughly time order: the oldest ids go first when the bound is hit.
    if (seen.size > o.maxBufferedDocs) seen.delete(seen.keys().next().value!);
    return true;
  };
  const nowMs = Date.now();
  try {
    if (options.follow) {
      // What the lookback window holds when following starts is history, not news: only
      // what --last or --since print of it is shown. Noted before that output, so nothing
      // indexed in between is missed.
      const primer = { ...filters, fromMs: nowMs - o.followLookbackMs };
      delete primer.toMs;
      for await (const keys of search.scanKeys(buildQuery(primer, 'all')))
        for (const key of keys) remember(key);
    }
    if (options.last !== undefined) {
      const hits = await newestHits(search, filters, options.last, windowUs, o.maxBufferedDocs);
      for (const hit of hits) {
        if (options.follow) remember(hit);
        put(hit);
      }
    } else if (!options.follow || filters.fromMs !== undefined) {
      for await (const page of search.scan(buildQuery(filters, 'all'), 'asc')) {
        for (const hit of page) {
          if (options.follow) remember(hit);
          put(hit);
        }
        await outputDrained();
      }
    }
    folder?.advance(options.follow ? nowMs * 1000 - windowUs : Infinity);
    writer.flush();
    if (!options.follow) {
      folder?.finish();
      writer.flush();
      const notListed = folded + hidden;
      if (writer.count === 0 && hidden === 0)
        io.err(`dnsflow observe: ${await noDataMessage(search, filters, nowMs)}\n`);
      else if (notListed > 0 && (options.output !== 'json' || writer.count === 0))
        io.err(
          `dnsflow observe: ${notListed} failed search-list expansion${notListed === 1 ? '' : 's'} not listed ` +
            `(${folded} folded into the names asked as +N); --include-expansions lists them\n`,
        );
      return 0;
    }
    await follow(
      search,
      options,
      config.observe,
      { put, remember, seen, folder, writer, nowMs },
      io,
    );
    return 0;
  } finally {
    await search.close();
  }
}

interface FollowState {
  put(hit: Hit): void;
  remember(hit: HitKey): boolean;
  seen: Map<string, number>;
  folder: ExpansionFolder | undefined;
  writer: LineWriter;
  nowMs: number;
}

/**
 * Polls for transactions indexed since the last poll: each poll lists the keys of the
 * documents from the newest time printed minus a lookback (unanswered queries and pipeline
 * lag index documents late), fetches those not printed yet and prints them. The memory of
 * printed keys is bounded.
 */
async function follow(
  search: DnsSearch,
  options: ObserveOptions,
  o: { followIntervalMs: number; followLookbackMs: number; expansionWindowMs: number },
  state: FollowState,
  io: Io,
): Promise<void> {
  let stopped = false;
  const stop = (options.until ?? untilInterrupted()).then(() => {
    stopped = true;
  });
  let cursorMs = state.nowMs;
  const base = { ...options.filters };
  delete base.toMs;
  io.err(`dnsflow observe: following ${search.index}; Ctrl-C stops\n`);
  let failing = false;
  while (!stopped) {
    try {
      // Keys first (no documents), then only the documents not printed yet.
      const fromMs = cursorMs - o.followLookbackMs;
      for await (const keys of search.scanKeys(buildQuery({ ...base, fromMs }, 'all'))) {
        const fresh = keys.filter((k) => !state.seen.has(keyText(k)));
        for (const hit of await search.fetch(fresh)) {
          if (!state.remember(hit)) continue;
          state.put(hit);
          cursorMs = Math.max(cursorMs, Math.floor(hit.timeUs / 1000));
        }
        await outputDrained();
      }
      if (failing) io.err('dnsflow observe: Elasticsearch is back\n');
      failing = false;
    } catch (err) {
      if ((err as { retriable?: boolean }).retriable !== true) throw err;
      if (!failing) io.err(`dnsflow observe: ${(err as Error).message} (retrying)\n`);
      failing = true;
    }
    // Lines wait one grouping window plus one poll for expansions still on their way.
    state.folder?.advance((Date.now() - o.followIntervalMs) * 1000 - o.expansionWindowMs * 1000);
    state.writer.flush();
    const horizonUs = (cursorMs - 2 * o.followLookbackMs) * 1000;
    for (const [key, t] of state.seen) {
      if (t >= horizonUs) break;
      state.seen.delete(key);
    }
    await Promise.race([stop, new Promise((r) => setTimeout(r, o.followIntervalMs))]);
  }
  state.folder?.finish();
  state.writer.flush();
}

/** Adds `dnsflow observe` to the program. */
export function registerObserve(program: Command, io: Io, setExit: (code: number) => void): void {
  const command = program
    .command('observe')
    .description(
      'The DNS flow log from Elasticsearch: transactions in time order, filtered; --follow for live.',
    )
    .option('--last <n>', 'only the newest N transactions', positiveInt)
    .option('-f, --follow', 'keep printing new transactions until Ctrl-C')
    .addOption(
      new Option(
        '-o, --output <format>',
        'compact (default on a terminal), table, or json (ECS NDJSON)',
      ).choices(OUTPUTS),
    );
  addQueryOptions(command, DEFAULT_SINCE)
    .allowUnknownOption()
    .allowExcessArguments()
    .action(
      async (
        values: QueryOptionValues & { last?: number; follow?: boolean; output?: Output },
        cmd: Command,
      ) => {
        const follow = values.follow === true;
        if (follow && values.until !== undefined)
          cmd.error('error: --follow prints until Ctrl-C; it takes no --until', { exitCode: 2 });
        // --last and --follow alone look back as far as needed; otherwise the default range.
        const defaultSince = values.last !== undefined || follow ? undefined : DEFAULT_SINCE_MS;
        let filters: QueryFilters;
        try {
          filters = filtersFrom(values, Date.now(), defaultSince);
        } catch (err) {
          cmd.error(`error: ${(err as Error).message}`, { exitCode: 2 });
        }
        const output: Output =
          values.output ?? (process.stdout.isTTY === true ? 'compact' : 'json');
        setExit(
          await observeCommand(
            {
              filters,
              follow,
              output,
              ...(values.last !== undefined ? { last: values.last } : {}),
              ...(values.config !== undefined ? { config: values.config } : {}),
              ...(values.dataStream !== undefined ? { dataStream: values.dataStream } : {}),
              flags: configFlags(cmd, 0),
            },
            io,
          ),
        );
      },
    );
}
