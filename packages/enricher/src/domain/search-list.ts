import type { QueryTarget, SearchExpansion } from '@dnsflow/schema';
import type { ClusterDirectory } from '../identity/store';
import { DEFAULT_CLUSTER_DOMAIN, queryTarget } from './cluster-names';

// A pod's resolv.conf (dnsPolicy ClusterFirst) reads
//
//   search <ns>.svc.<cd> svc.<cd> <cd> [the node's own search domains]
//   options ndots:5
//
// so a lookup of `example.com` (fewer than 5 dots) goes out as example.com.<ns>.svc.<cd>,
// example.com.svc.<cd>, example.com.<cd>, ... and finally example.com, each as A and AAAA.
// The expansions are NXDOMAIN noise; the name the application asked for is the base.
//
// The rule is decided per record, when it is processed, because records arrive out of order
// (the bare name often after its expansions, or in another partition batch):
//
// 1. A name that names a cluster object that existed at the record's time (a Service, a pod
//    behind a headless Service, a pod by IP) is never an expansion: real services are never
//    mislabelled, whatever the resolver did to reach them.
// 2. Otherwise a name that ends in one of the client's cluster search suffixes, longest
//    first, is an expansion of what precedes it. The namespace suffix is the client pod's
//    namespace; for clients that are not pods (nodes, hostNetwork pods) it is `<x>.svc.<cd>`
//    when `<x>` is a namespace the store knows.
// 3. Per client IP, the bases of recent expansions are remembered for a short window: a name
//    that was itself such a base is what the application asked for, not an expansion (this
//    is the final bare query of `x.ns.svc.cluster.local` typed without a trailing dot,
//    which rule 2 alone would call an expansion of `x`).
// 4. A name ending in one of the node's extra search domains is an expansion only when the
//    same client recently sent expansions of the same base through the cluster suffixes:
//    nothing else tells `foo.ec2.internal` the host from `foo` plus a search domain.
//
// Limits: rules 3 and 4 depend on the expansions arriving first; a Service created moments
// before the lookup whose event the store has not seen yet reads as missing (rule 1).

/** Options of {@link SearchListDetector}. */
export interface SearchListOptions {
  clusterDomain?: string;
  /** Search domains the node's resolv.conf adds after the cluster ones. */
  extraSearchDomains?: readonly string[];
  /** How long a client's expansions are remembered (default 5 s). */
  windowMs?: number;
  /** Clients remembered at once; the least recently seen go first (default 50,000). */
  maxClients?: number;
  /** Bases remembered per client (default 16). */
  maxNamesPerClient?: number;
}

/** One query to classify. */
export interface SearchQuery {
  clientIp: string;
  /** The client pod's namespace, or null when the client is not a pod. */
  namespace: string | null;
  /** Normalised query name. */
  name: string;
  /** Record time, epoch µs. */
  atUs: number;
  /** What the name names, when the caller has already worked it out (saves a second lookup). */
  target?: QueryTarget;
}

/** Counters of a {@link SearchListDetector}. */
export interface SearchListStats {
  clients: number;
  /** Clients forgotten early because of maxClients. */
  evictedClients: number;
  expansions: number;
}

interface ClientState {
  /** Base name -> record time of the last expansion of it. */
  bases: Map<string, number>;
  lastUs: number;
}

/** Marks search-list expansions and the name the application asked for. */
export class SearchListDetector {
  readonly clusterDomain: string;
  private readonly svcSuffix: string;
  private readonly extras: readonly string[];
  private readonly windowUs: number;
  private readonly maxClients: number;
  private readonly maxNames: number;
  private readonly clients = new Map<string, ClientState>();
  private evicted = 0;
  private expansions = 0;
  private lastSweepUs = -Infinity;

  constructor(options: SearchListOptions = {}) {
    this.clusterDomain = options.clusterDomain ?? DEFAULT_CLUSTER_DOMAIN;
    this.svcSuffix = `svc.${this.clusterDomain}`;
    this.extras = options.extraSearchDomains ?? [];
    this.windowUs = (options.windowMs ?? 5000) * 1000;
    this.maxClients = options.maxClients ?? 50_000;
    this.maxNames = options.maxNamesPerClient ?? 16;
  }

  /** Classifies one query and remembers it for the client's later queries. */
  classify(query: SearchQuery, directory: ClusterDirectory | null): SearchExpansion {
    const { name, atUs } = query;
    this.expire(atUs);
    const asked: SearchExpansion = { askedName: name, isExpansion: false, suffix: null };
    if (name === '.' || name === '') return asked;
    if (this.recentBase(query.clientIp, name, atUs)) return asked;

    const suffix = this.clusterSuffix(name, query.namespace, directory);
    if (suffix !== null) {
      const target = query.target ?? queryTarget(name, atUs, directory, this.clusterDomain);
      if (target.kind !== null) return asked;
      const base = name.slice(0, name.length - suffix.length - 1);
      this.remember(query.clientIp, base, atUs);
      this.expansions++;
      return { askedName: base, isExpansion: true, suffix };
    }
    for (const extra of this.extras) {
      if (!endsWithLabel(name, extra)) continue;
      const base = name.slice(0, name.length - extra.length - 1);
      if (this.recentBase(query.clientIp, base, atUs)) {
        this.expansions++;
        return { askedName: base, isExpansion: true, suffix: extra };
      }
    }
    return asked;
  }

  stats(): SearchListStats {
    return {
      clients: this.clients.size,
      evictedClients: this.evicted,
      expansions: this.expansions,
    };
  }

  /** The longest cluster search suffix `name` strictly ends with, or null. */
  private clusterSuffix(
    name: string,
    namespace: string | null,
    directory: ClusterDirectory | null,
  ): string | null {
    if (!endsWithLabel(name, this.clusterDomain)) return null;
    if (namespace !== null) {
      const own = `${namespace}.${this.svcSuffix}`;
      if (endsWithLabel(name, own)) return own;
    } else if (endsWithLabel(name, this.svcSuffix) && directory) {
      // Not a pod: guess the namespace from the label before `svc`, if it is one.
      const head = name.slice(0, name.length - this.svcSuffix.length - 1);
      const label = head.slice(head.lastIndexOf('.') + 1);
      const own = `${label}.${this.svcSuffix}`;
      if (label !== head && directory.hasNamespace(label)) return own;
    }
    if (endsWithLabel(name, this.svcSuffix)) return this.svcSuffix;
    return this.clusterDomain;
  }

  private recentBase(clientIp: string, name: string, atUs: number): boolean {
    const seen = this.clients.get(clientIp)?.bases.get(name);
    return seen !== undefined && Math.abs(atUs - seen) <= this.windowUs;
  }

  private remember(clientIp: string, base: string, atUs: number): void {
    let state = this.clients.get(clientIp);
    if (state) {
      // Re-insert: Map order is the eviction order (least recently seen first).
      this.clients.delete(clientIp);
    } else {
      state = { bases: new Map(), lastUs: atUs };
      if (this.clients.size >= this.maxClients) {
        const oldest = this.clients.keys().next().value as string;
        this.clients.delete(oldest);
        this.evicted++;
      }
    }
    this.clients.set(clientIp, state);
    state.lastUs = Math.max(state.lastUs, atUs);
    state.bases.delete(base);
    state.bases.set(base, atUs);
    if (state.bases.size > this.maxNames) {
      state.bases.delete(state.bases.keys().next().value as string);
    }
  }

  /**
   * Forgets clients idle past the window, at most every half window: the map's order is
   * least recently seen first, so the sweep stops at the first client still in its window.
   */
  private expire(atUs: number): void {
    if (atUs - this.lastSweepUs < this.windowUs / 2) return;
    this.lastSweepUs = atUs;
    for (const [ip, state] of this.clients) {
      if (atUs - state.lastUs <= this.windowUs) return;
      this.clients.delete(ip);
    }
  }
}

/** Whether `name` ends with `.suffix` and has something before it. */
function endsWithLabel(name: string, suffix: string): boolean {
  return (
    name.length > suffix.length + 1 &&
    name.endsWith(suffix) &&
    name.charCodeAt(name.length - suffix.length - 1) === 0x2e
  );
}
