import { communityIdOfBytes } from '../src/community-id';
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

describe('communityId of IPv6 flows (parsed from the address bytes)', () => {
  /** Deterministic PRNG: the same addresses every run. */
  function prng(seed: number): () => number {
    let s = seed >>> 0;
    return () => {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      return s / 2 ** 32;
    };
  }

  /** One address in a random spelling: full, with `::` somewhere, odd case, zero padding, dotted quad. */
  function spelling(random: () => number): string {
    const groups = Array.from({ length: 8 }, () =>
      random() < 0.3 ? 0 : Math.floor(random() * 0x10000),
    );
    const hex = groups.map((g) => {
      const text = g.toString(16);
      const padded = random() < 0.2 ? text.padStart(4, '0') : text;
      return random() < 0.2 ? padded.toUpperCase() : padded;
    });
    const quad =
      random() < 0.15
        ? `${groups[6]! >> 8}.${groups[6]! & 0xff}.${groups[7]! >> 8}.${groups[7]! & 0xff}`
        : null;
    const head = quad === null ? hex : [...hex.slice(0, 6), quad];
    if (random() < 0.6) {
      // Compress a run of groups (any run, not only zeros: the gap then means zeros).
      const from = Math.floor(random() * head.length);
      const to = from + 1 + Math.floor(random() * (head.length - from));
      return `${head.slice(0, from).join(':')}::${head.slice(to).join(':')}`;
    }
    return head.join(':');
  }

  it('gives the IDs the string path gives, for 20,000 random spellings and malformed ones', () => {
    const random = prng(7);
    const malformed = [
      ':1',
      '1:',
      '1::2::3',
      '12345::1',
      '1:2:3:4:5:6:7:8:9',
      '1:2:3:4:5:6:7',
      '::1.2.3',
      '::010.1.1.1',
      '::g',
      'fe80::1%eth0',
      '1:2:3:4:5:6:7:8::',
      '::1:2:3:4:5:6:7:8',
      '1:2:3:4:5:6:1.2.3.4:5',
    ];
    const differing: string[] = [];
    let valid = 0;
    let parsed = 0;
    for (let i = 0; i < 20_000 + malformed.length; i++) {
      const a = i < malformed.length ? malformed[i]! : spelling(random);
      const b = spelling(random);
      const ap = Math.floor(random() * 65536);
      const bp = random() < 0.5 ? ap : 53;
      for (const [x, xp, y, yp] of [
        [a, ap, b, bp],
        [b, bp, a, ap],
        [a, ap, a, bp],
      ] as const) {
        const actual = outcome(() => communityId('UDP', x, xp, y, yp));
        const expected = outcome(() => referenceCommunityId('UDP', x, xp, y, yp));
        if (actual !== expected) differing.push(`${x}:${xp} ${y}:${yp} ${actual} ${expected}`);
        if (actual.startsWith('1:')) valid++;
        // Every random spelling is one the byte parser takes: the IDs above came from it.
        const text = Buffer.from(`${x}${y}`, 'latin1');
        const fast = communityIdOfBytes(17, text, 0, x.length, xp, x.length, text.length, yp);
        if (fast !== null) {
          parsed++;
          if (fast !== expected) differing.push(`bytes ${x}:${xp} ${y}:${yp} ${fast} ${expected}`);
        }
      }
    }
    expect(differing.slice(0, 5)).toEqual([]);
    expect(valid).toBeGreaterThan(59_000);
    expect(parsed).toBe(60_000);
  });
});

describe('communityId of flows mixing IPv4 and IPv6 (NAT64)', () => {
  it('orders and hashes the two families as the reference does, from strings and from bytes', () => {
    const v4 = ['10.244.1.17', '1.2.3.4', '0.0.0.0', '255.255.255.255', '192.0.2.1'];
    const v6 = [
      'fd00:10:244:1::1e',
      // Its first four bytes are 1.2.3.4's: the shorter address (IPv4) goes first.
      '102:304::',
      '102:304::1',
      '::ffff:1.2.3.4',
      '::',
      'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff',
      '64:ff9b::c000:201',
    ];
    const differing: string[] = [];
    let compared = 0;
    for (const transport of ['UDP', 'TCP'] as const) {
      for (const a of v4) {
        for (const b of v6) {
          for (const [x, xp, y, yp] of [
            [a, 40123, b, 53],
            [b, 53, a, 40123],
            [a, 53, b, 53],
            [b, 40123, a, 40123],
          ] as const) {
            const expected = referenceCommunityId(transport, x, xp, y, yp);
            const text = Buffer.from(`${x}${y}`, 'latin1');
            const protocol = transport === 'TCP' ? 6 : 17;
            const fromBytes = communityIdOfBytes(
              protocol,
              text,
              0,
              x.length,
              xp,
              x.length,
              text.length,
              yp,
            );
            const fromStrings = communityId(transport, x, xp, y, yp);
            if (fromBytes !== expected) differing.push(`bytes ${x}:${xp} ${y}:${yp}`);
            if (fromStrings !== expected) differing.push(`strings ${x}:${xp} ${y}:${yp}`);
            compared++;
          }
        }
      }
    }
    expect(differing).toEqual([]);
    expect(compared).toBe(2 * v4.length * v6.length * 4);
  });

  it('leaves what is not an address to the string path, and reads no other character as one', () => {
    const text = Buffer.from('10.1.1.1fd00::zz');
    expect(communityIdOfBytes(17, text, 0, 8, 1, 8, text.length, 2)).toBeNull();
    // U+013A is a colon in latin1: the address must not be read as fd00::1 but go the string
    // path, as it always did.
    const odd = 'fd00\u013a\u013a1';
    expect(communityId('UDP', odd, 1, '10.1.1.1', 2)).toBe(
      referenceCommunityId('UDP', odd, 1, '10.1.1.1', 2),
    );
    expect(communityId('UDP', odd, 1, '10.1.1.1', 2)).not.toBe(
      communityId('UDP', 'fd00::1', 1, '10.1.1.1', 2),
    );
  });
});
