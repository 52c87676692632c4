/**
 * A capture file that is not a valid pcap or pcapng file from some byte on: bad magic,
 * an impossible block or record length, or an end of file in the middle of a record.
 * Readers deliver every frame before `offset` first, then throw this.
 */
export class CaptureFileError extends Error {
  override readonly name = 'CaptureFileError';
  /** Reading the same bytes again gives the same error. */
  readonly retriable = false;

  constructor(
    /** Path of the file, or null for an in-memory buffer. */
    readonly path: string | null,
    /** Byte offset in the file where the bad record or block starts. */
    readonly offset: number,
    /** What a valid file has there. */
    readonly expected: string,
    /** What this file has there. */
    readonly found: string,
    options?: { cause?: unknown },
  ) {
    super(
      `${path ?? '<buffer>'}: bad capture file at byte ${offset}: expected ${expected}, found ${found}`,
      options,
    );
  }
}

/** Why a live capture could not start on an interface. */
export type CaptureInterfaceProblem =
  'no-such-interface' | 'permission-denied' | 'interface-down' | 'bad-filter' | 'open-failed';

const CAPABILITY_HINT =
  'live capture needs CAP_NET_RAW (and CAP_NET_ADMIN for promiscuous mode): run as root, ' +
  'grant it to the binary (setcap cap_net_raw,cap_net_admin+eip "$(command -v node)"), or in ' +
  'Kubernetes add NET_RAW and NET_ADMIN to securityContext.capabilities.add';

/**
 * libpcap refused to open a live capture on one interface. The message names the
 * interface, what libpcap said and what to do about it; `problem` lets callers branch
 * without parsing text.
 */
export class CaptureInterfaceError extends Error {
  override readonly name = 'CaptureInterfaceError';
  /** Trying the same interface again gives the same answer until someone changes the host. */
  readonly retriable = false;
  /** What the operator can do about it. */
  readonly hint: string;

  constructor(
    /** The interface as configured (`any`, `eth0`, ...). */
    readonly iface: string,
    readonly problem: CaptureInterfaceProblem,
    /** libpcap's own error text. */
    readonly detail: string,
    /** Interfaces libpcap can see, to help with a typo; empty when unknown. */
    readonly available: readonly string[] = [],
    options?: { cause?: unknown; filter?: string },
  ) {
    const hint = captureHint(problem, available, options?.filter);
    super(`cannot capture on interface "${iface}": ${problemText(problem)} (${detail}); ${hint}`, {
      cause: options?.cause,
    });
    this.hint = hint;
  }
}

function problemText(problem: CaptureInterfaceProblem): string {
  switch (problem) {
    case 'no-such-interface':
      return 'no such interface';
    case 'permission-denied':
      return 'permission denied';
    case 'interface-down':
      return 'the interface is down';
    case 'bad-filter':
      return 'libpcap rejected the BPF filter';
    case 'open-failed':
      return 'libpcap could not open it';
  }
}

function captureHint(
  problem: CaptureInterfaceProblem,
  available: readonly string[],
  filter: string | undefined,
): string {
  switch (problem) {
    case 'no-such-interface':
      return available.length > 0
        ? `interfaces on this host: ${available.join(', ')} (or "any" for all of them)`
        : 'check the name with `ip link` (or use "any" for all interfaces)';
    case 'permission-denied':
      return CAPABILITY_HINT;
    case 'interface-down':
      return 'bring it up (`ip link set dev <name> up`) or capture on "any"';
    case 'bad-filter':
      return `fix capture.filter (see pcap-filter(7)); the filter was: ${filter ?? '<none>'}`;
    case 'open-failed':
      return `check the interface and the capture settings; ${CAPABILITY_HINT}`;
  }
}

/**
 * The workload map file of the `workload` DNS metrics context is missing, not JSON, or
 * has entries that are not `namespace/workload` → addresses or CIDRs.
 */
export class WorkloadMapError extends Error {
  override readonly name = 'WorkloadMapError';
  /** The same file gives the same answer until someone fixes it. */
  readonly retriable = false;

  constructor(
    readonly path: string,
    /** What is wrong, entry by entry. */
    readonly detail: string,
    options?: { cause?: unknown },
  ) {
    super(`workload map ${path}: ${detail}`, options);
  }
}
