import { DEFAULT_MAX_QUEUED, SlowConsumerError, type PushSubscription } from '../ledger/bus.js';
import { createSourceEventStream, execute, print, type ExecutionArgs, type ExecutionResult, type GraphQLError, type GraphQLFormattedError } from 'graphql';

/** Where one subscription's results go. */
export interface Sink {
  /**
   * Sends the UTF-8 JSON of a `next` payload. Returns false once the subscriber is gone
   * (closed, or cut off for not reading): its source is then stopped.
   */
  send(payloadJson: Uint8Array): boolean;
  /** Undefined while the subscriber keeps up, else when it has caught up: paces a replay. */
  backlog(): Promise<void> | undefined;
}

/**
 * Subscription execution shared across subscribers: every subscriber of a topic receives the
 * same published object, so the result of executing one selection (document + variables)
 * over it is computed, formatted and serialised once and the same bytes go to all of them —
 * N monitors cost one execution per event and shape, not N.
 *
 * Results do not travel through async iterators (promises, hops and, in graphql-ws, hooks and a
 * JSON.stringify per subscriber and message): the source pushes each payload as it is
 * published, and the bytes go to the sink this subscription's context was registered with.
 * The iterator graphql-ws gets yields nothing; it ends when the source ends and throws the
 * source's failure, so graphql-ws still sends `complete` or `error`, after every result.
 */
/** A result serialised, or one whose execution is still running (`bytes` are set when it is done). */
type Later = { bytes: Buffer | undefined; ready: Promise<void> };
type Result = Buffer | Later;
const bytesOf = (r: Result) => (r instanceof Uint8Array ? r : r.bytes);

export function sharedSubscriptionExecution(options: {
  formatErrors: (errors: readonly GraphQLError[]) => GraphQLFormattedError[];
  onExecute?: () => void;
  /**
   * Results one subscriber may have waiting behind one still executing (a field that reads the
   * database, say) before it is cut off as a slow consumer: while the database stalls, events
   * keep coming.
   */
  maxWaiting?: number;
  /**
   * Who a subscriber is, as far as a result may differ for them (a role): only subscribers with the
   * same audience share results. No subscription field depends on it today; one that comes to would
   * otherwise hand one role's result to another.
   */
  audienceOf?: (contextValue: unknown) => string;
  /**
   * Called once the subscription has started (`refusal` null) or been refused as it started (the
   * result its client gets), and awaited before any of its results leave: what the automatic audit
   * records. Events published meanwhile wait in the source; should it reject, the subscription
   * fails with its error.
   */
  started?: (args: ExecutionArgs, refusal: ExecutionResult | null) => Promise<void>;
}) {
  const maxWaiting = options.maxWaiting ?? DEFAULT_MAX_QUEUED;
  const sinks = new WeakMap<object, Sink>();
  const results = new WeakMap<object, Map<string, Result>>();
  const serialise = (r: ExecutionResult) => Buffer.from(JSON.stringify(r.errors ? { ...r, errors: options.formatErrors(r.errors) } : r));

  return {
    /** Results of the subscription executed with `contextValue` go to `sink`. */
    deliverTo<C extends object>(contextValue: C, sink: Sink): C {
      sinks.set(contextValue, sink);
      return contextValue;
    },

    async subscribe(args: ExecutionArgs): Promise<AsyncIterableIterator<never> | ExecutionResult> {
      const sink = sinks.get(args.contextValue as object);
      if (!sink) throw new Error('subscription context has no sink');
      const stream = await createSourceEventStream(args);
      if (!(Symbol.asyncIterator in stream)) {
        await options.started?.(args, stream as ExecutionResult);
        return stream as ExecutionResult;
      }
      const source = stream as Partial<PushSubscription<unknown>> & AsyncIterableIterator<unknown>;
      if (typeof source.pipe !== 'function') throw new Error('a subscription source must be able to push (a PushSubscription)');
      try {
        await options.started?.(args, null);
      } catch (e) {
        await source.return?.();
        throw e;
      }
      const audience = options.audienceOf?.(args.contextValue) ?? '';
      const shape = `${audience}\n${args.operationName ?? ''}\n${JSON.stringify(args.variableValues ?? {})}\n${print(args.document)}`;
      const run = (payload: unknown): Result => {
        options.onExecute?.();
        const r = execute({ ...args, rootValue: payload });
        if (!('then' in r)) return serialise(r);
        const later: Later = { bytes: undefined, ready: r.then((x) => void (later.bytes = serialise(x))) };
        // Each subscriber waiting on it handles a failure; this only keeps it from being "unhandled".
        later.ready.catch(() => {});
        return later;
      };
      const resultFor = (payload: unknown): Result => {
        if (typeof payload !== 'object' || payload === null) return run(payload);
        let byShape = results.get(payload);
        if (!byShape) results.set(payload, (byShape = new Map()));
        let result = byShape.get(shape);
        if (result === undefined) byShape.set(shape, (result = run(payload)));
        return result;
      };

      let end!: (failure?: unknown) => void;
      const ended = new Promise<IteratorReturnResult<never>>((resolve, reject) => {
        end = (failure) => (failure === undefined ? resolve({ value: undefined as never, done: true }) : reject(failure));
      });
      // Handled here so an early end is never an unhandled rejection; graphql-ws sees it via next().
      ended.catch(() => {});
      let stopped = false;
      let sourceEnded = false;
      const stop = async () => {
        stopped = true;
        await source.return?.();
        return { value: undefined as never, done: true as const };
      };
      const fail = (err: unknown) => {
        end(err);
        void stop();
      };
      // Results not sent yet because an earlier one is still executing (resolvers that await):
      // they go out in order once it is done, all that are ready at once.
      const waiting: Result[] = [];
      const drain = () => {
        while (waiting.length > 0) {
          const bytes = bytesOf(waiting[0]!);
          if (bytes === undefined) return void (waiting[0] as Later).ready.then(drain, fail);
          waiting.shift();
          if (stopped || !sink.send(bytes)) return void stop();
        }
        if (sourceEnded) end();
      };
      const push = (payload: unknown): boolean => {
        if (stopped) return false;
        if (waiting.length >= maxWaiting) {
          fail(new SlowConsumerError(maxWaiting));
          return false;
        }
        const result = resultFor(payload);
        if (waiting.length > 0) waiting.push(result);
        else {
          const bytes = bytesOf(result);
          if (bytes !== undefined) return sink.send(bytes);
          waiting.push(result);
          (result as Later).ready.then(drain, fail);
        }
        return true;
      };
      // A replay waits on this between messages: it goes no faster than the client reads, nor,
      // once half the allowance waits, than its results execute. Live events are not paced.
      const paced = () => {
        const head = waiting[0];
        if (waiting.length < maxWaiting / 2 || head === undefined || head instanceof Uint8Array) return sink.backlog();
        return head.ready.catch(() => {}).then(() => sink.backlog());
      };
      source.pipe(push, paced).then(() => {
        sourceEnded = true;
        if (stopped || waiting.length === 0) end();
      }, end);

      const iterator: AsyncIterableIterator<never> = {
        [Symbol.asyncIterator]: () => iterator,
        next: () => ended,
        return: stop,
        async throw(e?: unknown) {
          await stop();
          throw e;
        },
      };
      return iterator;
    },
  };
}
