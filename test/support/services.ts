import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@elastic/elasticsearch';
import type { ElasticsearchConfig, KafkaConfig } from '@dnsflow/runtime';
import { createLogger, elasticsearchConfigSchema, kafkaConfigSchema } from '@dnsflow/runtime';
import { dnsTemplates, type TemplateOptions } from '@dnsflow/schema';

// Where the services that scripts/services.sh runs listen, and the test-only credentials it
// sets up (see the header of that script).

export const ROOT = join(__dirname, '..', '..');
export const STATE_DIR =
  process.env['DNSFLOW_SERVICES_DIR'] ?? join(homedir(), '.cache', 'dnsflow', 'services');

/** Runs scripts/services.sh with arguments; returns its exit code and output. */
export function services(...args: string[]): { status: number; output: string } {
  const result = spawnSync('bash', [join(ROOT, 'scripts', 'services.sh'), ...args], {
    encoding: 'utf8',
  });
  return { status: result.status ?? 1, output: `${result.stdout}${result.stderr}` };
}

/** A name no other test run uses, for topics, groups and data stream namespaces. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

export function kafkaConfig(overrides: Partial<KafkaConfig> = {}): KafkaConfig {
  return {
    ...kafkaConfigSchema.parse({ brokers: ['127.0.0.1:9092'], clientId: 'dnsflow-test' }),
    ...overrides,
  };
}

export const KAFKA_SASL_BROKER = '127.0.0.1:9094';
export const KAFKA_PLAIN = { username: 'dnsflow', password: 'dnsflow-secret' };
export const KAFKA_SCRAM = { username: 'dnsflow-scram', password: 'dnsflow-scram-secret' };

export function esConfig(overrides: Partial<ElasticsearchConfig> = {}): ElasticsearchConfig {
  return { ...elasticsearchConfigSchema.parse({ nodes: ['http://127.0.0.1:9200'] }), ...overrides };
}

export const ES_SECURE_URL = 'https://127.0.0.1:9201';
export const ES_SECURE_CA = join(STATE_DIR, 'es-secure', 'certs', 'ca.crt');
export const ES_SECURE_USER = { username: 'dnsflow', password: 'dnsflow-elastic' };

/** Logger for clients under test: silent unless DNSFLOW_TEST_LOG names a level. */
export const testLog = createLogger('test', {
  level: (process.env['DNSFLOW_TEST_LOG'] as 'debug' | undefined) ?? 'silent',
});

/**
 * Installs the dnsflow DNS templates the way setup does (components, the shared template,
 * the namespace's own), for tests that write documents without running setup.
 */
export async function installDnsTemplates(es: Client, options: TemplateOptions): Promise<void> {
  const set = dnsTemplates(options);
  for (const c of set.componentTemplates)
    await es.cluster.putComponentTemplate({ name: c.name, ...c.body });
  for (const t of [set.sharedTemplate, set.indexTemplate])
    await es.indices.putIndexTemplate({ name: t.name, ...t.body });
}
