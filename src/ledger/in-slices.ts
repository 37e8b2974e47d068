/** Longest stretch of synchronous work between yields: an in-flight transaction's replies wait no longer. */
export const SLICE_MS = 2;

/**
 * A pause for long synchronous work to call between steps: a promise that yields to the event
 * loop once SLICE_MS have passed since the last yield, else undefined (nothing to await).
 *
 * @example const pause = slicer(); for (const x of xs) { work(x); await pause(); }
 */
export function slicer(): () => Promise<void> | undefined {
  let sliceStart = performance.now();
  return () => {
    if (performance.now() - sliceStart < SLICE_MS) return undefined;
    return new Promise<void>((resolve) =>
      setImmediate(() => {
        sliceStart = performance.now();
        resolve();
      }),
    );
  };
}

/**
 * `items.map(fn)`, yielding to the event loop every SLICE_MS. Checking and canonicalising a
 * batch of thousands takes this thread a few hundred milliseconds; done in one stretch, the
 * transaction writing the batch before it waits that long for its next statement to be sent.
 * A throw from `fn` rejects, as it would have thrown.
 *
 * @example const payloads = await mapInSlices(inputs, queryPayload);
 */
export async function mapInSlices<T, R>(items: readonly T[], fn: (item: T, index: number) => R): Promise<R[]> {
  const out: R[] = new Array(items.length);
  const pause = slicer();
  for (let i = 0; i < items.length; i++) {
    out[i] = fn(items[i]!, i);
    const due = pause();
    if (due) await due;
  }
  return out;
}
