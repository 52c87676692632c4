import { ConfigError, loadConfig } from '@dnsflow/runtime';
import { enricherConfigSchema } from '../src/config';
import { resolveKubeSource } from '../src/enricher';

describe('enricher config', () => {
  it('defaults to dns.raw -> dns.enriched, exactly once, metrics on 9465', () => {
    const config = loadConfig(enricherConfigSchema, {});
    expect(config.topics).toEqual({
      input: 'dns.raw',
      output: 'dns.enriched',
      deadLetter: 'dns.dlq',
    });
    expect(config.delivery.mode).toBe('exactly-once');
    expect(config.kubernetes.source).toBe('auto');
    expect(config.metrics.port).toBe(9465);
    expect(config.enrichment.clusterDomain).toBe('cluster.local');
  });

  it('takes env and flags, the enrichment block included', () => {
    const config = loadConfig(enricherConfigSchema, {
      env: {
        DNSFLOW_DELIVERY__MODE: 'at-least-once',
        DNSFLOW_KAFKA__BROKERS: 'a:9092,b:9092',
        DNSFLOW_ENRICHMENT__LABELS__ALLOW: 'app,team',
      },
      flags: ['--delay.maxWaitMs=500', '--kubernetes.source', 'none'],
    });
    expect(config.delivery.mode).toBe('at-least-once');
    expect(config.kafka.brokers).toEqual(['a:9092', 'b:9092']);
    expect(config.enrichment.labels.allow).toEqual(['app', 'team']);
    expect(config.delay.maxWaitMs).toBe(500);
    expect(config.kubernetes.source).toBe('none');
  });

  it('names a misspelt key and a bad value, with where they came from', () => {
    const load = () =>
      loadConfig(enricherConfigSchema, {
        flags: ['--delivery.mod=at-least-once', '--delay.maxWaitMs=-1'],
      });
    expect(load).toThrow(ConfigError);
    expect(load).toThrow(/delivery\.mod: expected no such key .*flag --delivery\.mod/);
    expect(load).toThrow(/delay\.maxWaitMs: .*found number -1 \(from flag --delay\.maxWaitMs\)/);
  });
});

describe('resolveKubeSource', () => {
  const auto = loadConfig(enricherConfigSchema, {}).kubernetes;

  it('is in-cluster inside a pod and a kubeconfig where one is named', () => {
    expect(resolveKubeSource(auto, { KUBERNETES_SERVICE_HOST: '10.96.0.1' })).toBe('in-cluster');
    expect(resolveKubeSource(auto, { KUBECONFIG: '/tmp/kc', HOME: '/nonexistent' })).toBe(
      'kubeconfig',
    );
    expect(resolveKubeSource({ ...auto, kubeconfig: '/etc/kc' }, {})).toBe('kubeconfig');
  });

  it('keeps an explicit choice', () => {
    expect(resolveKubeSource({ ...auto, source: 'none' }, { KUBERNETES_SERVICE_HOST: 'x' })).toBe(
      'none',
    );
  });
});
