// Tree sizes are JS numbers up to 2^53-1, so the 32-bit bitwise operators would silently
// truncate them; everything here uses arithmetic instead.

export const isCount = (n: unknown): n is number =>
  typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;

export const isOdd = (n: number): boolean => n % 2 === 1;

export const half = (n: number): number => Math.floor(n / 2);

export function popcount(n: number): number {
  let c = 0;
  for (; n > 0; n = half(n)) c += n % 2;
  return c;
}

/** The largest power of two strictly below n (n >= 2): RFC 9162's split point k. */
export function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** Whether n is 2^j for some j >= 0. */
export function isPow2(n: number): boolean {
  if (n < 1) return false;
  while (n % 2 === 0) n /= 2;
  return n === 1;
}
