import { ChainproofError } from '../errors.js';

/** Token amounts are exact integers in decimal strings: JSON numbers cannot carry them safely. */
const AMOUNT = /^(0|[1-9][0-9]{0,59})$/;

/**
 * Parses an attacker-controlled amount. `positive` refuses zero (a mint or transfer of
 * nothing is a mistake, not a no-op).
 *
 * @example parseAmount('15', 'amount') // 15n
 */
export function parseAmount(text: unknown, field: string, positive = true): bigint {
  if (typeof text !== 'string' || !AMOUNT.test(text)) {
    throw new ChainproofError('BAD_USER_INPUT', `${field} must be a whole number of tokens in decimal, e.g. "15" (at most 60 digits)`);
  }
  const n = BigInt(text);
  if (positive && n === 0n) throw new ChainproofError('BAD_USER_INPUT', `${field} must be greater than zero`);
  return n;
}

/**
 * Floor of the square root of a non-negative integer, exact for any size (Newton's method).
 * It starts at or above the root, 2^⌈bits/2⌉, from where each step descends until the next
 * would not: a start below the root (a float guess is, for large n) left a gap of ≈ √n·2⁻⁵³ to
 * close one by one — billions of steps for a 40-digit voting power, under the ledger's lock.
 *
 * @example isqrt(99n) // 9n
 */
export function isqrt(n: bigint): bigint {
  if (n < 0n) throw new RangeError('square root of a negative number');
  if (n < 2n) return n;
  let x = 1n << BigInt(Math.ceil(n.toString(2).length / 2));
  for (;;) {
    const y = (x + n / x) >> 1n;
    if (y >= x) return x;
    x = y;
  }
}

/** Quadratic weights keep six decimal places: √power × 10⁶, floored. */
export const QUADRATIC_SCALE = 1_000_000n;
export const quadraticWeight = (power: bigint): bigint => isqrt(power * QUADRATIC_SCALE * QUADRATIC_SCALE);

/** A weight as the API shows it: an integer for token-weighted counting, six decimals for quadratic. */
export function formatWeight(weight: bigint, quadratic: boolean): string {
  if (!quadratic) return weight.toString();
  const whole = weight / QUADRATIC_SCALE;
  const frac = (weight % QUADRATIC_SCALE).toString().padStart(6, '0');
  return `${whole}.${frac}`;
}

/** Fractions (quorum, approval threshold) are kept as parts per million, so comparisons are integer arithmetic. */
export const PPM = 1_000_000;

/** A fraction in parts per million; one that rounds to 0 counts as 0 (a threshold of 1e-7 is no threshold). */
export function fractionToPpm(value: number, field: string, allowZero: boolean): number {
  const ppm = Number.isFinite(value) ? Math.round(value * PPM) : Number.NaN;
  if (!(ppm >= 0 && ppm <= PPM) || (!allowZero && ppm === 0)) {
    throw new ChainproofError('BAD_USER_INPUT', `${field} must be a fraction ${allowZero ? '0' : 'of at least 0.000001'}..1, e.g. 0.04`);
  }
  return ppm;
}
