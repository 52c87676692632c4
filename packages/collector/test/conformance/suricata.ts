// Reads a suricata-verify test of the peer corpus: the pcap and the eve.json checks of
// test.yaml, with the Suricata version each check targets.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

/** Version bounds of a `requires:` block (`min-version`, `lt-version`). */
export interface VersionRange {
  min: number | null;
  lt: number | null;
}

/** One `filter:` check: exactly `count` eve records carry every `match` key. */
export interface SuricataFilter {
  index: number;
  count: number;
  match: Record<string, unknown>;
  /** Custom eve output the check reads (`filename:`), null for eve.json. */
  filename: string | null;
  /** The check's own requires, merged with the test's. */
  versions: VersionRange;
}

/** A check that is not a filter (a shell command, a stats check): listed, not run. */
export interface OtherCheck {
  index: number;
  kind: string;
}

/** One suricata-verify case. */
export interface SuricataCase {
  /** Directory name under suricata-verify/ (`dns__dns-eve`, `_extra/...`). */
  name: string;
  dir: string;
  pcap: string | null;
  versions: VersionRange;
  /** SURICATA_EVE_DNS_VERSION from `env:`, when the test pins the eve DNS format. */
  eveDnsVersion: number | null;
  /** Keys of `args:` and of the case's suricata.yaml that change what is logged. */
  configFiles: string[];
  /** DNS ports the test sets with `--set app-layer.protocols.dns...detection-ports.dp=N`. */
  detectionPorts: number[];
  filters: SuricataFilter[];
  others: OtherCheck[];
}

function versionOf(value: unknown): number | null {
  if (typeof value === 'number') return value;
  if (typeof value === 'string') {
    const n = Number.parseFloat(value);
    return Number.isNaN(n) ? null : n;
  }
  return null;
}

function rangeOf(requires: unknown, base: VersionRange = { min: null, lt: null }): VersionRange {
  if (typeof requires !== 'object' || requires === null) return base;
  const r = requires as Record<string, unknown>;
  return {
    min: versionOf(r['min-version']) ?? base.min,
    lt: versionOf(r['lt-version']) ?? base.lt,
  };
}

/** Loads test.yaml and finds the pcap of one case. */
export function loadSuricataCase(corpus: string, name: string): SuricataCase {
  const dir = join(corpus, 'suricata-verify', name);
  const doc = parse(readFileSync(join(dir, 'test.yaml'), 'utf8')) as Record<string, unknown>;
  const files = readdirSync(dir);
  const pcapFile =
    files.find((f) => f.startsWith('referenced__') && /\.pcap(ng)?$/.test(f)) ??
    files.find((f) => /\.pcap(ng)?$/.test(f));
  const versions = rangeOf(doc.requires);
  const env = (doc.env ?? {}) as Record<string, unknown>;
  const filters: SuricataFilter[] = [];
  const others: OtherCheck[] = [];
  const checks = Array.isArray(doc.checks) ? (doc.checks as unknown[]) : [];
  checks.forEach((check, index) => {
    const c = (check ?? {}) as Record<string, unknown>;
    const filter = c.filter as Record<string, unknown> | undefined;
    if (filter === undefined) {
      others.push({ index, kind: Object.keys(c)[0] ?? 'unknown' });
      return;
    }
    filters.push({
      index,
      count: typeof filter.count === 'number' ? filter.count : 1,
      match: (filter.match ?? {}) as Record<string, unknown>,
      filename: typeof filter.filename === 'string' ? filter.filename : null,
      versions: rangeOf(filter.requires, versions),
    });
  });
  return {
    name,
    dir,
    pcap: pcapFile === undefined ? null : join(dir, pcapFile),
    versions,
    eveDnsVersion: versionOf(env.SURICATA_EVE_DNS_VERSION),
    configFiles: files.filter((f) => f.endsWith('.yaml') && f !== 'test.yaml'),
    detectionPorts: detectionPorts(doc.args),
    filters,
    others,
  };
}

/** Ports from `--set app-layer.protocols.dns[.tcp|.udp].detection-ports.dp=N[,M]` args. */
function detectionPorts(args: unknown): number[] {
  const text = Array.isArray(args) ? args.join(' ') : typeof args === 'string' ? args : '';
  const ports: number[] = [];
  for (const m of text.matchAll(/app-layer\.protocols\.dns\S*detection-ports\.dp=([\d,]+)/g)) {
    for (const p of (m[1] ?? '').split(',')) {
      const n = Number(p);
      if (Number.isInteger(n) && n > 0 && n < 65536) ports.push(n);
    }
  }
  return ports;
}

/** Every suricata-verify case directory of the corpus (those with a test.yaml). */
export function listSuricataCases(corpus: string): string[] {
  const root = join(corpus, 'suricata-verify');
  const names: string[] = [];
  for (const entry of readdirSync(root, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    if (entry.name === '_extra') {
      for (const extra of readdirSync(join(root, '_extra'), { withFileTypes: true })) {
        if (existsSync(join(root, '_extra', extra.name, 'test.yaml'))) {
          names.push(`_extra/${extra.name}`);
        }
      }
    } else if (existsSync(join(root, entry.name, 'test.yaml'))) names.push(entry.name);
  }
  return names.sort();
}
