import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fractionToPpm, isqrt, parseAmount, quadraticWeight } from '../../src/governance/amount.js';
import { thrownCodeOf } from '../support/codes.js';

/** The error code `act` throws, or 'ok'. */
const codeOf = (act: () => unknown): string => thrownCodeOf(act) ?? 'ok';

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

describe('parseAmount', () => {
  it('takes a whole number of up to 60 digits, written one way only', () => {
    expect(parseAmount('9'.repeat(60), 'amount')).toBe(10n ** 60n - 1n);
    expect(parseAmount('15', 'amount')).toBe(15n);
    expect(parseAmount('0', 'value', false)).toBe(0n);
    for (const bad of ['1' + '0'.repeat(60), '007', '00', '-1', '+1', ' 1', '1 ', '1e3', '0x10', '1.0', '', 15, null]) {
      expect(codeOf(() => parseAmount(bad, 'amount')), JSON.stringify(bad)).toBe('BAD_USER_INPUT');
    }
    expect(codeOf(() => parseAmount('0', 'amount'))).toBe('BAD_USER_INPUT');
  });
});

describe('fractionToPpm', () => {
  it('rounds to the nearest part per million, takes 0 and 1 themselves, and refuses a zero where one is not allowed', () => {
    expect(fractionToPpm(0.000251, 'quorum', true)).toBe(251); // 250.99999999999997 in floating point
    expect(fractionToPpm(0.5, 'threshold', false)).toBe(500_000);
    expect(fractionToPpm(1, 'quorum', true)).toBe(1_000_000);
    expect(fractionToPpm(1, 'threshold', false)).toBe(1_000_000);
    expect(fractionToPpm(0, 'quorum', true)).toBe(0);
    expect(fractionToPpm(0.000001, 'threshold', false)).toBe(1);
    for (const bad of [0, 0.0000004]) expect(codeOf(() => fractionToPpm(bad, 'threshold', false)), String(bad)).toBe('BAD_USER_INPUT');
    for (const bad of [1.000001, -0.000001, Number.NaN, Number.POSITIVE_INFINITY]) expect(codeOf(() => fractionToPpm(bad, 'quorum', true)), String(bad)).toBe('BAD_USER_INPUT');
  });
});
