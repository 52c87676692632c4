import { Writable } from 'node:stream';
import { createLogger } from '../src/index';

function capture(): { stream: Writable; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return {
    stream,
    lines: () =>
      chunks
        .join('')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

describe('createLogger', () => {
  it('writes JSON lines with the component and a level name', () => {
    const out = capture();
    createLogger('collector', { level: 'info' }, out.stream).info(
      { topic: 'dns.raw', partition: 3 },
      'published',
    );
    expect(out.lines()[0]).toMatchObject({
      level: 'info',
      component: 'collector',
      topic: 'dns.raw',
      partition: 3,
      msg: 'published',
    });
  });

  it('redacts credentials wherever they appear in a context object', () => {
    const out = capture();
    const log = createLogger('indexer', {}, out.stream);
    log.info(
      { elasticsearch: { username: 'elastic', password: 'hunter2', apiKey: 'c2VjcmV0' } },
      'connecting',
    );
    log.info({ kafka: { sasl: { mechanism: 'plain', password: 'hunter3' } } }, 'connecting');
    log.info({ req: { headers: { authorization: 'ApiKey c2VjcmV0' } } }, 'request');
    const text = JSON.stringify(out.lines());
    expect(text).not.toMatch(/hunter2|hunter3|c2VjcmV0/);
    expect(out.lines()[0]).toMatchObject({
      elasticsearch: { username: 'elastic', password: '[redacted]' },
    });
  });

  it('honours the level', () => {
    const out = capture();
    const log = createLogger('x', { level: 'warn' }, out.stream);
    log.info('hidden');
    log.warn('shown');
    expect(out.lines().map((l) => l['msg'])).toEqual(['shown']);
  });
});
