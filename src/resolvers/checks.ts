import { ChainproofError } from '../errors.js';

/**
 * A height, size or leaf index argument: SafeInt lets negatives through, which would read as
 * "nothing there" rather than as the mistake they are.
 *
 * @example nonNegative('height', -1) // throws BAD_USER_INPUT
 */
export function nonNegative<T extends number | null | undefined>(field: string, value: T): T {
  if (typeof value === 'number' && value < 0) throw new ChainproofError('BAD_USER_INPUT', `${field} must not be negative`);
  return value;
}
