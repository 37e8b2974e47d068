import type { LedgerEvent } from './events/event.js';
import type { BlockRow, CheckpointRow } from './entities/index.js';

export interface BusMessages {
  event: LedgerEvent;
  block: BlockRow;
  checkpoint: CheckpointRow;
}
export type BusTopic = keyof BusMessages;

/** A subscriber that falls this far behind is cut off rather than grow memory without bound. */
export const DEFAULT_MAX_QUEUED = 10_000;

export class SlowConsumerError extends Error {
  readonly code = 'SLOW_CONSUMER';
  constructor(limit: number) {
    super(`slow consumer: fell ${limit} messages behind and was disconnected`);
  }
}

type Listener<T> = (message: T) => void;

/**
 * In-process fan-out of committed ledger messages to live subscribers. Only the LedgerFeed
 * publishes, from committed rows in ledger order, so a subscriber never sees an event that
 * could still roll back and never sees two out of order.
 */
export class LedgerBus {
  private readonly listeners = new Map<string, Set<Listener<unknown>>>();

  constructor(private readonly maxQueued = DEFAULT_MAX_QUEUED) {}

  publish<T extends BusTopic>(topic: T, ledger: string, message: BusMessages[T]): void {
    for (const l of this.listeners.get(`${topic}:${ledger}`) ?? []) l(message);
  }

  listen<T extends BusTopic>(topic: T, ledger: string, listener: Listener<BusMessages[T]>): () => void {
    const key = `${topic}:${ledger}`;
    let set = this.listeners.get(key);
    if (!set) this.listeners.set(key, (set = new Set()));
    set.add(listener as Listener<unknown>);
    return () => {
      set!.delete(listener as Listener<unknown>);
      if (set!.size === 0) this.listeners.delete(key);
    };
  }

  hasListeners(topic: BusTopic, ledger: string): boolean {
    return (this.listeners.get(`${topic}:${ledger}`)?.size ?? 0) > 0;
  }

  subscriberCount(): number {
    let n = 0;
    for (const s of this.listeners.values()) n += s.size;
    return n;
  }

  /** Messages of one topic as an async iterator, with a bounded queue. */
  subscribe<T extends BusTopic>(
    topic: T,
    ledger: string,
    accept: (m: BusMessages[T]) => boolean = () => true,
  ): AsyncIterableIterator<BusMessages[T]> {
    const queue: BusMessages[T][] = [];
    let wake: (() => void) | undefined;
    let failure: Error | undefined;
    let done = false;
    const stop = this.listen(topic, ledger, (m) => {
      if (done || !accept(m)) return;
      if (queue.length >= this.maxQueued) {
        failure = new SlowConsumerError(this.maxQueued);
        stop();
      } else queue.push(m);
      wake?.();
    });
    const finish = (): IteratorResult<BusMessages[T]> => {
      done = true;
      stop();
      queue.length = 0;
      wake?.();
      return { value: undefined, done: true };
    };
    return {
      [Symbol.asyncIterator]() {
        return this;
      },
      async next() {
        for (;;) {
          if (queue.length > 0) return { value: queue.shift()!, done: false };
          if (failure) {
            const f = failure;
            finish();
            throw f;
          }
          if (done) return { value: undefined, done: true };
          await new Promise<void>((r) => (wake = r));
          wake = undefined;
        }
      },
      async return() {
        return finish();
      },
      async throw(e?: unknown) {
        finish();
        throw e;
      },
    };
  }
}
