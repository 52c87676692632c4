import { type Command, InvalidArgumentError, Option } from 'commander';
import { configFlags, positiveInt } from '../options';
import { buildQuery, type QueryFilters } from '../query/filters';
import { addQueryOptions, filtersFrom, type QueryOptionValues } from '../query/options';
import { noDataMessage, openSearch, type ConfigOptions } from '../query/session';
import {
  DOMAIN_KEYS,
  MAX_TOP_LIMIT,
  TOP_GROUPS,
  TOP_SORTS,
  groupSpec,
  renderTopJson,
  renderTopTable,
  topAggregations,
  topRows,
  type DomainKey,
  type TopGroup,
  type TopSort,
} from '../query/top';
import type { Io } from './decode';

/** What `dnsflow top` was asked. */
export interface TopOptions extends ConfigOptions {
  group: TopGroup;
  filters: QueryFilters;
  sort: TopSort;
  limit: number;
  by: DomainKey;
  output: 'table' | 'json';
}

const DEFAULT_SINCE = '15m';

function limit(text: string): number {
  const n = positiveInt(text);
  if (n > MAX_TOP_LIMIT)
    throw new InvalidArgumentError(`expected at most ${MAX_TOP_LIMIT} rows, found ${n}`);
  return n;
}
const DEFAULT_SINCE_MS = 15 * 60_000;

/**
 * `dnsflow top pods|workloads|servers|domains`: per group, the transaction count, failures
 * (error ratio and top response codes), latency p50/p95/max and bytes, from Elasticsearch
 * aggregations over the filtered range.
 */
export async function topCommand(options: TopOptions, io: Io): Promise<number> {
  const { search } = openSearch(options);
  try {
    const spec = groupSpec(options.group, options.by);
    const aggregations = await search.aggregate(
      buildQuery(options.filters),
      topAggregations(spec, options.sort, options.limit),
    );
    const rows = topRows(spec, aggregations, options.sort, options.limit);
    if (rows.length === 0) {
      io.err(`dnsflow top: ${await noDataMessage(search, options.filters, Date.now())}\n`);
      return 0;
    }
    io.out(
      `${options.output === 'json' ? renderTopJson(options.group, rows) : renderTopTable(spec, rows)}\n`,
    );
    return 0;
  } finally {
    await search.close();
  }
}

/** Adds `dnsflow top` to the program. */
export function registerTop(program: Command, io: Io, setExit: (code: number) => void): void {
  const command = program
    .command('top')
    .description(
      'Top pods, workloads, servers or domains by DNS count, errors, latency or bytes, from Elasticsearch.',
    )
    .addArgument(program.createArgument('<group>', 'what to rank').choices(TOP_GROUPS))
    .addOption(new Option('--sort <by>', 'rank by').choices(TOP_SORTS).default('count'))
    .option('--limit <n>', `rows shown, 1-${MAX_TOP_LIMIT} (default 10)`, limit, 10)
    .addOption(
      new Option('--by <key>', 'domains: group by registered domain or full name')
        .choices(DOMAIN_KEYS)
        .default('registered-domain'),
    )
    .addOption(
      new Option('-o, --output <format>', 'output format')
        .choices(['table', 'json'])
        .default('table'),
    );
  addQueryOptions(command, DEFAULT_SINCE)
    .allowUnknownOption()
    .allowExcessArguments()
    .action(
      async (
        group: TopGroup,
        values: QueryOptionValues & {
          sort: TopSort;
          limit: number;
          by: DomainKey;
          output: 'table' | 'json';
        },
        cmd: Command,
      ) => {
        let filters: QueryFilters;
        try {
          filters = filtersFrom(values, Date.now(), DEFAULT_SINCE_MS);
        } catch (err) {
          cmd.error(`error: ${(err as Error).message}`, { exitCode: 2 });
        }
        setExit(
          await topCommand(
            {
              group,
              filters,
              sort: values.sort,
              limit: values.limit,
              by: values.by,
              output: values.output,
              ...(values.config !== undefined ? { config: values.config } : {}),
              ...(values.dataStream !== undefined ? { dataStream: values.dataStream } : {}),
              flags: configFlags(cmd, 1),
            },
            io,
          ),
        );
      },
    );
}
