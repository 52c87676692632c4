import type { DomainFeatures } from '@dnsflow/schema';
import { parse } from 'tldts';

/** Options of {@link domainFeatures}. */
export interface DomainFeatureOptions {
  /**
   * Use the PRIVATE section of the Public Suffix List too, so `user.github.io` is its own
   * registered domain. Off by default: the ICANN section is what ECS consumers expect.
   */
  privateDomains?: boolean;
}

/**
 * Lexical features of a query name (normalised: lowercase, no trailing dot, the root `.`).
 * The registered domain, public suffix and subdomain come from the Public Suffix List via
 * tldts (a maintained, fast implementation of the PSL algorithm, punycode suffixes
 * included). A name whose last label is no known suffix falls under the PSL's default
 * rule (`foo.internal`: suffix `internal`), except a single-label name (`localhost`,
 * `wpad`, a bare service name) which has no registered domain, suffix or subdomain.
 *
 * The name length counts every character (dots included, as DNS's 253-character limit
 * does); entropy and digit ratio count the characters of the labels, not the dots between
 * them, which say nothing about how random a name looks.
 */
export function domainFeatures(name: string, options: DomainFeatureOptions = {}): DomainFeatures {
  const normalised = name === '.' ? '' : name.endsWith('.') ? name.slice(0, -1) : name;
  const labels = normalised === '' ? [] : normalised.split('.');
  let longestLabel = 0;
  for (const label of labels) if (label.length > longestLabel) longestLabel = label.length;

  let registeredDomain: string | null = null;
  let topLevelDomain: string | null = null;
  let subdomain: string | null = null;
  if (labels.length > 1) {
    const parsed = parse(normalised, {
      allowPrivateDomains: options.privateDomains ?? false,
      extractHostname: false,
      validateHostname: false,
      detectIp: false,
      mixedInputs: false,
    });
    registeredDomain = parsed.domain || null;
    topLevelDomain = parsed.publicSuffix || null;
    subdomain = parsed.subdomain || null;
  }

  const { entropy, digitRatio } = characterStats(normalised);
  return {
    registeredDomain,
    topLevelDomain,
    subdomain,
    labelCount: labels.length,
    longestLabel,
    nameLength: normalised.length,
    entropy,
    digitRatio,
  };
}

/** Per-character counts, reused across calls (names are short and the join is synchronous). */
const counts = new Uint16Array(65536);
const seen: number[] = [];

/** Shannon entropy (bits per character) and share of digits, over the non-dot characters. */
function characterStats(name: string): { entropy: number; digitRatio: number } {
  let total = 0;
  let digits = 0;
  for (let i = 0; i < name.length; i++) {
    const code = name.charCodeAt(i);
    if (code === 0x2e) continue;
    total++;
    if (code >= 0x30 && code <= 0x39) digits++;
    const before = counts[code]!;
    counts[code] = before + 1;
    if (before === 0) seen.push(code);
  }
  let entropy = 0;
  for (const code of seen) {
    const p = counts[code]! / total;
    entropy -= p * Math.log2(p);
    counts[code] = 0;
  }
  seen.length = 0;
  return total === 0 ? { entropy: 0, digitRatio: 0 } : { entropy, digitRatio: digits / total };
}
