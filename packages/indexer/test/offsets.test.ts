import { createLogger } from '@dnsflow/runtime';
import { Committer, OffsetTracker } from '../src/offsets';

describe('OffsetTracker', () => {
  it('commits only the contiguous run of finished offsets, per partition', () => {
    const tracker = new OffsetTracker();
    const t = ['10', '11', '12', '13'].map((o) => tracker.take('dns.enriched', 0, o));
    const other = tracker.take('dns.enriched', 1, '5');
    tracker.done(t[1]!);
    tracker.done(t[2]!);
    expect(tracker.committable()).toEqual([]);
    tracker.done(t[0]!);
    expect(tracker.committable()).toEqual([{ topic: 'dns.enriched', partition: 0, offset: '13' }]);
    tracker.done(other);
    tracker.committed(tracker.committable());
    expect(tracker.committable()).toEqual([]);
    tracker.done(t[3]!);
    expect(tracker.committable()).toEqual([{ topic: 'dns.enriched', partition: 0, offset: '14' }]);
    expect(tracker.pending).toBe(0);
  });

  it('voids the tickets from where Kafka delivers again, the earlier ones still in flight holding the commit', () => {
    const tracker = new OffsetTracker();
    // 10-12 went to the writer; 13 waited for room when the heartbeat failed, and kafkajs
    // fetches from 13 again without a rejoin.
    const t = ['10', '11', '12', '13'].map((o) => tracker.take('t', 0, o));
    const again = tracker.take('t', 0, '13');
    tracker.done(again);
    expect(tracker.committable()).toEqual([]);
    tracker.done(t[1]!);
    tracker.done(t[0]!);
    expect(tracker.committable()).toEqual([{ topic: 't', partition: 0, offset: '12' }]);
    tracker.done(t[2]!);
    expect(tracker.committable()).toEqual([{ topic: 't', partition: 0, offset: '14' }]);
    // The void ticket moves nothing, and nothing is left pending.
    tracker.done(t[3]!);
    expect(tracker.committable()).toEqual([{ topic: 't', partition: 0, offset: '14' }]);
    expect(tracker.pending).toBe(0);
  });

  it('starts over from an earlier offset when the consumer is moved back', () => {
    const tracker = new OffsetTracker();
    const old = tracker.take('t', 0, '100');
    const again = tracker.take('t', 0, '90');
    // The first run's ticket no longer moves the partition.
    tracker.done(old);
    expect(tracker.committable()).toEqual([]);
    tracker.done(again);
    expect(tracker.committable()).toEqual([{ topic: 't', partition: 0, offset: '91' }]);
  });

  it('keeps partitions and topics apart when their records alternate', () => {
    const tracker = new OffsetTracker();
    const tickets = [
      tracker.take('a', 0, '7'),
      tracker.take('a', 1, '7'),
      tracker.take('b', 0, '3'),
      tracker.take('a', 0, '8'),
      tracker.take('a', 1, '8'),
    ];
    for (const t of tickets) tracker.done(t);
    expect(tracker.committable()).toEqual([
      { topic: 'a', partition: 0, offset: '9' },
      { topic: 'a', partition: 1, offset: '9' },
      { topic: 'b', partition: 0, offset: '4' },
    ]);
  });

  it('tracks a partition afresh after a reset, however recently it was taken from', () => {
    const tracker = new OffsetTracker();
    tracker.take('t', 0, '5');
    tracker.reset();
    tracker.done(tracker.take('t', 0, '6'));
    expect(tracker.committable()).toEqual([{ topic: 't', partition: 0, offset: '7' }]);
    expect(tracker.pending).toBe(0);
  });

  it('keeps offsets beyond 2^53 exact', () => {
    const tracker = new OffsetTracker();
    tracker.done(tracker.take('t', 0, '9007199254740993'));
    expect(tracker.committable()[0]?.offset).toBe('9007199254740994');
  });
});

describe('Committer', () => {
  const silent = createLogger('test', { level: 'silent' });

  /**
   * A committer (on fake timers) whose commits are recorded, after its first commit: of offset
   * 0, finished with `finish`.
   */
  async function afterFirstCommit(intervalMs: number) {
    jest.useFakeTimers();
    const tracker = new OffsetTracker();
    const commits: string[] = [];
    const finish = (offset: number): void => tracker.done(tracker.take('t', 0, String(offset)));
    const committer = new Committer(
      tracker,
      (offsets) => {
        commits.push(offsets.map((o) => o.offset).join(','));
        return Promise.resolve();
      },
      silent,
      () => undefined,
      intervalMs,
    );
    finish(0);
    committer.request();
    await jest.advanceTimersByTimeAsync(0);
    expect(commits).toEqual(['1']);
    return { committer, commits, finish };
  }

  afterEach(() => jest.useRealTimers());

  it('commits at most once per interval, and what finished meanwhile with the next one', async () => {
    const { committer, commits, finish } = await afterFirstCommit(1000);
    for (let offset = 1; offset <= 5; offset++) {
      finish(offset);
      committer.request();
      await jest.advanceTimersByTimeAsync(100);
    }
    expect(commits).toEqual(['1']);
    await jest.advanceTimersByTimeAsync(500);
    expect(commits).toEqual(['1', '6']);
    // Nothing new: no commit.
    committer.request();
    await jest.advanceTimersByTimeAsync(2000);
    expect(commits).toEqual(['1', '6']);
  });

  it('commits at once on flush, whatever the interval', async () => {
    const { committer, commits, finish } = await afterFirstCommit(60_000);
    finish(1);
    committer.request();
    await jest.advanceTimersByTimeAsync(10);
    expect(commits).toEqual(['1']);
    await committer.flush();
    expect(commits).toEqual(['1', '2']);
  });

  it('flushes after a commit in progress and the one asked for meanwhile, never two at once', async () => {
    const tracker = new OffsetTracker();
    const finish = (offset: number): void => tracker.done(tracker.take('t', 0, String(offset)));
    const commits: string[] = [];
    let inFlight = 0;
    let most = 0;
    const committer = new Committer(
      tracker,
      async (offsets) => {
        most = Math.max(most, ++inFlight);
        await new Promise((r) => setTimeout(r, 20));
        commits.push(offsets.map((o) => o.offset).join(','));
        inFlight--;
      },
      silent,
    );
    finish(0);
    committer.request();
    finish(1);
    committer.request();
    finish(2);
    await committer.flush();
    expect(most).toBe(1);
    expect(commits[0]).toBe('1');
    expect(commits[commits.length - 1]).toBe('3');
  });
});
