/**
 * Labels copied into identities when nothing else is configured: the recommended
 * `app.kubernetes.io/*` labels and the common short ones. Everything else (hashes, team
 * annotations, secrets someone put in a label) stays out of the records.
 */
export const DEFAULT_LABEL_ALLOW_LIST: readonly string[] = [
  'app',
  'app.kubernetes.io/*',
  'k8s-app',
  'component',
  'tier',
  'version',
];

/** Keeps the labels an allow-list lets through. */
export type LabelFilter = (
  labels: Readonly<Record<string, string>> | undefined,
) => Record<string, string>;

/**
 * Builds a filter from an allow-list of label keys: exact keys, or prefixes ending in `*`
 * (`app.kubernetes.io/*`). A lone `*` allows every label.
 */
export function labelFilter(allow: readonly string[]): LabelFilter {
  const exact = new Set(allow.filter((k) => !k.endsWith('*')));
  const prefixes = allow.filter((k) => k.endsWith('*')).map((k) => k.slice(0, -1));
  const allowed = (key: string): boolean =>
    exact.has(key) || prefixes.some((prefix) => key.startsWith(prefix));
  return (labels) => {
    const out: Record<string, string> = {};
    if (!labels) return out;
    for (const key of Object.keys(labels).sort()) {
      if (allowed(key)) out[key] = labels[key]!;
    }
    return out;
  };
}
