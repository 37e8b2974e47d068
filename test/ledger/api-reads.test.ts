import { describe, expect, it } from 'vitest';
import { gql, gqlOk, serverForFile } from '../support/server.js';

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
});
