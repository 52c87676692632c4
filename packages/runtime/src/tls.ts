import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { ConfigError } from './errors';
import type { TlsConfig } from './schemas';

function readPem(key: string, file: string | undefined): Buffer | undefined {
  if (!file) return undefined;
  try {
    return readFileSync(file);
  } catch (err) {
    throw new ConfigError([
      { key, expected: 'a readable PEM file', found: (err as Error).message, source: file },
    ]);
  }
}

/** Node TLS options from a TLS config block (undefined when TLS is off). */
export function tlsOptions(config: TlsConfig, keyPrefix: string): ConnectionOptions | undefined {
  if (!config.enabled) return undefined;
  if (Boolean(config.certFile) !== Boolean(config.keyFile)) {
    throw new ConfigError([
      {
        key: `${keyPrefix}.${config.certFile ? 'keyFile' : 'certFile'}`,
        expected: 'certFile and keyFile together for mutual TLS',
        found: 'only one of them',
      },
    ]);
  }
  const options: ConnectionOptions = { rejectUnauthorized: config.rejectUnauthorized };
  const ca = readPem(`${keyPrefix}.caFile`, config.caFile);
  const cert = readPem(`${keyPrefix}.certFile`, config.certFile);
  const key = readPem(`${keyPrefix}.keyFile`, config.keyFile);
  if (ca) options.ca = ca;
  if (cert) options.cert = cert;
  if (key) options.key = key;
  return options;
}
