import { describe, expect, it } from 'vitest';
import { gql, gqlOk, serverForFile, TEST_ADMIN_KEY } from '../support/server.js';
import { collect } from '../support/ws.js';

// Ledger reads over GraphQL as clients send them, against the built server.

const running = serverForFile();

describe('ledger reads over GraphQL', () => {
  it('treats a filter field given as null as not given', async () => {
    const url = running.server.url;
    await gqlOk(url, `mutation { appendEvents(inputs: [{type: "filter.null", actor: "alice"}, {type: "filter.null", actor: "bob", author: "did:web:example.org"}]) { index } }`);
    const query = `query($actor: String, $author: String, $types: [String!]) {
      events(first: 10, filter: {types: $types, actor: $actor, author: $author}) { edges { node { actor } } } }`;
    const actors = async (variables: Record<string, unknown>) =>
      (await gqlOk(url, query, variables)).events.edges.map((e: { node: { actor: string } }) => e.node.actor);
    expect(await actors({ types: ['filter.null'], actor: null, author: null })).toEqual(['alice', 'bob']);
    expect(await actors({ types: ['filter.null'], actor: 'bob', author: null })).toEqual(['bob']);
    expect(await actors({ types: ['filter.null'] })).toEqual(['alice', 'bob']);
    const literal = await gql(url, `{ events(first: 10, filter: {types: ["filter.null"], resource: null, subsystem: null, result: null, correlationId: null}) { edges { node { actor } } } }`);
    expect(literal.data.events.edges).toHaveLength(2);
  });

  it("refuses an after cursor past the end of the ledger (another ledger's) instead of waiting at it", async () => {
    const url = running.server.url;
    await gqlOk(url, `mutation { createLedger(input: {name: "short"}) { name } }`);
    await gqlOk(url, `mutation { appendEvents(ledger: "short", inputs: [{type: "s", actor: "a"}, {type: "s", actor: "a"}]) { index } }`);
    // Two sealed blocks in main, so its newest block is past any of the short ledger's.
    for (let i = 0; i < 2; i++) {
      await gqlOk(url, `mutation { appendEvents(inputs: [${Array.from({ length: 8 }, () => '{type: "m", actor: "a"}').join(', ')}]) { index } }`);
      await gqlOk(url, `mutation { createCheckpoint { id } }`);
    }
    const main = await gqlOk(url, `{ events(last: 1) { edges { cursor } } blocks(last: 1) { edges { cursor } } checkpoints(last: 1) { edges { cursor } } }`);
    const [event, block, checkpoint] = [main.events, main.blocks, main.checkpoints].map((c) => c.edges[0].cursor as string);
    const codeOf = async (query: string, after: string) => (await gql(url, query, { after })).errors?.[0]?.extensions?.code;
    expect(await codeOf(`query($after: String) { events(ledger: "short", after: $after) { edges { cursor } } }`, event)).toBe('BAD_USER_INPUT');
    expect(await codeOf(`query($after: String) { blocks(ledger: "short", after: $after) { edges { cursor } } }`, block)).toBe('BAD_USER_INPUT');
    expect(await codeOf(`query($after: String) { checkpoints(ledger: "short", after: $after) { edges { cursor } } }`, checkpoint)).toBe('BAD_USER_INPUT');
    // The ledger's own newest cursor is still a fine place to wait at.
    const own = (await gqlOk(url, `{ events(ledger: "short", last: 1) { edges { cursor } } }`)).events.edges[0].cursor;
    expect((await gqlOk(url, `query($after: String) { events(ledger: "short", after: $after) { edges { cursor } } }`, { after: own })).events.edges).toEqual([]);
    expect((await gqlOk(url, `query($after: String) { events(after: $after) { edges { cursor } } }`, { after: event })).events.edges).toEqual([]);

    const sub = collect(url.replace(/^http/, 'ws'), `subscription($after: String) { auditEvent(ledger: "short", after: $after) { index } }`, { after: event }, { authorization: `Bearer ${TEST_ADMIN_KEY}` });
    try {
      await expect(sub.until(1)).rejects.toThrow(/BAD_USER_INPUT|past the end/);
    } finally {
      await sub.close();
    }
  });

  it("refuses another ledger's cursor even at a position this ledger has, and still takes one made before cursors named their ledger", async () => {
    const url = running.server.url;
    await gqlOk(url, `mutation { createLedger(input: {name: "wide"}) { name } }`);
    await gqlOk(url, `mutation { appendEvents(ledger: "wide", inputs: [${Array.from({ length: 6 }, () => '{type: "w", actor: "a"}').join(', ')}]) { index } }`);
    await gqlOk(url, `mutation { createCheckpoint(ledger: "wide") { id } }`);
    const main = await gqlOk(url, `{ events(first: 2) { edges { cursor } } blocks(first: 1) { edges { cursor } } checkpoints(first: 1) { edges { cursor } } }`);
    const [event, block, checkpoint] = [main.events.edges[1], main.blocks.edges[0], main.checkpoints.edges[0]].map((e) => e.cursor as string);
    const errorOf = async (query: string, after: string) => (await gql(url, query, { after })).errors?.[0];
    for (const [query, after] of [
      [`query($after: String) { events(ledger: "wide", after: $after) { edges { cursor } } }`, event],
      [`query($after: String) { events(ledger: "wide", last: 1, before: $after) { edges { cursor } } }`, event],
      [`query($after: String) { blocks(ledger: "wide", after: $after) { edges { cursor } } }`, block],
      [`query($after: String) { checkpoints(ledger: "wide", after: $after) { edges { cursor } } }`, checkpoint],
    ] as const) {
      const error = await errorOf(query, after);
      expect(error?.extensions?.code, query).toBe('BAD_USER_INPUT');
      expect(error?.message).toMatch(/another ledger's/);
    }
    const sub = collect(url.replace(/^http/, 'ws'), `subscription($after: String) { auditEvent(ledger: "wide", after: $after) { index } }`, { after: event }, { authorization: `Bearer ${TEST_ADMIN_KEY}` });
    try {
      await expect(sub.until(1)).rejects.toThrow(/another ledger's/);
    } finally {
      await sub.close();
    }
    // Every cursor wide hands out is its own, and one without a ledger's mark reads as a position.
    const own = await gqlOk(url, `{ events(ledger: "wide", first: 2) { edges { cursor } } }`);
    const next = await gqlOk(url, `query($after: String) { events(ledger: "wide", first: 10, after: $after) { edges { node { index } } } }`, { after: own.events.edges[1].cursor });
    expect(next.events.edges.map((e: { node: { index: number } }) => e.node.index)).toEqual([2, 3, 4, 5]);
    const unmarked = await gqlOk(url, `query($after: String) { events(ledger: "wide", first: 10, after: $after) { edges { node { index } } } }`, { after: Buffer.from('event:3').toString('base64url') });
    expect(unmarked.events.edges.map((e: { node: { index: number } }) => e.node.index)).toEqual([4, 5]);
  });
});
