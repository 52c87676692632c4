import { createShutdown } from '../src/index';

describe('createShutdown', () => {
  it('drains steps in reverse order of registration, awaiting each', async () => {
    const order: string[] = [];
    const shutdown = createShutdown({ timeoutMs: 1000 });
    shutdown.add('producer', async () => {
      await new Promise((r) => setTimeout(r, 20));
      order.push('producer flushed');
    });
    shutdown.add('consumer', () => void order.push('consumer stopped'));
    expect(shutdown.stopping).toBe(false);
    const clean = await shutdown.run('test');
    expect(clean).toBe(true);
    expect(shutdown.stopping).toBe(true);
    expect(order).toEqual(['consumer stopped', 'producer flushed']);
  });

  it('runs once even when asked twice', async () => {
    let runs = 0;
    const shutdown = createShutdown({ timeoutMs: 1000 });
    shutdown.add('step', () => void runs++);
    await Promise.all([shutdown.run('a'), shutdown.run('b')]);
    expect(runs).toBe(1);
  });

  it('gives up at the deadline and reports an unclean stop', async () => {
    const shutdown = createShutdown({ timeoutMs: 50 });
    const after: string[] = [];
    shutdown.add('later', () => void after.push('not reached'));
    shutdown.add('stuck', () => new Promise<void>(() => undefined));
    expect(await shutdown.run('test')).toBe(false);
    expect(after).toEqual([]);
  });

  it('keeps going after a failing step and reports it', async () => {
    const shutdown = createShutdown({ timeoutMs: 1000 });
    const done: string[] = [];
    shutdown.add('second', () => void done.push('second'));
    shutdown.add('first', () => {
      throw new Error('flush failed');
    });
    expect(await shutdown.run('test')).toBe(false);
    expect(done).toEqual(['second']);
  });
});
