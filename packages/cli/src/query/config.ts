import { z } from 'zod';
import { elasticsearchConfigSchema, loadConfig } from '@dnsflow/runtime';
import { DNS_DATA_STREAM_PATTERN } from '@dnsflow/schema';

/** Everything `dnsflow observe` and `dnsflow top` read (file + env + flags, unknown keys rejected). */
export const queryConfigSchema = z.strictObject({
  elasticsearch: elasticsearchConfigSchema.prefault({}),
  observe: z
    .strictObject({
      /** Data streams (or a pattern of them) searched. */
      dataStream: z.string().min(1).default(DNS_DATA_STREAM_PATTERN),
      /** Documents per search page; Elasticsearch caps a page at 10,000. */
      pageSize: z.number().int().positive().max(10_000).default(1000),
      /** How often --follow polls. */
      followIntervalMs: z.number().int().positive().default(1000),
      /**
       * --follow looks this far behind the newest transaction it printed: unanswered queries
       * are indexed after the pairing timeout, and the pipeline adds its own lag.
       */
      followLookbackMs: z.number().int().positive().default(30_000),
      /** Failed search-list expansions within this time of their asked name are folded into it. */
      expansionWindowMs: z.number().int().positive().default(2000),
      /**
       * Bound on the transactions held back for grouping, and on the ids --follow remembers
       * to print each transaction once; the oldest are released first when it is reached.
       */
      maxBufferedDocs: z.number().int().positive().default(50_000),
    })
    .prefault({}),
});

export type QueryConfig = z.infer<typeof queryConfigSchema>;

// Other components' variables (DNSFLOW_KAFKA__*, ...) may be set in the same shell; the
// query commands take only the sections they have.
const OWN_ENV = /^DNSFLOW_(ELASTICSEARCH|OBSERVE)__/;

/** Loads the query config: defaults, then the file, DNSFLOW_ELASTICSEARCH__* / DNSFLOW_OBSERVE__* env, flags. */
export function loadQueryConfig(
  sources: { file?: string; env?: NodeJS.ProcessEnv; flags?: readonly string[] } = {},
): QueryConfig {
  const env = Object.fromEntries(
    Object.entries(sources.env ?? {}).filter(([name]) => OWN_ENV.test(name)),
  );
  return loadConfig(queryConfigSchema, {
    ...(sources.file !== undefined ? { file: sources.file } : {}),
    env,
    flags: sources.flags ?? [],
  });
}
