import { className, opcodeName, rcodeName, typeName } from '../../src/dns/names';

describe('DNS mnemonics', () => {
  it('names types from the IANA registry, also those dns-packet does not know', () => {
    expect([1, 11, 30, 64, 65, 257, 65280].map(typeName)).toEqual([
      'A',
      'WKS',
      'NXT',
      'SVCB',
      'HTTPS',
      'CAA',
      'TYPE65280',
    ]);
  });

  it('names classes, opcodes and 12-bit response codes', () => {
    expect([1, 3, 255, 77].map(className)).toEqual(['IN', 'CH', 'ANY', 'CLASS77']);
    expect([0, 4, 5, 9].map(opcodeName)).toEqual(['QUERY', 'NOTIFY', 'UPDATE', 'OPCODE9']);
    expect([0, 3, 16, 23, 4000].map(rcodeName)).toEqual([
      'NOERROR',
      'NXDOMAIN',
      'BADVERS',
      'BADCOOKIE',
      'RCODE4000',
    ]);
  });
});
