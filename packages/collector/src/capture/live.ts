import { endianness } from 'node:os';
// `import =` binds node_pcap's own exports object (an `import *` namespace is a copy with
// getters), which is what the warning handler assignment below has to reach.
// eslint-disable-next-line @typescript-eslint/no-require-imports
import pcap = require('pcap');
import type { Logger } from '@dnsflow/runtime';
import type { FrameSource, InterfaceStats } from '../collector';
import { CaptureInterfaceError, type CaptureInterfaceProblem } from '../errors';
import { TimeOrderedMerge } from './merge';
import { LinkType, type Frame } from './frame';

/** Options of a live libpcap capture. Names and defaults match `capture.*` of the config. */
export interface LiveCaptureOptions {
  /** Interfaces to capture on; `any` captures all of them with Linux cooked (SLL) headers. */
  interfaces: readonly string[];
  /** DNS ports the built filter selects, 53 included (default `[53]`). */
  ports?: readonly number[];
  /** Ports captured too but not decoded by the pipeline (853, DNS over TLS), for counting. */
  metadataPorts?: readonly number[];
  /** A BPF filter (pcap-filter(7)) used instead of the one built from `ports`. */
  filter?: string;
  /** Bytes kept of each packet (default 65535: whole DNS messages, also over TCP). */
  snaplenBytes?: number;
  /** Kernel ring buffer per interface (default 32 MiB); too small shows up as `dropped`. */
  bufferBytes?: number;
  /** Promiscuous mode (default false; ignored on `any`, where libpcap cannot set it). */
  promiscuous?: boolean;
  /**
   * How long the kernel may hold packets before waking the reader (default 100 ms). Batches
   * wakeups under load; packet timestamps are the kernel's, so latency figures do not
   * depend on it. 0 selects immediate mode: one wakeup per packet.
   */
  bufferTimeoutMs?: number;
  /**
   * Frames kept while nobody consumes them yet: between opening and `run()`. Past it they
   * are dropped and counted in `stats()[].droppedBeforeRun` (default 10000).
   */
  maxPendingFrames?: number;
  /**
   * With several interfaces, how long a frame waits for earlier frames of the other
   * handles before it goes on (default 300 ms: three block timeouts), so pairing sees the
   * copies of a packet in wire order (see capture/merge.ts). One interface: no wait.
   */
  reorderWindowMs?: number;
  /** Frames held for that ordering at most; past it the oldest go on early (default 50000). */
  maxReorderFrames?: number;
  /** Where libpcap's warnings and filter fallbacks are logged. */
  log?: Pick<Logger, 'info' | 'warn'>;
  /**
   * Hand the consumer views of libpcap's buffer, overwritten by the next packet, instead
   * of a copy of each frame (default false). For a consumer that copies what it keeps,
   * as the collector's pipeline does (see `FrameSource.lendsFrames`).
   */
  lendFrames?: boolean;
}

/** One opened interface. */
export interface LiveInterface {
  /** The name as configured. */
  name: string;
  /** LINKTYPE_* of the frames it delivers (`any` gives LINUX_SLL, `lo` ETHERNET). */
  linkType: number;
  /** The BPF filter in force on it. */
  filter: string;
}

/**
 * libpcap's counters for one interface (pcap_stats), with what this source did with the
 * frames: `received` is ps_recv, `dropped` ps_drop (kernel buffer full: the reader was
 * too slow), `ifDropped` ps_ifdrop (dropped by the NIC or its driver, 0 when unknown).
 */
export interface LiveInterfaceStats extends InterfaceStats {
  linkType: number;
  /** Frames handed to the consumer. */
  captured: number;
  /** Frames dropped because `run()` had not been called and the pending queue was full. */
  droppedBeforeRun: number;
}

const DEFAULT_SNAPLEN_BYTES = 65535;
const DEFAULT_BUFFER_BYTES = 32 * 1024 * 1024;
const DEFAULT_BUFFER_TIMEOUT_MS = 100;
const DEFAULT_MAX_PENDING_FRAMES = 10_000;
const DEFAULT_REORDER_WINDOW_MS = 300;
const DEFAULT_MAX_REORDER_FRAMES = 50_000;
/** How often frames held for ordering are looked at when no packet arrives. */
const REORDER_TICK_MS = 50;

/** libpcap's own names for link types (node_pcap reports strings), to LINKTYPE_* numbers. */
const LINK_TYPE_BY_NAME: Record<string, number> = {
  LINKTYPE_NULL: LinkType.NULL,
  LINKTYPE_ETHERNET: LinkType.ETHERNET,
  LINKTYPE_RAW: LinkType.RAW,
  LINKTYPE_LINUX_SLL: LinkType.LINUX_SLL,
  LINKTYPE_IEEE802_11_RADIO: 127,
};

/**
 * The BPF filter for DNS on `ports`: UDP and TCP from or to any of them over IPv4 and
 * IPv6, plus every IP fragment, because a fragment after the first carries no UDP header
 * and so no port (the decoder reassembles and keeps only DNS). With `vlan` (default true)
 * the same again inside one or two 802.1Q tags (QinQ): `vlan` shifts every later offset,
 * so it can only come at the end of an `or`.
 */
export function buildDnsFilter(ports: readonly number[], options: { vlan?: boolean } = {}): string {
  if (ports.length === 0) throw new RangeError('buildDnsFilter: at least one port is needed');
  for (const port of ports) {
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      throw new RangeError(`buildDnsFilter: expected ports between 1 and 65535, found ${port}`);
    }
  }
  const unique = [...new Set(ports)].sort((a, b) => a - b);
  const dns = `((udp or tcp) and (${unique.map((p) => `port ${p}`).join(' or ')}))`;
  // IPv4: MF flag or a non-zero offset. IPv6: a Fragment header right after the fixed
  // header (next header 44); one behind other extension headers is not matched.
  const fragments = '(ip and ip[6:2] & 0x3fff != 0) or (ip6 and ip6[6] = 44)';
  const base = `(${dns} or ${fragments})`;
  if (options.vlan === false) return base;
  return `${base} or (vlan and (${base} or (vlan and ${base})))`;
}

interface OpenedInterface extends LiveInterface {
  /** Its position among the opened interfaces: its source number in the merge. */
  index: number;
  session: pcap.PcapSession;
  captured: number;
  droppedBeforeRun: number;
  /** Counters read just before closing, so stats() still answers after stop(). */
  lastStats: pcap.CaptureStats | null;
}

const LITTLE_ENDIAN = endianness() === 'LE';

/**
 * A live capture on one or more interfaces through libpcap (the `pcap` package), as a
 * {@link FrameSource}. Every frame is copied out of libpcap's buffer (or lent, see
 * `lendFrames`), stamped with the kernel's capture time and the interface name.
 *
 * There is no backpressure to apply to a live interface: the kernel ring (`bufferBytes`)
 * is the bound, and what overflows it is counted by the kernel and reported by `stats()`.
 */
export class LiveCapture implements FrameSource {
  readonly live = true;
  readonly lendsFrames: boolean;
  private readonly opened: OpenedInterface[] = [];
  private consumer: ((frame: Frame) => void) | null = null;
  private pending: Frame[] = [];
  private readonly maxPendingFrames: number;
  private stopped = false;
  private failure: unknown = null;
  private settle: (() => void) | null = null;
  private readonly finished: Promise<void>;
  /** Puts several handles' frames in capture-time order; null with one interface. */
  private readonly merge: TimeOrderedMerge<Frame> | null = null;
  private readonly sourceOf = new Map<string, number>();
  private reorderTimer: NodeJS.Timeout | null = null;
  private releasedEarly = 0;
  private readonly log: LiveCaptureOptions['log'];

  /**
   * Opens every interface at once, so a wrong name or missing capability fails here, at
   * startup, with a {@link CaptureInterfaceError}; already opened interfaces are closed
   * again. Frames are queued (bounded) until {@link LiveCapture.run} is called.
   */
  constructor(options: LiveCaptureOptions) {
    if (options.interfaces.length === 0) {
      throw new RangeError('LiveCapture: expected at least one interface, found none');
    }
    this.maxPendingFrames = options.maxPendingFrames ?? DEFAULT_MAX_PENDING_FRAMES;
    this.lendsFrames = options.lendFrames ?? false;
    this.finished = new Promise<void>((resolve) => (this.settle = resolve));
    this.log = options.log;
    try {
      for (const name of new Set(options.interfaces)) {
        this.opened.push(this.open(name, this.opened.length, options));
        this.sourceOf.set(name, this.opened.length - 1);
      }
    } catch (err) {
      this.closeAll();
      throw err;
    }
    if (this.opened.length > 1) {
      this.merge = new TimeOrderedMerge<Frame>({
        sources: this.opened.length,
        windowUs: (options.reorderWindowMs ?? DEFAULT_REORDER_WINDOW_MS) * 1000,
        maxQueued: options.maxReorderFrames ?? DEFAULT_MAX_REORDER_FRAMES,
        deliver: (frame) => {
          this.deliver(frame);
        },
        onEarly: (count) => this.onReleasedEarly(count),
      });
    }
  }

  /** The interfaces being captured, with their link type and filter. */
  get interfaces(): readonly LiveInterface[] {
    return this.opened.map(({ name, linkType, filter }) => ({ name, linkType, filter }));
  }

  /**
   * Delivers frames to `onFrame` until {@link LiveCapture.stop}. If `onFrame` throws,
   * capture stops and the returned promise rejects with that error.
   */
  run(onFrame: (frame: Frame) => void): Promise<void> {
    if (this.consumer) return Promise.reject(new Error('LiveCapture.run called twice'));
    this.consumer = onFrame;
    const queued = this.pending;
    this.pending = [];
    if (this.merge) {
      for (const frame of queued) this.merge.push(this.sourceOf.get(frame.iface ?? '') ?? 0, frame);
      this.merge.release(Date.now() * 1000);
      this.reorderTimer = setInterval(
        () => this.merge?.release(Date.now() * 1000),
        REORDER_TICK_MS,
      );
      this.reorderTimer.unref();
    } else {
      for (const frame of queued) {
        if (!this.deliver(frame)) break;
      }
    }
    if (this.stopped) this.settle?.();
    return this.finished.then(() => {
      const failure = this.failure;
      if (failure === null) return;
      throw failure instanceof Error
        ? failure
        : new Error('frame consumer threw a non-Error', { cause: failure });
    });
  }

  /** Stops capturing on every interface and releases libpcap's handles; idempotent. */
  stop(): Promise<void> {
    if (!this.stopped) {
      if (this.reorderTimer) clearInterval(this.reorderTimer);
      this.reorderTimer = null;
      // What waits for ordering was captured: it goes on before the capture ends.
      if (this.consumer && this.failure === null) this.merge?.flush();
      this.stopped = true;
      this.closeAll();
      this.pending = [];
      this.settle?.();
    }
    return Promise.resolve();
  }

  /** libpcap's counters per interface; after stop(), the last ones read. */
  stats(): LiveInterfaceStats[] {
    return this.opened.map((i) => {
      const s = i.lastStats ?? readStats(i.session);
      return {
        iface: i.name,
        linkType: i.linkType,
        received: s.ps_recv,
        dropped: s.ps_drop,
        ifDropped: s.ps_ifdrop,
        captured: i.captured,
        droppedBeforeRun: i.droppedBeforeRun,
      };
    });
  }

  private open(name: string, index: number, options: LiveCaptureOptions): OpenedInterface {
    const userFilter = options.filter;
    const ports = [...(options.ports ?? [53]), ...(options.metadataPorts ?? [])];
    let filter = userFilter ?? buildDnsFilter(ports);
    let session: pcap.PcapSession;
    try {
      session = createSession(name, filter, options);
    } catch (err) {
      const detail = errorText(err);
      // Link types without 802.1Q (Linux cooked on `any`, raw IP on tunnels) reject `vlan`;
      // their frames carry no tag to look behind, so the plain filter misses nothing.
      if (userFilter === undefined && /no VLAN support/i.test(detail)) {
        filter = buildDnsFilter(ports, { vlan: false });
        options.log?.info({ iface: name, detail }, 'capture filter without VLAN clauses');
        try {
          session = createSession(name, filter, options);
        } catch (retryErr) {
          throw openError(name, retryErr, filter);
        }
      } else {
        throw openError(name, err, filter);
      }
    }
    const linkType = linkTypeNumber(String(session.link_type));
    const opened: OpenedInterface = {
      index,
      name,
      linkType,
      filter,
      session,
      captured: 0,
      droppedBeforeRun: 0,
      lastStats: null,
    };
    session.on('packet', (packet: pcap.PacketWithHeader) => this.onPacket(opened, packet));
    for (const text of takeWarnings()) options.log?.warn({ iface: name, text }, 'libpcap warning');
    return opened;
  }

  private onPacket(iface: OpenedInterface, packet: pcap.PacketWithHeader): void {
    const h = packet.header;
    const sec = LITTLE_ENDIAN ? h.readUInt32LE(0) : h.readUInt32BE(0);
    const usec = LITTLE_ENDIAN ? h.readUInt32LE(4) : h.readUInt32BE(4);
    const capLen = LITTLE_ENDIAN ? h.readUInt32LE(8) : h.readUInt32BE(8);
    const origLen = LITTLE_ENDIAN ? h.readUInt32LE(12) : h.readUInt32BE(12);
    const view = packet.buf.subarray(0, Math.min(capLen, packet.buf.length));
    const frame: Frame = {
      tsUs: sec * 1_000_000 + usec,
      linkType: iface.linkType,
      // libpcap reuses the buffer for the next packet: a frame kept past this call (by a
      // consumer that does not copy, queued until run(), or held anywhere on its way, such
      // as to be put in time order with other handles' frames) must be a copy. Lent only
      // when it goes straight to the consumer.
      data: this.lendsFrames && this.consumer && !this.merge ? view : Buffer.from(view),
      origLen,
      iface: iface.name,
    };
    if (this.consumer && this.merge) {
      if (this.stopped) return;
      this.merge.push(iface.index, frame);
      iface.captured += 1;
      this.merge.release(Date.now() * 1000);
    } else if (this.consumer) {
      if (this.deliver(frame)) iface.captured += 1;
    } else if (this.pending.length < this.maxPendingFrames) {
      this.pending.push(frame);
      iface.captured += 1;
    } else {
      iface.droppedBeforeRun += 1;
    }
  }

  /** Frames that left the ordering early because too many waited: logged at the first and every 10,000. */
  private onReleasedEarly(count: number): void {
    const before = this.releasedEarly;
    this.releasedEarly += count;
    if (Math.floor(before / 10_000) !== Math.floor(this.releasedEarly / 10_000) || before === 0) {
      this.log?.warn(
        { releasedEarly: this.releasedEarly },
        'capture: frames went on before the reorder window ended (too many waiting); copies of one packet may pair out of order',
      );
    }
  }

  /** Hands one frame over; a throwing consumer stops the capture (returns false). */
  private deliver(frame: Frame): boolean {
    if (this.stopped || !this.consumer) return false;
    try {
      this.consumer(frame);
      return true;
    } catch (err) {
      // An exception must not reach the addon: it would be fatal to the process there.
      this.failure = err;
      void this.stop();
      return false;
    }
  }

  private closeAll(): void {
    for (const i of this.opened) {
      if (i.lastStats !== null) continue;
      i.lastStats = readStats(i.session);
      i.session.close();
    }
  }
}

/** Warnings libpcap reported while the last session was opened. */
let warnings: string[] = [];

function takeWarnings(): string[] {
  const taken = warnings;
  warnings = [];
  return taken;
}

// node_pcap reports warnings (an interface without an IPv4 address, for one) through one
// module-wide handler that writes to the console by default; route them to our logs.
(pcap as { warningHandler: (text: string) => void }).warningHandler = (text: string) => {
  warnings.push(text);
};

function createSession(
  name: string,
  filter: string,
  options: LiveCaptureOptions,
): pcap.PcapSession {
  takeWarnings();
  return pcap.createSession(name, {
    filter,
    snap_length: options.snaplenBytes ?? DEFAULT_SNAPLEN_BYTES,
    buffer_size: options.bufferBytes ?? DEFAULT_BUFFER_BYTES,
    buffer_timeout: options.bufferTimeoutMs ?? DEFAULT_BUFFER_TIMEOUT_MS,
    promiscuous: name === 'any' ? false : (options.promiscuous ?? false),
  });
}

function readStats(session: pcap.PcapSession): pcap.CaptureStats {
  try {
    return session.stats();
  } catch {
    // Only a closed handle has no counters; closeAll() keeps the last ones before that.
    return { ps_recv: 0, ps_drop: 0, ps_ifdrop: 0 };
  }
}

function linkTypeNumber(name: string): number {
  const known = LINK_TYPE_BY_NAME[name];
  if (known !== undefined) return known;
  // node_pcap names only a few link types; others arrive as "Unknown linktype 276".
  const n = /(\d+)$/.exec(name);
  return n ? Number(n[1]) : -1;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function availableInterfaces(): string[] {
  try {
    return pcap.findalldevs().map((d) => d.name);
  } catch {
    return [];
  }
}

function openError(name: string, err: unknown, filter: string): CaptureInterfaceError {
  const detail = errorText(err);
  const available = availableInterfaces();
  let problem: CaptureInterfaceProblem;
  if (/permission|not permitted|EPERM|EACCES/i.test(detail)) problem = 'permission-denied';
  else if (/no such device/i.test(detail) || (name !== 'any' && !available.includes(name)))
    problem = 'no-such-interface';
  else if (/not up/i.test(detail)) problem = 'interface-down';
  else if (/syntax error|illegal|unknown|filter|expression|VLAN support/i.test(detail))
    problem = 'bad-filter';
  else problem = 'open-failed';
  return new CaptureInterfaceError(name, problem, detail, available, { cause: err, filter });
}

/**
 * Opens a live capture for `dnsflow collect`, lending its frames to the pipeline unless
 * `options.lendFrames` says otherwise; throws a {@link CaptureInterfaceError} when an
 * interface cannot be opened. See {@link LiveCapture}.
 */
export function liveSource(
  options: Omit<LiveCaptureOptions, 'log'>,
  log?: Pick<Logger, 'info' | 'warn'>,
): LiveCapture {
  return new LiveCapture({ lendFrames: true, ...options, ...(log ? { log } : {}) });
}
