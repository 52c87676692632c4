import type { DnsTransaction, Endpoint } from '@dnsflow/schema';
import type { DnsSegment } from '../decode/segment';
import {
  decodeMessage,
  newMessageScan,
  scanMessage,
  type DnsMessage,
  type MalformedReason,
  type MessageScan,
} from '../dns/message';
import { readName, sameLabels } from '../dns/name';
import { normaliseName } from '../dns/names';
import {
  clientHash,
  dupHash,
  LINGERING,
  NONE,
  pairHash,
  PendingTable,
  sameEndpoint,
  transportCode,
  WAITING,
} from './pending';
import { buildTransaction, type BrokenMessage, type TransactionParts } from './record';

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
  /**
   * Segment payloads are valid only during `handle()` (a live capture lends libpcap's
   * buffer): the response kept through its duplicate window is copied. Queries are
   * copied into the pending table in any case.
   */
  copyResponses?: boolean;
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

/**
 * Heap cost of one pending entry besides its query bytes: its share of the table's
 * columns (with the slack of doubling), the inline query area and the segment's two
 * endpoint objects; measured with 100,000 pending queries.
 */
export const ENTRY_OVERHEAD_BYTES = 400;

const NOOP_EVENTS: PairingEvents = {
  malformed: () => undefined,
  captureDuplicate: () => undefined,
  evicted: () => undefined,
  recordsIncomplete: () => undefined,
};

/**
 * A query's copy seen toward another server (after DNAT of a service address): its own
 * key, standing for the slot of the first sighting.
 */
interface Alias {
  /** pairHash of the key. */
  hash: number;
  transport: number;
  client: Endpoint;
  server: Endpoint;
  id: number;
  slot: number;
}

/** The normalised first question name of a message that scanned. */
function questionName(buf: Buffer): string {
  return normaliseName(readName(buf, 12).name);
}

/** Decodes a message that scanned (same bytes, same checks: it decodes). */
function decodeScanned(raw: Buffer): DnsMessage {
  const result = decodeMessage(raw);
  if (result.status !== 'ok') throw new Error(`scanned message does not decode: ${result.reason}`);
  return result.message;
}

/**
 * Pairs DNS queries with their responses. Keyed by transport, client ip:port, server
 * ip:port and DNS id; the question must match too. Time is packet time (`tsUs` of the
 * segments, or `advance()` for live capture when packets stop), so a replayed file pairs
 * exactly as it did live.
 *
 * Every message ends up in exactly one emitted record: ANSWERED, UNANSWERED (timeout,
 * eviction, end of input), ORPHAN or MALFORMED. Memory is bounded by `maxPending` and
 * `maxPendingBytes`.
 */
export class Pairer {
  private readonly table: PendingTable;
  /**
   * Aliases by the hash of their key (the pairHash the lookups compute anyway, so a miss
   * builds no text), and by slot.
   */
  private readonly aliases = new Map<number, Alias[]>();
  private readonly aliasesOf = new Map<number, Alias[]>();
  private readonly scan: MessageScan = newMessageScan();
  private readonly timeoutUs: number;
  private readonly windowUs: number;
  private readonly maxPendingBytes: number;
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
    this.maxPendingBytes = options.maxPendingBytes ?? Number.POSITIVE_INFINITY;
    this.nowUs = options.nowUs ?? (() => Date.now() * 1000);
    this.table = new PendingTable(options.maxPending);
  }

  /** Estimated memory of the pending table (see maxPendingBytes). */
  get pendingMemoryBytes(): number {
    return this.pendingBytes;
  }

  /** Queries waiting for a response or answered ones inside the duplicate window. */
  get pendingCount(): number {
    return this.table.size;
  }

  /**
   * Takes one DNS message; may emit records (its own or expired ones). Only the header
   * and the question are read here (without building text); a message is decoded in full
   * once, when its record is emitted.
   */
  handle(segment: DnsSegment): void {
    this.advance(segment.tsUs);
    const scan = this.scan;
    if (!scanMessage(segment.payload, scan)) {
      this.onUnreadable(segment);
      return;
    }
    if (!scan.recordsComplete) this.events.recordsIncomplete();
    if (scan.qr) this.onResponse(segment, scan);
    else this.onQuery(segment, scan);
  }

  /** Moves packet time forward: emits what timed out or finished lingering. */
  advance(nowUs: number): void {
    if (nowUs > this.clockUs) this.clockUs = nowUs;
    const now = this.clockUs;
    const t = this.table;
    for (let s = t.head(LINGERING); s !== NONE; s = t.head(LINGERING)) {
      if (t.lingerUntilUs[s]! > now) break;
      this.finish(s, 'ANSWERED');
    }
    for (let s = t.head(WAITING); s !== NONE; s = t.head(WAITING)) {
      if (t.queryTsUs[s]! + this.timeoutUs > now) break;
      this.finish(s, this.statusOf(s));
    }
  }

  /** Emits everything still pending (end of a file, shutdown). */
  flush(note?: string): void {
    const t = this.table;
    for (let s = t.head(LINGERING); s !== NONE; s = t.head(LINGERING)) this.finish(s, 'ANSWERED');
    for (let s = t.head(WAITING); s !== NONE; s = t.head(WAITING)) {
      if (note !== undefined) this.addNote(s, note);
      this.finish(s, this.statusOf(s));
    }
  }

  /** The pending slot with this key (or one of its aliases), or NONE. */
  private findKey(
    hash: number,
    transport: number,
    client: Endpoint,
    server: Endpoint,
    id: number,
  ): number {
    const s = this.table.find(hash, transport, client, server, id);
    if (s !== NONE || this.aliases.size === 0) return s;
    const candidates = this.aliases.get(hash);
    if (candidates === undefined) return NONE;
    for (const a of candidates) {
      if (
        a.id === id &&
        a.transport === transport &&
        sameEndpoint(a.server, server) &&
        sameEndpoint(a.client, client)
      ) {
        return a.slot;
      }
    }
    return NONE;
  }

  /**
   * Whether the pending query in slot `s` asks what the message in `buf` asks: same
   * normalised name, type and class (both absent counts as the same).
   */
  private sameQuestion(s: number, buf: Buffer, scan: MessageScan): boolean {
    const t = this.table;
    if (t.hasQuestion[s] === 0 || !scan.hasQuestion) {
      return t.hasQuestion[s] === 0 && !scan.hasQuestion;
    }
    if (t.qtype[s] !== scan.qtype || t.qclass[s] !== scan.qclass) return false;
    if (sameLabels(t.queryHome(s), t.queryStart(s), 12, buf, 0, 12)) return true;
    return questionName(t.query(s)) === questionName(buf);
  }

  private onQuery(segment: DnsSegment, scan: MessageScan): void {
    const t = this.table;
    const transport = transportCode(segment.transport);
    const client = segment.src;
    const server = segment.dst;
    const id = scan.id;
    const clientSide = clientHash(transport, client);
    const keyHash = pairHash(clientSide, server, id);
    const existing = this.findKey(keyHash, transport, client, server, id);
    if (existing !== NONE) {
      const answered = t.responseRaw[existing] !== null;
      if (!answered && this.sameQuestion(existing, segment.payload, scan)) {
        if (segment.tsUs - t.lastQueryTsUs[existing]! <= this.windowUs) {
          this.events.captureDuplicate('query');
        } else {
          this.addNote(existing, 'query retransmitted with the same id');
        }
        t.lastQueryTsUs[existing] = segment.tsUs;
        return;
      }
      if (!answered) this.addNote(existing, 'id reused by a new query while pending');
      this.finish(existing, this.statusOf(existing));
    }
    const dupKeyHash = dupHash(clientSide, id);
    const original = t.findDuplicate(dupKeyHash, transport, client, id);
    if (
      original !== NONE &&
      t.responseRaw[original] === null &&
      this.sameQuestion(original, segment.payload, scan) &&
      segment.tsUs - t.lastQueryTsUs[original]! <= this.windowUs &&
      !sameEndpoint(t.server[original]!, server)
    ) {
      // The same query seen again on its way to another address: after DNAT of a
      // service IP to the DNS pod. The first sighting is what the client asked.
      this.events.captureDuplicate('query');
      const alias: Alias = { hash: keyHash, transport, client, server, id, slot: original };
      const sameHash = this.aliases.get(keyHash);
      if (sameHash === undefined) this.aliases.set(keyHash, [alias]);
      else sameHash.push(alias);
      const ofSlot = this.aliasesOf.get(original);
      if (ofSlot === undefined) this.aliasesOf.set(original, [alias]);
      else ofSlot.push(alias);
      if (t.answeredBy[original] === null) t.answeredBy[original] = server;
      return;
    }
    const cost = segment.payload.length + ENTRY_OVERHEAD_BYTES;
    while (
      t.size >= this.options.maxPending ||
      (this.pendingBytes + cost > this.maxPendingBytes && t.size > 0)
    ) {
      let oldest = t.head(WAITING);
      if (oldest === NONE) oldest = t.head(LINGERING);
      if (oldest === NONE) break;
      this.events.evicted();
      this.addNote(oldest, 'emitted early: pending table full');
      this.finish(oldest, this.statusOf(oldest));
    }
    const s = t.add(keyHash, dupKeyHash, transport, client, server, id, segment.payload);
    t.queryTsUs[s] = segment.tsUs;
    t.lastQueryTsUs[s] = segment.tsUs;
    t.queryIface[s] = segment.iface;
    t.hasQuestion[s] = scan.hasQuestion ? 1 : 0;
    t.qtype[s] = scan.qtype;
    t.qclass[s] = scan.qclass;
    t.duplicateResponses[s] = 0;
    this.pendingBytes += cost;
  }

  private onResponse(segment: DnsSegment, scan: MessageScan): void {
    const t = this.table;
    const transport = transportCode(segment.transport);
    const client = segment.dst;
    const server = segment.src;
    const payload = segment.payload;
    const keyHash = pairHash(clientHash(transport, client), server, scan.id);
    const s = this.findKey(keyHash, transport, client, server, scan.id);
    if (s === NONE) {
      this.emitAlone('ORPHAN', segment, decodeScanned(payload), null, []);
      return;
    }
    if (scan.hasQuestion && !this.sameQuestion(s, payload, scan)) {
      this.emitAlone('ORPHAN', segment, decodeScanned(payload), null, [
        'response question differs from the pending query with this id',
      ]);
      return;
    }
    const fromOther = !sameEndpoint(server, t.server[s]!);
    const first = t.responseRaw[s];
    if (first === null || first === undefined) {
      this.setResponse(s, segment);
      if (fromOther) t.answeredBy[s] = server;
      t.lingerUntilUs[s] = segment.tsUs + this.windowUs;
      t.linger(s);
      return;
    }
    const otherVantage = !sameEndpoint(server, t.responseSrc[s]!);
    // A copy is the same response seen again: from the other side of a NAT, or the same
    // bytes on another interface. The same bytes from the same source on the same
    // interface are a second response the server really sent.
    const copy =
      segment.tsUs - t.responseTsUs[s]! <= this.windowUs &&
      (otherVantage || (payload.equals(first) && segment.iface !== t.responseIface[s]));
    if (copy) {
      this.events.captureDuplicate('response');
      if (fromOther && t.answeredBy[s] === null) t.answeredBy[s] = server;
      // The client-side copy (source = the address the client asked) is what the client
      // received; prefer it as the transaction's response.
      if (otherVantage && !fromOther) this.setResponse(s, segment);
      return;
    }
    t.duplicateResponses[s]!++;
  }

  private setResponse(s: number, segment: DnsSegment): void {
    const t = this.table;
    t.responseRaw[s] = this.options.copyResponses ? Buffer.from(segment.payload) : segment.payload;
    t.responseSrc[s] = segment.src;
    t.responseIface[s] = segment.iface;
    t.responseTsUs[s] = segment.tsUs;
  }

  /** A message that does not decode as far as its question: a MALFORMED record. */
  private onUnreadable(segment: DnsSegment): void {
    const decoded = decodeMessage(segment.payload);
    // scanMessage applies decodeMessage's checks, so `decoded` is malformed; should the
    // two ever disagree, the message still becomes a record, with the disagreement.
    const broken: BrokenMessage =
      decoded.status === 'malformed'
        ? {
            reason: `${decoded.reason}: ${decoded.detail}`,
            header: decoded.header,
            sizeBytes: decoded.sizeBytes,
          }
        : {
            reason: 'bad_question: question does not scan',
            header: null,
            sizeBytes: segment.payload.length,
          };
    this.events.malformed(decoded.status === 'malformed' ? decoded.reason : 'bad_question');
    const header = broken.header;
    const isResponse =
      header !== null
        ? header.qr
        : this.options.dnsPorts.has(segment.src.port) &&
          !this.options.dnsPorts.has(segment.dst.port);
    if (isResponse && header !== null) {
      const t = this.table;
      const transport = transportCode(segment.transport);
      const keyHash = pairHash(clientHash(transport, segment.dst), segment.src, header.id);
      const s = this.findKey(keyHash, transport, segment.dst, segment.src, header.id);
      if (s !== NONE && t.responseRaw[s] === null && t.broken[s] === null) {
        // A response arrived but could not be read: the query was answered, badly.
        t.broken[s] = broken;
        t.brokenTsUs[s] = segment.tsUs;
        this.finish(s, 'MALFORMED');
        return;
      }
    }
    this.emitAlone('MALFORMED', segment, null, broken, [], isResponse);
  }

  /** A record from one message only: an orphan response or a malformed message. */
  private emitAlone(
    status: 'ORPHAN' | 'MALFORMED',
    segment: DnsSegment,
    response: DnsMessage | null,
    broken: BrokenMessage | null,
    notes: string[],
    isResponse = true,
  ): void {
    this.emit(
      buildTransaction({
        status,
        node: this.options.node,
        captureTimeUs: this.nowUs(),
        client: isResponse ? segment.dst : segment.src,
        server: isResponse ? segment.src : segment.dst,
        answeredBy: null,
        transport: segment.transport,
        iface: segment.iface,
        query: null,
        queryTsUs: null,
        response,
        responseTsUs: response === null ? null : segment.tsUs,
        broken,
        brokenTsUs: broken !== null ? segment.tsUs : null,
        duplicateResponses: 0,
        notes,
      }),
    );
  }

  /** Emits the transaction of slot `s` and frees the slot. */
  private finish(s: number, status: 'ANSWERED' | 'UNANSWERED' | 'MALFORMED'): void {
    const t = this.table;
    const responseRaw = t.responseRaw[s] ?? null;
    const broken = t.broken[s] ?? null;
    const server = t.server[s]!;
    let answeredBy = t.answeredBy[s] ?? null;
    if (answeredBy !== null && sameEndpoint(answeredBy, server)) answeredBy = null;
    const parts: TransactionParts = {
      status,
      node: this.options.node,
      captureTimeUs: this.nowUs(),
      client: t.client[s]!,
      server,
      answeredBy,
      transport: t.transport[s] === 0 ? 'UDP' : 'TCP',
      iface: t.queryIface[s] ?? null,
      query: decodeScanned(t.query(s)),
      queryTsUs: t.queryTsUs[s]!,
      response: responseRaw === null ? null : decodeScanned(responseRaw),
      responseTsUs: responseRaw === null ? null : t.responseTsUs[s]!,
      broken,
      brokenTsUs: broken !== null ? t.brokenTsUs[s]! : null,
      duplicateResponses: t.duplicateResponses[s]!,
      notes: t.notes[s] ?? [],
    };
    this.pendingBytes -= t.queryLength[s]! + ENTRY_OVERHEAD_BYTES;
    const ofSlot = this.aliasesOf.get(s);
    if (ofSlot !== undefined) {
      for (const alias of ofSlot) this.dropAlias(alias);
      this.aliasesOf.delete(s);
    }
    t.release(s);
    this.emit(buildTransaction(parts));
  }

  private dropAlias(alias: Alias): void {
    const sameHash = this.aliases.get(alias.hash);
    const i = sameHash?.indexOf(alias) ?? -1;
    if (sameHash === undefined || i < 0) return;
    if (sameHash.length === 1) this.aliases.delete(alias.hash);
    else sameHash.splice(i, 1);
  }

  private statusOf(s: number): 'ANSWERED' | 'UNANSWERED' | 'MALFORMED' {
    const t = this.table;
    if (t.broken[s] !== null) return 'MALFORMED';
    return t.responseRaw[s] !== null ? 'ANSWERED' : 'UNANSWERED';
  }

  private addNote(s: number, note: string): void {
    const notes = this.table.notes[s];
    if (notes === null || notes === undefined) this.table.notes[s] = [note];
    else notes.push(note);
  }
}
