/** Per ledger. ≈ 100 bytes an entry: 25 MB when full, enough for the working set of a large deployment. */
const DEFAULT_CAPACITY = 250_000;

/**
 * Assertion hashes this process has seen committed. An assertion never leaves the ledger once
 * committed, and it precedes every event appended after its commit, so a query audit citing a
 * known hash needs no probe of `prov_assertions` (see checkContributions). Only committed
 * hashes go in: what an append wrote is added after the append resolves, never from inside its
 * transaction, which may still roll back. Hashes committed by other processes are simply not
 * known here and get probed.
 *
 * Two generations of at most half the capacity each: a hash seen again moves to the recent
 * one, and when that fills, the older one is dropped whole. Nearly least-recently-used, at the
 * cost of a Set look-up: this runs for every citation of every audit.
 *
 * @example
 *   known.add(ledgerId, events.map(…))         // after the append's commit
 *   known.has(ledgerId, hash)                  // inside a later append: skip the probe
 */
export class KnownAssertions {
  /** Keyed by ledger, then by the hash string itself: a payload's own string has its hash cached. */
  private readonly ledgers = new Map<number, { recent: Set<string>; older: Set<string> }>();

  constructor(private readonly capacity = DEFAULT_CAPACITY) {}

  has(ledgerId: number, hash: string): boolean {
    const known = this.ledgers.get(ledgerId);
    if (!known) return false;
    if (known.recent.has(hash)) return true;
    if (!known.older.has(hash)) return false;
    this.remember(known, hash);
    return true;
  }

  add(ledgerId: number, hashes: Iterable<string>): void {
    let known = this.ledgers.get(ledgerId);
    if (!known) this.ledgers.set(ledgerId, (known = { recent: new Set(), older: new Set() }));
    for (const hash of hashes) this.remember(known, hash);
  }

  private remember(known: { recent: Set<string>; older: Set<string> }, hash: string): void {
    known.recent.add(hash);
    if (known.recent.size >= this.capacity / 2) {
      known.older = known.recent;
      known.recent = new Set();
    }
  }
}
