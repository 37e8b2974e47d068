import { ChainproofError } from '../errors.js';

/**
 * Many byte strings as one bytea parameter, which the driver sends as raw bytes. As a bytea[]
 * it writes a hex text literal (twice the size) that PostgreSQL parses element by element:
 * ≈ 6 ms of bind for the ≈ 3,000 assertions a long trace cites, megabytes of hex for the
 * canonical bytes of a large append.
 */

/**
 * 32-byte hashes, given as hex, end to end.
 *
 * @example
 *   db.query(`SELECT … WHERE hash = ANY(${unpackHashes('$2')})`, [ledgerId, packHashes(hashes)])
 */
export function packHashes(hashes: readonly string[]): Buffer {
  const packed = Buffer.from(hashes.join(''), 'hex');
  // Buffer.from stops quietly at a bad digit, and a short hash next to a long one would shift the
  // ones after them: either would misplace every hash that follows.
  if (packed.length !== 32 * hashes.length || hashes.some((h) => h.length !== 64)) {
    throw new ChainproofError('INTERNAL', 'a hash to pack is not 64 hex digits');
  }
  return packed;
}

/** SQL: the `n`th (from 1) hash packed in the bytea `param`. */
export const hashAt = (param: string, n: string) => `substring(${param}::bytea FROM (${n}::int - 1) * 32 + 1 FOR 32)`;

/** SQL: the hashes packed in the bytea `param`, as a bytea[]. */
export const unpackHashes = (param: string) =>
  `ARRAY(SELECT ${hashAt(param, 'i')} FROM generate_series(1, length(${param}::bytea) / 32) AS i)`;

/**
 * Byte strings of any length end to end, each found by its 1-based position (`at`, 0 for a
 * null) and `length`; send `at` and `length` as int[] beside `bytes` and cut with bytesAt.
 */
export function packBytes(values: ReadonlyArray<Uint8Array | null>): { bytes: Buffer; at: number[]; length: number[] } {
  const at: number[] = [];
  const length: number[] = [];
  let position = 1;
  for (const v of values) {
    at.push(v ? position : 0);
    length.push(v ? v.length : 0);
    position += v ? v.length : 0;
  }
  return { bytes: Buffer.concat(values.filter((v): v is Uint8Array => v !== null)), at, length };
}

/** SQL: the bytes packBytes put at `at` for `length` in the bytea `param`, NULL where `at` is 0. */
export const bytesAt = (param: string, at: string, length: string) =>
  `CASE WHEN ${at} > 0 THEN substring(${param}::bytea FROM ${at} FOR ${length}) END`;
