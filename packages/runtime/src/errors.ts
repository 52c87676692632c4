/** One problem with the configuration: which key, what was expected, what was found, from where. */
export interface ConfigProblem {
  key: string;
  expected: string;
  found: string;
  source?: string;
}

/** The configuration is invalid; the message lists every problem, one per line. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly retriable = false;

  constructor(readonly problems: readonly ConfigProblem[]) {
    super(
      `invalid configuration:\n${problems
        .map(
          (p) =>
            `  ${p.key || '(root)'}: expected ${p.expected}, found ${p.found}${p.source ? ` (from ${p.source})` : ''}`,
        )
        .join('\n')}`,
    );
  }
}
