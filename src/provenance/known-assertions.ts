import { RecentCache } from './recent-cache.js';

/**
 * Per ledger: the 125,000–250,000 most recently seen hashes (≈ 120 bytes each, at most 30 MB a
 * ledger). Beyond that a citation is probed, as without the cache.
 */
const DEFAULT_CAPACITY = 250_000;

/**
 * Assertion hashes this process has seen committed. An assertion's event never leaves the
 * ledger once committed, and it precedes every event appended after its commit, so a query audit citing a
 * known hash needs no probe of `prov_assertions` (see checkContributions). Only committed
 * hashes go in: what an append wrote is added after the append resolves, never from inside its
 * transaction, which may still roll back. Hashes committed by other processes are simply not
 * known here and get probed. Kept in a RecentCache: this runs for every citation of every audit.
 * Its rows can be rebuilt (rebuildProvenance); a rebuild writes the same rows back.
 *
 * @example
 *   known.add(ledgerId, events.map(…))         // after the append's commit
 *   known.has(ledgerId, hash)                  // inside a later append: skip the probe
 */
export class KnownAssertions {
  private readonly hashes: RecentCache<true>;

  constructor(capacity = DEFAULT_CAPACITY) {
    this.hashes = new RecentCache(capacity);
  }

  has(ledgerId: number, hash: string): boolean {
    return this.hashes.get(ledgerId, hash) === true;
  }

  add(ledgerId: number, hashes: Iterable<string>): void {
    for (const hash of hashes) this.hashes.set(ledgerId, hash, true);
  }
}
