/** Elasticsearch could not be asked: not running, wrong address, TLS or credentials. */
export class SearchUnavailableError extends Error {
  override readonly name = 'SearchUnavailableError';

  constructor(
    message: string,
    readonly retriable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

interface EsErrorLike {
  name?: string;
  message?: string;
  meta?: { statusCode?: number; body?: unknown };
}

/** The Elasticsearch `error.type` of a response error, e.g. index_not_found_exception. */
export function esErrorType(err: unknown): string | undefined {
  const body = (err as EsErrorLike | null)?.meta?.body as
    { error?: { type?: string; root_cause?: { type?: string }[] } } | undefined;
  return body?.error?.type;
}

const CONNECTION_ERRORS = new Set(['ConnectionError', 'NoLivingConnectionsError', 'TimeoutError']);

/**
 * Turns a client error into one that says what the user can do; errors that are not about
 * reaching Elasticsearch come back unchanged.
 */
export function explainSearchError(err: unknown, nodes: readonly string[], index: string): unknown {
  const e = err as EsErrorLike | null;
  const where = nodes.join(', ');
  if (e?.name !== undefined && CONNECTION_ERRORS.has(e.name)) {
    const tls = /certificate|self[- ]signed|SSL|TLS/i.test(e.message ?? '');
    return new SearchUnavailableError(
      `Elasticsearch is not reachable at ${where} (${e.message ?? e.name}). ` +
        (tls
          ? 'The TLS handshake failed: give the CA with --elasticsearch.tls.caFile=<ca.crt> (and --elasticsearch.tls.enabled=true).'
          : 'Is it running? Locally: npm run services -- up es. Elsewhere: --elasticsearch.nodes=https://host:9200 ' +
            'or DNSFLOW_ELASTICSEARCH__NODES, with --elasticsearch.tls.caFile for a private CA.'),
      true,
      { cause: err },
    );
  }
  const status = e?.meta?.statusCode;
  if (status === 401) {
    return new SearchUnavailableError(
      `Elasticsearch at ${where} refused the credentials (401): set --elasticsearch.apiKey, ` +
        'or --elasticsearch.username and --elasticsearch.password (or DNSFLOW_ELASTICSEARCH__* variables, *_FILE for secrets).',
      false,
      { cause: err },
    );
  }
  if (status === 403) {
    return new SearchUnavailableError(
      `Elasticsearch at ${where} does not let these credentials read ${index} (403): ` +
        'they need the read and view_index_metadata privileges on it.',
      false,
      { cause: err },
    );
  }
  if (typeof status === 'number' && status >= 400) {
    const body = e?.meta?.body as
      | { error?: { type?: string; reason?: string; root_cause?: { reason?: string }[] } }
      | undefined;
    const reason = body?.error?.root_cause?.[0]?.reason ?? body?.error?.reason ?? e?.message;
    return new SearchUnavailableError(
      `Elasticsearch at ${where} rejected the search of ${index} (${status} ${body?.error?.type ?? ''}): ${reason ?? 'no reason given'}`,
      status === 429 || status >= 500,
      { cause: err },
    );
  }
  return err;
}
