import type { createElasticsearch } from '@dnsflow/runtime';
import type { EcsDocument } from '@dnsflow/schema';
import type { QueryConfig } from './config';
import { esErrorType, explainSearchError } from './errors';
import type { EsQuery } from './filters';

type Client = ReturnType<typeof createElasticsearch>;
type SearchRequest = Parameters<Client['search']>[0];

/** One transaction document as read from Elasticsearch. */
export interface Hit extends HitKey {
  doc: EcsDocument;
}

/** Epoch microseconds of an RFC 3339 time with up to nine fractional digits. */
export function timeUs(iso: string): number {
  const m = /^(.*T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:?\d{2})$/.exec(iso);
  if (m === null) return Date.parse(iso) * 1000;
  const fraction = (m[2] ?? '').padEnd(6, '0').slice(0, 6);
  return Date.parse(`${m[1]}${m[3]}`) * 1000 + Number(fraction);
}

// date_nanos sort values are nanoseconds, beyond a double's exact integers; formatted as text
// they survive the JSON round trip and search_after takes them back as they came.
const TIME_SORT = {
  '@timestamp': { order: 'asc', format: 'strict_date_optional_time_nanos' },
} as const;

interface RawHit {
  _id?: string | null;
  _index: string;
  _source?: unknown;
  sort?: unknown[];
}

/** Where a document is, and its time: enough to tell whether it was printed already. */
export interface HitKey {
  id: string;
  index: string;
  timeUs: number;
}

/** `index/id`, unique across the backing indices of a data stream. */
export function keyText(key: HitKey): string {
  return `${key.index}/${key.id}`;
}

function toHit(raw: RawHit): Hit {
  const doc = raw._source as EcsDocument;
  return { id: raw._id ?? '', index: raw._index, timeUs: timeUs(doc['@timestamp']), doc };
}

/** The key of a hit fetched without its document: the time is the first sort value. */
function toKey(raw: RawHit): HitKey {
  const sorted = raw.sort?.[0];
  return {
    id: raw._id ?? '',
    index: raw._index,
    timeUs: typeof sorted === 'string' ? timeUs(sorted) : 0,
  };
}

/** Searches of the DNS data stream, with errors that say what to do. */
export class DnsSearch {
  readonly index: string;
  private readonly pageSize: number;

  constructor(
    private readonly es: Client,
    private readonly config: QueryConfig,
  ) {
    this.index = config.observe.dataStream;
    this.pageSize = config.observe.pageSize;
  }

  private async call<T>(request: () => Promise<T>, onMissing: () => T): Promise<T> {
    try {
      return await request();
    } catch (err) {
      // A named data stream that does not exist yet holds no data; that is not an error.
      if (esErrorType(err) === 'index_not_found_exception') return onMissing();
      throw explainSearchError(err, this.config.elasticsearch.nodes, this.index);
    }
  }

  /** One page of raw hits in time order (`desc`: newest first), after `pit.after` when given. */
  private async rawPage(
    query: EsQuery,
    order: 'asc' | 'desc',
    size: number,
    source: boolean,
    pit?: { id: string; after?: unknown[] },
  ): Promise<{ hits: RawHit[]; last?: unknown[]; pitId?: string }> {
    const request = {
      ...(pit === undefined ? { index: this.index } : { pit: { id: pit.id, keep_alive: '1m' } }),
      query,
      size,
      sort: [
        { '@timestamp': { ...TIME_SORT['@timestamp'], order } },
        ...(pit === undefined ? [] : [{ _shard_doc: order }]),
      ],
      ...(pit?.after !== undefined ? { search_after: pit.after } : {}),
      ...(source ? {} : { _source: false }),
      track_total_hits: false,
    } as unknown as SearchRequest;
    const response = await this.call(
      () => this.es.search(request),
      () => undefined,
    );
    if (response === undefined) return { hits: [] };
    const raw = response.hits.hits as RawHit[];
    const lastSort = raw[raw.length - 1]?.sort;
    return {
      hits: raw,
      ...(lastSort !== undefined ? { last: lastSort } : {}),
      ...(response.pit_id !== undefined ? { pitId: response.pit_id } : {}),
    };
  }

  /**
   * Every hit of `query` in time order, page by page, over a point in time with
   * search_after on (@timestamp, shard doc): documents indexed meanwhile neither shift nor
   * repeat pages. Stops after `limit` hits when given.
   */
  private async *rawScan(
    query: EsQuery,
    order: 'asc' | 'desc',
    limit: number,
    source: boolean,
  ): AsyncGenerator<RawHit[]> {
    const opened = await this.call(
      () => this.es.openPointInTime({ index: this.index, keep_alive: '1m' }),
      () => undefined,
    );
    if (opened === undefined) return;
    let pitId = opened.id;
    let after: unknown[] | undefined;
    let seen = 0;
    try {
      while (seen < limit) {
        const size = Math.min(this.pageSize, limit - seen);
        const page = await this.rawPage(query, order, size, source, {
          id: pitId,
          ...(after !== undefined ? { after } : {}),
        });
        if (page.pitId !== undefined) pitId = page.pitId;
        if (page.hits.length === 0) return;
        seen += page.hits.length;
        yield page.hits;
        if (page.hits.length < size) return;
        after = page.last;
      }
    } finally {
      await this.es.closePointInTime({ id: pitId }).catch(() => undefined);
    }
  }

  /** The documents matching `query` in time order (see {@link rawScan}), page by page. */
  async *scan(query: EsQuery, order: 'asc' | 'desc', limit = Infinity): AsyncGenerator<Hit[]> {
    for await (const page of this.rawScan(query, order, limit, true)) yield page.map(toHit);
  }

  /** Like {@link scan} without the documents: where each is and its time, cheap to page through. */
  async *scanKeys(query: EsQuery): AsyncGenerator<HitKey[]> {
    for await (const page of this.rawScan(query, 'asc', Infinity, false)) yield page.map(toKey);
  }

  /** The documents behind `keys`, in time order. */
  async fetch(keys: readonly HitKey[]): Promise<Hit[]> {
    if (keys.length === 0) return [];
    const wanted = new Set(keys.map(keyText));
    const ids = { ids: { values: [...new Set(keys.map((k) => k.id))] } };
    // An id may repeat across backing indices; the page holds them all and the set picks.
    const page = await this.rawPage(ids, 'asc', Math.min(10_000, keys.length * 2), true);
    return page.hits.map(toHit).filter((h) => wanted.has(keyText(h)));
  }

  /** Epoch ms of the newest document in the data stream, whatever the filters; undefined when empty. */
  async newestMs(): Promise<number | undefined> {
    const page = await this.rawPage({ match_all: {} }, 'desc', 1, false);
    const hit = page.hits[0];
    return hit === undefined ? undefined : Math.floor(toKey(hit).timeUs / 1000);
  }

  /** Runs aggregations over the documents matching `query` (no hits returned). */
  async aggregate(query: EsQuery, aggs: Record<string, unknown>): Promise<Record<string, unknown>> {
    const request = {
      index: this.index,
      query,
      size: 0,
      aggs,
      track_total_hits: false,
    } as unknown as SearchRequest;
    const response = await this.call(
      () => this.es.search(request),
      () => undefined,
    );
    return response?.aggregations ?? {};
  }

  async close(): Promise<void> {
    await this.es.close();
  }
}
