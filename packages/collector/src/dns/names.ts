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

const typeCache = new Map<number, string>();

/** Type mnemonic (A, AAAA, ...) or TYPE<n> (RFC 3597 §5). */
export function typeName(value: number): string {
  let name = typeCache.get(value);
  if (name === undefined) {
    const known = packetTypes.toString(value);
    name = known.startsWith('UNKNOWN') ? `TYPE${value}` : known;
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
