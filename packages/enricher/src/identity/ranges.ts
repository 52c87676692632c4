import { BlockList, isIP } from 'node:net';

/** IPv4 dotted quad to an unsigned 32-bit number, or -1 when it is not one. */
export function ipv4Number(ip: string): number {
  let value = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < ip.length; i++) {
    const c = ip.charCodeAt(i);
    if (c === 0x2e) {
      if (digits === 0 || ++dots > 3) return -1;
      value = value * 256 + part;
      part = 0;
      digits = 0;
    } else if (c >= 0x30 && c <= 0x39 && digits < 3) {
      part = part * 10 + (c - 0x30);
      digits++;
      if (part > 255) return -1;
    } else {
      return -1;
    }
  }
  if (dots !== 3 || digits === 0) return -1;
  return value * 256 + part;
}

/**
 * A set of CIDR ranges to test addresses against. IPv4, the common case on the join path, is
 * matched with integer arithmetic (node's BlockList builds an object per check); IPv6 goes
 * through BlockList.
 */
export class AddressRanges {
  private readonly v4: { network: number; size: number }[] = [];
  private readonly v6 = new BlockList();
  private hasV6 = false;

  /** Invalid entries are skipped (configuration and node specs validate them upstream). */
  constructor(cidrs: readonly string[]) {
    for (const cidr of cidrs) {
      const [address, bits] = cidr.split('/');
      const prefix = Number(bits);
      if (!address || !Number.isInteger(prefix) || prefix < 0) continue;
      const family = isIP(address);
      if (family === 4 && prefix <= 32) {
        const size = 2 ** (32 - prefix);
        const network = Math.floor(ipv4Number(address) / size) * size;
        this.v4.push({ network, size });
      } else if (family === 6 && prefix <= 128) {
        this.v6.addSubnet(address, prefix, 'ipv6');
        this.hasV6 = true;
      }
    }
  }

  get empty(): boolean {
    return this.v4.length === 0 && !this.hasV6;
  }

  has(ip: string): boolean {
    const n = ipv4Number(ip);
    if (n >= 0) {
      for (const { network, size } of this.v4) if (n >= network && n < network + size) return true;
      return false;
    }
    return this.hasV6 && isIP(ip) === 6 && this.v6.check(ip, 'ipv6');
  }
}
