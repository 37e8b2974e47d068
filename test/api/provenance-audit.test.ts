import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serverBackend } from '../support/db.js';
import { gql, startServer, type ServerProcess } from '../support/server.js';

let server: ServerProcess;
let cleanup: () => Promise<void>;
const sha = (s: string) => createHash('sha256').update(s).digest('hex');

beforeAll(async () => {
  const backend = await serverBackend();
  cleanup = backend.cleanup;
  server = await startServer({ ...backend.env, CHAINPROOF_AUDIT_AGENTS: 'deploy-agent, did:key:z6MkNotRegistered' });
});
afterAll(async () => {
  await server?.kill('SIGTERM');
  await cleanup?.();
});

async function key(name: string, role: string): Promise<string> {
  const r = await gql(server.url, `mutation($n: String!, $r: String!) { createApiKey(name: $n, role: $r) { key } }`, { n: name, r: role });
  return r.data.createApiKey.key;
}

/** A request whose raw response body is kept, as the client received it. */
async function raw(key: string, body: Record<string, unknown>): Promise<string> {
  const res = await fetch(server.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify(body),
  });
  return res.text();
}

async function audited(): Promise<Array<{ actor: string; author: string; subsystem: string; payload: Record<string, any> }>> {
  const r = await gql(server.url, `{ events(filter: {types: ["OperationAudited"]}, first: 100) { edges { node { actor author subsystem payload } } } }`);
  return r.data.events.edges.map((e: { node: { actor: string; payload: Record<string, any> } }) => e.node);
}

describe('automatic audit of configured agents', () => {
  it('records exactly the configured agent\'s operations, with hashes the client can recompute', async () => {
    const agent = await key('deploy-agent', 'writer');
    const bystander = await key('other-agent', 'writer');
    const sent = [
      { query: `query Head($l: String!) { ledger(name: $l) { name treeSize } }`, variables: { l: 'main' }, operationName: 'Head' },
      { query: `mutation { appendEvent(input: {type: "deploy", actor: "deploy-agent", payload: {v: 2}}) { index } }` },
      { query: `{ nonsense }` },
    ];
    const bodies: string[] = [];
    for (const body of sent) bodies.push(await raw(agent, body));
    // Not audited: another key, the admin, anonymous.
    await raw(bystander, { query: `{ ledger { treeSize } }` });
    await raw(bystander, { query: `mutation { appendEvent(input: {type: "deploy", actor: "other"}) { index } }` });
    await gql(server.url, `{ ledger { treeSize } }`, undefined, null);

    let got: Awaited<ReturnType<typeof audited>> = [];
    for (let i = 0; i < 100 && got.length < sent.length; i++) {
      got = await audited();
      if (got.length < sent.length) await new Promise((r) => setTimeout(r, 50));
    }
    // The admin's own reads above are not audited either; one more settled read shows nothing else arrived.
    await new Promise((r) => setTimeout(r, 300));
    got = await audited();
    expect(got).toHaveLength(sent.length);
    for (const [i, e] of got.entries()) {
      expect(e.actor).toBe('deploy-agent');
      expect(e.subsystem).toBe('provenance');
      expect(e.author).toMatch(/^did:key:z6Mk/); // signed by the server
      expect(e.payload.principal).toBe('deploy-agent');
      expect(e.payload.documentHash).toBe(sha(sent[i]!.query));
      expect(e.payload.variablesHash).toBe(sha(canonicalize(sent[i]!.variables ?? {})!));
      expect(e.payload.resultHash).toBe(sha(canonicalize(JSON.parse(bodies[i]!))!));
      expect(e.payload.durationMs).toBeGreaterThan(0);
    }
    expect(got.map((e) => [e.payload.operationName, e.payload.operationType])).toEqual([['Head', 'query'], [null, 'mutation'], [null, null]]);
    expect(JSON.parse(bodies[2]!).errors[0].extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');

    const rows = await gql(server.url, `{ events(filter: {types: ["deploy"]}) { edges { node { actor } } } }`);
    expect(rows.data.events.edges).toHaveLength(2); // the audited mutation itself still happened, once
  });
});
