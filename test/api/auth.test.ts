import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { isReservedAccountName } from '../../src/auth/api-keys.js';
import { requestSigningBytes } from '../../src/auth/known-dids.js';
import { RULES_ACTOR } from '../../src/rules/events.js';
import { didKeyFromPublicKey } from '../../src/ledger/events/did-key.js';
import { ed25519FromSeed } from '../../src/ledger/events/ed25519.js';
import { createClient } from 'graphql-ws';
import pg from 'pg';
import WebSocket from 'ws';
import { serverBackend, tempDataDir, usingPostgres } from '../support/db.js';
import { gql, startServer, TEST_ADMIN_KEY, type ServerProcess } from '../support/server.js';

/** Test servers' key name (CHAINPROOF_ORIGIN): what a signed request is signed for. */
const AUDIENCE = 'test.chainproof';

let server: ServerProcess;
let serverEnv: Record<string, string>;
let closed: ServerProcess | undefined;
let cleanup: Array<() => Promise<void>> = [];

async function backend(): Promise<Record<string, string>> {
  const b = await serverBackend();
  cleanup.push(b.cleanup);
  return b.env;
}

beforeAll(async () => {
  serverEnv = await backend();
  server = await startServer(serverEnv);
});
afterAll(async () => {
  await server?.kill('SIGTERM');
  await closed?.kill('SIGTERM');
  for (const c of cleanup) await c();
});

const APPEND = `mutation { appendEvent(input: {type: "t", actor: "a"}) { index } }`;

async function keyFor(role: string, name: string): Promise<string> {
  const r = await gql(server.url, `mutation($r: String!, $n: String!) { createApiKey(role: $r, name: $n) { key apiKey { id name role } } }`, { r: role, n: name });
  expect(r.errors).toBeUndefined();
  expect(r.data.createApiKey.apiKey).toMatchObject({ name, role });
  return r.data.createApiKey.key;
}

describe('access control', () => {
  it('each mutation checks its role in one place: anonymous, reader, writer, admin', async () => {
    const reader = await keyFor('reader', 'matrix-reader');
    const writer = await keyFor('writer', 'matrix-writer');
    const governor = await keyFor('governor', 'matrix-governor');
    const validator = await keyFor('validator', 'matrix-validator');
    const mutations: Array<[string, string, Record<string, unknown>?]> = [
      ['writer', APPEND],
      ['writer', `mutation { appendEvents(inputs: [{type: "t", actor: "a"}]) { index } }`],
      ['writer', `mutation { createCheckpoint { treeSize } }`],
      ['admin', `mutation($n: String!) { createLedger(input: {name: $n}) { name } }`],
      ['admin', `mutation { createApiKey(role: "reader", name: "made-in-matrix") { key } }`],
      ['admin', `mutation { revokeApiKey(id: "made-in-matrix") { revokedAt } }`],
    ];
    const callers: Array<[string, string | null, string[]]> = [
      ['anonymous', null, []],
      ['reader', reader, []],
      ['validator', validator, []],
      ['writer', writer, ['writer']],
      ['governor', governor, ['writer']],
      ['admin', TEST_ADMIN_KEY, ['writer', 'admin']],
    ];
    let ledgerNo = 0;
    for (const [who, key, allowed] of callers) {
      for (const [needs, query] of mutations) {
        const r = await gql(server.url, query, { n: `matrix-${ledgerNo++}` }, key);
        const code = r.errors?.[0]?.extensions?.code;
        if (allowed.includes(needs)) expect(r.errors, `${who} may ${query}`).toBeUndefined();
        else expect(code, `${who} may not ${query}`).toBe(key ? 'FORBIDDEN' : 'UNAUTHENTICATED');
      }
    }
  });

  it('reads are public by default and an admin-only query is not', async () => {
    const r = await gql(server.url, `{ ledger { treeSize } }`, undefined, null);
    expect(r.errors).toBeUndefined();
    const keys = await gql(server.url, `{ apiKeys { name } }`, undefined, null);
    expect(keys.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    // A full verification streams the whole ledger: anyone may ask for a quick one, a key holder for a full one.
    expect((await gql(server.url, `{ verify { status } }`, undefined, null)).data.verify.status).toBe('VALID');
    expect((await gql(server.url, `{ verify(full: true) { status } }`, undefined, null)).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const reader = await keyFor('reader', 'full-verifier');
    expect((await gql(server.url, `{ verify(full: true) { status } }`, undefined, reader)).data.verify.status).toBe('VALID');
  });

  it('refuses an unknown key with 401 rather than treating it as anonymous, and never lists secrets', async () => {
    const r = await gql(server.url, `{ ledger { treeSize } }`, undefined, 'cpk_not-a-real-key-000000000000000000000');
    expect(r.status).toBe(401);
    expect(r.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const list = await gql(server.url, `{ apiKeys { id name role createdBy revokedAt } }`);
    expect(JSON.stringify(list.data)).not.toContain('cpk_');
    expect(list.data.apiKeys.map((k: { role: string }) => k.role)).toContain('admin');
  });

  it('a revoked key stops working; the change is itself a ledger event', async () => {
    const writer = await keyFor('writer', 'short-lived');
    expect((await gql(server.url, APPEND, undefined, writer)).errors).toBeUndefined();
    const revoked = await gql(server.url, `mutation { revokeApiKey(id: "short-lived") { name revokedAt } }`);
    expect(revoked.data.revokeApiKey.revokedAt).not.toBeNull();
    const after = await gql(server.url, APPEND, undefined, writer);
    expect(after.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    const events = await gql(server.url, `{ events(ledger: "system", filter: {subsystem: "auth", types: ["ApiKeyRevoked"]}) { edges { node { actor payload } } } }`);
    expect(events.data.events.edges.at(-1).node).toMatchObject({ actor: expect.stringMatching(/^bootstrap-admin/) });
    const again = await gql(server.url, `mutation { revokeApiKey(id: "short-lived") { name } }`);
    expect(again.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });

  it('a key revoked while its WebSocket is open stops working there too: no more writes, and the socket closes with 4403', async () => {
    const writer = await keyFor('writer', 'ws-short-lived');
    const open = () => {
      let closedWith!: (code: number) => void;
      const closedCode = new Promise<number>((r) => (closedWith = r));
      const client = createClient({
        url: server.wsUrl,
        webSocketImpl: WebSocket,
        retryAttempts: 0,
        lazy: false,
        connectionParams: { authorization: `Bearer ${writer}` },
        onNonLazyError: () => {},
        on: { closed: (e) => closedWith((e as { code: number }).code) },
      });
      // A live subscription holds the socket open, as a monitor's would.
      client.subscribe({ query: `subscription { blockMined { height } }` }, { next: () => {}, error: () => {}, complete: () => {} });
      const run = (query: string) =>
        new Promise<unknown>((resolve) => {
          const out: unknown[] = [];
          client.subscribe({ query }, { next: (r) => out.push(r), error: (e) => resolve({ error: e }), complete: () => resolve(out) });
        });
      return { client, closedCode, run };
    };
    const acting = open();
    const watching = open();
    try {
      expect(await acting.run(APPEND)).toEqual([{ data: { appendEvent: { index: expect.any(Number) } } }]);
      const size = async () => (await gql(server.url, `{ ledger { treeSize } }`)).data.ledger.treeSize;
      const before = await size();
      expect((await gql(server.url, `mutation { revokeApiKey(id: "ws-short-lived") { revokedAt } }`)).errors).toBeUndefined();
      // An operation on the open socket is refused, and the socket is closed as a bad connection_init's would be.
      expect(await acting.run(APPEND)).toMatchObject({ error: expect.anything() });
      expect(await acting.closedCode).toBe(4403);
      expect(await size()).toBe(before);
      // A socket that only listens is closed too, without sending anything.
      expect(await watching.closedCode).toBe(4403);
    } finally {
      await acting.client.dispose();
      await watching.client.dispose();
    }
  });

  it('accepts requests signed by a registered did:key, and refuses forged, replayed or revoked ones', async () => {
    const key = ed25519FromSeed(randomBytes(32));
    const did = didKeyFromPublicKey(key.publicKey);
    const reg = await gql(server.url, `mutation($d: String!) { registerDid(did: $d, role: "writer", name: "signer-bot") { did role revokedAt } }`, { d: did });
    expect(reg.data.registerDid).toEqual({ did, role: 'writer', revokedAt: null });
    const signedFetch = (body: string, opts: { sign?: string; ts?: number } = {}) => {
      const ts = String(opts.ts ?? Date.now());
      const signature = key.sign(requestSigningBytes(AUDIENCE, 'POST', '/graphql', ts, opts.sign ?? body)).toString('hex');
      return fetch(server.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-chainproof-did': did, 'x-chainproof-timestamp': ts, 'x-chainproof-signature': signature },
        body,
      });
    };
    const body = JSON.stringify({ query: APPEND });
    const ok = await signedFetch(body);
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as any).data.appendEvent.index).toBeGreaterThanOrEqual(0);
    const forged = await signedFetch(JSON.stringify({ query: `mutation { createLedger(input: {name: "x"}) { name } }` }), { sign: body });
    expect(forged.status).toBe(401);
    const stale = await signedFetch(body, { ts: Date.now() - 3_600_000 });
    expect(stale.status).toBe(401);
    // Signed for another deployment (which could replay what it was sent): not for this one.
    const ts0 = String(Date.now());
    const elsewhere = key.sign(requestSigningBytes('other.example', 'POST', '/graphql', ts0, body)).toString('hex');
    const replayed = await fetch(server.url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-chainproof-did': did, 'x-chainproof-timestamp': ts0, 'x-chainproof-signature': elsewhere }, body });
    expect(replayed.status).toBe(401);
    // The same signed bytes twice: the second is a replay.
    const ts = String(Date.now());
    const sig = key.sign(requestSigningBytes(AUDIENCE, 'POST', '/graphql', ts, body)).toString('hex');
    const send = () => fetch(server.url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-chainproof-did': did, 'x-chainproof-timestamp': ts, 'x-chainproof-signature': sig }, body });
    expect((await send()).status).toBe(200);
    expect((await send()).status).toBe(401);
    // Writer, not admin.
    const admin = JSON.stringify({ query: `{ apiKeys { name } }` });
    expect(((await (await signedFetch(admin)).json()) as any).errors[0].extensions.code).toBe('FORBIDDEN');
    await gql(server.url, `mutation($d: String!) { revokeDid(did: $d) { revokedAt } }`, { d: did });
    const revoked = await signedFetch(body);
    expect(revoked.status).toBe(401);
    expect(((await revoked.json()) as any).errors[0].message).toMatch(/unknown or revoked DID/);
  });

  it('a signed request missing one of its three headers is refused with 401, naming them', async () => {
    const body = JSON.stringify({ query: APPEND });
    const all = { 'x-chainproof-did': 'did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK', 'x-chainproof-timestamp': String(Date.now()), 'x-chainproof-signature': 'ab'.repeat(64) };
    for (const left of Object.keys(all)) {
      const headers: Record<string, string> = { 'content-type': 'application/json', ...all };
      delete headers[left];
      const res = await fetch(server.url, { method: 'POST', headers, body });
      expect(res.status, left).toBe(401);
      const answer = (await res.json()) as any;
      expect(answer.errors[0].extensions.code, left).toBe('UNAUTHENTICATED');
      expect(answer.errors[0].message, left).toMatch(/X-Chainproof-DID, X-Chainproof-Timestamp and X-Chainproof-Signature/);
    }
  });

  it('a signed request is accepted once, not once per server process: a restart does not forget it', async () => {
    const key = ed25519FromSeed(randomBytes(32));
    const did = didKeyFromPublicKey(key.publicKey);
    expect((await gql(server.url, `mutation($d: String!) { registerDid(did: $d, role: "writer", name: "once-bot") { did } }`, { d: did })).errors).toBeUndefined();
    const body = JSON.stringify({ query: APPEND });
    const ts = String(Date.now());
    const signature = key.sign(requestSigningBytes(AUDIENCE, 'POST', '/graphql', ts, body)).toString('hex');
    const send = () =>
      fetch(server.url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-chainproof-did': did, 'x-chainproof-timestamp': ts, 'x-chainproof-signature': signature }, body });
    expect((await send()).status).toBe(200);
    // Another process of the deployment, or this one started again, sees the same database.
    await server.kill('SIGTERM');
    server = await startServer(serverEnv);
    const size = (await gql(server.url, `{ ledger { treeSize } }`)).data.ledger.treeSize;
    const replayed = await send();
    expect(replayed.status).toBe(401);
    expect(((await replayed.json()) as any).errors[0].message).toMatch(/replayed signature/);
    expect((await gql(server.url, `{ ledger { treeSize } }`)).data.ledger.treeSize).toBe(size);
  });

  it.runIf(usingPostgres())('a database failure while checking a key is an internal error, not a refused key, and its message stays in the log', async () => {
    // One connection holds api_keys so the server's key look-up waits; another (outside that
    // transaction, whose view of pg_stat_activity would not change) ends the look-up's connection.
    const locker = new pg.Client({ connectionString: serverEnv.DATABASE_URL });
    const watcher = new pg.Client({ connectionString: serverEnv.DATABASE_URL });
    await locker.connect();
    await watcher.connect();
    const failingLookup = async <T>(request: () => Promise<T>): Promise<T> => {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE api_keys IN ACCESS EXCLUSIVE MODE');
      const answer = request();
      for (;;) {
        const killed = await watcher.query(
          `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
            WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%FROM api_keys%'`,
        );
        if (killed.rows.length > 0) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      await locker.query('ROLLBACK');
      return answer;
    };
    try {
      const unknownKey = `cpk_${randomBytes(24).toString('hex')}`;
      const res = await failingLookup(() =>
        fetch(server.url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${unknownKey}` }, body: JSON.stringify({ query: '{ ledgers { name } }' }) }),
      );
      const body = (await res.json()) as any;
      expect(res.status).toBe(500);
      expect(body.errors[0].extensions.code).toBe('INTERNAL_SERVER_ERROR');
      expect(body.errors[0].message).not.toMatch(/terminat|connection/i);
      // The log line reaches this process through the server's stdout, after the response may have.
      await vi.waitFor(() => expect(server.logs.some((l) => l.includes('"level":50') && /terminat/i.test(l))).toBe(true), { timeout: 10_000 });
      // Over the WebSocket, the same failure is not answered as a bad key (4403).
      const closeCode = await failingLookup(
        () =>
          new Promise<number>((resolve) => {
            createClient({
              url: server.wsUrl,
              webSocketImpl: WebSocket,
              retryAttempts: 0,
              lazy: false,
              onNonLazyError: () => {},
              connectionParams: { authorization: `Bearer cpk_${randomBytes(24).toString('hex')}` },
              on: { closed: (e) => resolve((e as { code: number }).code) },
            });
          }),
      );
      expect(closeCode).toBe(4500);
      // The server still knows a good key once the database answers again.
      expect((await gql(server.url, `{ ledgers { name } }`)).status).toBe(200);
    } finally {
      await locker.end();
      await watcher.end();
    }
  });

  it('bad key requests are coded and change nothing', async () => {
    const before = (await gql(server.url, `{ apiKeys { id } }`)).data.apiKeys.length;
    for (const [role, name, code] of [['root', 'x1', 'BAD_USER_INPUT'], ['reader', 'has space', 'BAD_USER_INPUT'], ['reader', 'matrix-reader', 'CONFLICT']]) {
      const r = await gql(server.url, `mutation($r: String!, $n: String!) { createApiKey(role: $r, name: $n) { key } }`, { r: role, n: name });
      expect(r.errors?.[0]?.extensions?.code, `${role} ${name}`).toBe(code);
    }
    expect((await gql(server.url, `{ apiKeys { id } }`)).data.apiKeys.length).toBe(before);
  });

  it('keeps the system ledger to the server: no client forges an ApiKeyCreated there, not even an admin', async () => {
    const writer = await keyFor('writer', 'system-forger');
    const systemSize = async () => (await gql(server.url, `{ ledger(name: "system") { treeSize } }`)).data.ledger.treeSize;
    const before = await systemSize();
    const forged = { type: 'ApiKeyCreated', actor: 'bootstrap-admin', subsystem: 'auth', resource: 'apikey/key_deadbeef', payload: { id: 'key_deadbeef', name: 'mallory', role: 'admin' } };
    for (const key of [writer, TEST_ADMIN_KEY]) {
      const one = await gql(server.url, `mutation($i: AppendEventInput!) { appendEvent(ledger: "system", input: $i) { index } }`, { i: forged }, key);
      expect(one.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      const many = await gql(server.url, `mutation($i: [AppendEventInput!]!) { appendEvents(ledger: "system", inputs: $i) { index } }`, { i: [{ type: 't', actor: 'a' }] }, key);
      expect(many.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    }
    expect(await systemSize()).toBe(before);
    // The server's own administration still writes there, and clients' `auth` events elsewhere are theirs.
    await keyFor('reader', 'after-forgery');
    expect(await systemSize()).toBe(before + 1);
    const login = await gql(server.url, `mutation { appendEvent(input: {type: "login", actor: "alice", subsystem: "auth"}) { index } }`, undefined, writer);
    expect(login.errors).toBeUndefined();
  });

  it('the system ledger is read by admins only: its events name keys and carry their hashes', async () => {
    const reader = await keyFor('reader', 'system-peeker');
    const writer = await keyFor('writer', 'system-peeker-w');
    const reads = [
      `{ events(ledger: "system") { edges { node { payload } } } }`,
      `{ leafRange(ledger: "system", start: 0, end: 1, treeSize: 1) { leaves { canonical } } }`,
      `{ activitySummary(ledger: "system", since: "2000-01-01T00:00:00Z") { total } }`,
      // Its head would tell when and how often keys change.
      `{ ledger(name: "system") { treeSize rootHash } }`,
    ];
    for (const query of reads) {
      expect((await gql(server.url, query, undefined, null)).errors?.[0]?.extensions?.code, `anonymous ${query}`).toBe('UNAUTHENTICATED');
      for (const key of [reader, writer]) expect((await gql(server.url, query, undefined, key)).errors?.[0]?.extensions?.code, query).toBe('FORBIDDEN');
      expect((await gql(server.url, query)).errors, `admin ${query}`).toBeUndefined();
    }
    // The same fields on a client's ledger stay public.
    expect((await gql(server.url, `{ events { edges { node { id } } } }`, undefined, null)).errors).toBeUndefined();
    expect((await gql(server.url, `{ ledger(name: "main") { treeSize } }`, undefined, reader)).data.ledger.treeSize).toBeGreaterThanOrEqual(0);
    const listed = async (key?: string | null) => (await gql(server.url, `{ ledgers { name } }`, undefined, key)).data.ledgers.map((l: { name: string }) => l.name);
    for (const key of [null, reader]) expect(await listed(key)).toEqual((await listed()).filter((n: string) => n !== 'system'));
    expect(await listed()).toContain('system');

    const first = await gql(server.url, `{ events(ledger: "system", first: 1) { edges { cursor } } }`);
    const after = first.data.events.edges[0].cursor;
    const subscribe = (key: string) =>
      new Promise<{ code?: unknown; events: number }>((resolve) => {
        const client = createClient({ url: server.wsUrl, webSocketImpl: WebSocket, retryAttempts: 0, connectionParams: { authorization: `Bearer ${key}` } });
        let events = 0;
        client.subscribe({ query: `subscription($a: String) { auditEvent(ledger: "system", after: $a) { type } }`, variables: { a: after } }, {
          // A refused subscribe comes as one result with errors, then complete (graphql-ws).
          next: (r) => {
            if (r.errors) resolve({ code: r.errors[0]?.extensions?.code, events });
            else resolve({ events: ++events });
            void client.dispose();
          },
          error: (e) => {
            resolve({ code: (e as Array<{ extensions?: { code?: string } }>)[0]?.extensions?.code, events });
            void client.dispose();
          },
          complete: () => resolve({ events }),
        });
      });
    expect(await subscribe(reader)).toEqual({ code: 'FORBIDDEN', events: 0 });
    expect((await subscribe(TEST_ADMIN_KEY)).events).toBe(1);
  });

  it('refuses key names the server acts under itself (a key named rules would skip the proposal threshold)', async () => {
    expect(isReservedAccountName(RULES_ACTOR)).toBe(true);
    const systemSize = async () => (await gql(server.url, `{ ledger(name: "system") { treeSize } }`)).data.ledger.treeSize;
    const before = await systemSize();
    const someDid = didKeyFromPublicKey(ed25519FromSeed(randomBytes(32)).publicKey);
    for (const name of [RULES_ACTOR, 'Rules', 'chainproof', 'anonymous', `contract:${'a'.repeat(40)}`, someDid]) {
      const r = await gql(server.url, `mutation($n: String!) { createApiKey(role: "governor", name: $n) { key } }`, { n: name });
      expect(r.errors?.[0]?.extensions?.code, name).toBe('BAD_USER_INPUT');
      expect(r.errors?.[0]?.message, name).toMatch(/reserved/);
    }
    expect(await systemSize()).toBe(before);
    // Names that merely contain them are ordinary.
    await keyFor('reader', 'rules-reader');
  });

  it.runIf(usingPostgres())('refuses a key made before its name was reserved, as it would a revoked one', async () => {
    // Such a key can no longer be created; it is written here as an older server would have.
    const key = `cpk_${randomBytes(32).toString('base64url')}`;
    const db = new pg.Client({ connectionString: serverEnv.DATABASE_URL });
    await db.connect();
    await db.query(
      `INSERT INTO api_keys (id, name, role, key_hash, created_by, created_at, created_event) VALUES ('legacy-rules', $1, 'governor', sha256($2::bytea), 'test', now(), '\\x00')`,
      [RULES_ACTOR, Buffer.from(key, 'utf8')],
    );
    await db.end();
    const size = (await gql(server.url, `{ ledger { treeSize } }`)).data.ledger.treeSize;
    const r = await gql(server.url, APPEND, {}, key);
    expect(r.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect((await gql(server.url, `{ ledger { treeSize } }`)).data.ledger.treeSize).toBe(size);
  });

  it.runIf(!usingPostgres())('on the embedded default, the first start writes an admin key (0600) and says where', async () => {
    const data = tempDataDir();
    cleanup.push(async () => data.remove());
    const fresh = await startServer({ CHAINPROOF_DATA_DIR: data.dir, CHAINPROOF_ADMIN_KEY: '' });
    try {
      const path = join(data.dir, 'admin.key');
      expect(statSync(path).mode & 0o777).toBe(0o600);
      const key = readFileSync(path, 'utf8').trim();
      expect(fresh.logs.some((l) => l.includes(path))).toBe(true);
      expect(fresh.logs.some((l) => l.includes(key))).toBe(false);
      const r = await gql(fresh.url, `{ apiKeys { name role } }`, undefined, key);
      expect(r.data.apiKeys).toEqual([{ name: 'admin', role: 'admin' }]);
    } finally {
      await fresh.kill('SIGTERM');
    }
  });

  it('with CHAINPROOF_PUBLIC_READS=false, reads, subscriptions and /metrics need a key; WebSocket refuses with 4403', async () => {
    closed = await startServer({ ...(await backend()), CHAINPROOF_PUBLIC_READS: 'false' });
    const anon = await gql(closed.url, `{ ledger { treeSize } }`, undefined, null);
    expect(anon.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect((await gql(closed.url, `{ ledger { treeSize } }`)).errors).toBeUndefined();

    const closeCode = (params?: Record<string, unknown>) =>
      new Promise<number | 'connected'>((resolve) => {
        const client = createClient({
          url: closed!.wsUrl,
          webSocketImpl: WebSocket,
          retryAttempts: 0,
          connectionParams: params,
          on: {
            connected: () => {
              resolve('connected');
              void client.dispose();
            },
            closed: (e) => resolve((e as { code: number }).code),
          },
        });
        client.subscribe({ query: `subscription { blockMined { height } }` }, { next: () => {}, error: () => {}, complete: () => {} });
      });
    expect(await closeCode()).toBe(4403);
    expect(await closeCode({ authorization: 'Bearer cpk_wrong-wrong-wrong-wrong-wrong-wrong' })).toBe(4403);
    expect(await closeCode({ authorization: `Bearer ${TEST_ADMIN_KEY}` })).toBe('connected');
    // Spelt as an HTTP header, or as a bare key.
    expect(await closeCode({ Authorization: `Bearer ${TEST_ADMIN_KEY}` })).toBe('connected');
    expect(await closeCode({ apiKey: TEST_ADMIN_KEY })).toBe('connected');

    const scrape = (authorization?: string) => fetch(closed!.url.replace(/\/graphql$/, '/metrics'), { headers: authorization ? { authorization } : {} });
    for (const refused of [await scrape(), await scrape('Bearer cpk_wrong-wrong-wrong-wrong-wrong-wrong')]) {
      expect(refused.status).toBe(401);
      expect(refused.headers.get('www-authenticate')).toBe('Bearer');
      expect(await refused.text()).not.toContain('chainproof_');
    }
    const made = await gql(closed.url, `mutation { createApiKey(role: "reader", name: "scraper") { key } }`);
    const allowed = await scrape(`Bearer ${made.data.createApiKey.key}`);
    expect(allowed.status).toBe(200);
    expect(await allowed.text()).toContain('chainproof_events_appended_total');
  });
});
