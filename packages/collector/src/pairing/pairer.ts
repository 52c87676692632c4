import type { DnsTransaction, Endpoint, Question } from '@dnsflow/schema';
import type { DnsSegment } from '../decode/segment';
import { decodeMessage, type DnsMessage, type MalformedReason } from '../dns/message';
import {
  buildTransaction,
  type BrokenMessage,
  type Sighting,
  type TransactionParts,
} from './record';

/** Pairing settings (config keys under `pairing`). */
export interface PairerOptions {
  /** A query with no response after this long is emitted as UNANSWERED. */
  timeoutMs: number;
  /** Hard bound on queries waiting for a response; the oldest is emitted when full. */
  maxPending: number;
  /**
   * Hard bound on the memory of pending queries: their bytes plus ENTRY_OVERHEAD_BYTES
   * each. A count alone lets 64 KB TCP queries hold gigabytes.
   */
  maxPendingBytes?: number;
  /**
   * Copies of one message seen within this window from another vantage point (the
   * client's veth and the server's, before and after NAT, loopback twice) are one
   * message; an answered transaction waits this long for such copies before it is emitted.
   */
  duplicateWindowMs: number;
  /** Ports that identify the server side of a message whose header is unreadable. */
  dnsPorts: ReadonlySet<number>;
  /** Node name written into every record. */
  node: string;
  /** Emission clock for `captureTimeUs`, epoch microseconds. */
  nowUs?: () => number;
}

/** What pairing counts; wired to Prometheus by the collector. */
export interface PairingEvents {
  malformed(reason: MalformedReason): void;
  /** A copy of a message already seen (kind: same vantage, other vantage). */
  captureDuplicate(kind: 'query' | 'response'): void;
  /** The oldest pending query was emitted early because the table was full. */
  evicted(): void;
  /** Records after the question of a response did not decode (kept what did). */
  recordsIncomplete(): void;
}

export type Emit = (tx: DnsTransaction) => void;

interface Entry {
  key: string;
  /** Keys of copies of the query seen toward another server (after NAT); rare. */
  aliases: string[] | null;
  dupKey: string;
  client: Endpoint;
  server: Endpoint;
  answeredBy: Endpoint | null;
  /**
   * The query as sighted, its question and its raw bytes. The decoded message is rebuilt
   * from the bytes when the transaction is emitted: a pending query then costs its bytes
   * plus a few small objects, which is what keeps 100,000 of them within a small RSS.
   */
  query: { at: Sighting; raw: Buffer; question: Question | null };
  lastQueryTsUs: number;
  response: { at: Sighting; message: DnsMessage; raw: Buffer } | null;
  broken: BrokenMessage | null;
  brokenTsUs: number | null;
  duplicateResponses: number;
  /** Allocated on the first note: most transactions have none. */
  notes: string[] | null;
  /** Emission time once answered (response time + duplicate window). */
  lingerUntilUs: number;
}

/** Heap cost of one pending entry besides its bytes (objects, keys, map slots), measured. */
export const ENTRY_OVERHEAD_BYTES = 1200;

const NOOP_EVENTS: PairingEvents = {
  malformed: () => undefined,
  captureDuplicate: () => undefined,
  evicted: () => undefined,
  recordsIncomplete: () => undefined,
};

function endpointKey(e: Endpoint): string {
  return `${e.ip}|${e.port}`;
}

function sameEndpoint(a: Endpoint, b: Endpoint): boolean {
  return a.ip === b.ip && a.port === b.port;
}

/**
 * Pairs DNS queries with their responses. Keyed by transport, client ip:port, server
 * ip:port and DNS id; the question must match too. Time is packet time (`tsUs` of the
 * segments, or `advance()` for live capture when packets stop), so a replayed file pairs
 * exactly as it did live.
 *
 * Every message ends up in exactly one emitted record: ANSWERED, UNANSWERED (timeout,
 * eviction, end of input), ORPHAN or MALFORMED. Memory is bounded by `maxPending`.
 */
export class Pairer {
  private readonly byKey = new Map<string, Entry>();
  /** Same client, id and question, any server: finds NAT copies of a query. */
  private readonly byDupKey = new Map<string, Entry>();
  /** Unanswered entries in query order (Map keeps insertion order). */
  private readonly waiting = new Map<Entry, true>();
  /** Answered entries waiting out the duplicate window, in response order. */
  private readonly lingering = new Map<Entry, true>();
  private readonly timeoutUs: number;
  private readonly windowUs: number;
  private readonly nowUs: () => number;
  private clockUs = 0;
  private pendingBytes = 0;

  constructor(
    private readonly options: PairerOptions,
    private readonly emit: Emit,
    private readonly events: PairingEvents = NOOP_EVENTS,
  ) {
    this.timeoutUs = options.timeoutMs * 1000;
    this.windowUs = options.duplicateWindowMs * 1000;
    this.nowUs = options.nowUs ?? (() => Date.now() * 1000);
  }

  /** Estimated memory of the pending table (see maxPendingBytes). */
  get pendingMemoryBytes(): number {
    return this.pendingBytes;
  }

  /** Queries waiting for a response or answered ones inside the duplicate window. */
  get pendingCount(): number {
    return this.waiting.size + this.lingering.size;
  }

  /** Takes one DNS message; may emit records (its own or expired ones). */
  handle(segment: DnsSegment): void {
    this.advance(segment.tsUs);
    const at: Sighting = {
      tsUs: segment.tsUs,
      iface: segment.iface,
      src: segment.src,
      dst: segment.dst,
      transport: segment.transport,
    };
    const decoded = decodeMessage(segment.payload);
    if (decoded.status === 'malformed') {
      this.events.malformed(decoded.reason);
      this.onBroken(at, {
        reason: `${decoded.reason}: ${decoded.detail}`,
        header: decoded.header,
        sizeBytes: decoded.sizeBytes,
      });
      return;
    }
    const message = decoded.message;
    if (message.recordsError !== null) this.events.recordsIncomplete();
    if (message.qr) this.onResponse(at, message, segment.payload);
    else this.onQuery(at, message, segment.payload);
  }

  /** Moves packet time forward: emits what timed out or finished lingering. */
  advance(nowUs: number): void {
    if (nowUs > this.clockUs) this.clockUs = nowUs;
    const now = this.clockUs;
    for (const entry of this.lingering.keys()) {
      if (entry.lingerUntilUs > now) break;
      this.finish(entry, 'ANSWERED');
    }
    for (const entry of this.waiting.keys()) {
      if (entry.query.at.tsUs + this.timeoutUs > now) break;
      this.finish(entry, entry.broken !== null ? 'MALFORMED' : 'UNANSWERED');
    }
  }

  /** Emits everything still pending (end of a file, shutdown). */
  flush(note?: string): void {
    for (const entry of this.lingering.keys()) this.finish(entry, 'ANSWERED');
    for (const entry of this.waiting.keys()) {
      if (note !== undefined) addNote(entry, note);
      this.finish(entry, entry.broken !== null ? 'MALFORMED' : 'UNANSWERED');
    }
  }

  private key(transport: string, client: Endpoint, server: Endpoint, id: number): string {
    return `${transport}|${endpointKey(client)}|${endpointKey(server)}|${id}`;
  }

  /** Client and id only (the question is compared on a hit): a short key per query. */
  private dupKey(transport: string, client: Endpoint, message: DnsMessage): string {
    return `${transport}|${endpointKey(client)}|${message.id}`;
  }

  private onQuery(at: Sighting, message: DnsMessage, raw: Buffer): void {
    const key = this.key(at.transport, at.src, at.dst, message.id);
    const existing = this.byKey.get(key);
    if (existing !== undefined) {
      if (existing.response === null && sameQuestion(existing.query.question, message.question)) {
        if (at.tsUs - existing.lastQueryTsUs <= this.windowUs) {
          this.events.captureDuplicate('query');
        } else {
          addNote(existing, 'query retransmitted with the same id');
        }
        existing.lastQueryTsUs = at.tsUs;
        return;
      }
      if (existing.response === null) addNote(existing, 'id reused by a new query while pending');
      this.finish(existing, existingStatus(existing));
    }
    const dupKey = this.dupKey(at.transport, at.src, message);
    const original = this.byDupKey.get(dupKey);
    if (
      original !== undefined &&
      original.response === null &&
      sameQuestion(original.query.question, message.question) &&
      at.tsUs - original.lastQueryTsUs <= this.windowUs &&
      !sameEndpoint(original.server, at.dst)
    ) {
      // The same query seen again on its way to another address: after DNAT of a
      // service IP to the DNS pod. The first sighting is what the client asked.
      this.events.captureDuplicate('query');
      (original.aliases ??= []).push(key);
      original.answeredBy ??= at.dst;
      this.byKey.set(key, original);
      return;
    }
    const cost = raw.length + ENTRY_OVERHEAD_BYTES;
    const maxBytes = this.options.maxPendingBytes ?? Number.POSITIVE_INFINITY;
    while (
      this.waiting.size + this.lingering.size >= this.options.maxPending ||
      (this.pendingBytes + cost > maxBytes && this.waiting.size + this.lingering.size > 0)
    ) {
      const oldest = this.waiting.keys().next().value ?? this.lingering.keys().next().value;
      if (oldest === undefined) break;
      this.events.evicted();
      addNote(oldest, 'emitted early: pending table full');
      this.finish(oldest, existingStatus(oldest));
    }
    const entry: Entry = {
      key,
      aliases: null,
      dupKey,
      client: at.src,
      server: at.dst,
      answeredBy: null,
      query: { at, raw: Buffer.from(raw), question: message.question },
      lastQueryTsUs: at.tsUs,
      response: null,
      broken: null,
      brokenTsUs: null,
      duplicateResponses: 0,
      notes: null,
      lingerUntilUs: 0,
    };
    this.byKey.set(key, entry);
    this.byDupKey.set(dupKey, entry);
    this.waiting.set(entry, true);
    this.pendingBytes += cost;
  }

  private onResponse(at: Sighting, message: DnsMessage, raw: Buffer): void {
    const entry = this.byKey.get(this.key(at.transport, at.dst, at.src, message.id));
    if (entry === undefined) {
      this.emitAlone('ORPHAN', at, { message }, null, []);
      return;
    }
    if (message.question !== null && !sameQuestion(entry.query.question, message.question)) {
      this.emitAlone('ORPHAN', at, { message }, null, [
        'response question differs from the pending query with this id',
      ]);
      return;
    }
    const fromOther = !sameEndpoint(at.src, entry.server);
    if (entry.response === null) {
      entry.response = { at, message, raw };
      if (fromOther) entry.answeredBy = at.src;
      entry.lingerUntilUs = at.tsUs + this.windowUs;
      this.waiting.delete(entry);
      this.lingering.set(entry, true);
      return;
    }
    const first = entry.response;
    const otherVantage = !sameEndpoint(at.src, first.at.src);
    // A copy is the same response seen again: from the other side of a NAT, or the same
    // bytes on another interface. The same bytes from the same source on the same
    // interface are a second response the server really sent.
    const copy =
      at.tsUs - first.at.tsUs <= this.windowUs &&
      (otherVantage || (raw.equals(first.raw) && at.iface !== first.at.iface));
    if (copy) {
      this.events.captureDuplicate('response');
      if (fromOther && entry.answeredBy === null) entry.answeredBy = at.src;
      // The client-side copy (source = the address the client asked) is what the client
      // received; prefer it as the transaction's response.
      if (otherVantage && !fromOther) entry.response = { at, message, raw };
      return;
    }
    entry.duplicateResponses++;
  }

  private onBroken(at: Sighting, broken: BrokenMessage): void {
    const header = broken.header;
    const isResponse =
      header !== null
        ? header.qr
        : this.options.dnsPorts.has(at.src.port) && !this.options.dnsPorts.has(at.dst.port);
    if (isResponse && header !== null) {
      const entry = this.byKey.get(this.key(at.transport, at.dst, at.src, header.id));
      if (entry !== undefined && entry.response === null && entry.broken === null) {
        // A response arrived but could not be read: the query was answered, badly.
        entry.broken = broken;
        entry.brokenTsUs = at.tsUs;
        this.finish(entry, 'MALFORMED');
        return;
      }
    }
    this.emitAlone('MALFORMED', at, null, broken, [], isResponse);
  }

  /** A record from one message only: an orphan response or a malformed message. */
  private emitAlone(
    status: 'ORPHAN' | 'MALFORMED',
    at: Sighting,
    response: { message: DnsMessage } | null,
    broken: BrokenMessage | null,
    notes: string[],
    isResponse = true,
  ): void {
    const client = isResponse ? at.dst : at.src;
    const server = isResponse ? at.src : at.dst;
    const parts: TransactionParts = {
      status,
      node: this.options.node,
      captureTimeUs: this.nowUs(),
      client,
      server,
      answeredBy: null,
      transport: at.transport,
      iface: at.iface,
      query: null,
      response: response === null ? null : { at, message: response.message },
      broken,
      brokenTsUs: broken !== null ? at.tsUs : null,
      duplicateResponses: 0,
      notes,
    };
    this.emit(buildTransaction(parts));
  }

  private finish(entry: Entry, status: 'ANSWERED' | 'UNANSWERED' | 'MALFORMED'): void {
    if (this.byKey.get(entry.key) === entry) this.byKey.delete(entry.key);
    for (const key of entry.aliases ?? []) {
      if (this.byKey.get(key) === entry) this.byKey.delete(key);
    }
    if (this.byDupKey.get(entry.dupKey) === entry) this.byDupKey.delete(entry.dupKey);
    this.waiting.delete(entry);
    this.lingering.delete(entry);
    this.pendingBytes -= entry.query.raw.length + ENTRY_OVERHEAD_BYTES;
    if (entry.answeredBy !== null && sameEndpoint(entry.answeredBy, entry.server)) {
      entry.answeredBy = null;
    }
    this.emit(
      buildTransaction({
        status,
        node: this.options.node,
        captureTimeUs: this.nowUs(),
        client: entry.client,
        server: entry.server,
        answeredBy: entry.answeredBy,
        transport: entry.query.at.transport,
        iface: entry.query.at.iface,
        query: { at: entry.query.at, message: redecode(entry.query.raw) },
        response: entry.response,
        broken: entry.broken,
        brokenTsUs: entry.brokenTsUs,
        duplicateResponses: entry.duplicateResponses,
        notes: entry.notes ?? [],
      }),
    );
  }
}

function sameQuestion(qa: Question | null, qb: Question | null): boolean {
  if (qa === null || qb === null) return qa === qb;
  return qa.name === qb.name && qa.type === qb.type && qa.class === qb.class;
}

function existingStatus(entry: Entry): 'ANSWERED' | 'UNANSWERED' | 'MALFORMED' {
  if (entry.broken !== null) return 'MALFORMED';
  return entry.response !== null ? 'ANSWERED' : 'UNANSWERED';
}

/** Decodes a query that decoded before (same bytes, same result). */
function redecode(raw: Buffer): DnsMessage {
  const result = decodeMessage(raw);
  if (result.status !== 'ok') throw new Error(`pending query no longer decodes: ${result.reason}`);
  return result.message;
}

function addNote(entry: Entry, note: string): void {
  (entry.notes ??= []).push(note);
}
