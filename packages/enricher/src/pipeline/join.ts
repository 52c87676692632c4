import { enrichmentOf, tryEnrichment, type EnrichDeps } from '../enrich';
import type { Joiner } from './types';

/**
 * The pipeline's view of the enrichment: `pending` while an end is not known yet (the store
 * is not synced, or the record is newer than what the watches have confirmed), and the
 * final join, with such ends UNKNOWN, once the record may wait no longer.
 */
export function enrichmentJoiner(deps: EnrichDeps): Joiner {
  return {
    join(record, final) {
      if (final) return { status: 'ok', value: enrichmentOf(record, deps) };
      const outcome = tryEnrichment(record, deps);
      return outcome.status === 'pending'
        ? { status: 'pending' }
        : { status: 'ok', value: outcome.enrichment };
    },
  };
}
