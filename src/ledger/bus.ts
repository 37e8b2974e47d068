import type { LedgerEvent } from './events/event.js';
import type { BlockRow, CheckpointRow } from './entities/index.js';

export interface BusMessages {
  event: LedgerEvent;
  block: BlockRow;
  checkpoint: CheckpointRow;
}
export type BusTopic = keyof BusMessages;

/** Where a message stands in its topic's order: event index, block height, checkpoint id. */
export function positionOf(topic: BusTopic, m: BusMessages[BusTopic]): number {
  if (topic === 'event') return (m as LedgerEvent).index;
  if (topic === 'block') return (m as BlockRow).height;
  return (m as CheckpointRow).id;
}

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

  /** Messages of one topic, pulled as an async iterator or pushed (`pipe`), with a bounded queue. */
  subscribe<T extends BusTopic>(
    topic: T,
    ledger: string,
    accept: (m: BusMessages[T]) => boolean = () => true,
  ): BusSubscription<BusMessages[T]> {
    return new BusSubscription((l) => this.listen(topic, ledger, l), accept, this.maxQueued);
  }
}

/**
 * An async iterator that can also push: a subscriber whose consumer can take each message
 * synchronously pipes it, and pays no promise or queue per message.
 */
export interface PushSubscription<T> extends AsyncIterableIterator<T> {
  /**
   * Instead of next(): hands `push` every message in order — those waiting first, then each
   * as it is published. `push` returning false ends the subscription. Settles when it ends;
   * rejects with what ended it if that was a failure (SlowConsumerError). Where messages come
   * from storage (a replay) rather than as published, the source waits on `backlog` between
   * them, so a backlog goes at the consumer's pace.
   */
  pipe(push: (m: T) => boolean, backlog?: () => Promise<void> | undefined): Promise<void>;
}

/** A PushSubscription over any listener: queues until read or piped; a reader that falls maxQueued behind fails. */
export class BusSubscription<T> implements PushSubscription<T> {
  private queue: T[] = [];
  private wake: (() => void) | undefined;
  private failure: Error | undefined;
  private done = false;
  private push: ((m: T) => boolean) | undefined;
  private settled: (() => void) | undefined;
  private readonly stop: () => void;
  /** While set, messages are not kept, only noted (`missed`): the reader is catching up from storage. */
  private dropping = false;
  private missed = false;

  constructor(
    listen: (l: (m: T) => void) => () => void,
    private readonly accept: (m: T) => boolean,
    private readonly maxQueued: number,
  ) {
    this.stop = listen((m) => this.receive(m));
  }

  private receive(m: T): void {
    if (this.done || !this.accept(m)) return;
    if (this.dropping) {
      this.missed = true;
      return;
    }
    if (this.push) {
      if (!this.push(m)) this.finish();
    } else if (this.queue.length >= this.maxQueued) {
      this.failure = new SlowConsumerError(this.maxQueued);
      this.stop();
      this.wake?.();
    } else {
      this.queue.push(m);
      this.wake?.();
    }
  }

  private finish(): IteratorReturnResult<undefined> {
    this.done = true;
    this.stop();
    this.queue.length = 0;
    this.wake?.();
    this.settled?.();
    return { value: undefined, done: true };
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /**
   * Stops keeping messages (and drops those kept) while the reader replays from storage, which
   * holds them too: a replay longer than maxQueued live messages would otherwise fail as a slow
   * consumer, holding all of them meanwhile.
   */
  drop(): void {
    this.dropping = true;
    this.missed = false;
    this.queue.length = 0;
  }

  /** Keeps messages again; returns whether any was dropped since `drop`. */
  resume(): boolean {
    this.dropping = false;
    return this.missed;
  }

  async next(): Promise<IteratorResult<T>> {
    for (;;) {
      if (this.queue.length > 0) return { value: this.queue.shift()!, done: false };
      if (this.failure) {
        const f = this.failure;
        this.finish();
        throw f;
      }
      if (this.done) return { value: undefined, done: true };
      await new Promise<void>((r) => (this.wake = r));
      this.wake = undefined;
    }
  }

  pipe(push: (m: T) => boolean): Promise<void> {
    for (const m of this.queue.splice(0)) {
      if (!push(m)) {
        this.finish();
        return Promise.resolve();
      }
    }
    if (this.failure) {
      const f = this.failure;
      this.finish();
      return Promise.reject(f);
    }
    if (this.done) return Promise.resolve();
    this.push = push;
    return new Promise<void>((resolve) => (this.settled = resolve));
  }

  async return(): Promise<IteratorReturnResult<undefined>> {
    return this.finish();
  }

  async throw(e?: unknown): Promise<never> {
    this.finish();
    throw e;
  }
}
