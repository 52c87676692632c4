import { communityId } from '../src/index';
import { referenceCommunityId } from './fixtures/ecs-reference';

/** The ID, or the error a malformed address throws: both must be what they were. */
function outcome(run: () => string): string {
  try {
    return run();
  } catch (err) {
    return `throws ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`;
  }
}

describe('communityId', () => {
  it('matches the Community ID spec example, either direction, with and without a seed', () => {
    // https://github.com/corelight/community-id-spec (README, the TCP example).
    expect(communityId('TCP', '128.232.110.120', 34855, '66.35.250.204', 80)).toBe(
      '1:LQU9qZlK+B5F3KDmev6m5PMibrg=',
    );
    expect(communityId('TCP', '66.35.250.204', 80, '128.232.110.120', 34855)).toBe(
      '1:LQU9qZlK+B5F3KDmev6m5PMibrg=',
    );
    expect(communityId('TCP', '128.232.110.120', 34855, '66.35.250.204', 80, 1)).toBe(
      '1:3V71V58M3Ksw/yuFALMcW0LAHvc=',
    );
  });

  it('gives the same IDs as the previous implementation for IPv4, IPv6 and odd spellings', () => {
    const ips = [
      '10.244.1.17',
      '10.96.0.10',
      '0.0.0.0',
      '255.255.255.255',
      '192.0.2.1',
      '10.244.1.17',
      '1.2.3.4',
      '1.2.3.40',
      '::ffff:192.0.2.1',
      'fd00::17',
      '2001:db8::10',
      '::1',
      '::',
      // Not canonical dotted quads: they must take the general path, as before.
      '010.1.1.1',
      '1.2.3',
      '1.2.3.4.5',
      '256.1.1.1',
      '1..2.3',
    ];
    const ports = [0, 53, 40123, 65535];
    const differing: string[] = [];
    let valid = 0;
    for (const transport of ['UDP', 'TCP'] as const) {
      for (const a of ips) {
        for (const b of ips) {
          for (const ap of ports) {
            for (const bp of [53, 40123]) {
              const actual = outcome(() => communityId(transport, a, ap, b, bp));
              const expected = outcome(() => referenceCommunityId(transport, a, ap, b, bp));
              if (actual !== expected) differing.push(`${transport} ${a}:${ap} ${b}:${bp}`);
              if (actual.startsWith('1:')) valid++;
            }
          }
        }
      }
    }
    expect(differing).toEqual([]);
    expect(valid).toBeGreaterThan(1000);
  });
});
