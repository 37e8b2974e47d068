import { createHash, randomBytes } from 'node:crypto';
import canonicalize from 'canonicalize';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestSigningBytes } from '../../src/auth/known-dids.js';
import { didKeyFromPublicKey } from '../../src/ledger/events/did-key.js';
import { ed25519FromSeed } from '../../src/ledger/events/ed25519.js';
import { serverBackend, usingPostgres } from '../support/db.js';
import { gql, startServer, type ServerProcess } from '../support/server.js';
import { collect, wsRequest } from '../support/ws.js';
import WebSocket from 'ws';

/** Test servers' key name (CHAINPROOF_ORIGIN): what a signed request is signed for. */
const AUDIENCE = 'test.chainproof';

let server: ServerProcess;
let cleanup: () => Promise<void>;
let serverDatabaseUrl: string | undefined;
const sha = (s: string) => createHash('sha256').update(s).digest('hex');
/** Signers: one listed by its DID, one by the name it is registered under, one not listed. */
const signers = ['by-did', 'by-name', 'unlisted'].map((label) => {
  const key = ed25519FromSeed(randomBytes(32));
  return { label, key, did: didKeyFromPublicKey(key.publicKey) };
});

beforeAll(async () => {
  const backend = await serverBackend();
  cleanup = backend.cleanup;
  serverDatabaseUrl = backend.env.DATABASE_URL;
  server = await startServer({ ...backend.env, CHAINPROOF_AUDIT_AGENTS: `deploy-agent, ${signers[0]!.did},named-signer,ws-agent,odd-input-agent,odd-name-agent,leaving-agent,sub-agent` });
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

async function audited(actor?: string): Promise<Array<{ index: number; actor: string; author: string; subsystem: string; payload: Record<string, any> }>> {
  const r = await gql(server.url, `query($a: String) { events(filter: {types: ["OperationAudited"], actor: $a}, first: 100) { edges { node { index actor author subsystem payload } } } }`, { a: actor });
  return r.data.events.edges.map((e: { node: { actor: string; payload: Record<string, any> } }) => e.node);
}

describe('automatic audit of configured agents', () => {
  it('records exactly the configured agent\'s operations, with hashes the client can recompute', async () => {
    const agent = await key('deploy-agent', 'writer');
    const bystander = await key('other-agent', 'writer');
    const sent = [
      { query: `query Head($l: String!) { ledger(name: $l) { name treeSize } }`, variables: { l: 'main' }, operationName: 'Head' },
      // The document's hash is of the text exactly as sent, whitespace and all.
      { query: `\n  mutation { appendEvent(input: {type: "deploy", actor: "deploy-agent", payload: {v: 2}}) { index } }\n` },
      { query: `{ nonsense }` },
    ];
    const bodies: string[] = [];
    for (const body of sent) bodies.push(await raw(agent, body));
    // Not audited: another key, the admin, anonymous.
    await raw(bystander, { query: `{ ledger { treeSize } }` });
    await raw(bystander, { query: `mutation { appendEvent(input: {type: "deploy", actor: "other"}) { index } }` });
    await gql(server.url, `{ ledger { treeSize } }`, undefined, null);

    // Each answer left once its audit was committed: all are there at once.
    let got = await audited();
    expect(got).toHaveLength(sent.length);
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

  it('audits the agent over the WebSocket too: queries, mutations and refusals, hashed as received', async () => {
    const agent = await key('ws-agent', 'writer');
    const sent = [
      { query: `query Head($l: String!) { ledger(name: $l) { name treeSize } }`, variables: { l: 'main' }, operationName: 'Head' },
      { query: `mutation { appendEvent(input: {type: "deploy", actor: "ws-agent", payload: {v: 3}}) { index } }` },
      { query: `{ nonsense }` },
    ];
    const answers = [];
    for (const body of sent) answers.push(await wsRequest(server.wsUrl, body, { authorization: `Bearer ${agent}` }));
    // Each `next` or `error` message left once its audit was committed.
    const got = (await audited()).filter((e) => e.actor === 'ws-agent');
    expect(got).toHaveLength(sent.length);
    for (const [i, e] of got.entries()) {
      expect(e.payload.documentHash).toBe(sha(sent[i]!.query));
      expect(e.payload.variablesHash).toBe(sha(canonicalize(sent[i]!.variables ?? {})!));
      // A `next` message's payload, or the errors of an `error` message as a response body.
      const received = answers[i]!.result ?? { errors: answers[i]!.errors };
      expect(e.payload.resultHash).toBe(sha(canonicalize(received)!));
      expect(e.payload.durationMs).toBeGreaterThan(0);
    }
    expect(got.map((e) => [e.payload.operationName, e.payload.operationType])).toEqual([['Head', 'query'], [null, 'mutation'], [null, null]]);
    expect(answers[1]!.result!.data.appendEvent.index).toBeGreaterThan(0);
    expect(answers[2]!.errors![0]!.extensions!.code).toBe('GRAPHQL_VALIDATION_FAILED');
  });

  it('audits a subscription as it starts, before any of its events (here the ledger\'s history) leave', async () => {
    const agent = await key('sub-agent', 'reader');
    const query = `subscription Replay($after: String) { auditEvent(after: $after) { index type } }`;
    const writer = await key('sub-agent-writer', 'writer');
    for (const n of [1, 2]) {
      expect((await gql(server.url, `mutation { appendEvent(input: {type: "replayed", actor: "w", payload: {n: ${n}}}) { index } }`, undefined, writer)).errors).toBeUndefined();
    }
    const first = await gql(server.url, `{ events(first: 1) { edges { cursor } } }`);
    const variables = { after: first.data.events.edges[0].cursor as string };
    const sub = collect<{ auditEvent: { index: number } }>(server.wsUrl, query, variables, { authorization: `Bearer ${agent}` });
    try {
      // The ledger's history came over the socket.
      await sub.until(1);
    } finally {
      await sub.close();
    }
    const got = await audited('sub-agent');
    expect(got).toHaveLength(1);
    expect(got[0]!.payload).toMatchObject({
      operationName: 'Replay',
      operationType: 'subscription',
      documentHash: sha(query),
      variablesHash: sha(canonicalize(variables)!),
      // What had answered the subscription when it started: nothing yet; its events follow through the fan-out.
      resultHash: sha('null'),
    });
    // A subscription refused before it is admitted is audited with what refused it, as any refused operation is.
    const refusedQuery = `subscription Bad($n: Int) { auditEvent(first: $n) { index } }`;
    const refused = await wsRequest(server.wsUrl, { query: refusedQuery, variables: { n: 1 } }, { authorization: `Bearer ${agent}` });
    expect(refused.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    const again = await audited('sub-agent');
    expect(again).toHaveLength(2);
    expect(again[1]!.payload).toMatchObject({ documentHash: sha(refusedQuery), resultHash: sha(canonicalize({ errors: refused.errors })!) });
    // Refused as it starts — a ledger only admins read, a cursor that names no event — it is audited with the
    // answer its client got, not as if it had started.
    for (const [query, code] of [
      [`subscription { auditEvent(ledger: "system") { index } }`, 'FORBIDDEN'],
      [`subscription { auditEvent(after: "not-a-cursor") { index } }`, 'BAD_USER_INPUT'],
    ] as const) {
      const answer = await wsRequest(server.wsUrl, { query }, { authorization: `Bearer ${agent}` });
      const received = answer.result ?? { errors: answer.errors };
      expect(received.errors?.[0]?.extensions?.code).toBe(code);
      const last = (await audited('sub-agent')).at(-1)!;
      expect(last.payload).toMatchObject({ operationType: 'subscription', documentHash: sha(query), resultHash: sha(canonicalize(received)!) });
    }
    expect(await audited('sub-agent')).toHaveLength(4);
  });

  it('audits requests refused for variables RFC 8785 cannot encode, over HTTP and WebSocket', async () => {
    const agent = await key('odd-input-agent', 'writer');
    const query = `query Odd($l: String!) { ledger(name: $l) { treeSize } }`;
    // A lone surrogate, and nesting far past any stack: JSON text carries both, RFC 8785 neither.
    const lone = `{"query":${JSON.stringify(query)},"variables":{"l":"\\ud800"}}`;
    const deep = `{"query":${JSON.stringify(query)},"variables":{"l":${'['.repeat(200_000)}${']'.repeat(200_000)}}}`;
    const answers: unknown[] = [];
    for (const body of [lone, deep]) {
      const res = await fetch(server.url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${agent}` }, body });
      answers.push(await res.json());
    }
    const ws = await wsRequest(server.wsUrl, { query, variables: { l: '\ud800' } }, { authorization: `Bearer ${agent}` });
    answers.push({ errors: ws.errors });
    for (const a of answers) expect((a as { errors: Array<{ extensions: { code: string } }> }).errors[0]!.extensions.code).toBe('BAD_USER_INPUT');

    // Refusals too are answered only once audited.
    const got = (await audited()).filter((e) => e.actor === 'odd-input-agent');
    expect(got).toHaveLength(3);
    for (const [i, e] of got.entries()) {
      expect(e.payload.documentHash).toBe(sha(query));
      expect(e.payload.variablesHash).toBe(sha('')); // stands for what has no RFC 8785 text
      expect(e.payload.resultHash).toBe(sha(canonicalize(answers[i])!));
      expect([i, e.payload.operationName]).toEqual([i, 'Odd']);
    }
  });

  it('audits operations whose name it cannot keep whole, and persisted queries by their document', async () => {
    const agent = await key('odd-name-agent', 'writer');
    const long = `Op${'x'.repeat(70_000)}`;
    const mutation = `mutation ${long} { appendEvent(input: {type: "deploy", actor: "odd-name-agent"}) { index } }`;
    const apq = `query Persisted { ledger { name } }`;
    const persisted = { persistedQuery: { version: 1, sha256Hash: sha(apq) } };
    const answers = [
      JSON.parse(await raw(agent, { query: mutation, operationName: long })),
      // Names no operation of its document: refused, and the refusal audited with the name it gave.
      JSON.parse(await raw(agent, { query: `query Real { ledger { name } }`, operationName: 'Bad\u0000\ud800' })),
      JSON.parse(await raw(agent, { query: apq, extensions: persisted })),
      JSON.parse(await raw(agent, { extensions: persisted })),
    ];
    expect(answers[0].data.appendEvent.index).toBeGreaterThanOrEqual(0);
    expect(answers[1].errors[0].extensions.code).toBe('OPERATION_RESOLUTION_FAILURE');
    expect(answers[3].data.ledger.name).toBe('main');

    const got = (await audited()).filter((e) => e.actor === 'odd-name-agent');
    expect(got.map((e) => e.payload.operationName)).toEqual([long.slice(0, 256), 'Bad\ufffd\ufffd', 'Persisted', 'Persisted']);
    expect(got.map((e) => e.payload.documentHash)).toEqual([sha(mutation), sha(`query Real { ledger { name } }`), sha(apq), sha(apq)]);
    // The refusal echoes the lone surrogate, which has no RFC 8785 text: its hash stands for none.
    expect(got.map((e) => e.payload.resultHash)).toEqual(answers.map((a, i) => sha(i === 1 ? '' : canonicalize(a)!)));
  });

  it('audits did:key-signed requests of DIDs listed by DID or by registered name, and no others', async () => {
    const names = { 'by-did': 'signer-one', 'by-name': 'named-signer', unlisted: 'signer-three' } as Record<string, string>;
    for (const s of signers) {
      const r = await gql(server.url, `mutation($d: String!, $n: String!) { registerDid(did: $d, role: "writer", name: $n) { did } }`, { d: s.did, n: names[s.label] });
      expect(r.errors).toBeUndefined();
    }
    const body = JSON.stringify({ query: `{ ledger { treeSize } }` });
    for (const s of signers) {
      const ts = String(Date.now());
      const signature = s.key.sign(requestSigningBytes(AUDIENCE, 'POST', '/graphql', ts, body)).toString('hex');
      const res = await fetch(server.url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-chainproof-did': s.did, 'x-chainproof-timestamp': ts, 'x-chainproof-signature': signature }, body });
      expect(res.status).toBe(200);
    }
    const got = (await audited()).filter((e) => e.actor.startsWith('did:'));
    expect(got.map((e) => e.actor).sort()).toEqual([signers[0]!.did, signers[1]!.did].sort());
    expect(got.every((e) => e.payload.documentHash === sha('{ ledger { treeSize } }'))).toBe(true);
  });
});

describe.runIf(usingPostgres())('automatic audit projection', () => {
  it('audits a WebSocket mutation the client completes or hangs up on before its answer', async () => {
    const agent = await key('leaving-agent', 'writer');
    const mutation = (n: number) => JSON.stringify({ id: `m${n}`, type: 'subscribe', payload: { query: `mutation { appendEvent(input: {type: "leaving", actor: "leaving-agent", payload: {n: ${n}}}) { index } }` } });
    for (const leave of ['complete', 'close'] as const) {
      for (let n = 0; n < 5; n++) {
        const ws = new WebSocket(server.wsUrl, 'graphql-transport-ws');
        await new Promise((r) => ws.once('open', r));
        ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${agent}` } }));
        await new Promise((r) => ws.once('message', r));
        ws.send(mutation(n));
        if (leave === 'complete') ws.send(JSON.stringify({ id: `m${n}`, type: 'complete' }));
        else ws.terminate();
        if (leave === 'complete') ws.close();
      }
    }
    // Every mutation that ran has its audit; the ones the server never read ran nowhere.
    const count = async () => {
      const events = await gql(server.url, `{ events(filter: {types: ["leaving"]}, first: 100) { edges { node { index } } } }`);
      return { ran: events.data.events.edges.length as number, audited: (await audited()).filter((e) => e.actor === 'leaving-agent').length };
    };
    let seen = await count();
    for (let waited = 0; (seen.ran === 0 || seen.audited < seen.ran) && waited < 10_000; waited += 100) {
      await new Promise((r) => setTimeout(r, 100));
      seen = await count();
    }
    expect(seen.ran).toBeGreaterThan(0);
    expect(seen.audited).toBe(seen.ran);
  });

  it('holds each audited operation\'s hashes in their own columns, as its event carries them', async () => {
    const db = new pg.Client({ connectionString: serverDatabaseUrl });
    await db.connect();
    try {
      const events = await audited();
      expect(events.length).toBeGreaterThan(0);
      // Up to the last audit read: a mutation the test before hung up on may still be landing its own.
      const { rows } = await db.query(
        `SELECT principal, encode(document_hash, 'hex') AS document_hash, encode(variables_hash, 'hex') AS variables_hash,
                encode(result_hash, 'hex') AS result_hash FROM prov_operation_audits WHERE event_idx <= $1 ORDER BY event_idx`,
        [events.at(-1)!.index],
      );
      expect(rows).toEqual(events.map((e) => ({
        principal: e.payload.principal,
        document_hash: e.payload.documentHash,
        variables_hash: e.payload.variablesHash,
        result_hash: e.payload.resultHash,
      })));
    } finally {
      await db.end();
    }
  });
});

describe.runIf(usingPostgres())('automatic audit that cannot be recorded', () => {
  it('logs the failure and still answers the client in full', async () => {
    const backend = await serverBackend();
    const s = await startServer({ ...backend.env, CHAINPROOF_AUDIT_AGENTS: 'admin-agent' });
    const db = new pg.Client({ connectionString: backend.env.DATABASE_URL });
    await db.connect();
    try {
      const created = await gql(s.url, `mutation { createApiKey(name: "admin-agent", role: "reader") { key } }`);
      expect(created.errors).toBeUndefined();
      const key: string = created.data.createApiKey.key;
      // The audit's projection row cannot be written: its append rolls back, as a full disk's would.
      await db.query(`ALTER TABLE prov_operation_audits ADD CONSTRAINT refuse_all CHECK (false) NOT VALID`);
      const r = await gql(s.url, `{ ledger { name treeSize } }`, undefined, key);
      expect(r.errors).toBeUndefined();
      expect(r.data.ledger.name).toBe('main');
      for (let i = 0; i < 100 && !s.logs.some((l) => l.includes('operation audit was not recorded')); i++) await new Promise((res) => setTimeout(res, 50));
      expect(s.logs.some((l) => l.includes('operation audit was not recorded') && l.includes('refuse_all'))).toBe(true);
    } finally {
      await db.end();
      await s.kill('SIGTERM');
      await backend.cleanup();
    }
  });
});
