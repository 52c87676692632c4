import { join } from 'node:path';
import { z } from 'zod';
import { ConfigError, kafkaConfigSchema, loadConfig, logConfigSchema } from '../src/index';

const schema = z.strictObject({
  kafka: kafkaConfigSchema.default(kafkaConfigSchema.parse({})),
  log: logConfigSchema.default({ level: 'info' }),
  maxPending: z.number().int().positive().default(100_000),
  dryRun: z.boolean().default(false),
});

const fixture = (name: string): string => join(__dirname, 'fixtures', name);

function problemsOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('fills defaults when nothing is given', () => {
    const config = loadConfig(schema);
    expect(config.kafka.brokers).toEqual(['127.0.0.1:9092']);
    expect(config.maxPending).toBe(100_000);
  });

  it('layers file < env < flags', () => {
    const config = loadConfig(schema, {
      file: fixture('collector.yaml'),
      env: {
        DNSFLOW_KAFKA__CLIENT_ID: 'from-env',
        DNSFLOW_MAX_PENDING: '5000',
        OTHER_VAR: 'ignored',
      },
      flags: ['--log.level=debug', '--dryRun', '--kafka.brokers', 'x:1,y:2'],
    });
    expect(config.kafka.clientId).toBe('from-env');
    expect(config.kafka.brokers).toEqual(['x:1', 'y:2']);
    expect(config.log.level).toBe('debug');
    expect(config.maxPending).toBe(5000);
    expect(config.dryRun).toBe(true);
  });

  it('turns comma lists into arrays of the element type the schema wants', () => {
    const withPorts = z.strictObject({
      ports: z.array(z.number().int()).default([53]),
      flags: z.array(z.boolean()).default([]),
    });
    const config = loadConfig(withPorts, {
      env: { DNSFLOW_FLAGS: 'true,no' },
      flags: ['--ports=53, 5353'],
    });
    expect(config).toEqual({ ports: [53, 5353], flags: [true, false] });
    expect(problemsOf(() => loadConfig(withPorts, { flags: ['--ports=53,dns'] }))).toMatch(
      /ports\.1: expected number, found string "dns"/,
    );
  });

  it('keeps numeric-looking strings as strings where the schema wants text', () => {
    const config = loadConfig(schema, {
      env: {
        DNSFLOW_KAFKA__SASL__MECHANISM: 'plain',
        DNSFLOW_KAFKA__SASL__USERNAME: '12345',
        DNSFLOW_KAFKA__SASL__PASSWORD: '007',
      },
    });
    expect(config.kafka.sasl).toEqual({ mechanism: 'plain', username: '12345', password: '007' });
  });

  it('reads secrets from *_FILE variables', () => {
    const config = loadConfig(schema, {
      env: {
        DNSFLOW_KAFKA__SASL__MECHANISM: 'scram-sha-512',
        DNSFLOW_KAFKA__SASL__USERNAME: 'dnsflow',
        DNSFLOW_KAFKA__SASL__PASSWORD_FILE: fixture('password.txt'),
      },
    });
    expect(config.kafka.sasl?.password).toBe('from-a-secret-file');
  });

  it('rejects an unknown key in a file, naming it and the file', () => {
    const message = problemsOf(() => loadConfig(schema, { file: fixture('typo.yaml') }));
    expect(message).toContain('kafka.brokerz: expected no such key');
    expect(message).toContain(`from file ${fixture('typo.yaml')}`);
  });

  it('rejects an unknown env var under the prefix, naming the variable', () => {
    const message = problemsOf(() => loadConfig(schema, { env: { DNSFLOW_KAFKA__BROKER: 'a:1' } }));
    expect(message).toMatch(
      /kafka\.broker: expected no such key.*\(from env DNSFLOW_KAFKA__BROKER\)/,
    );
  });

  it('leaves the development tooling variables alone', () => {
    const config = loadConfig(schema, {
      env: {
        DNSFLOW_KEEP_SERVICES: '1',
        DNSFLOW_TEST_STARTED_SERVICES: 'kafka es',
        DNSFLOW_CORPUS: '/corpus',
        DNSFLOW_MAX_PENDING: '7',
      },
    });
    expect(config.maxPending).toBe(7);
  });

  it('names the key, the expected type and the value found', () => {
    const message = problemsOf(() =>
      loadConfig(schema, { flags: ['--maxPending=lots', '--log.level=loud'] }),
    );
    expect(message).toMatch(
      /maxPending: expected number, found string "lots" \(from flag --maxPending\)/,
    );
    expect(message).toMatch(/log\.level: expected one of .*"debug".*found string "loud"/);
  });

  it('lists every problem at once', () => {
    const err = (() => {
      try {
        loadConfig(schema, { flags: ['--maxPending=-1', '--nope=1'] });
      } catch (e) {
        return e as ConfigError;
      }
      throw new Error('expected a ConfigError');
    })();
    expect(err.problems.map((p) => p.key).sort()).toEqual(['maxPending', 'nope']);
  });

  it('never prints a secret it rejects', () => {
    const message = problemsOf(() =>
      loadConfig(schema, {
        env: { DNSFLOW_KAFKA__SASL__PASSWORD: 'hunter2', DNSFLOW_KAFKA__SASL__MECHANISM: 'md5' },
      }),
    );
    expect(message).toContain('kafka.sasl.mechanism');
    expect(message).not.toContain('hunter2');
  });

  it('reports an unreadable or malformed file clearly', () => {
    expect(problemsOf(() => loadConfig(schema, { file: fixture('missing.yaml') }))).toMatch(
      /expected a readable YAML or JSON file, found ENOENT/,
    );
    expect(problemsOf(() => loadConfig(schema, { file: fixture('password.txt') }))).toMatch(
      /expected a mapping of configuration keys, found a string at the top level/,
    );
  });

  it('rejects a bare argument where a flag was expected', () => {
    expect(problemsOf(() => loadConfig(schema, { flags: ['oops'] }))).toMatch(
      /expected a flag of the form --key=value/,
    );
  });
});
