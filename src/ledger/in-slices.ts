/** Longest stretch of synchronous work between yields: an in-flight transaction's replies wait no longer. */
export const SLICE_MS = 2;

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
  let sliceStart = performance.now();
  for (let i = 0; i < items.length; i++) {
    out[i] = fn(items[i]!, i);
    if (performance.now() - sliceStart >= SLICE_MS) {
      await new Promise((resolve) => setImmediate(resolve));
      sliceStart = performance.now();
    }
  }
  return out;
}
