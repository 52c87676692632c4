import type { Endpoint, Transport } from '@dnsflow/schema';
import type { BrokenMessage } from './record';

/** No slot: the end of a chain or list, or a key not found. */
export const NONE = -1;

/** Which list a slot is on. */
export const FREE = 0;
export const WAITING = 1;
export const LINGERING = 2;

/**
 * Query bytes held inline per slot. Nearly every query fits (a name of 60 characters with
 * an EDNS cookie is about 100 bytes); a longer one (TCP, large EDNS options) is kept in a
 * Buffer of its own.
 */
export const INLINE_QUERY_BYTES = 128;

const FIRST_CAPACITY = 1024;

/** The pairing key's numbers for a transport. */
export function transportCode(transport: Transport): number {
  return transport === 'UDP' ? 0 : 1;
}

/**
 * Mixes an address text into a hash: its length and its last 12 characters, where the
 * addresses of one network differ. The key is compared in full on a hit; the hash only
 * has to spread keys over buckets.
 */
function mixText(h: number, text: string): number {
  let x = Math.imul(h ^ text.length, 0x01000193);
  for (let i = Math.max(0, text.length - 12); i < text.length; i++) {
    x = Math.imul(x ^ text.charCodeAt(i), 0x01000193);
  }
  return x;
}

function mix(h: number, n: number): number {
  return Math.imul(h ^ n, 0x01000193);
}

function finalHash(h: number): number {
  let x = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return x ^ (x >>> 16);
}

/** Hash of the client side of a key (transport, client ip and port). */
export function clientHash(transport: number, client: Endpoint): number {
  return mix(mixText(mix(0x811c9dc5, transport), client.ip), client.port);
}

/** Hash of the pairing key: the client side, the server ip and port, the DNS id. */
export function pairHash(clientSide: number, server: Endpoint, id: number): number {
  return finalHash(mix(mix(mixText(clientSide, server.ip), server.port), id));
}

/** Hash of the duplicate key: the client side and the DNS id (any server). */
export function dupHash(clientSide: number, id: number): number {
  return finalHash(mix(clientSide, id + 0x10000));
}

/** Takes slot `s` out of the chain of `bucket`. */
function unlink(head: Int32Array, next: Int32Array, bucket: number, s: number): void {
  let at = head[bucket]!;
  if (at === s) {
    head[bucket] = next[s]!;
    return;
  }
  while (at !== NONE) {
    const after = next[at]!;
    if (after === s) {
      next[at] = next[s]!;
      return;
    }
    at = after;
  }
}

/** Same address and port. */
export function sameEndpoint(a: Endpoint, b: Endpoint): boolean {
  return a.port === b.port && a.ip === b.ip;
}

type Column =
  | Int32Array<ArrayBuffer>
  | Float64Array<ArrayBuffer>
  | Uint16Array<ArrayBuffer>
  | Uint8Array<ArrayBuffer>;

/** A column of `capacity` elements holding the old column's values first. */
function grown<T extends Column>(old: T, capacity: number): T {
  const a = new (old.constructor as new (length: number) => T)(capacity);
  a.set(old);
  return a;
}

function grownArray<T>(old: T[], capacity: number, fill: T): T[] {
  for (let i = old.length; i < capacity; i++) old.push(fill);
  return old;
}

/**
 * The pending queries of the pairer, stored column-wise: one typed array (or one array of
 * references) per field, indexed by slot, and the query bytes in one slab. An entry costs
 * about 300 bytes instead of a dozen objects and three map entries (1.2 KB), and adding
 * or finding one allocates nothing. Slots are found by two chained hash indexes (the
 * pairing key, and the key without the server that finds copies of a query after NAT) and
 * kept on two lists in arrival order: waiting for a response, and answered but lingering
 * for copies. The Pairer owns the semantics; this class only stores.
 *
 * Capacity grows by doubling up to the pairer's maxPending, so an idle collector stays
 * small.
 */
export class PendingTable {
  capacity = 0;
  // Key (the client and server objects are those of the query's segment).
  transport = new Uint8Array(0);
  dnsId = new Uint16Array(0);
  client: Endpoint[] = [];
  server: Endpoint[] = [];
  // Indexes: bucket heads and per-slot chain links.
  private mask = 0;
  private keyHead = new Int32Array(0);
  private keyNext = new Int32Array(0);
  keyHash = new Int32Array(0);
  private dupHead = new Int32Array(0);
  private dupNext = new Int32Array(0);
  private dupHashes = new Int32Array(0);
  /** 1 while the slot is the newest holder of its duplicate key (a Map's overwrite). */
  private inDup = new Uint8Array(0);
  // Lists.
  list = new Uint8Array(0);
  private prev = new Int32Array(0);
  private next = new Int32Array(0);
  private heads = [NONE, NONE, NONE];
  private tails = [NONE, NONE, NONE];
  private counts = [0, 0, 0];
  private freeSlots = new Int32Array(0);
  private freeCount = 0;
  // The query.
  queryTsUs = new Float64Array(0);
  lastQueryTsUs = new Float64Array(0);
  queryIface: (string | null)[] = [];
  queryLength = new Int32Array(0);
  private slab = Buffer.alloc(0);
  private bigQuery: (Buffer | null)[] = [];
  hasQuestion = new Uint8Array(0);
  qtype = new Uint16Array(0);
  qclass = new Uint16Array(0);
  // The response, once one arrived.
  responseTsUs = new Float64Array(0);
  responseRaw: (Buffer | null)[] = [];
  responseSrc: (Endpoint | null)[] = [];
  responseIface: (string | null)[] = [];
  lingerUntilUs = new Float64Array(0);
  // Rare parts.
  answeredBy: (Endpoint | null)[] = [];
  broken: (BrokenMessage | null)[] = [];
  brokenTsUs = new Float64Array(0);
  duplicateResponses = new Int32Array(0);
  notes: (string[] | null)[] = [];

  constructor(private readonly maxCapacity: number) {}

  /** Slots on the waiting list plus the lingering list. */
  get size(): number {
    return this.counts[WAITING]! + this.counts[LINGERING]!;
  }

  /** First (oldest) slot of a list, or NONE. */
  head(list: number): number {
    return this.heads[list]!;
  }

  /** The slot of a pending entry with this pairing key, or NONE. */
  find(hash: number, transport: number, client: Endpoint, server: Endpoint, id: number): number {
    for (let s = this.keyHead[hash & this.mask] ?? NONE; s !== NONE; s = this.keyNext[s]!) {
      if (
        this.keyHash[s] === hash &&
        this.dnsId[s] === id &&
        this.transport[s] === transport &&
        sameEndpoint(this.client[s]!, client) &&
        sameEndpoint(this.server[s]!, server)
      ) {
        return s;
      }
    }
    return NONE;
  }

  /** The newest pending entry with this client, transport and id, any server, or NONE. */
  findDuplicate(hash: number, transport: number, client: Endpoint, id: number): number {
    for (let s = this.dupHead[hash & this.mask] ?? NONE; s !== NONE; s = this.dupNext[s]!) {
      if (
        this.dupHashes[s] === hash &&
        this.dnsId[s] === id &&
        this.transport[s] === transport &&
        sameEndpoint(this.client[s]!, client)
      ) {
        return s;
      }
    }
    return NONE;
  }

  /**
   * A new entry on the waiting list with its query bytes; the caller fills the other
   * fields. The caller makes room first: the table must hold fewer than maxCapacity.
   */
  add(
    keyHash: number,
    dupKeyHash: number,
    transport: number,
    client: Endpoint,
    server: Endpoint,
    id: number,
    query: Buffer,
  ): number {
    if (this.freeCount === 0) this.grow();
    const s = this.freeSlots[--this.freeCount]!;
    this.transport[s] = transport;
    this.dnsId[s] = id;
    this.client[s] = client;
    this.server[s] = server;
    this.keyHash[s] = keyHash;
    const kb = keyHash & this.mask;
    this.keyNext[s] = this.keyHead[kb]!;
    this.keyHead[kb] = s;
    const older = this.findDuplicate(dupKeyHash, transport, client, id);
    if (older !== NONE) this.unlinkDuplicate(older);
    this.dupHashes[s] = dupKeyHash;
    const db = dupKeyHash & this.mask;
    this.dupNext[s] = this.dupHead[db]!;
    this.dupHead[db] = s;
    this.inDup[s] = 1;
    this.queryLength[s] = query.length;
    if (query.length <= INLINE_QUERY_BYTES) {
      this.slab.set(query, s * INLINE_QUERY_BYTES);
    } else {
      this.bigQuery[s] = Buffer.from(query);
    }
    this.append(s, WAITING);
    return s;
  }

  /** The buffer holding a slot's query bytes, from {@link queryStart} on. */
  queryHome(s: number): Buffer {
    return this.bigQuery[s] ?? this.slab;
  }

  queryStart(s: number): number {
    return this.bigQuery[s] === null ? s * INLINE_QUERY_BYTES : 0;
  }

  /** The query bytes of a slot (a view, valid until the slot is released). */
  query(s: number): Buffer {
    const big = this.bigQuery[s];
    if (big !== null && big !== undefined) return big;
    const start = s * INLINE_QUERY_BYTES;
    return this.slab.subarray(start, start + this.queryLength[s]!);
  }

  /** Takes a slot off the waiting list and puts it at the end of the lingering list. */
  linger(s: number): void {
    this.detach(s);
    this.append(s, LINGERING);
  }

  /** Forgets a slot: off its list and both indexes, references dropped, slot reusable. */
  release(s: number): void {
    this.detach(s);
    this.list[s] = FREE;
    this.unlinkKey(s);
    if (this.inDup[s] === 1) this.unlinkDuplicate(s);
    this.client[s] = this.server[s] = null as unknown as Endpoint;
    this.queryIface[s] = null;
    this.bigQuery[s] = null;
    this.responseRaw[s] = null;
    this.responseSrc[s] = null;
    this.responseIface[s] = null;
    this.answeredBy[s] = null;
    this.broken[s] = null;
    this.notes[s] = null;
    this.freeSlots[this.freeCount++] = s;
  }

  private unlinkKey(s: number): void {
    unlink(this.keyHead, this.keyNext, this.keyHash[s]! & this.mask, s);
  }

  private unlinkDuplicate(s: number): void {
    this.inDup[s] = 0;
    unlink(this.dupHead, this.dupNext, this.dupHashes[s]! & this.mask, s);
  }

  private append(s: number, list: number): void {
    const tail = this.tails[list]!;
    this.list[s] = list;
    this.prev[s] = tail;
    this.next[s] = NONE;
    if (tail === NONE) this.heads[list] = s;
    else this.next[tail] = s;
    this.tails[list] = s;
    this.counts[list]!++;
  }

  private detach(s: number): void {
    const list = this.list[s]!;
    if (list === FREE) return;
    const p = this.prev[s]!;
    const n = this.next[s]!;
    if (p === NONE) this.heads[list] = n;
    else this.next[p] = n;
    if (n === NONE) this.tails[list] = p;
    else this.prev[n] = p;
    this.counts[list]!--;
  }

  /** Doubles the columns (up to maxCapacity, rounded up) and rebuilds the indexes. */
  private grow(): void {
    const old = this.capacity;
    let capacity = old === 0 ? FIRST_CAPACITY : old * 2;
    if (capacity > this.maxCapacity) capacity = Math.max(old + 1, this.maxCapacity);
    this.capacity = capacity;
    this.transport = grown(this.transport, capacity);
    this.dnsId = grown(this.dnsId, capacity);
    this.client = grownArray(this.client, capacity, null as unknown as Endpoint);
    this.server = grownArray(this.server, capacity, null as unknown as Endpoint);
    this.keyHash = grown(this.keyHash, capacity);
    this.dupHashes = grown(this.dupHashes, capacity);
    this.inDup = grown(this.inDup, capacity);
    this.list = grown(this.list, capacity);
    this.prev = grown(this.prev, capacity);
    this.next = grown(this.next, capacity);
    this.queryTsUs = grown(this.queryTsUs, capacity);
    this.lastQueryTsUs = grown(this.lastQueryTsUs, capacity);
    this.queryIface = grownArray(this.queryIface, capacity, null);
    this.queryLength = grown(this.queryLength, capacity);
    const slab = Buffer.alloc(capacity * INLINE_QUERY_BYTES);
    this.slab.copy(slab);
    this.slab = slab;
    this.bigQuery = grownArray(this.bigQuery, capacity, null);
    this.hasQuestion = grown(this.hasQuestion, capacity);
    this.qtype = grown(this.qtype, capacity);
    this.qclass = grown(this.qclass, capacity);
    this.responseTsUs = grown(this.responseTsUs, capacity);
    this.responseRaw = grownArray(this.responseRaw, capacity, null);
    this.responseSrc = grownArray(this.responseSrc, capacity, null);
    this.responseIface = grownArray(this.responseIface, capacity, null);
    this.lingerUntilUs = grown(this.lingerUntilUs, capacity);
    this.answeredBy = grownArray(this.answeredBy, capacity, null);
    this.broken = grownArray(this.broken, capacity, null);
    this.brokenTsUs = grown(this.brokenTsUs, capacity);
    this.duplicateResponses = grown(this.duplicateResponses, capacity);
    this.notes = grownArray(this.notes, capacity, null);
    // New slots are handed out lowest first.
    const free = new Int32Array(capacity);
    free.set(this.freeSlots.subarray(0, this.freeCount));
    for (let s = capacity - 1; s >= old; s--) free[this.freeCount++] = s;
    this.freeSlots = free;
    // A bucket per slot or more (a power of two) keeps chains short.
    let buckets = 1;
    while (buckets < capacity) buckets *= 2;
    this.mask = buckets - 1;
    this.keyHead = new Int32Array(buckets).fill(NONE);
    this.dupHead = new Int32Array(buckets).fill(NONE);
    this.keyNext = new Int32Array(capacity);
    this.dupNext = new Int32Array(capacity);
    for (let s = 0; s < old; s++) {
      if (this.list[s] === FREE) continue;
      const kb = this.keyHash[s]! & this.mask;
      this.keyNext[s] = this.keyHead[kb]!;
      this.keyHead[kb] = s;
      // At most one slot holds a duplicate key, so the order of relinking is free.
      if (this.inDup[s] !== 1) continue;
      const db = this.dupHashes[s]! & this.mask;
      this.dupNext[s] = this.dupHead[db]!;
      this.dupHead[db] = s;
    }
  }
}
