import { isIP } from 'node:net';

// The filters `dnsflow observe` and `dnsflow top` share, and the Elasticsearch query they
// become. Field names are those of the ECS documents (packages/schema toEcs): the client's
// identity under source.kubernetes.*, the server asked under destination.*, the pod that
// answered behind a service IP under dnsflow.answered_by.*.

/** A query clause in Elasticsearch's query DSL. */
export type EsQuery = Record<string, unknown>;

/** Transaction statuses as the documents spell them (`dnsflow.status`). */
export const STATUSES = ['answered', 'unanswered', 'orphan', 'malformed'] as const;
export type Status = (typeof STATUSES)[number];

/** What the user asked for; every field is optional and they combine with AND. */
export interface QueryFilters {
  /** Epoch ms, inclusive. */
  fromMs?: number;
  /** Epoch ms, exclusive. */
  toMs?: number;
  /** `ns/name` or `name`; the name may hold `*` globs. */
  pod?: string;
  namespace?: string;
  /** `kind/name` or `name`. */
  workload?: string;
  node?: string;
  /** Glob over the normalised question name (and the name the application asked for). */
  query?: string;
  qtypes?: string[];
  rcodes?: string[];
  statuses?: Status[];
  /** IP or CIDR, or `ns/name` of a service or pod. */
  server?: string;
  /** true: cluster-internal names only; false: external names only. */
  internal?: boolean;
  /** Keep search-list expansions that failed (they are folded into the asked name otherwise). */
  includeExpansions?: boolean;
}

const F = {
  ns: 'source.kubernetes.namespace',
  pod: 'source.kubernetes.pod.name',
  workloadName: 'source.kubernetes.workload.name',
  workloadKind: 'source.kubernetes.workload.kind',
  clientNode: 'source.kubernetes.node.name',
  host: 'host.name',
  name: 'dns.question.name',
  askedName: 'dnsflow.search.asked_name',
  isExpansion: 'dnsflow.search.is_expansion',
  qtype: 'dns.question.type',
  rcode: 'dns.response_code',
  status: 'dnsflow.status',
  internal: 'dnsflow.query_target.internal',
} as const;

const term = (field: string, value: unknown): EsQuery => ({ term: { [field]: value } });
const terms = (field: string, values: readonly unknown[]): EsQuery => ({
  terms: { [field]: values },
});
const anyOf = (...clauses: EsQuery[]): EsQuery => ({
  bool: { should: clauses, minimum_should_match: 1 },
});
const allOf = (...clauses: EsQuery[]): EsQuery => ({ bool: { filter: clauses } });

/** An exact match, or a wildcard match when the value holds `*` or `?`. */
function match(field: string, value: string, caseInsensitive = false): EsQuery {
  if (/[*?]/.test(value)) {
    return { wildcard: { [field]: { value, case_insensitive: caseInsensitive } } };
  }
  return caseInsensitive
    ? { term: { [field]: { value, case_insensitive: true } } }
    : term(field, value);
}

/** Question names are stored lowercase without the trailing dot; so is the glob. */
export function normaliseGlob(glob: string): string {
  const trimmed = glob.trim().toLowerCase();
  return trimmed.length > 1 && trimmed.endsWith('.') ? trimmed.slice(0, -1) : trimmed;
}

/**
 * Hidden unless asked for: a search-list expansion the server answered NXDOMAIN, i.e. the
 * resolver moved on to the next suffix. An expansion that resolved is what the application
 * got and always shows.
 */
export const FAILED_EXPANSION: EsQuery = allOf(
  term(F.isExpansion, true),
  term(F.rcode, 'NXDOMAIN'),
);

/** The `--server` filter: the address asked or the pod that answered, by IP or by name. */
function serverClause(server: string): EsQuery {
  const ipPart = server.split('/')[0] ?? '';
  if (isIP(ipPart) !== 0) {
    // IP or CIDR; `term` on an ip field accepts both.
    return anyOf(term('destination.ip', server), term('dnsflow.answered_by.ip', server));
  }
  const slash = server.indexOf('/');
  const ns = slash === -1 ? undefined : server.slice(0, slash);
  const name = slash === -1 ? server : server.slice(slash + 1);
  const end = (prefix: string): EsQuery => {
    const byName = anyOf(
      match(`${prefix}.kubernetes.service.name`, name),
      match(`${prefix}.kubernetes.pod.name`, name),
    );
    return ns === undefined ? byName : allOf(term(`${prefix}.kubernetes.namespace`, ns), byName);
  };
  return anyOf(end('destination'), end('dnsflow.answered_by'));
}

/** The filter clauses for `filters`, without the search-list rule. */
export function filterClauses(filters: QueryFilters): EsQuery[] {
  const clauses: EsQuery[] = [];
  if (filters.fromMs !== undefined || filters.toMs !== undefined) {
    clauses.push({
      range: {
        '@timestamp': {
          ...(filters.fromMs !== undefined ? { gte: filters.fromMs } : {}),
          ...(filters.toMs !== undefined ? { lt: filters.toMs } : {}),
          format: 'epoch_millis',
        },
      },
    });
  }
  if (filters.pod !== undefined) {
    const slash = filters.pod.indexOf('/');
    if (slash === -1) clauses.push(match(F.pod, filters.pod));
    else {
      clauses.push(term(F.ns, filters.pod.slice(0, slash)));
      clauses.push(match(F.pod, filters.pod.slice(slash + 1)));
    }
  }
  if (filters.namespace !== undefined) clauses.push(match(F.ns, filters.namespace));
  if (filters.workload !== undefined) {
    const slash = filters.workload.indexOf('/');
    if (slash === -1) clauses.push(match(F.workloadName, filters.workload));
    else {
      // Kinds are stored as Kubernetes spells them (Deployment); users type deployment.
      clauses.push(match(F.workloadKind, filters.workload.slice(0, slash), true));
      clauses.push(match(F.workloadName, filters.workload.slice(slash + 1)));
    }
  }
  if (filters.node !== undefined) {
    clauses.push(anyOf(match(F.host, filters.node), match(F.clientNode, filters.node)));
  }
  if (filters.query !== undefined) {
    const glob = normaliseGlob(filters.query);
    // The asked name too, so `--query unknown-galaxy` also finds its search-list expansions.
    clauses.push(anyOf(match(F.name, glob, true), match(F.askedName, glob, true)));
  }
  if (filters.qtypes !== undefined && filters.qtypes.length > 0)
    clauses.push(terms(F.qtype, filters.qtypes));
  if (filters.rcodes !== undefined && filters.rcodes.length > 0)
    clauses.push(terms(F.rcode, filters.rcodes));
  if (filters.statuses !== undefined && filters.statuses.length > 0)
    clauses.push(terms(F.status, filters.statuses));
  if (filters.server !== undefined) clauses.push(serverClause(filters.server));
  if (filters.internal !== undefined) clauses.push(term(F.internal, filters.internal));
  return clauses;
}

/**
 * The Elasticsearch query for `filters`. `expansions` decides the search-list rule:
 * 'hide' drops failed expansions, 'only' keeps nothing but them, 'all' applies no rule.
 */
export function buildQuery(
  filters: QueryFilters,
  expansions: 'hide' | 'only' | 'all' = filters.includeExpansions === true ? 'all' : 'hide',
): EsQuery {
  const filter = filterClauses(filters);
  if (expansions === 'only') filter.push(FAILED_EXPANSION);
  return {
    bool: {
      filter,
      ...(expansions === 'hide' ? { must_not: [FAILED_EXPANSION] } : {}),
    },
  };
}
