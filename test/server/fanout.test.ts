import { GraphQLObjectType, GraphQLSchema, GraphQLString, parse, type ExecutionArgs } from 'graphql';
import { describe, expect, it } from 'vitest';
import { BusSubscription } from '../../src/ledger/bus.js';
import { sharedSubscriptionExecution } from '../../src/server/fanout.js';

describe('shared subscription execution', () => {
  it('cuts off a subscriber whose results pile up behind one that never finishes executing', async () => {
    let publish!: (m: { n: number }) => void;
    const source = new BusSubscription<{ n: number }>((l) => ((publish = l), () => {}), () => true, 1_000_000);
    // A field that reads a database which has stopped answering.
    const Tick = new GraphQLObjectType({ name: 'Tick', fields: { slow: { type: GraphQLString, resolve: () => new Promise(() => {}) } } });
    const schema = new GraphQLSchema({
      query: new GraphQLObjectType({ name: 'Query', fields: { x: { type: GraphQLString } } }),
      subscription: new GraphQLObjectType({ name: 'Subscription', fields: { tick: { type: Tick, subscribe: () => source, resolve: (m) => m } } }),
    });
    const fanout = sharedSubscriptionExecution({ formatErrors: (e) => e.map((x) => ({ message: x.message })), maxWaiting: 5 });
    const sent: Uint8Array[] = [];
    const contextValue = fanout.deliverTo({}, { send: (b) => (sent.push(b), true), backlog: () => undefined });
    const args: ExecutionArgs = { schema, document: parse('subscription { tick { slow } }'), contextValue };
    const iterator = (await fanout.subscribe(args)) as AsyncIterableIterator<never>;
    // Five may wait (the one executing among them); the sixth cuts it off.
    const ended = iterator.next().then(() => 'ended', (e: { code?: string }) => e.code);
    for (let n = 0; n < 5; n++) publish({ n });
    await new Promise((r) => setImmediate(r));
    expect(await Promise.race([ended, 'running'])).toBe('running');
    publish({ n: 5 });
    expect(await ended).toBe('SLOW_CONSUMER');
    expect(sent).toHaveLength(0);
  });

  it('shares a result among subscribers of one audience only', async () => {
    const listeners: Array<(m: { n: number }) => void> = [];
    const sourceOf = () => new BusSubscription<{ n: number }>((l) => (listeners.push(l), () => {}), () => true, 1_000);
    // A field whose answer depends on who asks, as a role-dependent field would.
    const Tick = new GraphQLObjectType({ name: 'Tick', fields: { seenBy: { type: GraphQLString, resolve: (_m, _a, c: { role: string }) => c.role } } });
    const schema = new GraphQLSchema({
      query: new GraphQLObjectType({ name: 'Query', fields: { x: { type: GraphQLString } } }),
      subscription: new GraphQLObjectType({ name: 'Subscription', fields: { tick: { type: Tick, subscribe: sourceOf, resolve: (m) => m } } }),
    });
    let executions = 0;
    const fanout = sharedSubscriptionExecution({
      formatErrors: (e) => e.map((x) => ({ message: x.message })),
      onExecute: () => executions++,
      audienceOf: (c) => (c as { role: string }).role,
    });
    const received = new Map<string, string[]>();
    const subscriber = async (name: string, role: string) => {
      received.set(name, []);
      const contextValue = fanout.deliverTo({ role }, { send: (b) => (received.get(name)!.push(Buffer.from(b).toString()), true), backlog: () => undefined });
      await fanout.subscribe({ schema, document: parse('subscription { tick { seenBy } }'), contextValue });
    };
    await subscriber('admin', 'admin');
    await subscriber('reader-1', 'reader');
    await subscriber('reader-2', 'reader');
    const message = { n: 1 };
    for (const l of listeners) l(message);
    await new Promise((r) => setImmediate(r));
    expect(received.get('admin')).toEqual(['{"data":{"tick":{"seenBy":"admin"}}}']);
    expect(received.get('reader-1')).toEqual(['{"data":{"tick":{"seenBy":"reader"}}}']);
    expect(received.get('reader-2')).toEqual(received.get('reader-1'));
    expect(executions).toBe(2);
  });

  it('sends nothing before its start hook is done, tells it of a refusal, and stops the source if it fails', async () => {
    let publish!: (m: { n: number }) => void;
    let unsubscribed = 0;
    const source = () => new BusSubscription<{ n: number }>((l) => ((publish = l), () => void unsubscribed++), () => true, 1_000);
    const schema = new GraphQLSchema({
      query: new GraphQLObjectType({ name: 'Query', fields: { x: { type: GraphQLString } } }),
      subscription: new GraphQLObjectType({
        name: 'Subscription',
        fields: {
          tick: { type: GraphQLString, subscribe: source, resolve: (m: { n: number }) => String(m.n) },
          refused: { type: GraphQLString, subscribe: () => { throw new Error('no such cursor'); } },
        },
      }),
    });
    const hooks: Array<{ refusal: unknown; done: () => void; fail: (e: Error) => void }> = [];
    const fanout = sharedSubscriptionExecution({
      formatErrors: (e) => e.map((x) => ({ message: x.message })),
      started: (_args, refusal) => new Promise<void>((done, fail) => hooks.push({ refusal, done, fail })),
    });
    const sent: string[] = [];
    const subscribe = (document: string) =>
      fanout.subscribe({ schema, document: parse(document), contextValue: fanout.deliverTo({}, { send: (b) => (sent.push(Buffer.from(b).toString()), true), backlog: () => undefined }) });
    const tick = subscribe('subscription { tick }');
    await new Promise((r) => setImmediate(r));
    expect(hooks).toHaveLength(1);
    expect(hooks[0]!.refusal).toBeNull();
    publish({ n: 1 });
    await new Promise((r) => setImmediate(r));
    expect(sent).toEqual([]);
    hooks[0]!.done();
    await tick;
    publish({ n: 2 });
    expect(sent).toEqual(['{"data":{"tick":"1"}}', '{"data":{"tick":"2"}}']);

    const refused = subscribe('subscription { refused }');
    await new Promise((r) => setImmediate(r));
    expect(hooks[1]!.refusal).toMatchObject({ errors: [expect.objectContaining({ message: 'no such cursor' })] });
    hooks[1]!.done();
    expect(await refused).toMatchObject({ errors: [expect.objectContaining({ message: 'no such cursor' })] });

    const failing = subscribe('subscription { tick }');
    await new Promise((r) => setImmediate(r));
    hooks[2]!.fail(new Error('audit failed'));
    await expect(failing).rejects.toThrow('audit failed');
    expect(unsubscribed).toBe(1);
    expect(sent).toHaveLength(2);
  });

  it('sends results in the order of their events, one still executing holding back those after it, and completes only after the last', async () => {
    // A source that pushes three events and ends.
    const source = {
      [Symbol.asyncIterator]() { return this; },
      next: async () => ({ value: undefined, done: true as const }),
      return: async () => ({ value: undefined, done: true as const }),
      pipe: async (push: (m: { n: number }) => boolean) => void [1, 2, 3].forEach((n) => push({ n })),
    };
    // The first event's field waits (a database read, say); the others resolve at once.
    const Tick = new GraphQLObjectType({
      name: 'Tick',
      fields: { n: { type: GraphQLString, resolve: (m: { n: number }) => (m.n === 1 ? new Promise((r) => setTimeout(() => r('1'), 50)) : String(m.n)) } },
    });
    const schema = new GraphQLSchema({
      query: new GraphQLObjectType({ name: 'Query', fields: { x: { type: GraphQLString } } }),
      subscription: new GraphQLObjectType({ name: 'Subscription', fields: { tick: { type: Tick, subscribe: () => source, resolve: (m) => m } } }),
    });
    const fanout = sharedSubscriptionExecution({ formatErrors: (e) => e.map((x) => ({ message: x.message })) });
    const sent: string[] = [];
    const contextValue = fanout.deliverTo({}, { send: (b) => (sent.push(Buffer.from(b).toString()), true), backlog: () => undefined });
    const iterator = (await fanout.subscribe({ schema, document: parse('subscription { tick { n } }'), contextValue })) as AsyncIterableIterator<never>;
    const sentWhenDone = iterator.next().then((r) => (r.done ? [...sent] : 'a result came through the iterator'));
    const timeout = new Promise((r) => setTimeout(() => r('never completed'), 2_000));
    expect(await Promise.race([sentWhenDone, timeout])).toEqual(['{"data":{"tick":{"n":"1"}}}', '{"data":{"tick":{"n":"2"}}}', '{"data":{"tick":{"n":"3"}}}']);
  });

  it('shares a result only among subscribers of the same operation and variables', async () => {
    const listeners: Array<(m: { n: number }) => void> = [];
    const sourceOf = () => new BusSubscription<{ n: number }>((l) => (listeners.push(l), () => {}), () => true, 1_000);
    const Tick = new GraphQLObjectType({
      name: 'Tick',
      fields: { echo: { type: GraphQLString, args: { v: { type: GraphQLString } }, resolve: (m: { n: number }, a: { v: string }) => `${a.v}${m.n}` } },
    });
    const schema = new GraphQLSchema({
      query: new GraphQLObjectType({ name: 'Query', fields: { x: { type: GraphQLString } } }),
      subscription: new GraphQLObjectType({ name: 'Subscription', fields: { tick: { type: Tick, subscribe: sourceOf, resolve: (m) => m } } }),
    });
    const document = parse('subscription A($x: String) { tick { echo(v: $x) } } subscription B($x: String) { tick { echo(v: "b") } }');
    const fanout = sharedSubscriptionExecution({ formatErrors: (e) => e.map((x) => ({ message: x.message })) });
    const received: string[][] = [];
    for (const [operationName, x] of [['A', 'one'], ['A', 'two'], ['B', 'one']] as const) {
      const got: string[] = [];
      received.push(got);
      const contextValue = fanout.deliverTo({}, { send: (b) => (got.push(Buffer.from(b).toString()), true), backlog: () => undefined });
      await fanout.subscribe({ schema, document, operationName, variableValues: { x }, contextValue });
    }
    const message = { n: 1 };
    for (const l of listeners) l(message);
    await new Promise((r) => setImmediate(r));
    expect(received).toEqual([['{"data":{"tick":{"echo":"one1"}}}'], ['{"data":{"tick":{"echo":"two1"}}}'], ['{"data":{"tick":{"echo":"b1"}}}']]);
  });
});
