import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isqrt, quadraticWeight } from '../../src/governance/amount.js';

describe('isqrt', () => {
  it('is the floor of the square root, for integers of any size', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 10n ** 90n }), (n) => {
        const x = isqrt(n);
        expect(x * x <= n && n < (x + 1n) * (x + 1n)).toBe(true);
      }),
      { numRuns: 2000 },
    );
    for (const n of [0n, 1n, 2n, 3n, 4n, 15n, 16n, 17n, 2n ** 106n - 1n, 2n ** 106n, (10n ** 36n + 7n) ** 2n - 1n, (10n ** 36n + 7n) ** 2n]) {
      const x = isqrt(n);
      expect(x * x <= n && n < (x + 1n) * (x + 1n)).toBe(true);
    }
  });

  it('weighs the largest voting powers at once (a float first guess below the root took billions of steps)', () => {
    // 36 digits took 2.5 s, 40 digits minutes, 60 digits (the largest amount) practically forever.
    for (const power of [434353010164911032961021752150219189n, 10n ** 40n - 3n, 10n ** 60n - 1n, 7n * 10n ** 65n]) {
      const w = quadraticWeight(power);
      const scaled = power * 10n ** 12n;
      expect(w * w <= scaled && scaled < (w + 1n) * (w + 1n)).toBe(true);
    }
  }, 2_000);
});
