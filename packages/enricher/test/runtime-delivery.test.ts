import { sendsOf } from '../src/pipeline/delivery';
import type { OutputRecord } from '../src/pipeline/types';

describe('sendsOf', () => {
  const record = (topic: string, i: number, bytes: number): OutputRecord => ({
    topic,
    key: Buffer.from(`k${i}`),
    value: Buffer.alloc(bytes, i % 256),
  });

  it('splits a large delivery into sends under the broker limit, keeping every record in order', () => {
    // 5,000 enriched records of 500 bytes: 2.5 MB, over a broker's default 1 MiB.
    const records = Array.from({ length: 5000 }, (_, i) =>
      record(i % 50 === 0 ? 'dns.dlq' : 'dns.enriched', i, 500),
    );
    const sends = sendsOf(records);

    expect(sends.length).toBeGreaterThanOrEqual(3);
    for (const send of sends) {
      const bytes = send
        .flatMap((t) => t.messages)
        .reduce((sum, m) => sum + (m.value as Buffer).length, 0);
      expect(bytes).toBeLessThan(1024 * 1024);
    }
    const keys = (topic: string) =>
      sends.flatMap((send) =>
        send.filter((t) => t.topic === topic).flatMap((t) => t.messages.map((m) => String(m.key))),
      );
    expect(keys('dns.enriched')).toEqual(
      records.filter((r) => r.topic === 'dns.enriched').map((r) => String(r.key)),
    );
    expect(keys('dns.dlq')).toHaveLength(100);
  });

  it('sends a record larger than the bound alone, and nothing for no records', () => {
    expect(sendsOf([record('t', 1, 2_000_000)])).toHaveLength(1);
    expect(sendsOf([])).toEqual([]);
  });
});
