/** The parts of one ledger's cache: the recent generation and the one before it. */
interface Generations<V> {
  recent: Map<string, V>;
  older: Map<string, V>;
}

/**
 * A per-ledger cache of values that never change once committed, holding at most `capacity`
 * entries per ledger in two generations of half that each: the entries used since the older
 * generation was dropped stay, so at least `capacity / 2` of the most recently used do. A hit in the older generation moves
 * the entry to the recent one; when the recent one fills, the older one is dropped whole and
 * the recent one takes its place. Nearly least-recently-used at the cost of a Map look-up (an
 * exact LRU re-inserts on every hit, which cost traces and recording several per cent of their
 * CPU). Keys are used as given, without joining them to the ledger id, so strings taken from
 * payloads or rows keep their cached hash codes.
 *
 * @example
 *   const cache = new RecentCache<SourceRecord>(50_000);
 *   cache.set(ledgerId, hash, record);
 *   cache.get(ledgerId, hash); // record, until about 25,000 newer entries have pushed it out
 */
export class RecentCache<V> {
  private readonly ledgers = new Map<number, Generations<V>>();

  constructor(private readonly capacity: number) {}

  get(ledgerId: number, key: string): V | undefined {
    const g = this.ledgers.get(ledgerId);
    if (!g) return undefined;
    const recent = g.recent.get(key);
    if (recent !== undefined) return recent;
    const older = g.older.get(key);
    if (older !== undefined) this.put(g, key, older);
    return older;
  }

  /**
   * The cached values of `keys` (each once), and the keys it does not hold, to be read and set.
   *
   * @example const { found, missing } = cache.lookup(ledgerId, hashes);
   */
  lookup(ledgerId: number, keys: readonly string[]): { found: Map<string, V>; missing: string[] } {
    const found = new Map<string, V>();
    const missing: string[] = [];
    for (const key of new Set(keys)) {
      const hit = this.get(ledgerId, key);
      if (hit !== undefined) found.set(key, hit);
      else missing.push(key);
    }
    return { found, missing };
  }

  set(ledgerId: number, key: string, value: V): void {
    let g = this.ledgers.get(ledgerId);
    if (!g) this.ledgers.set(ledgerId, (g = { recent: new Map(), older: new Map() }));
    this.put(g, key, value);
  }

  private put(g: Generations<V>, key: string, value: V): void {
    g.recent.set(key, value);
    if (g.recent.size >= this.capacity / 2) {
      g.older = g.recent;
      g.recent = new Map();
    }
  }
}
