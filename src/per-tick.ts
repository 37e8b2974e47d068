/**
 * Batches calls made in one event-loop turn into one `load`: many resolvers of one response
 * each ask for their piece, and the database sees a single statement.
 *
 * @example
 *   const successor = perTick((hashes: string[]) => readSuccessors(hashes)); // one value per key, in order
 *   await Promise.all([successor('ab…'), successor('cd…')]); // one readSuccessors call
 */
export function perTick<K, V>(load: (keys: K[]) => Promise<V[]>): (key: K) => Promise<V> {
  let pending: Array<{ key: K; resolve(v: V): void; reject(e: unknown): void }> | undefined;
  const flush = () => {
    const batch = pending!;
    pending = undefined;
    load(batch.map((b) => b.key)).then(
      (values) => batch.forEach((b, i) => b.resolve(values[i]!)),
      (e) => batch.forEach((b) => b.reject(e)),
    );
  };
  return (key) =>
    new Promise((resolve, reject) => {
      if (!pending) {
        pending = [];
        setImmediate(flush);
      }
      pending.push({ key, resolve, reject });
    });
}
