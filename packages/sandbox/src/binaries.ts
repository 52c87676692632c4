import { existsSync, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * The CoreDNS binary that `scripts/services.sh install coredns` built into
 * ~/.cache/dnsflow/bin (`DNSFLOW_COREDNS` names another), or undefined when there is none:
 * the sandbox then answers with dnsmasq.
 */
export function cachedCoreDnsBinary(): string | undefined {
  const explicit = process.env['DNSFLOW_COREDNS'];
  if (explicit !== undefined) return existsSync(explicit) ? explicit : undefined;
  const bin = join(homedir(), '.cache', 'dnsflow', 'bin');
  if (!existsSync(bin)) return undefined;
  const newest = readdirSync(bin)
    .filter((f) => f.startsWith('coredns-'))
    .sort()
    .pop();
  return newest === undefined ? undefined : join(bin, newest);
}
