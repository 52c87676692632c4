import * as dnsPacket from 'dns-packet';

/** A dns-packet codec: `decode.bytes` holds how many bytes the last decode read. */
interface Codec<T> {
  decode: ((buf: Buffer, offset?: number) => T) & { bytes: number };
}

/**
 * The parts of dns-packet that its published typings leave out but that the library
 * exports and documents as its per-name and per-record codecs; typed here once.
 */
interface DnsPacketParts {
  name: Codec<string>;
  record(type: string): Codec<unknown>;
}

export const packetLib = dnsPacket as unknown as DnsPacketParts;

/** dns-packet's type registry (its `types.js`, not re-exported by the index). */
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const packetTypes = require('dns-packet/types') as { toString(type: number): string };
