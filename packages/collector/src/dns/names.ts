import { packetTypes } from './packet-lib';

const OPCODES = ['QUERY', 'IQUERY', 'STATUS', 'OPCODE3', 'NOTIFY', 'UPDATE', 'DSO'];

/** Opcode mnemonic (RFC 6895 §2.2 registry) or OPCODE<n>. */
export function opcodeName(value: number): string {
  return OPCODES[value] ?? `OPCODE${value}`;
}

// RFC 6895 §2.3. 16 is BADVERS when it comes from an OPT record, which is the only way a
// 12-bit response code reaches this function with that value.
const RCODES: Record<number, string> = {
  0: 'NOERROR',
  1: 'FORMERR',
  2: 'SERVFAIL',
  3: 'NXDOMAIN',
  4: 'NOTIMP',
  5: 'REFUSED',
  6: 'YXDOMAIN',
  7: 'YXRRSET',
  8: 'NXRRSET',
  9: 'NOTAUTH',
  10: 'NOTZONE',
  11: 'DSOTYPENI',
  16: 'BADVERS',
  17: 'BADKEY',
  18: 'BADTIME',
  19: 'BADMODE',
  20: 'BADNAME',
  21: 'BADALG',
  22: 'BADTRUNC',
  23: 'BADCOOKIE',
};

/** Response code mnemonic for a 12-bit value, or RCODE<n>. */
export function rcodeName(value: number): string {
  return RCODES[value] ?? `RCODE${value}`;
}

/**
 * IANA "Resource Record (RR) TYPEs" mnemonics that dns-packet's registry leaves out, so
 * they are not reported as TYPE<n> (RFC 1035, 1183, 1706, 2163, 2230, 2535, 2874, 4701,
 * 7043, 7477, 8976, 9460, ...).
 */
const MORE_TYPES: Record<number, string> = {
  3: 'MD',
  4: 'MF',
  7: 'MB',
  8: 'MG',
  9: 'MR',
  11: 'WKS',
  14: 'MINFO',
  19: 'X25',
  20: 'ISDN',
  21: 'RT',
  22: 'NSAP',
  23: 'NSAP-PTR',
  26: 'PX',
  27: 'GPOS',
  30: 'NXT',
  31: 'EID',
  32: 'NIMLOC',
  34: 'ATMA',
  38: 'A6',
  40: 'SINK',
  53: 'SMIMEA',
  56: 'NINFO',
  57: 'RKEY',
  58: 'TALINK',
  61: 'OPENPGPKEY',
  62: 'CSYNC',
  63: 'ZONEMD',
  64: 'SVCB',
  65: 'HTTPS',
  104: 'NID',
  105: 'L32',
  106: 'L64',
  107: 'LP',
  108: 'EUI48',
  109: 'EUI64',
  256: 'URI',
  258: 'AVC',
};

const typeCache = new Map<number, string>();

/** Type mnemonic (A, AAAA, ...) or TYPE<n> (RFC 3597 §5). */
export function typeName(value: number): string {
  let name = typeCache.get(value);
  if (name === undefined) {
    const known = packetTypes.toString(value);
    name = known.startsWith('UNKNOWN') ? (MORE_TYPES[value] ?? `TYPE${value}`) : known;
    typeCache.set(value, name);
  }
  return name;
}

/** Class mnemonic (IN, CH, ...) or CLASS<n> (RFC 3597 §5). */
export function className(value: number): string {
  switch (value) {
    case 1:
      return 'IN';
    case 3:
      return 'CH';
    case 4:
      return 'HS';
    case 254:
      return 'NONE';
    case 255:
      return 'ANY';
    default:
      return `CLASS${value}`;
  }
}

/** Lowercase, no trailing dot; the root stays '.'. */
export function normaliseName(name: string): string {
  if (name === '.' || name === '') return '.';
  const trimmed = name.endsWith('.') ? name.slice(0, -1) : name;
  return trimmed.toLowerCase();
}
