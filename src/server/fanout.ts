import { createSourceEventStream, execute, print, type ExecutionArgs, type ExecutionResult } from 'graphql';

/**
 * Subscription execution shared across subscribers: every subscriber of a topic receives the
 * same published object, so the result of executing one selection (document + variables)
 * over it is computed once and handed to all of them — N monitors cost one execution per
 * event and shape, not N. The cache lives as long as the published object does.
 */
export function sharedSubscriptionExecution(onExecute: () => void = () => {}) {
  const results = new WeakMap<object, Map<string, Promise<ExecutionResult>>>();
  return async (args: ExecutionArgs): Promise<AsyncGenerator<ExecutionResult> | ExecutionResult> => {
    const stream = await createSourceEventStream(args);
    if (!(Symbol.asyncIterator in stream)) return stream as ExecutionResult;
    const shape = `${args.operationName ?? ''}\n${JSON.stringify(args.variableValues ?? {})}\n${print(args.document)}`;
    const run = (payload: unknown) => {
      onExecute();
      return Promise.resolve(execute({ ...args, rootValue: payload }));
    };
    async function* mapped(): AsyncGenerator<ExecutionResult> {
      const source = stream as AsyncIterableIterator<unknown>;
      try {
        for await (const payload of source) {
          if (typeof payload !== 'object' || payload === null) {
            yield await run(payload);
            continue;
          }
          let byShape = results.get(payload);
          if (!byShape) results.set(payload, (byShape = new Map()));
          let result = byShape.get(shape);
          if (!result) byShape.set(shape, (result = run(payload)));
          yield await result;
        }
      } finally {
        await source.return?.();
      }
    }
    return mapped();
  };
}
