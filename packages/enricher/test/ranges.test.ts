import { AddressRanges, ipv4Number } from '../src/identity/ranges';

describe('address ranges', () => {
  it('reads dotted quads and refuses anything else', () => {
    expect(ipv4Number('10.244.1.17')).toBe(((10 * 256 + 244) * 256 + 1) * 256 + 17);
    expect(ipv4Number('255.255.255.255')).toBe(2 ** 32 - 1);
    for (const bad of [
      '10.244.1',
      '10.244.1.256',
      '10..1.1',
      '1.2.3.4.5',
      'fd00::1',
      '01234.1.1.1',
      '',
    ]) {
      expect(ipv4Number(bad)).toBe(-1);
    }
  });

  it('matches IPv4 and IPv6 addresses against their CIDRs, edges included', () => {
    const ranges = new AddressRanges(['10.244.0.0/16', '10.96.0.0/12', 'fd00:10:244::/56', 'junk']);
    expect(ranges.has('10.244.0.0')).toBe(true);
    expect(ranges.has('10.244.255.255')).toBe(true);
    expect(ranges.has('10.245.0.0')).toBe(false);
    expect(ranges.has('10.111.255.255')).toBe(true);
    expect(ranges.has('10.112.0.0')).toBe(false);
    expect(ranges.has('fd00:10:244:ff::1')).toBe(true);
    expect(ranges.has('fd00:10:245::1')).toBe(false);
    expect(ranges.has('not an address')).toBe(false);
    expect(new AddressRanges([]).empty).toBe(true);
  });

  it('normalises a CIDR written with host bits set', () => {
    expect(new AddressRanges(['192.168.10.77/24']).has('192.168.10.1')).toBe(true);
  });
});
