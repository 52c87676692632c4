import { createElasticsearch } from '@dnsflow/runtime';
import { loadQueryConfig, type QueryConfig } from './config';
import type { QueryFilters } from './filters';
import { DnsSearch } from './search';
import { ago, isoMillis, sinceCovering } from './time';

/** Where a query command finds its config. */
export interface ConfigOptions {
  config?: string;
  /** --data-stream: overrides observe.dataStream. */
  dataStream?: string;
  /** `--elasticsearch.<key>=<value>` style flags. */
  flags: string[];
}

/** Loads the query config and opens the search client. */
export function openSearch(options: ConfigOptions): { config: QueryConfig; search: DnsSearch } {
  const config = loadQueryConfig({
    ...(options.config !== undefined ? { file: options.config } : {}),
    env: process.env,
    flags: options.flags,
  });
  if (options.dataStream !== undefined) config.observe.dataStream = options.dataStream;
  return { config, search: new DnsSearch(createElasticsearch(config.elasticsearch), config) };
}

/**
 * The message for an empty result: the range searched, and where the data is if there is
 * any, so the user knows whether to widen the range, loosen the filters or start the pipeline.
 */
export async function noDataMessage(
  search: DnsSearch,
  filters: QueryFilters,
  nowMs: number,
): Promise<string> {
  const from = filters.fromMs !== undefined ? isoMillis(filters.fromMs) : 'the beginning';
  const to = filters.toMs !== undefined ? isoMillis(filters.toMs) : 'now';
  const head = `no DNS transactions in ${search.index} between ${from} and ${to}`;
  const newest = await search.newestMs();
  if (newest === undefined) {
    return `${head}: ${search.index} holds no documents. Is the pipeline running (npm start, or dnsflow run) and indexing into it?`;
  }
  const inRange =
    (filters.fromMs === undefined || newest >= filters.fromMs) &&
    (filters.toMs === undefined || newest < filters.toMs);
  if (inRange) {
    return `${head} match the filters; the range does hold data (newest document ${isoMillis(newest)}, ${ago(newest, nowMs)}): loosen the filters.`;
  }
  const hint =
    newest < (filters.fromMs ?? 0) ? `: try --since ${sinceCovering(newest, nowMs)}` : '';
  return `${head}; the newest document is from ${isoMillis(newest)} (${ago(newest, nowMs)})${hint}.`;
}
