import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

// docker-compose.yml cannot run here (no Docker engine); this checks what can be checked:
// it parses, names the services the README promises, and binds them to loopback only.

interface Compose {
  services: Record<
    string,
    {
      image?: string;
      ports?: string[];
      environment?: Record<string, unknown>;
      depends_on?: Record<string, unknown>;
    }
  >;
}

const compose = parse(
  readFileSync(join(__dirname, '..', '..', 'docker-compose.yml'), 'utf8'),
) as Compose;

describe('docker-compose.yml', () => {
  it('names Kafka, Elasticsearch and Kibana', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['elasticsearch', 'kafka', 'kibana']);
  });

  it('runs Kafka in KRaft combined mode and Elasticsearch 8 single-node', () => {
    expect(compose.services['kafka']?.environment?.['KAFKA_PROCESS_ROLES']).toBe(
      'broker,controller',
    );
    expect(compose.services['elasticsearch']?.image).toMatch(/elasticsearch:8\./);
    expect(compose.services['elasticsearch']?.environment?.['discovery.type']).toBe('single-node');
    expect(compose.services['kibana']?.depends_on).toHaveProperty('elasticsearch');
  });

  it('publishes every port on loopback only', () => {
    const ports = Object.values(compose.services).flatMap((s) => s.ports ?? []);
    expect(ports.length).toBeGreaterThan(0);
    for (const port of ports) expect(port).toMatch(/^127\.0\.0\.1:/);
  });
});
