import { backoffMs } from '../src/retry';

describe('backoffMs', () => {
  const options = { initialMs: 100, maxMs: 1000 };

  it('doubles from the initial delay up to the cap, between half and all of it', () => {
    expect([1, 2, 3, 4, 5, 10].map((n) => backoffMs(n, options, () => 1))).toEqual([
      100, 200, 400, 800, 1000, 1000,
    ]);
    expect([1, 2, 3, 4, 5, 10].map((n) => backoffMs(n, options, () => 0))).toEqual([
      50, 100, 200, 400, 500, 500,
    ]);
  });
});
