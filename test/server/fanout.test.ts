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
    for (let n = 0; n < 20; n++) publish({ n });
    await expect(iterator.next()).rejects.toMatchObject({ code: 'SLOW_CONSUMER' });
    expect(sent).toHaveLength(0);
  });
});
