import { rcodeName, typeName } from '@dnsflow/collector';

// The --qtype and --rcode arguments are checked against the same mnemonic tables the
// collector writes into the records, so a name the CLI accepts is a name that can match.

// Assigned type codes end below 512 apart from TA and DLV (IANA registry); scanning these
// ranges finds every mnemonic the collector can write without walking all 65,536 codes.
const TYPE_CODES = [
  ...Array.from({ length: 512 }, (_, i) => i),
  32768, // TA
  32769, // DLV
];
// Response codes are 12 bits with the EDNS extension; the named ones end at 23.
const RCODE_CODES = Array.from({ length: 64 }, (_, i) => i);

function mnemonics(codes: readonly number[], name: (code: number) => string, generic: RegExp) {
  const byName = new Map<string, string>();
  for (const code of codes) {
    const text = name(code);
    if (!generic.test(text)) byName.set(text, text);
  }
  return byName;
}

const TYPES = mnemonics(TYPE_CODES, typeName, /^TYPE\d+$/);
const RCODES = mnemonics(RCODE_CODES, rcodeName, /^RCODE\d+$/);

/** Every query type mnemonic the collector writes, sorted. */
export const QUERY_TYPES: readonly string[] = [...TYPES.keys()].sort();
/** Every response code mnemonic the collector writes, in code order. */
export const RESPONSE_CODES: readonly string[] = [...RCODES.keys()];

/** Thrown for a qtype or rcode name that is not in the tables; the message lists them. */
export class UnknownMnemonicError extends Error {
  override readonly name = 'UnknownMnemonicError';
  readonly retriable = false;
}

function resolve(
  text: string,
  table: Map<string, string>,
  generic: { prefix: string; name: (code: number) => string; max: number },
  what: string,
  valid: readonly string[],
): string {
  const upper = text.trim().toUpperCase();
  const known = table.get(upper);
  if (known !== undefined) return known;
  // TYPE28 or a bare 28 mean the same record the collector writes as AAAA (RFC 3597 §5).
  const m = new RegExp(`^(?:${generic.prefix})?(\\d+)$`).exec(upper);
  if (m !== null) {
    const code = Number(m[1]);
    if (code <= generic.max) return generic.name(code);
  }
  throw new UnknownMnemonicError(
    `unknown ${what} "${text}"; valid names: ${valid.join(', ')} (or ${generic.prefix}<n>)`,
  );
}

/** The record type mnemonic for `text` (case-insensitive; TYPE<n> and numbers accepted). */
export function parseQueryType(text: string): string {
  return resolve(
    text,
    TYPES,
    { prefix: 'TYPE', name: typeName, max: 65535 },
    'query type',
    QUERY_TYPES,
  );
}

/** The response code mnemonic for `text` (case-insensitive; RCODE<n> and numbers accepted). */
export function parseResponseCode(text: string): string {
  return resolve(
    text,
    RCODES,
    { prefix: 'RCODE', name: rcodeName, max: 4095 },
    'response code',
    RESPONSE_CODES,
  );
}
