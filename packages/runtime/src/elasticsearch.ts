import { Client, type ClientOptions } from '@elastic/elasticsearch';
import { ConfigError } from './errors';
import type { ElasticsearchConfig } from './schemas';
import { tlsOptions } from './tls';

/**
 * Creates an Elasticsearch client from the validated config: API key or basic auth, TLS
 * with a CA file or mutual TLS. The 8.x client sends compatibility headers, so it works
 * against Elasticsearch 8 and 9.
 */
export function createElasticsearch(config: ElasticsearchConfig): Client {
  if (config.apiKey && (config.username || config.password)) {
    throw new ConfigError([
      {
        key: 'elasticsearch.apiKey',
        expected: 'either apiKey or username/password',
        found: 'both',
      },
    ]);
  }
  if (Boolean(config.username) !== Boolean(config.password)) {
    throw new ConfigError([
      {
        key: config.username ? 'elasticsearch.password' : 'elasticsearch.username',
        expected: 'username and password together',
        found: 'only one of them',
      },
    ]);
  }
  const options: ClientOptions = {
    nodes: config.nodes,
    requestTimeout: config.requestTimeoutMs,
    maxRetries: config.maxRetries,
  };
  if (config.apiKey) options.auth = { apiKey: config.apiKey };
  else if (config.username && config.password)
    options.auth = { username: config.username, password: config.password };
  const tls = tlsOptions(config.tls, 'elasticsearch.tls');
  if (tls) options.tls = tls;
  return new Client(options);
}
