/**
 * A Map that holds at most `max` entries, dropping the one set longest ago. For caches and limiters
 * keyed by what clients send (attacker-controlled): a flood of new keys pushes out the oldest
 * entries, never the ones in use, as clearing the whole map would.
 *
 * @example
 *   const m = new RecentMap<string, number>(2);
 *   m.set('a', 1).set('b', 2).set('a', 3).set('c', 4); // 'b' goes: 'a' was set again since
 */
export class RecentMap<K, V> extends Map<K, V> {
  constructor(private readonly max: number) {
    super();
  }

  override set(key: K, value: V): this {
    // Deleted first, so the key moves to the end of the iteration order.
    super.delete(key);
    super.set(key, value);
    if (this.size > this.max) super.delete(this.keys().next().value!);
    return this;
  }
}
