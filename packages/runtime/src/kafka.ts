import { Kafka, logLevel, type KafkaConfig as KafkaJsConfig, type SASLOptions } from 'kafkajs';
import { installGzipCodec } from './gzip';
import type { Logger } from './logger';
import type { KafkaConfig } from './schemas';
import { tlsOptions } from './tls';

const LEVELS: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

function sasl(config: KafkaConfig): SASLOptions | undefined {
  if (!config.sasl) return undefined;
  // The schema's enum values are exactly kafkajs' mechanism names.
  return { ...config.sasl };
}

/**
 * Creates a kafkajs client from the validated config: TLS (CA, mutual TLS) and SASL
 * (PLAIN, SCRAM-SHA-256/512), with kafkajs logs routed through the process logger, and
 * gzip batches decompressed by the runtime's codec (see gzip.ts).
 */
export function createKafka(config: KafkaConfig, log?: Logger): Kafka {
  installGzipCodec();
  const options: KafkaJsConfig = {
    clientId: config.clientId,
    brokers: config.brokers,
    connectionTimeout: config.connectionTimeoutMs,
    requestTimeout: config.requestTimeoutMs,
    retry: { retries: config.retries, initialRetryTime: config.initialRetryTimeMs },
    logLevel: logLevel.WARN,
  };
  const ssl = tlsOptions(config.tls, 'kafka.tls');
  if (ssl) options.ssl = ssl;
  const auth = sasl(config);
  if (auth) options.sasl = auth;
  if (log) {
    const kafkaLog = log.child({ lib: 'kafkajs' });
    options.logCreator = () => (entry) => {
      const { message, ...rest } = entry.log;
      kafkaLog[LEVELS[entry.level] ?? 'info']({ namespace: entry.namespace, ...rest }, message);
    };
  }
  return new Kafka(options);
}
