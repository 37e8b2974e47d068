/**
 * Wraps `compute` so that calls while it runs, or within `ttlMs` of its last answer, share that
 * answer: a flood of probes (each unauthenticated, each a database round trip) costs one round
 * trip at a time. A failure is not kept: the next call tries again.
 *
 * @example const ready = sharedAnswer(1000, () => checkDatabase()); await ready();
 */
export function sharedAnswer<T>(ttlMs: number, compute: () => Promise<T>, now: () => number = Date.now): () => Promise<T> {
  let last: { answer: Promise<T>; at: number } | undefined;
  return () => {
    if (last && (last.at < 0 || now() - last.at < ttlMs)) return last.answer;
    const entry: { answer: Promise<T>; at: number } = { answer: compute(), at: -1 };
    last = entry;
    entry.answer.then(
      () => void (entry.at = now()),
      () => void (last === entry && (last = undefined)),
    );
    return entry.answer;
  };
}
