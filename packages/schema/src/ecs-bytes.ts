import type { Type } from 'avsc';
import { communityId, communityIdOfBytes, communityIdV4, ipv4NumberOfBytes } from './community-id';
import { DNS_DATASET, ECS_VERSION, jsonString, renderKubernetesJson, type EcsOptions } from './ecs';
import type { K8sIdentity } from './generated/types';
import { latestSchema } from './schemas';

// The indexer's hot path: an `EnrichedDnsTransaction` in Avro bytes straight to the JSON bytes
// of its ECS document, with no record object, no strings for its names and no text to encode
// again. Decoding the record (avsc), rendering its text and writing that text into the bulk
// body took most of the indexer's CPU per document, and on a machine it shares with
// Elasticsearch that CPU is what Elasticsearch does not get.
//
// It reads what it can be sure of and leaves the rest to the general path (codec, ecsJson):
// a body written with another schema version, an array in several blocks or with a byte
// size, a long past 2^53, a union or enum index out of range, a truncated or overlong body, a
// node or address that is not ASCII (they are compared and hashed as bytes). There the
// caller decodes the record and renders it with ecsJson, which also says what was wrong.
// Text that needs escaping, or is not ASCII, is escaped here as JSON.stringify escapes it,
// and an IPv6 Community ID is hashed from the address bytes it parses in place (any spelling
// that parser does not take goes through communityId's strings). So the bytes it writes are always those
// of `ecsJson(record, options)` in UTF-8: the tests compare the two on every shape of record
// and on random ones.
//
// It is written for one schema: the Avro Parsing Canonical Form whose fingerprint is
// SCHEMA_FINGERPRINT. When the newest shipped schema is another one, `enabled` is false and
// every record takes the general path (a test fails then, as a reminder to update it).

/** CRC-64-AVRO fingerprint of the EnrichedDnsTransaction schema this reader is written for. */
const SCHEMA_FINGERPRINT = '90f58d8d8cd4f19e';
/** Single-object encoding: 0xC3 0x01 and the 8-byte fingerprint before the body. */
const HEADER_BYTES = 10;
/** Output slab: documents are handed out as slices of it, one after another. */
const SLAB_BYTES = 1024 * 1024;
/** avsc refuses longs outside this range (potential precision loss). */
const MAX_SAFE_LONG = 9007199254740990;
/** Bound of the identity text cache: identities are under 1 KB, their texts about as much. */
const IDENTITY_TEXTS_MAX = 10_000;
/** Identities compared as bytes before the cache is asked (server, client, answering pod). */
const RECENT_IDENTITIES = 4;

interface SeenIdentity {
  bytes: Buffer;
  text: Buffer;
}

/** Thrown inside the reader when a record needs the general path; never escapes it. */
class GeneralPath extends Error {}
const GENERAL = new GeneralPath('record needs the general path');

const TEXT = (text: string): Buffer => Buffer.from(text, 'utf8');
const EMPTY = Buffer.alloc(0);

const STATUS = ['answered', 'unanswered', 'orphan', 'malformed'] as const;
const ANSWERED = 0;
const UNANSWERED = 1;
const ORPHAN = 2;
const MALFORMED = 3;
const NOERROR = TEXT('NOERROR');
const KEY_UDP = TEXT('|UDP|');
const KEY_TCP = TEXT('|TCP|');

/** `"header_flags":[...]` for each combination of the seven flags (bit 0 = AA ... bit 6 = DO). */
const HEADER_FLAGS: Buffer[] = [];
for (let bits = 0; bits < 128; bits++) {
  const names = ['AA', 'TC', 'RD', 'RA', 'AD', 'CD', 'DO'].filter((_, i) => bits & (1 << i));
  HEADER_FLAGS.push(TEXT(`,"header_flags":${JSON.stringify(names)}`));
}

const L = {
  timestamp: TEXT('{"@timestamp":"'),
  start: TEXT('","start":"'),
  end: TEXT('","end":"'),
  duration: TEXT('","duration":'),
  quoteEnd: TEXT('"'),
  quoteBytes: TEXT('","bytes":'),
  bytes: TEXT(',"bytes":'),
  source: TEXT('},"source":{"ip":'),
  quoteSource: TEXT('"},"source":{"ip":'),
  destination: TEXT('},"destination":{"ip":'),
  port: TEXT(',"port":'),
  kubernetes: TEXT(',"kubernetes":'),
  related: TEXT('},"related":{"ip":['),
  hosts: TEXT('],"hosts":['),
  host: TEXT(']},"host":{"name":'),
  hostname: TEXT(',"hostname":'),
  observer: TEXT('},"observer":{"hostname":'),
  observerRest: TEXT(',"type":"sensor","product":"dnsflow","vendor":"dnsflow"'),
  ingress: TEXT(',"ingress":{"interface":{"name":'),
  closeTwo: TEXT('}}'),
  dns: TEXT('},"dns":{"id":"'),
  opCode: TEXT('","op_code":'),
  typeAnswer: TEXT(',"type":"answer"'),
  typeQuery: TEXT(',"type":"query"'),
  responseCode: TEXT(',"response_code":'),
  question: TEXT(',"question":{"name":'),
  type: TEXT(',"type":'),
  class: TEXT(',"class":'),
  registeredDomain: TEXT(',"registered_domain":'),
  subdomain: TEXT(',"subdomain":'),
  topLevelDomain: TEXT(',"top_level_domain":'),
  answers: TEXT(',"answers":['),
  rrName: TEXT('{"name":'),
  ttl: TEXT(',"ttl":'),
  data: TEXT(',"data":'),
  resolvedIp: TEXT(',"resolved_ip":['),
  status: STATUS.map((s) => TEXT(`},"dnsflow":{"status":"${s}"`)),
  latencyUs: TEXT(',"latency_us":'),
  questionCount: TEXT(',"question_count":'),
  nameRaw: TEXT(',"question":{"name_raw":'),
  rcodeValue: TEXT(',"rcode_value":'),
  answerCount: TEXT(',"answer_count":'),
  authorityCount: TEXT(',"authority_count":'),
  additionalCount: TEXT(',"additional_count":'),
  authorities: TEXT(',"authorities":['),
  additionals: TEXT(',"additionals":['),
  edns: TEXT(',"edns":{'),
  ednsQuery: TEXT('"query":'),
  ednsResponse: TEXT('"response":'),
  ednsVersion: TEXT('{"version":'),
  udpSize: TEXT(',"udp_size":'),
  doTrue: TEXT(',"do":true'),
  doFalse: TEXT(',"do":false'),
  clientSubnet: TEXT(',"client_subnet":'),
  options: TEXT(',"options":['),
  optionCode: TEXT('{"code":'),
  optionData: TEXT(',"data":"'),
  quoteBrace: TEXT('"}'),
  malformedReason: TEXT(',"malformed_reason":'),
  duplicateResponses: TEXT(',"duplicate_responses":'),
  notes: TEXT(',"notes":['),
  answeredBy: TEXT(',"answered_by":{"ip":'),
  queryTargetTrue: TEXT(',"query_target":{"internal":true'),
  queryTargetFalse: TEXT(',"query_target":{"internal":false'),
  kind: TEXT(',"kind":'),
  namespace: TEXT(',"namespace":'),
  name: TEXT(',"name":'),
  labelCount: TEXT(',"domain":{"label_count":'),
  longestLabel: TEXT(',"longest_label":'),
  nameLength: TEXT(',"name_length":'),
  entropy: TEXT(',"entropy":'),
  digitRatio: TEXT(',"digit_ratio":'),
  askedName: TEXT(',"search":{"asked_name":'),
  isExpansionTrue: TEXT(',"is_expansion":true'),
  isExpansionFalse: TEXT(',"is_expansion":false'),
  suffix: TEXT(',"suffix":'),
};

const SUCCESS = 0;
const FAILURE = 1;
const UNKNOWN = 2;
/** event.type and event.outcome, up to event.created's opening quote: [malformed][outcome]. */
const TYPE_OUTCOME = [['["protocol"]'], ['["protocol","error"]']].map(([type]) =>
  ['success', 'failure', 'unknown'].map((outcome) =>
    TEXT(
      `${type},"dataset":"${DNS_DATASET}","module":"dnsflow","outcome":"${outcome}","created":"`,
    ),
  ),
);
/** The network object up to community_id's opening quote: [tcp][ipv6]. */
const NETWORK = [
  ['udp', '17'],
  ['tcp', '6'],
].map(([transport, iana]) =>
  ['ipv4', 'ipv6'].map((type) =>
    TEXT(
      `},"network":{"transport":"${transport}","protocol":"dns","type":"${type}","iana_number":"${iana}","community_id":"`,
    ),
  ),
);

/**
 * Where {@link EcsTranscoder.renderJson} writes: into `buf` from `at`, moving `at` on. `grow`
 * makes room for `bytes` more after `at`, keeping every byte before it; it may put the bytes
 * in a new `buf`.
 */
export interface ByteSink {
  buf: Buffer;
  at: number;
  grow(bytes: number): void;
}

/** The sink of {@link EcsTranscoder.transcode}: documents one after another in 1 MiB slabs. */
class Slab implements ByteSink {
  buf: Buffer;
  at = 0;
  /** Where the document being written starts; a new slab takes it along. */
  start = 0;

  constructor(private readonly size = SLAB_BYTES) {
    this.buf = Buffer.allocUnsafeSlow(size);
  }

  grow(bytes: number): void {
    const begun = this.at - this.start;
    const next = Buffer.allocUnsafeSlow(Math.max(this.size, (begun + bytes) * 2));
    this.buf.copy(next, 0, this.start, this.at);
    this.buf = next;
    this.start = 0;
    this.at = begun;
  }
}

/** Avro single-object bytes of an enriched transaction -> its ECS document's JSON bytes. */
export class EcsTranscoder {
  /** False when the newest shipped schema is not the one this reader knows. */
  readonly enabled: boolean;
  private readonly fingerprint: Buffer;
  private readonly identityType: Type;
  /** Identity bytes (latin1) -> those bytes and its `kubernetes` JSON bytes. */
  private readonly identities = new Map<string, SeenIdentity>();
  /** The last few identities looked up, newest first. */
  private readonly recent: SeenIdentity[] = [];
  private readonly head: Buffer;

  // Input: the record being read.
  private buf: Buffer = Buffer.alloc(0);
  private pos = 0;
  private end = 0;

  // Output: where renderJson writes (a copy of the sink's buffer and position while it runs).
  private readonly slab = new Slab();
  /** The last read record's transactionKey bytes, from 0 to keyEnd. */
  private readonly keySlab = new Slab(512);
  private keyEnd = 0;
  private sink: ByteSink = this.slab;
  private out: Buffer = EMPTY;
  private at = 0;

  // isoMicros' cache, as bytes.
  private isoSecond = NaN;
  private isoPrefix: Buffer = Buffer.alloc(0);

  // The record's fields: numbers, and [start, end) of strings in `buf` (-1 when null).
  private captureTimeUs = 0;
  private startTimeUs = 0;
  private endTimeUs = 0;
  private hasEnd = false;
  private latencyUs = 0;
  private hasLatency = false;
  private nodeS = 0;
  private nodeE = 0;
  private ifaceS = -1;
  private ifaceE = -1;
  private clientIpS = 0;
  private clientIpE = 0;
  private clientPort = 0;
  private serverIpS = 0;
  private serverIpE = 0;
  private serverPort = 0;
  private byIpS = -1;
  private byIpE = -1;
  private byPort = 0;
  private tcp = false;
  private dnsId = 0;
  private opcodeS = 0;
  private opcodeE = 0;
  private flags = 0;
  private qNameS = -1;
  private qNameE = -1;
  private qRawS = 0;
  private qRawE = 0;
  private qTypeS = 0;
  private qTypeE = 0;
  private qClassS = 0;
  private qClassE = 0;
  private questionCount = 0;
  private rcodeS = -1;
  private rcodeE = -1;
  private rcodeValue = 0;
  private hasRcodeValue = false;
  private answersAt = 0;
  private answersN = 0;
  private answerCount = 0;
  private authorityCount = 0;
  private additionalCount = 0;
  private authoritiesAt = 0;
  private authoritiesN = 0;
  private additionalsAt = 0;
  private additionalsN = 0;
  private queryEdnsAt = -1;
  private responseEdnsAt = -1;
  private requestBytes = 0;
  private hasRequestBytes = false;
  private responseBytes = 0;
  private hasResponseBytes = false;
  private status = 0;
  private malformedS = -1;
  private malformedE = -1;
  private duplicateResponses = 0;
  private notesAt = 0;
  private notesN = 0;
  private clientIdS = -1;
  private clientIdE = -1;
  private serverIdS = -1;
  private serverIdE = -1;
  private byIdS = -1;
  private byIdE = -1;
  private hasTarget = false;
  private targetInternal = false;
  private targetKindS = -1;
  private targetKindE = -1;
  private targetNsS = -1;
  private targetNsE = -1;
  private targetNameS = -1;
  private targetNameE = -1;
  private hasDomain = false;
  private registeredS = -1;
  private registeredE = -1;
  private tldS = -1;
  private tldE = -1;
  private subdomainS = -1;
  private subdomainE = -1;
  private labelCount = 0;
  private longestLabel = 0;
  private nameLength = 0;
  private entropy = 0;
  private digitRatio = 0;
  private hasSearch = false;
  private askedS = 0;
  private askedE = 0;
  private isExpansion = false;
  private suffixS = -1;
  private suffixE = -1;
  /** [start, end) pairs of the A and AAAA answers' data (the first resolvedN): dns.resolved_ip. */
  private readonly resolved: number[] = [];
  private resolvedN = 0;
  /** [start, end) pairs of related.ip (the first relatedN), each address once. */
  private readonly related: number[] = [];
  private relatedN = 0;
  // Worked out by prepare(), so that rendering cannot fail.
  private clientV4 = true;
  private community = '';
  private clientText: Buffer | null = null;
  private serverText: Buffer | null = null;
  private byText: Buffer | null = null;

  constructor(options: EcsOptions = {}) {
    const schema = latestSchema('EnrichedDnsTransaction');
    this.fingerprint = schema.fingerprint;
    this.enabled = schema.fingerprint.toString('hex') === SCHEMA_FINGERPRINT;
    // The K8sIdentity type of the reader's registry (the `client` field is [null, K8sIdentity]).
    const record = schema.type as unknown as { field(name: string): { type: { types: Type[] } } };
    this.identityType = record.field('client').type.types[1]!;
    this.head = TEXT(
      `","ecs":{"version":"${ECS_VERSION}"},"data_stream":{"type":"logs","dataset":"${DNS_DATASET}","namespace":${jsonString(options.namespace ?? 'default')}},"event":{"kind":"event","category":["network"],"type":`,
    );
  }

  /**
   * The JSON bytes of the ECS document of `value` (Avro single-object encoding), exactly
   * `ecsJson(record, options)`, or null when the record needs the general path (decode it with
   * the codec and render it with ecsJson). The bytes stay valid; {@link transactionKey} is
   * the record's until the next call.
   */
  transcode(value: Buffer): Buffer | null {
    if (!this.read(value)) return null;
    const slab = this.slab;
    slab.start = slab.at;
    this.renderJson(slab);
    const doc = slab.buf.subarray(slab.start, slab.at);
    slab.start = slab.at;
    return doc;
  }

  /**
   * Reads `value` (Avro single-object encoding) for {@link renderJson} and
   * {@link transactionKey}. False when the record needs the general path (decode it with the codec
   * and render it with ecsJson, which also says what is wrong with a bad one). Everything that
   * could send a record there is checked here, so rendering it cannot fail.
   */
  read(value: Buffer): boolean {
    this.buf = EMPTY;
    if (!this.enabled || !this.framedWithReaderSchema(value)) return false;
    this.buf = value;
    this.pos = HEADER_BYTES;
    this.end = value.length;
    try {
      this.readFields();
      this.prepare();
      this.writeKey();
      return true;
    } catch {
      // Whatever stopped the reader, the general path says it properly (or renders the record).
      this.buf = EMPTY;
      return false;
    }
  }

  /**
   * Writes the ECS document of the record the last successful {@link read} took into `sink`,
   * from `sink.at` on, and moves `sink.at` past it. Once per read.
   */
  renderJson(sink: ByteSink): void {
    if (this.buf === EMPTY) throw new Error('renderJson needs a record read first');
    this.sink = sink;
    this.out = sink.buf;
    this.at = sink.at;
    this.render();
    sink.at = this.at;
    this.buf = EMPTY;
  }

  private framedWithReaderSchema(value: Buffer): boolean {
    if (value.length < HEADER_BYTES || value[0] !== 0xc3 || value[1] !== 0x01) return false;
    const fp = this.fingerprint;
    for (let i = 0; i < 8; i++) if (value[2 + i] !== fp[i]) return false;
    return true;
  }

  // ---- reading -------------------------------------------------------------------------

  /** avsc's long decoding, to the same number. */
  private long(): number {
    const buf = this.buf;
    let pos = this.pos;
    let n = 0;
    let k = 0;
    let b: number;
    let h: number;
    do {
      b = buf[pos++]!;
      h = b & 0x80;
      n |= (b & 0x7f) << k;
      k += 7;
    } while (h && k < 28);
    if (h) {
      let f = n;
      let fk = 268435456;
      do {
        b = buf[pos++]!;
        f += (b & 0x7f) * fk;
        fk *= 128;
      } while (b & 0x80);
      this.pos = pos;
      return (f % 2 ? -(f + 1) : f) / 2;
    }
    this.pos = pos;
    return (n >> 1) ^ -(n & 1);
  }

  /** An Avro `long` field: avsc refuses one it cannot hold exactly. */
  private safeLong(): number {
    const n = this.long();
    if (n > MAX_SAFE_LONG || n < -MAX_SAFE_LONG) throw GENERAL;
    return n;
  }

  /** A `[null, X]` union: whether X follows. */
  private present(): boolean {
    const index = this.long();
    if (index === 0) return false;
    if (index === 1) return true;
    throw GENERAL;
  }

  private enumIndex(symbols: number): number {
    const index = this.long();
    if (index < 0 || index >= symbols) throw GENERAL;
    return index;
  }

  private boolean(): boolean {
    if (this.pos >= this.end) throw GENERAL;
    return this.buf[this.pos++] !== 0;
  }

  private double(): number {
    const at = this.pos;
    if (at + 8 > this.end) throw GENERAL;
    this.pos = at + 8;
    return this.buf.readDoubleLE(at);
  }

  /** Skips a string (or bytes) and returns where its bytes start; they end at `pos`. */
  private string(): number {
    const length = this.long();
    const start = this.pos;
    if (length < 0 || start + length > this.end) throw GENERAL;
    this.pos = start + length;
    return start;
  }

  /** Item count of an array written as one block (what avsc writes); else the general path. */
  private arrayCount(): number {
    const n = this.long();
    if (n < 0 || n > this.end - this.pos) throw GENERAL;
    return n;
  }

  /** The end of a one-block array: its terminating empty block. */
  private arrayEnd(n: number): void {
    if (n > 0 && this.long() !== 0) throw GENERAL;
  }

  private skipRecords(resolvedIps: boolean): number {
    const n = this.arrayCount();
    for (let i = 0; i < n; i++) {
      this.string();
      const typeS = this.string();
      const typeE = this.pos;
      this.string();
      this.safeLong();
      const dataS = this.string();
      if (resolvedIps && isAddressType(this.buf, typeS, typeE)) {
        this.resolved[this.resolvedN++] = dataS;
        this.resolved[this.resolvedN++] = this.pos;
      }
    }
    this.arrayEnd(n);
    return n;
  }

  private skipEdns(): void {
    this.long();
    this.long();
    this.boolean();
    if (this.present()) this.string();
    const n = this.arrayCount();
    for (let i = 0; i < n; i++) {
      this.long();
      this.string();
    }
    this.arrayEnd(n);
  }

  /** Skips a K8sIdentity (its bytes are the key of its cached text). */
  private skipIdentity(): void {
    this.enumIndex(6);
    for (let i = 0; i < 3; i++) if (this.present()) this.string();
    // labels: a map, in any number of blocks.
    for (let n = this.long(); n !== 0; n = this.long()) {
      if (n < 0 || n > this.end - this.pos) throw GENERAL;
      for (let i = 0; i < n; i++) {
        this.string();
        this.string();
      }
    }
    for (let i = 0; i < 6; i++) if (this.present()) this.string();
  }

  /** Reads the record's fields in schema order (see EnrichedDnsTransaction.v1.avsc). */
  private readFields(): void {
    // transaction
    this.captureTimeUs = this.safeLong();
    this.startTimeUs = this.safeLong();
    this.hasEnd = this.present();
    this.endTimeUs = this.hasEnd ? this.safeLong() : 0;
    this.hasLatency = this.present();
    this.latencyUs = this.hasLatency ? this.safeLong() : 0;
    this.nodeS = this.string();
    this.nodeE = this.pos;
    if (this.present()) {
      this.ifaceS = this.string();
      this.ifaceE = this.pos;
    } else {
      this.ifaceS = this.ifaceE = -1;
    }
    this.clientIpS = this.string();
    this.clientIpE = this.pos;
    this.clientPort = this.long();
    this.serverIpS = this.string();
    this.serverIpE = this.pos;
    this.serverPort = this.long();
    if (this.present()) {
      this.byIpS = this.string();
      this.byIpE = this.pos;
      this.byPort = this.long();
    } else {
      this.byIpS = this.byIpE = -1;
    }
    this.tcp = this.enumIndex(2) === 1;
    this.dnsId = this.long();
    this.opcodeS = this.string();
    this.opcodeE = this.pos;
    let flags = 0;
    for (let bit = 0; bit < 7; bit++) if (this.boolean()) flags |= 1 << bit;
    this.flags = flags;
    if (this.present()) {
      this.qNameS = this.string();
      this.qNameE = this.pos;
      this.qRawS = this.string();
      this.qRawE = this.pos;
      this.qTypeS = this.string();
      this.qTypeE = this.pos;
      this.qClassS = this.string();
      this.qClassE = this.pos;
    } else {
      this.qNameS = this.qNameE = -1;
    }
    this.questionCount = this.long();
    if (this.present()) {
      this.rcodeS = this.string();
      this.rcodeE = this.pos;
    } else {
      this.rcodeS = this.rcodeE = -1;
    }
    this.hasRcodeValue = this.present();
    this.rcodeValue = this.hasRcodeValue ? this.long() : 0;
    this.resolvedN = 0;
    this.answersAt = this.pos;
    this.answersN = this.skipRecords(true);
    this.answerCount = this.long();
    this.authorityCount = this.long();
    this.additionalCount = this.long();
    this.authoritiesAt = this.pos;
    this.authoritiesN = this.skipRecords(false);
    this.additionalsAt = this.pos;
    this.additionalsN = this.skipRecords(false);
    this.queryEdnsAt = this.present() ? this.pos : -1;
    if (this.queryEdnsAt >= 0) this.skipEdns();
    this.responseEdnsAt = this.present() ? this.pos : -1;
    if (this.responseEdnsAt >= 0) this.skipEdns();
    this.hasRequestBytes = this.present();
    this.requestBytes = this.hasRequestBytes ? this.long() : 0;
    this.hasResponseBytes = this.present();
    this.responseBytes = this.hasResponseBytes ? this.long() : 0;
    this.status = this.enumIndex(4);
    if (this.present()) {
      this.malformedS = this.string();
      this.malformedE = this.pos;
    } else {
      this.malformedS = this.malformedE = -1;
    }
    this.duplicateResponses = this.long();
    this.notesAt = this.pos;
    const notes = this.arrayCount();
    for (let i = 0; i < notes; i++) this.string();
    this.arrayEnd(notes);
    this.notesN = notes;

    // enrichment
    this.safeLong();
    this.clientIdS = this.clientIdE = -1;
    if (this.present()) {
      this.clientIdS = this.pos;
      this.skipIdentity();
      this.clientIdE = this.pos;
    }
    this.serverIdS = this.serverIdE = -1;
    if (this.present()) {
      this.serverIdS = this.pos;
      this.skipIdentity();
      this.serverIdE = this.pos;
    }
    this.byIdS = this.byIdE = -1;
    if (this.present()) {
      this.byIdS = this.pos;
      this.skipIdentity();
      this.byIdE = this.pos;
    }
    this.hasTarget = this.present();
    if (this.hasTarget) {
      this.targetInternal = this.boolean();
      this.targetKindS = this.targetKindE = -1;
      if (this.present()) {
        this.targetKindS = this.string();
        this.targetKindE = this.pos;
      }
      this.targetNsS = this.targetNsE = -1;
      if (this.present()) {
        this.targetNsS = this.string();
        this.targetNsE = this.pos;
      }
      this.targetNameS = this.targetNameE = -1;
      if (this.present()) {
        this.targetNameS = this.string();
        this.targetNameE = this.pos;
      }
    }
    this.hasDomain = this.present();
    if (this.hasDomain) {
      this.registeredS = this.registeredE = -1;
      if (this.present()) {
        this.registeredS = this.string();
        this.registeredE = this.pos;
      }
      this.tldS = this.tldE = -1;
      if (this.present()) {
        this.tldS = this.string();
        this.tldE = this.pos;
      }
      this.subdomainS = this.subdomainE = -1;
      if (this.present()) {
        this.subdomainS = this.string();
        this.subdomainE = this.pos;
      }
      this.labelCount = this.long();
      this.longestLabel = this.long();
      this.nameLength = this.long();
      this.entropy = this.double();
      this.digitRatio = this.double();
    }
    this.hasSearch = this.present();
    if (this.hasSearch) {
      this.askedS = this.string();
      this.askedE = this.pos;
      this.isExpansion = this.boolean();
      this.suffixS = this.suffixE = -1;
      if (this.present()) {
        this.suffixS = this.string();
        this.suffixE = this.pos;
      }
    }
    // avsc refuses a truncated body and one with trailing bytes.
    if (this.pos !== this.end) throw GENERAL;
  }

  /** Works out what the document needs beyond copying: whatever may fail, it fails here. */
  private prepare(): void {
    const buf = this.buf;
    // related.ip: each address once, in first-seen order.
    this.relatedN = 0;
    this.relate(this.clientIpS, this.clientIpE);
    this.relate(this.serverIpS, this.serverIpE);
    if (this.byIpS >= 0) this.relate(this.byIpS, this.byIpE);
    const resolved = this.resolved;
    for (let j = 0; j < this.resolvedN; j += 2) this.relate(resolved[j]!, resolved[j + 1]!);

    const client4 = ipv4NumberOfBytes(buf, this.clientIpS, this.clientIpE);
    const server4 = client4 < 0 ? -1 : ipv4NumberOfBytes(buf, this.serverIpS, this.serverIpE);
    // ipv4NumberOfBytes takes exactly the ASCII spellings isIPv4 takes, and an address that is
    // not ASCII sends the record to the general path (writeKey).
    this.clientV4 = client4 >= 0;
    this.community =
      server4 >= 0
        ? communityIdV4(this.tcp ? 6 : 17, client4, this.clientPort, server4, this.serverPort)
        : (communityIdOfBytes(
            this.tcp ? 6 : 17,
            buf,
            this.clientIpS,
            this.clientIpE,
            this.clientPort,
            this.serverIpS,
            this.serverIpE,
            this.serverPort,
          ) ??
          communityId(
            this.tcp ? 'TCP' : 'UDP',
            buf.toString('utf8', this.clientIpS, this.clientIpE),
            this.clientPort,
            buf.toString('utf8', this.serverIpS, this.serverIpE),
            this.serverPort,
          ));
    // Every safe long of microseconds is a time Date formats (2^53 us is about year 2255), so
    // isoMicros' range check cannot fail here.
    this.clientText = this.clientIdS >= 0 ? this.identity(this.clientIdS, this.clientIdE) : null;
    this.serverText = this.serverIdS >= 0 ? this.identity(this.serverIdS, this.serverIdE) : null;
    this.byText = this.byIdS >= 0 ? this.identity(this.byIdS, this.byIdE) : null;
  }

  /** transactionKey of the record, as bytes (its node and addresses must be ASCII). */
  private writeKey(): void {
    const sink = this.keySlab;
    sink.at = sink.start = 0;
    this.sink = sink;
    this.out = sink.buf;
    this.at = 0;
    this.ascii(this.nodeS, this.nodeE);
    this.lit(this.tcp ? KEY_TCP : KEY_UDP);
    this.ascii(this.clientIpS, this.clientIpE);
    this.byte(0x7c);
    this.int(this.clientPort);
    this.byte(0x7c);
    this.ascii(this.serverIpS, this.serverIpE);
    this.byte(0x7c);
    this.int(this.serverPort);
    this.byte(0x7c);
    this.int(this.dnsId);
    this.byte(0x7c);
    this.int(this.startTimeUs);
    this.byte(0x7c);
    if (this.hasEnd) this.int(this.endTimeUs);
    this.keyEnd = this.at;
  }

  /**
   * The {@link transactionKey} of the record the last successful {@link read} took, as UTF-8
   * bytes (what its document `_id` is derived from); valid until the next read.
   */
  transactionKey(): Buffer {
    return this.keySlab.buf.subarray(0, this.keyEnd);
  }

  // ---- writing -------------------------------------------------------------------------

  /** Makes room for `bytes` more in the sink. */
  private room(bytes: number): void {
    if (this.at + bytes <= this.out.length) return;
    const sink = this.sink;
    sink.at = this.at;
    sink.grow(bytes);
    this.out = sink.buf;
    this.at = sink.at;
  }

  private lit(bytes: Uint8Array): void {
    const n = bytes.length;
    this.room(n);
    // TypedArray#set costs a call (about 17 ns); a loop about 1.5 ns per byte.
    if (n >= 12) {
      this.out.set(bytes, this.at);
      this.at += n;
    } else {
      const out = this.out;
      let at = this.at;
      for (let i = 0; i < n; i++) out[at++] = bytes[i]!;
      this.at = at;
    }
  }

  private byte(value: number): void {
    this.room(1);
    this.out[this.at++] = value;
  }

  /** The bytes at [s, e) of the record, which must be ASCII (else the general path). */
  private ascii(s: number, e: number): void {
    this.room(e - s);
    const src = this.buf;
    const out = this.out;
    let at = this.at;
    for (let i = s; i < e; i++) {
      const c = src[i]!;
      if (c >= 0x80) throw GENERAL;
      out[at++] = c;
    }
    this.at = at;
  }

  /** ASCII text (numbers, base64). */
  private text(text: string): void {
    this.room(text.length);
    const out = this.out;
    let at = this.at;
    for (let i = 0; i < text.length; i++) out[at++] = text.charCodeAt(i);
    this.at = at;
  }

  /** The Avro string at [s, e) as a JSON string literal, as JSON.stringify writes it. */
  private str(s: number, e: number): void {
    const src = this.buf;
    this.room(e - s + 2);
    const out = this.out;
    let at = this.at;
    out[at++] = 0x22;
    // Copied and checked in one pass, by a loop: Buffer#copy makes a Uint8Array view of the
    // source per call on Node 20, about 0.5 KB of garbage per document, for no gain here.
    for (let i = s; i < e; i++) {
      const c = src[i]!;
      // Escapes, and anything not ASCII (its UTF-8 may be invalid): as JSON.stringify does it.
      // What was copied is left behind: strSlow writes from this.at again.
      if (c < 0x20 || c === 0x22 || c === 0x5c || c >= 0x80) {
        this.strSlow(s, e);
        return;
      }
      out[at++] = c;
    }
    out[at++] = 0x22;
    this.at = at;
  }

  private strSlow(s: number, e: number): void {
    const text = jsonString(this.buf.toString('utf8', s, e));
    this.room(text.length * 3);
    this.at += this.out.write(text, this.at);
  }

  /** A number as `${value}` writes it (a long or int: always finite). */
  private int(value: number): void {
    if (!Number.isSafeInteger(value)) {
      this.text(`${value}`);
      return;
    }
    this.room(17);
    const out = this.out;
    let n = value;
    if (n < 0) {
      out[this.at++] = 0x2d;
      n = -n;
    }
    let digits = 1;
    for (let rest = n; rest >= 10; rest = Math.floor(rest / 10)) digits++;
    let at = this.at + digits;
    this.at = at;
    do {
      const q = Math.floor(n / 10);
      out[--at] = 0x30 + (n - q * 10);
      n = q;
    } while (n > 0);
  }

  /** A double as JSON.stringify writes it. */
  private num(value: number): void {
    if (Number.isSafeInteger(value)) this.int(value);
    else this.text(Number.isFinite(value) ? `${value}` : 'null');
  }

  /** isoMicros(epochUs) between quotes that the literals around it supply. */
  private time(epochUs: number): void {
    const ms = Math.floor(epochUs / 1000);
    const micros = epochUs - ms * 1000;
    const second = Math.floor(ms / 1000);
    if (second !== this.isoSecond) {
      this.isoPrefix = TEXT(new Date(ms).toISOString().slice(0, -4));
      this.isoSecond = second;
    }
    this.lit(this.isoPrefix);
    this.room(7);
    const out = this.out;
    let at = this.at;
    const milli = ms - second * 1000;
    out[at++] = 0x30 + Math.floor(milli / 100);
    out[at++] = 0x30 + (Math.floor(milli / 10) % 10);
    out[at++] = 0x30 + (milli % 10);
    out[at++] = 0x30 + Math.floor(micros / 100);
    out[at++] = 0x30 + (Math.floor(micros / 10) % 10);
    out[at++] = 0x30 + (micros % 10);
    out[at++] = 0x5a;
    this.at = at;
  }

  /**
   * The `kubernetes` object of the identity at [s, e), rendered once per distinct identity.
   * The few last seen are compared as bytes first: most records repeat the server's identity
   * and their partition's clients, and a hit then costs no key string.
   */
  private identity(s: number, e: number): Buffer {
    const buf = this.buf;
    const n = e - s;
    const recent = this.recent;
    for (let i = 0; i < recent.length; i++) {
      const seen = recent[i]!;
      if (seen.bytes.length === n && buf.compare(seen.bytes, 0, n, s, e) === 0) return seen.text;
    }
    const key = buf.toString('latin1', s, e);
    let seen = this.identities.get(key);
    if (seen === undefined) {
      const identity = this.identityType.fromBuffer(buf.subarray(s, e)) as K8sIdentity;
      seen = { bytes: Buffer.from(key, 'latin1'), text: TEXT(renderKubernetesJson(identity)) };
      if (this.identities.size >= IDENTITY_TEXTS_MAX) this.identities.clear();
      this.identities.set(key, seen);
    }
    if (recent.length >= RECENT_IDENTITIES) recent.pop();
    recent.unshift(seen);
    return seen.text;
  }

  private endpoint(
    ipS: number,
    ipE: number,
    port: number,
    bytes: number,
    has: boolean,
    identity: Buffer | null,
  ): void {
    this.str(ipS, ipE);
    this.lit(L.port);
    this.int(port);
    if (has) {
      this.lit(L.bytes);
      this.int(bytes);
    }
    if (identity !== null) {
      this.lit(L.kubernetes);
      this.lit(identity);
    }
  }

  /** The ResourceRecord array at `at` as JSON array items (the caller writes the brackets). */
  private records(at: number, n: number): void {
    this.pos = at;
    this.long(); // the item count, n
    for (let i = 0; i < n; i++) {
      if (i > 0) this.byte(0x2c);
      this.lit(L.rrName);
      let s = this.string();
      this.str(s, this.pos);
      this.lit(L.type);
      s = this.string();
      this.str(s, this.pos);
      this.lit(L.class);
      s = this.string();
      this.str(s, this.pos);
      this.lit(L.ttl);
      this.int(this.long());
      this.lit(L.data);
      s = this.string();
      this.str(s, this.pos);
      this.byte(0x7d);
    }
  }

  private edns(at: number): void {
    this.pos = at;
    this.lit(L.ednsVersion);
    this.int(this.long());
    this.lit(L.udpSize);
    this.int(this.long());
    this.lit(this.boolean() ? L.doTrue : L.doFalse);
    if (this.present()) {
      this.lit(L.clientSubnet);
      const s = this.string();
      this.str(s, this.pos);
    }
    this.lit(L.options);
    const n = this.arrayCount();
    for (let i = 0; i < n; i++) {
      if (i > 0) this.byte(0x2c);
      this.lit(L.optionCode);
      this.int(this.long());
      this.lit(L.optionData);
      const s = this.string();
      this.text(this.buf.toString('base64', s, this.pos));
      this.lit(L.quoteBrace);
    }
    this.byte(0x5d);
    this.byte(0x7d);
  }

  private optionalStr(name: Uint8Array, s: number, e: number): void {
    if (s < 0) return;
    this.lit(name);
    this.str(s, e);
  }

  /** Adds [s, e) to related.ip unless an equal address is there. */
  private relate(s: number, e: number): void {
    const buf = this.buf;
    for (let i = s; i < e; i++) if (buf[i]! >= 0x80) throw GENERAL; // compared as bytes
    const related = this.related;
    const n = this.relatedN;
    for (let j = 0; j < n; j += 2) {
      if (sameBytes(buf, related[j]!, related[j + 1]!, s, e)) return;
    }
    // Written in place, not pushed after a reset: emptying an array lets V8 drop its storage.
    related[n] = s;
    related[n + 1] = e;
    this.relatedN = n + 2;
  }

  /** The strings at the first `n` / 2 [start, end) pairs of `list`. */
  private stringList(list: readonly number[], n: number): void {
    for (let j = 0; j < n; j += 2) {
      if (j > 0) this.byte(0x2c);
      this.str(list[j]!, list[j + 1]!);
    }
  }

  /** Writes the document, in ecsJson's order. */
  private render(): void {
    this.lit(L.timestamp);
    this.time(this.startTimeUs);
    this.lit(this.head);
    const outcome =
      this.status === UNANSWERED || this.status === MALFORMED
        ? FAILURE
        : this.rcodeS < 0
          ? UNKNOWN
          : sameText(this.buf, this.rcodeS, this.rcodeE, NOERROR)
            ? SUCCESS
            : FAILURE;
    this.lit(TYPE_OUTCOME[this.status === MALFORMED ? 1 : 0]![outcome]!);
    this.time(this.captureTimeUs);
    this.lit(L.start);
    this.time(this.startTimeUs);
    if (this.hasEnd) {
      this.lit(L.end);
      this.time(this.endTimeUs);
    }
    if (this.hasLatency) {
      this.lit(L.duration);
      this.num(this.latencyUs * 1000);
    } else {
      this.lit(L.quoteEnd);
    }

    // network, up to the community_id's opening quote
    this.lit(NETWORK[this.tcp ? 1 : 0]![this.clientV4 ? 0 : 1]!);
    this.text(this.community);
    const bytes =
      (this.hasRequestBytes ? this.requestBytes : 0) +
      (this.hasResponseBytes ? this.responseBytes : 0);
    if (bytes > 0) {
      this.lit(L.quoteBytes);
      this.num(bytes);
      this.lit(L.source);
    } else {
      this.lit(L.quoteSource);
    }
    this.endpoint(
      this.clientIpS,
      this.clientIpE,
      this.clientPort,
      this.requestBytes,
      this.hasRequestBytes,
      this.clientText,
    );
    this.lit(L.destination);
    this.endpoint(
      this.serverIpS,
      this.serverIpE,
      this.serverPort,
      this.responseBytes,
      this.hasResponseBytes,
      this.serverText,
    );
    this.lit(L.related);
    this.stringList(this.related, this.relatedN);
    const question = this.qNameS >= 0;
    if (question) {
      this.lit(L.hosts);
      this.str(this.qNameS, this.qNameE);
    }
    this.lit(L.host);
    this.str(this.nodeS, this.nodeE);
    this.lit(L.hostname);
    this.str(this.nodeS, this.nodeE);
    this.lit(L.observer);
    this.str(this.nodeS, this.nodeE);
    this.lit(L.observerRest);
    if (this.ifaceE > this.ifaceS) {
      this.lit(L.ingress);
      this.str(this.ifaceS, this.ifaceE);
      this.lit(L.closeTwo);
    }

    // dns
    this.lit(L.dns);
    this.int(this.dnsId);
    this.lit(L.opCode);
    this.str(this.opcodeS, this.opcodeE);
    this.lit(this.status === ANSWERED || this.status === ORPHAN ? L.typeAnswer : L.typeQuery);
    this.optionalStr(L.responseCode, this.rcodeS, this.rcodeE);
    this.lit(HEADER_FLAGS[this.flags]!);
    if (question) {
      this.lit(L.question);
      this.str(this.qNameS, this.qNameE);
      this.lit(L.type);
      this.str(this.qTypeS, this.qTypeE);
      this.lit(L.class);
      this.str(this.qClassS, this.qClassE);
      if (this.hasDomain) {
        this.optionalStr(L.registeredDomain, this.registeredS, this.registeredE);
        this.optionalStr(L.subdomain, this.subdomainS, this.subdomainE);
        this.optionalStr(L.topLevelDomain, this.tldS, this.tldE);
      }
      this.byte(0x7d);
    }
    if (this.answersN > 0) {
      this.lit(L.answers);
      this.records(this.answersAt, this.answersN);
      this.byte(0x5d);
    }
    if (this.resolvedN > 0) {
      this.lit(L.resolvedIp);
      this.stringList(this.resolved, this.resolvedN);
      this.byte(0x5d);
    }

    // dnsflow
    this.lit(L.status[this.status]!);
    if (this.hasLatency) {
      this.lit(L.latencyUs);
      this.int(this.latencyUs);
    }
    this.lit(L.questionCount);
    this.int(this.questionCount);
    if (question) {
      this.lit(L.nameRaw);
      this.str(this.qRawS, this.qRawE);
      this.byte(0x7d);
    }
    if (this.hasRcodeValue) {
      this.lit(L.rcodeValue);
      this.int(this.rcodeValue);
    }
    this.lit(L.answerCount);
    this.int(this.answerCount);
    this.lit(L.authorityCount);
    this.int(this.authorityCount);
    this.lit(L.additionalCount);
    this.int(this.additionalCount);
    if (this.authoritiesN > 0) {
      this.lit(L.authorities);
      this.records(this.authoritiesAt, this.authoritiesN);
      this.byte(0x5d);
    }
    if (this.additionalsN > 0) {
      this.lit(L.additionals);
      this.records(this.additionalsAt, this.additionalsN);
      this.byte(0x5d);
    }
    if (this.queryEdnsAt >= 0 || this.responseEdnsAt >= 0) {
      this.lit(L.edns);
      if (this.queryEdnsAt >= 0) {
        this.lit(L.ednsQuery);
        this.edns(this.queryEdnsAt);
      }
      if (this.responseEdnsAt >= 0) {
        if (this.queryEdnsAt >= 0) this.byte(0x2c);
        this.lit(L.ednsResponse);
        this.edns(this.responseEdnsAt);
      }
      this.byte(0x7d);
    }
    this.optionalStr(L.malformedReason, this.malformedS, this.malformedE);
    this.lit(L.duplicateResponses);
    this.int(this.duplicateResponses);
    if (this.notesN > 0) {
      this.lit(L.notes);
      this.pos = this.notesAt;
      const n = this.arrayCount();
      for (let i = 0; i < n; i++) {
        if (i > 0) this.byte(0x2c);
        const s = this.string();
        this.str(s, this.pos);
      }
      this.byte(0x5d);
    }
    if (this.byIpS >= 0) {
      this.lit(L.answeredBy);
      this.str(this.byIpS, this.byIpE);
      this.lit(L.port);
      this.int(this.byPort);
      if (this.byText !== null) {
        this.lit(L.kubernetes);
        this.lit(this.byText);
      }
      this.byte(0x7d);
    }
    if (this.hasTarget) {
      this.lit(this.targetInternal ? L.queryTargetTrue : L.queryTargetFalse);
      this.optionalStr(L.kind, this.targetKindS, this.targetKindE);
      this.optionalStr(L.namespace, this.targetNsS, this.targetNsE);
      this.optionalStr(L.name, this.targetNameS, this.targetNameE);
      this.byte(0x7d);
    }
    if (this.hasDomain) {
      this.lit(L.labelCount);
      this.int(this.labelCount);
      this.lit(L.longestLabel);
      this.int(this.longestLabel);
      this.lit(L.nameLength);
      this.int(this.nameLength);
      this.lit(L.entropy);
      this.num(this.entropy);
      this.lit(L.digitRatio);
      this.num(this.digitRatio);
      this.byte(0x7d);
    }
    if (this.hasSearch) {
      this.lit(L.askedName);
      this.str(this.askedS, this.askedE);
      this.lit(this.isExpansion ? L.isExpansionTrue : L.isExpansionFalse);
      this.optionalStr(L.suffix, this.suffixS, this.suffixE);
      this.byte(0x7d);
    }
    this.byte(0x7d);
    this.byte(0x7d);
  }
}

function isAddressType(buf: Buffer, s: number, e: number): boolean {
  const n = e - s;
  if (n === 1) return buf[s] === 0x41; // A
  return (
    n === 4 && buf[s] === 0x41 && buf[s + 1] === 0x41 && buf[s + 2] === 0x41 && buf[s + 3] === 0x41
  );
}

function sameBytes(buf: Buffer, s1: number, e1: number, s2: number, e2: number): boolean {
  if (e1 - s1 !== e2 - s2) return false;
  for (let i = 0; i < e1 - s1; i++) if (buf[s1 + i] !== buf[s2 + i]) return false;
  return true;
}

function sameText(buf: Buffer, s: number, e: number, text: Uint8Array): boolean {
  if (e - s !== text.length) return false;
  for (let i = 0; i < text.length; i++) if (buf[s + i] !== text[i]) return false;
  return true;
}
