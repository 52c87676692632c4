import { type Command, InvalidArgumentError, Option } from 'commander';
import { STATUSES, type QueryFilters, type Status } from './filters';
import { parseQueryType, parseResponseCode } from './mnemonics';
import { parseDuration, parseTimePoint } from './time';

// The options `dnsflow observe` and `dnsflow top` share: time range, filters, config. Each
// value is checked while the command line is parsed, so a bad one is a usage error (exit 2)
// that names the option, before Elasticsearch is asked anything.

/** Wraps a parser so its error becomes commander's "option ... is invalid" message. */
function checked<T>(parse: (text: string) => T): (text: string) => T {
  return (text) => {
    try {
      return parse(text);
    } catch (err) {
      throw new InvalidArgumentError((err as Error).message);
    }
  };
}

/** A comma-separated, repeatable list, each item parsed. */
function list<T>(parse: (text: string) => T): (text: string, previous?: T[]) => T[] {
  return (text, previous = []) => [
    ...previous,
    ...text
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '')
      .map(checked(parse)),
  ];
}

function status(text: string): Status {
  const value = text.toLowerCase();
  if ((STATUSES as readonly string[]).includes(value)) return value as Status;
  throw new Error(`unknown status "${text}"; valid: ${STATUSES.join(', ')}`);
}

function nonEmpty(what: string): (text: string) => string {
  return checked((text) => {
    if (text.trim() === '') throw new Error(`expected ${what}, found an empty value`);
    return text.trim();
  });
}

/** The raw values of the shared options as commander hands them over. */
export interface QueryOptionValues {
  since?: string;
  until?: string;
  pod?: string;
  namespace?: string;
  workload?: string;
  node?: string;
  query?: string;
  qtype?: string[];
  rcode?: string[];
  status?: Status[];
  server?: string;
  internal?: boolean;
  external?: boolean;
  includeExpansions?: boolean;
  config?: string;
  dataStream?: string;
}

/** Adds the shared time, filter and config options to `command`. */
export function addQueryOptions(command: Command, defaultSince: string): Command {
  return command
    .option(
      '--since <duration>',
      `from this long ago: 30s, 10m, 2h, 1d (default ${defaultSince})`,
      checked((t) => {
        parseDuration(t);
        return t;
      }),
    )
    .option(
      '--until <time>',
      'up to this long ago (10m) or this ISO time (default now)',
      checked((t) => {
        parseTimePoint(t, Date.now());
        return t;
      }),
    )
    .option('--pod <ns/name>', 'client pod (name globs: starwars/jar-jar-*)', nonEmpty('ns/name'))
    .option('-n, --namespace <ns>', 'client namespace', nonEmpty('a namespace'))
    .option(
      '--workload <kind/name>',
      'client workload: deployment/web or web',
      nonEmpty('a workload'),
    )
    .option(
      '--node <name>',
      'node that captured (or the client pod ran on)',
      nonEmpty('a node name'),
    )
    .option(
      '-q, --query <glob>',
      'query name glob, case-insensitive: *.example.com',
      nonEmpty('a name'),
    )
    .option('--qtype <types>', 'query types, comma-separated: A,AAAA', list(parseQueryType))
    .option(
      '--rcode <codes>',
      'response codes, comma-separated: NXDOMAIN,SERVFAIL',
      list(parseResponseCode),
    )
    .option(
      '--status <statuses>',
      `transaction status, comma-separated: ${STATUSES.join('|')}`,
      list(status),
    )
    .option(
      '--server <ip|ns/name>',
      'server asked or answering: IP, CIDR, or ns/name of a service or pod',
    )
    .addOption(new Option('--internal', 'cluster-internal names only').conflicts('external'))
    .addOption(new Option('--external', 'names outside the cluster only').conflicts('internal'))
    .option(
      '--include-expansions',
      'list failed search-list expansions on their own (folded into the asked name by default)',
    )
    .option('--data-stream <pattern>', 'data streams to search (default logs-dnsflow.dns-*)')
    .option(
      '-c, --config <file>',
      'query config file (YAML or JSON); DNSFLOW_ELASTICSEARCH__* env and --elasticsearch.<key>=<value> flags override it',
    );
}

/** The filters for the parsed option values, times resolved against `nowMs`. */
export function filtersFrom(
  values: QueryOptionValues,
  nowMs: number,
  defaultSinceMs: number | undefined,
): QueryFilters {
  const sinceMs = values.since !== undefined ? parseDuration(values.since) : defaultSinceMs;
  const filters: QueryFilters = {};
  if (sinceMs !== undefined) filters.fromMs = nowMs - sinceMs;
  if (values.until !== undefined) filters.toMs = parseTimePoint(values.until, nowMs);
  if (values.pod !== undefined) filters.pod = values.pod;
  if (values.namespace !== undefined) filters.namespace = values.namespace;
  if (values.workload !== undefined) filters.workload = values.workload;
  if (values.node !== undefined) filters.node = values.node;
  if (values.query !== undefined) filters.query = values.query;
  if (values.qtype !== undefined) filters.qtypes = values.qtype;
  if (values.rcode !== undefined) filters.rcodes = values.rcode;
  if (values.status !== undefined) filters.statuses = values.status;
  if (values.server !== undefined) filters.server = values.server;
  if (values.internal === true) filters.internal = true;
  if (values.external === true) filters.internal = false;
  if (values.includeExpansions === true) filters.includeExpansions = true;
  if (
    filters.fromMs !== undefined &&
    filters.toMs !== undefined &&
    filters.toMs <= filters.fromMs
  ) {
    throw new InvalidArgumentError(
      `--until (${new Date(filters.toMs).toISOString()}) is not after --since (${new Date(filters.fromMs).toISOString()})`,
    );
  }
  return filters;
}
