import type { DnsTransaction } from '@dnsflow/schema';
import type { Frame } from './capture/frame';
import { readCaptureFile } from './capture/pcap-file';
import { createPacketDecoder } from './decode/packet';
import type { PacketDropReason } from './decode/segment';
import type { CollectorConfig } from './config';
import type { CollectorMetrics } from './metrics';
import { Pairer, type PairingEvents } from './pairing/pairer';

/** The parts of the collector config the decode/pair pipeline reads. */
export type PipelineConfig = Pick<CollectorConfig, 'node' | 'capture' | 'decode' | 'pairing'>;

/**
 * Frames in, transactions out: link/IP/UDP/TCP decoding, DNS decoding and pairing. The
 * same pipeline serves live capture, `dnsflow collect --read` and `dnsflow decode`.
 */
export interface DnsPipeline {
  /** Takes one captured frame; emits through the callback, never throws. */
  frame(frame: Frame): void;
  /** Moves time forward without a packet (live capture when traffic stops). */
  advance(nowUs: number): void;
  /** Emits everything pending (end of a file, shutdown). */
  finish(): void;
  readonly pendingCount: number;
}

export interface PipelineHooks {
  onTransaction(tx: DnsTransaction): void;
  metrics?: CollectorMetrics;
  /** Emission clock for captureTimeUs (tests and `decode` pin it). */
  nowUs?: () => number;
  /** Frames' bytes are valid only during `frame()` (see `FrameSource.lendsFrames`). */
  framesLent?: boolean;
}

/** Builds the decode → pair pipeline from config. */
export function createPipeline(config: PipelineConfig, hooks: PipelineHooks): DnsPipeline {
  const metrics = hooks.metrics;
  const drops = {
    drop(reason: PacketDropReason, count = 1): void {
      metrics?.drop(reason, count);
    },
  };
  const decoder = createPacketDecoder({
    dnsPorts: config.capture.ports,
    fragments: {
      maxBytes: config.decode.maxFragmentBytes,
      timeoutMs: config.decode.fragmentTimeoutMs,
    },
    tcp: {
      maxFlowBytes: config.decode.tcpMaxFlowBytes,
      maxTotalBytes: config.decode.tcpMaxTotalBytes,
      idleTimeoutMs: config.decode.tcpIdleTimeoutMs,
    },
    drops,
  });
  const events: PairingEvents | undefined = metrics?.pairingEvents();
  const emit = (tx: DnsTransaction): void => {
    metrics?.transaction(tx);
    hooks.onTransaction(tx);
  };
  const pairerOptions = {
    timeoutMs: config.pairing.timeoutMs,
    maxPending: config.pairing.maxPending,
    maxPendingBytes: config.pairing.maxPendingBytes,
    duplicateWindowMs: config.pairing.duplicateWindowMs,
    dnsPorts: new Set(config.capture.ports),
    node: config.node,
    copyResponses: hooks.framesLent === true,
    ...(hooks.nowUs ? { nowUs: hooks.nowUs } : {}),
  };
  const pairer = new Pairer(pairerOptions, emit, events);
  return {
    frame(frame: Frame): void {
      metrics?.packet();
      for (const segment of decoder.decode(frame)) pairer.handle(segment);
    },
    advance(nowUs: number): void {
      for (const segment of decoder.expire(nowUs)) pairer.handle(segment);
      pairer.advance(nowUs);
      metrics?.pending.set(pairer.pendingCount);
    },
    finish(): void {
      pairer.flush();
      metrics?.pending.set(0);
    },
    get pendingCount(): number {
      return pairer.pendingCount;
    },
  };
}

/** What replaying one capture file produced. */
export interface DecodedCapture {
  transactions: DnsTransaction[];
  frames: number;
  /** Why reading stopped early (a truncated or corrupt file), after what was readable. */
  error: Error | null;
}

/**
 * Decodes and pairs a whole pcap/pcapng file in memory (for `dnsflow decode`, the
 * conformance suite and tests). Queries still pending at the end are UNANSWERED.
 */
export async function decodeCaptureFile(
  path: string,
  config: PipelineConfig,
  hooks: Omit<PipelineHooks, 'onTransaction'> = {},
): Promise<DecodedCapture> {
  const transactions: DnsTransaction[] = [];
  const pipeline = createPipeline(config, {
    ...hooks,
    onTransaction: (tx) => transactions.push(tx),
  });
  let frames = 0;
  let error: Error | null = null;
  try {
    for await (const frame of readCaptureFile(path)) {
      frames++;
      pipeline.frame(frame);
    }
  } catch (err) {
    error = err instanceof Error ? err : new Error(String(err));
  }
  pipeline.finish();
  return { transactions, frames, error };
}
