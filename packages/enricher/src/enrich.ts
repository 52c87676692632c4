import type {
  DnsTransaction,
  EnrichedDnsTransaction,
  Endpoint,
  K8sIdentity,
  QueryTarget,
} from '@dnsflow/schema';
import { z } from 'zod';
import { DEFAULT_CLUSTER_DOMAIN, parseClusterName, queryTarget } from './domain/cluster-names';
import { domainFeatures, type DomainFeatureOptions } from './domain/features';
import { SearchListDetector } from './domain/search-list';
import { DEFAULT_LABEL_ALLOW_LIST } from './identity/labels';
import { IdentityStore, identityOf, type PendingReason, type Resolution } from './identity/store';

const dnsName = z
  .string()
  .regex(
    /^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*$/,
    'a lowercase DNS name without leading or trailing dot',
  );
const cidr = z
  .string()
  .regex(/^[0-9a-fA-F:.]+\/\d{1,3}$/, 'a CIDR such as 10.244.0.0/16 or fd00::/48');

/** The enrichment part of `dnsflow enrich`'s configuration (identity, names, search list). */
export const enrichmentConfigSchema = z.strictObject({
  /** The cluster's DNS domain (kubelet --cluster-domain). */
  clusterDomain: dnsName.default(DEFAULT_CLUSTER_DOMAIN),
  labels: z
    .strictObject({
      /** Pod label keys copied into identities: exact keys or `prefix*`. */
      allow: z.array(z.string().min(1)).default([...DEFAULT_LABEL_ALLOW_LIST]),
    })
    .prefault({}),
  timeline: z
    .strictObject({
      /** How long an IP's former holder is remembered for delayed and replayed records. */
      tombstoneWindowMs: z
        .number()
        .int()
        .positive()
        .default(15 * 60_000),
      /** Cap on remembered intervals; the oldest tombstones are evicted past it. */
      maxEntries: z.number().int().positive().default(250_000),
      /** Pod and service CIDRs: unknown IPs inside are UNKNOWN, not EXTERNAL. */
      clusterCidrs: z.array(cidr).default([]),
      /** How far watch events may trail packets: unknown cluster IPs that recent wait. */
      watchLagMs: z.number().int().min(0).default(2000),
    })
    .prefault({}),
  searchList: z
    .strictObject({
      windowMs: z.number().int().positive().default(5000),
      maxClients: z.number().int().positive().default(50_000),
      maxNamesPerClient: z.number().int().positive().default(16),
      /** Search domains of the nodes' own resolv.conf (after the cluster ones). */
      extraSearchDomains: z.array(dnsName).default([]),
    })
    .prefault({}),
  domain: z
    .strictObject({
      /** Use the PSL's private section (user.github.io is its own registered domain). */
      privateDomains: z.boolean().default(false),
    })
    .prefault({}),
});

export type EnrichmentConfig = z.infer<typeof enrichmentConfigSchema>;

/** What {@link enrichRecord} needs. */
export interface EnrichDeps {
  /** The identity source; null when there is none (identities are then null). */
  store: IdentityStore | null;
  search: SearchListDetector;
  clusterDomain: string;
  domain?: DomainFeatureOptions;
  /** Clock for enrichTimeUs (epoch µs); defaults to the wall clock. */
  nowUs?: () => number;
}

/** Builds the store, the search-list detector and the deps from the configuration. */
export function createEnrichment(config: EnrichmentConfig): EnrichDeps & { store: IdentityStore } {
  const store = new IdentityStore({
    labelAllowList: config.labels.allow,
    tombstoneWindowMs: config.timeline.tombstoneWindowMs,
    maxEntries: config.timeline.maxEntries,
    clusterCidrs: config.timeline.clusterCidrs,
    watchLagMs: config.timeline.watchLagMs,
  });
  const search = new SearchListDetector({
    clusterDomain: config.clusterDomain,
    extraSearchDomains: config.searchList.extraSearchDomains,
    windowMs: config.searchList.windowMs,
    maxClients: config.searchList.maxClients,
    maxNamesPerClient: config.searchList.maxNamesPerClient,
  });
  return {
    store,
    search,
    clusterDomain: config.clusterDomain,
    domain: { privateDomains: config.domain.privateDomains },
  };
}

/** An end of a transaction. */
export type End = 'client' | 'server' | 'answeredBy';

/** An end, or the question (a cluster name the store may not know yet). */
export type Side = End | 'question';

/** The fields of a collector record the enrichment reads; a DnsTransaction is one. */
export interface JoinRecord {
  startTimeUs: number;
  client: Endpoint;
  server: Endpoint;
  answeredBy: Endpoint | null;
  question: { name: string } | null;
}

/** What the enricher adds to a record: every field of the output but the transaction. */
export type Enrichment = Omit<EnrichedDnsTransaction, 'transaction'>;

/** Outcome of {@link tryEnrich}. */
export type EnrichOutcome =
  | {
      status: 'ok';
      record: EnrichedDnsTransaction;
      /** Ends whose identity is UNKNOWN (for the unknown-IP counters). */
      unknown: End[];
    }
  | PendingOutcome;

/** A record some end (or the question) of which the store cannot answer for yet. */
export interface PendingOutcome {
  status: 'pending';
  /** Ends (or the question) the store cannot answer for yet. */
  sides: Side[];
  reason: PendingReason;
}

/** Outcome of {@link tryEnrichment}: {@link EnrichOutcome} without the transaction. */
export type EnrichmentOutcome =
  { status: 'ok'; enrichment: Enrichment; unknown: End[] } | PendingOutcome;

interface Resolutions {
  client: Resolution | null;
  server: Resolution | null;
  answeredBy: Resolution | null;
}

const NO_STORE: Resolutions = Object.freeze({ client: null, server: null, answeredBy: null });

/** The time a record is joined at: when its first packet was captured. */
export function recordTimeUs(record: JoinRecord): number {
  return record.startTimeUs;
}

function resolveEnds(record: JoinRecord, store: IdentityStore | null): Resolutions {
  if (!store) return NO_STORE;
  const atUs = recordTimeUs(record);
  return {
    // The client's port is ephemeral: it never names a hostNetwork pod's declared port.
    client: store.resolve(record.client.ip, atUs),
    server: store.resolve(record.server.ip, atUs, record.server.port),
    answeredBy: record.answeredBy
      ? store.resolve(record.answeredBy.ip, atUs, record.answeredBy.port)
      : null,
  };
}

/**
 * Enriches a record unless an end is not known yet because the store is still catching up
 * (not synced, or the record is newer than the watches' watermark): then it returns
 * `pending` without side effects, and the caller may hold the record for a short while and
 * try again, finally calling {@link enrichRecord}.
 */
export function tryEnrich(record: DnsTransaction, deps: EnrichDeps): EnrichOutcome {
  const outcome = tryEnrichment(record, deps);
  if (outcome.status === 'pending') return outcome;
  const { enrichment, unknown } = outcome;
  return { status: 'ok', record: { transaction: record, ...enrichment }, unknown };
}

/**
 * {@link tryEnrich} for the fields the join reads, answering the enrichment alone: the
 * pipeline copies the transaction's Avro bytes into the output instead of decoding them.
 */
export function tryEnrichment(record: JoinRecord, deps: EnrichDeps): EnrichmentOutcome {
  const ends = resolveEnds(record, deps.store);
  const sides: Side[] = [];
  let reason: PendingReason | null = null;
  for (const side of ENDS) {
    const r = ends[side];
    if (r?.status === 'pending') {
      sides.push(side);
      reason ??= r.reason;
    }
  }
  const target = targetOf(record, deps);
  if (target && unsettledServiceName(record, target, deps)) {
    sides.push('question');
    reason ??= 'not-seen-yet';
  }
  if (reason !== null) return { status: 'pending', sides, reason };
  return complete(record, ends, deps, target);
}

/**
 * A `<svc>.<ns>.svc` name of a Service the store does not know, in a record the watches have
 * not settled yet: the Service may be new, its event still on the way. Deciding now would
 * call the name of a real service missing (and a search-list expansion).
 */
function unsettledServiceName(record: JoinRecord, target: QueryTarget, deps: EnrichDeps): boolean {
  if (!target.internal || target.kind !== null || target.namespace === null || !deps.store) {
    return false;
  }
  if (deps.store.settled(recordTimeUs(record))) return false;
  const name = record.question!.name;
  return parseClusterName(name, deps.clusterDomain)?.form === 'service';
}

function targetOf(record: JoinRecord, deps: EnrichDeps): QueryTarget | null {
  const name = record.question?.name;
  return name === undefined
    ? null
    : queryTarget(name, recordTimeUs(record), deps.store, deps.clusterDomain);
}

/**
 * Enriches a record as of its own time: the identity of both ends (and of the answering
 * endpoint when the collector saw it), features of the queried name, what cluster object the
 * name designates, and its search-list grouping. Ends the store cannot answer for are
 * UNKNOWN.
 */
export function enrichRecord(record: DnsTransaction, deps: EnrichDeps): EnrichedDnsTransaction {
  return { transaction: record, ...enrichmentOf(record, deps) };
}

/** {@link enrichRecord} for the fields the join reads: the enrichment alone. */
export function enrichmentOf(record: JoinRecord, deps: EnrichDeps): Enrichment {
  return complete(record, resolveEnds(record, deps.store), deps, targetOf(record, deps)).enrichment;
}

const ENDS: readonly End[] = ['client', 'server', 'answeredBy'];

function complete(
  record: JoinRecord,
  ends: Resolutions,
  deps: EnrichDeps,
  target: QueryTarget | null,
): { status: 'ok'; enrichment: Enrichment; unknown: End[] } {
  const unknown: End[] = [];
  const identityFor = (side: End): K8sIdentity | null => {
    const r = ends[side];
    if (!r) return null;
    const who = identityOf(r);
    if (who.kind === 'UNKNOWN') unknown.push(side);
    return who;
  };
  const client = identityFor('client');
  const server = identityFor('server');
  const answeredBy = identityFor('answeredBy');

  const atUs = recordTimeUs(record);
  const name = record.question?.name ?? null;
  const namespace =
    client && (client.kind === 'POD' || client.kind === 'HOST_POD') ? client.namespace : null;
  const enrichment: Enrichment = {
    enrichTimeUs: now(deps),
    client,
    server,
    answeredBy,
    queryTarget: target,
    domain: name === null ? null : domainFeatures(name, deps.domain),
    searchList:
      name === null || target === null
        ? null
        : deps.search.classify(
            { clientIp: record.client.ip, namespace, name, atUs, target },
            deps.store,
          ),
  };
  return { status: 'ok', enrichment, unknown };
}

function now(deps: EnrichDeps): number {
  return deps.nowUs ? deps.nowUs() : Date.now() * 1000;
}
