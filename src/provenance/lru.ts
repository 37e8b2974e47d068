/**
 * A map that keeps at most `capacity` entries, dropping the least recently used. Map keeps
 * insertion order, so a hit is re-inserted at the end and the oldest key comes first.
 *
 * @example
 *   const lru = new Lru<string, number>(2);
 *   lru.set('a', 1); lru.set('b', 2); lru.get('a'); lru.set('c', 3); // 'b' goes
 */
export class Lru<K, V> {
  private readonly entries = new Map<K, V>();

  constructor(readonly capacity: number) {}

  get(key: K): V | undefined {
    const hit = this.entries.get(key);
    if (hit !== undefined) {
      this.entries.delete(key);
      this.entries.set(key, hit);
    }
    return hit;
  }

  set(key: K, value: V): void {
    this.entries.delete(key);
    this.entries.set(key, value);
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value!);
  }
}
