import type { DataSource } from 'typeorm';
import { anyOf, binaryArray } from '../db/binary-array.js';
import { prepared } from '../db/driver-pool.js';
import type { AssertionRecord } from './model.js';
import { NO_BOUND, ASSERTION_OWN_COLUMNS, assertionFromRow, type AssertionLookup } from './reads.js';
import { RecentCache } from './recent-cache.js';

/**
 * Per ledger: the 12,500–25,000 most recently cited assertions (≈ 1.5 kB each with their parsed
 * values and hex strings, measured; at most ≈ 36 MB a ledger), several times the ≈ 3,000 a
 * long trace cites.
 */
const DEFAULT_CAPACITY = 25_000;
/**
 * Values longer than this (JSON characters) are read again rather than kept: the capacity is
 * counted in entries, and 25,000 values of 64 kB would hold 1.6 GB.
 */
export const MAX_CACHED_VALUE_CHARS = 2_048;

/**
 * Recorded assertions by hash, remembered across reads. An assertion's record never changes
 * once committed (what superseded it is read apart: see successorsOf), so a trace whose lines
 * cite thousands of assertions reads from PostgreSQL only those no read has cited lately. A
 * 1,000-line trace spent ≈ a quarter of its server time and half of PostgreSQL's reading and
 * parsing its assertions again.
 *
 * @example
 *   const assertions = new RecordedAssertions(dataSource);
 *   const byHash = await assertions.of(ledgerId, ['ab12…'], bound); // one statement for the misses
 */
export class RecordedAssertions implements AssertionLookup {
  private readonly cache: RecentCache<AssertionRecord>;

  constructor(
    private readonly db: DataSource,
    capacity = DEFAULT_CAPACITY,
  ) {
    this.cache = new RecentCache(capacity);
  }

  /**
   * Each of `hashes` that is recorded, for a read among the first `bound` leaves: its successor
   * is looked up later within that bound. Records of reads without a bound are shared: frozen.
   */
  async of(ledgerId: number, hashes: readonly string[], bound: number): Promise<Map<string, AssertionRecord>> {
    const { found, missing } = this.cache.lookup(ledgerId, hashes);
    if (missing.length > 0) {
      const rows = await prepared<Record<string, unknown>>(
        this.db,
        `SELECT ${ASSERTION_OWN_COLUMNS('a')} FROM prov_assertions a WHERE a.ledger_id = $1 AND a.hash ${anyOf('$2', 'bytea')}`,
        [ledgerId, binaryArray('hex', missing)],
      );
      const unbounded = { ledgerId, bound: NO_BOUND };
      for (const r of rows) {
        const record = Object.freeze(assertionFromRow(r, unbounded));
        found.set(record.hash, record);
        if ((record.valueChars ?? 0) <= MAX_CACHED_VALUE_CHARS) this.cache.set(ledgerId, record.hash, record);
      }
    }
    if (bound === NO_BOUND) return found;
    const scope = { ledgerId, bound };
    for (const [hash, record] of found) found.set(hash, { ...record, successorScope: scope });
    return found;
  }
}
