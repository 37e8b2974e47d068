import { describe, expect, it } from 'vitest';
import { gql, serverForFile, TEST_ADMIN_KEY } from '../support/server.js';
import { wsRequest } from '../support/ws.js';

// Inputs that once got through to PostgreSQL, the stack or the wrong operation: each must be a
// coded refusal that changes nothing, over HTTP and over WebSocket alike.

const running = serverForFile();

const codeOf = async (query: string, variables?: Record<string, unknown>) => (await gql(running.server.url, query, variables)).errors?.[0]?.extensions?.code;
const treeSize = async () => (await gql(running.server.url, `{ ledger { treeSize } }`)).data.ledger.treeSize as number;
/** `{"a":{"a":…1…}}`, `depth` objects deep. */
const nested = (depth: number): unknown => {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = { a: v };
  return v;
};
const APPEND = `mutation($p: JSON) { appendEvents(inputs: [{type: "bad.input", actor: "t", payload: $p}]) { index } }`;
/** The code of a request whose variable `name` is `depth` objects deep, written as text (JSON.stringify would recurse that deep). */
async function deepCode(query: string, name: string, depth: number): Promise<string | undefined> {
  const value = `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
  const res = await fetch(running.server.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${TEST_ADMIN_KEY}` },
    body: `{"query":${JSON.stringify(query)},"variables":{${JSON.stringify(name)}:${value}}}`,
  });
  return ((await res.json()) as { errors?: Array<{ extensions?: { code?: string } }> }).errors?.[0]?.extensions?.code;
}

describe('bad input over HTTP: a coded refusal, nothing written', () => {
  it('refuses payloads nested past the limit, keeps the ledger verifiable', async () => {
    const before = await treeSize();
    expect(await deepCode(APPEND, 'p', 4_500)).toBe('BAD_USER_INPUT');
    expect(await codeOf(APPEND, { p: nested(65) })).toBe('BAD_USER_INPUT');
    const record = `mutation($r: JSON!) { recordQuery(input: {agentId: "a", subject: "s", predicate: "p", result: $r, contributingAssertions: []}) { queryId } }`;
    expect(await deepCode(record, 'r', 4_500)).toBe('BAD_USER_INPUT');
    expect(await codeOf(record, { r: nested(70) })).toBe('BAD_USER_INPUT');
    expect(await treeSize()).toBe(before);
    expect(await codeOf(APPEND, { p: nested(64) })).toBeUndefined();
    const verified = await gql(running.server.url, `{ verify(full: true) { status issues { kind message } } }`);
    expect(verified.data.verify).toEqual({ status: 'VALID', issues: [] });
  });

  it('refuses NUL and lone surrogates anywhere in variables or literals', async () => {
    const before = await treeSize();
    expect(await codeOf(`query($l: String!) { ledger(name: $l) { name } }`, { l: 'ma\u0000in' })).toBe('BAD_USER_INPUT');
    expect(await codeOf(`query($a: String) { events(filter: {actor: $a}) { edges { cursor } } }`, { a: 'x\u0000y' })).toBe('BAD_USER_INPUT');
    expect(await codeOf(`{ events(filter: {actor: "x\\u0000y"}) { edges { cursor } } }`)).toBe('BAD_USER_INPUT');
    expect(await codeOf(`mutation($k: String) { appendEvent(input: {type: "bad.input", actor: "t", idempotencyKey: $k}) { index } }`, { k: 'k\ud800' })).toBe('BAD_USER_INPUT');
    expect(await codeOf(APPEND, { p: { ['key\u0000']: 1 } })).toBe('BAD_USER_INPUT');
    expect(await treeSize()).toBe(before);
  });

  it('refuses another event under an idempotency key already used with CONFLICT, and answers a retry with the first', async () => {
    const append = `mutation($p: JSON) { appendEvent(input: {type: "bad.input", actor: "t", payload: $p, idempotencyKey: "once"}) { index id } }`;
    const first = await gql(running.server.url, append, { p: { v: 1 } });
    const before = await treeSize();
    expect(await codeOf(append, { p: { v: 2 } })).toBe('CONFLICT');
    expect((await gql(running.server.url, append, { p: { v: 1 } })).data.appendEvent).toEqual(first.data.appendEvent);
    expect(await treeSize()).toBe(before);
  });

  it('runs nothing when operationName names no operation in the document', async () => {
    const before = await treeSize();
    const res = await fetch(running.server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TEST_ADMIN_KEY}` },
      body: JSON.stringify({ query: `mutation A { appendEvent(input: {type: "bad.input", actor: "t"}) { index } }`, operationName: 'B' }),
    });
    const body = (await res.json()) as { errors?: Array<{ extensions?: { code?: string } }> };
    expect(body.errors?.[0]?.extensions?.code).toBe('OPERATION_RESOLUTION_FAILURE');
    expect(await treeSize()).toBe(before);
  });

  it('checks first, last and before on every connection', async () => {
    expect(await codeOf(`{ proposals(first: -1) { edges { cursor } } }`)).toBe('BAD_USER_INPUT');
    expect(await codeOf(`{ contracts(first: -5) { edges { cursor } } }`)).toBe('BAD_USER_INPUT');
    expect(await codeOf(`{ contracts(first: 1001) { edges { cursor } } }`)).toBe('BAD_USER_INPUT');
    expect(await codeOf(`{ contracts(last: 2) { edges { cursor } } }`)).toBe('BAD_USER_INPUT');
    expect(await codeOf(`{ account(id: "x") { history(first: -5) { edges { cursor } } } }`)).toBe('BAD_USER_INPUT');
    expect(await codeOf(`{ contracts(first: 5) { edges { cursor } } }`)).toBeUndefined();
  });

  it('answers an unknown contract with NOT_FOUND and a zero-rounding threshold with BAD_USER_INPUT', async () => {
    const before = await treeSize();
    expect(await codeOf(`mutation { setContractParameters(id: "${'cd'.repeat(32)}", parameters: {a: 1}) { id } }`)).toBe('NOT_FOUND');
    const propose = `mutation($t: Float!) { createProposal(input: {title: "t", votingDelay: 0, votingPeriod: 60, quorum: 0, threshold: $t, timelock: 0}) { id } }`;
    expect(await codeOf(propose, { t: 1e-7 })).toBe('BAD_USER_INPUT');
    expect(await treeSize()).toBe(before);
  });

  it('refuses null, arrays and scalars where a rule action needs an object, with BAD_USER_INPUT', async () => {
    const before = await treeSize();
    const propose = `mutation($r: JSON) { createProposal(input: {title: "t", votingDelay: 0, votingPeriod: 5, quorum: 0, threshold: 0.5, timelock: 0, actions: [{rule: $r}]}) { id } }`;
    const contract = (actions: unknown[]) => ({ name: 'x', trigger: { eventTypes: ['a'] }, condition: 'true', actions });
    const template = (actions: unknown[]) => ({ title: 't', votingDelay: 0, votingPeriod: 5, quorum: 0, threshold: 0.5, timelock: 0, actions });
    const rules: unknown[] = [
      { setActive: null }, { setParameters: null }, { create: null },
      { setActive: [] }, { setParameters: 'x' }, { create: [1] }, { create: 7 }, [], 'rule',
      { create: contract([null]) }, { create: contract([[]]) }, { create: contract(['x']) },
      { create: contract([{ raiseAlert: 'x' }]) }, { create: contract([{ openProposal: [] }]) },
      { create: { ...contract([{ raiseAlert: { severity: 'INFO', message: 'm' } }]), trigger: null } },
      { create: { ...contract([{ raiseAlert: { severity: 'INFO', message: 'm' } }]), limits: [] } },
      { create: contract([{ openProposal: { template: null } }]) },
      { create: contract([{ openProposal: { template: [] } }]) },
      { create: contract([{ openProposal: { template: template([null]) } }]) },
      { create: contract([{ openProposal: { template: template([{ mint: 'x' }]) } }]) },
      { create: contract([{ openProposal: { template: template([{ rule: { setActive: null } }]) } }]) },
    ];
    for (const r of rules) {
      const res = await gql(running.server.url, propose, { r });
      expect(res.errors?.[0]?.extensions?.code, JSON.stringify(r)).toBe('BAD_USER_INPUT');
      expect(res.errors?.[0]?.message, JSON.stringify(r)).toMatch(/must (be an object|have exactly one)/);
    }
    const created = await gql(running.server.url, `mutation($i: CreateContractInput!) { createContract(input: $i) { id } }`, {
      i: contract([{ openProposal: { template: template([{ rule: { setActive: null } }]) } }]),
    });
    expect(created.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(created.errors?.[0]?.message).toMatch(/action 0 openProposal.template: action 0 rule must have exactly one of create, setActive, setParameters/);
    expect(await treeSize()).toBe(before);
  });

  it('names the argument a bad DID came in', async () => {
    const long = `did:key:z${'x'.repeat(600)}`;
    for (const q of [`mutation($d: String!) { revokeDid(did: $d) { did } }`, `mutation($d: String!) { registerDid(did: $d, role: "reader", name: "n") { did } }`]) {
      const r = await gql(running.server.url, q, { d: long });
      expect(r.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      expect(r.errors?.[0]?.message).toMatch(/^did DID /);
    }
  });

  it('refuses an empty asOf, and negative heights, sizes and leaves rather than answer "nothing there"', async () => {
    expect(await codeOf(`{ queryAudits(asOf: {}) { edges { cursor } } }`)).toBe('BAD_USER_INPUT');
    expect(await codeOf(`{ block(height: -1) { height } }`)).toBe('BAD_USER_INPUT');
    expect(await codeOf(`{ checkpoint(treeSize: -1) { treeSize } }`)).toBe('BAD_USER_INPUT');
    expect(await codeOf(`{ account(id: "x") { votingPower(at: -1) } }`)).toBe('BAD_USER_INPUT');
    expect(await codeOf(`{ block(height: 0) { height } }`)).toBeUndefined();
  });
});

describe('bad input over WebSocket', () => {
  const wsCode = async (query: string, variables?: Record<string, unknown>) => {
    const answer = await wsRequest(running.server.wsUrl, { query, variables });
    return (answer.errors ?? answer.result?.errors)?.[0]?.extensions?.code;
  };

  it('codes validation, variable and text errors of subscriptions and queries as HTTP does', async () => {
    expect(await wsCode(`subscription { nope }`)).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(await wsCode(`subscription { blockMined { height } checkpointCreated { treeSize } }`)).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(await wsCode(`subscription($a: String) { auditEvent(after: $a) { index } }`, { a: 5 })).toBe('BAD_USER_INPUT');
    expect(await wsCode(`query($l: String!) { ledger(name: $l) { name } }`, { l: 'ma\u0000in' })).toBe('BAD_USER_INPUT');
    expect(await wsCode(APPEND, { p: nested(150) })).toBe('BAD_USER_INPUT');
    // Deep enough to overflow graphql-js's recursive parser, within the token limit: coded, and the socket stays up.
    expect(await wsCode(`{ ledgers ${'{ name '.repeat(3_000)}${'}'.repeat(3_001)}`)).toBe('GRAPHQL_PARSE_FAILED');
  });
});
