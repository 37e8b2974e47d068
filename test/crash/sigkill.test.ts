import { createHash, randomUUID } from 'node:crypto';
import canonicalize from 'canonicalize';
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { serverBackend, usingPostgres } from '../support/db.js';
import { gql, startServer, type ServerProcess } from '../support/server.js';

/**
 * Kill -9 a server while clients append, restart it on the same database, and check that
 * every append the server acknowledged is there, in one gap-free sequence, and verifies.
 */
let env: Record<string, string>;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  ({ env, cleanup } = await serverBackend());
});
afterAll(async () => cleanup?.());

/**
 * Kills the server with SIGKILL mid-load: once `enough()` holds (how long that takes depends on
 * the machine; 30 s at most) and `moreMs` later. Resolves when its clients have run out.
 */
async function killUnderLoad(server: ServerProcess, enough: () => boolean, stop: { stop: boolean }, clients: Array<Promise<void>>, moreMs = 0) {
  const deadline = Date.now() + 30_000;
  while (!enough() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  await new Promise((r) => setTimeout(r, moreMs));
  expect(enough()).toBe(true);
  await server.kill('SIGKILL');
  stop.stop = true;
  await Promise.all(clients);
}

async function appendUntilFailure(url: string, client: number, acked: Map<string, number>, stopAt: { stop: boolean }) {
  for (let i = 0; !stopAt.stop; i++) {
    const key = `c${client}-${i}`;
    try {
      const r = await gql(url, `mutation($k: String!) { appendEvent(input: {type: "load", actor: "c${client}", idempotencyKey: $k}) { index id } }`, { k: key });
      if (!r.data?.appendEvent) return;
      acked.set(r.data.appendEvent.id, r.data.appendEvent.index);
    } catch {
      return; // connection died with the server
    }
  }
}

describe(`SIGKILL under load (${usingPostgres() ? 'PostgreSQL' : 'embedded PGlite'})`, () => {
  it('keeps every acknowledged event and verifies after restart', async () => {
    let server: ServerProcess | undefined = await startServer(env);
    const acked = new Map<string, number>();
    const stop = { stop: false };
    try {
      const clients = Array.from({ length: 16 }, (_, c) => appendUntilFailure(server!.url, c, acked, stop));
      await killUnderLoad(server, () => acked.size > 20, stop, clients, 300);
      const ackedCount = acked.size;

      server = await startServer(env);
      const head = await gql(server.url, `{ ledger { treeSize } }`);
      const size: number = head.data.ledger.treeSize;
      expect(size).toBeGreaterThanOrEqual(ackedCount);
      for (const [id, index] of acked) {
        const r = await gql(server.url, `query($id: String!) { event(id: $id) { index } }`, { id });
        expect(r.data.event?.index, `acknowledged event ${id}`).toBe(index);
      }
      const indexes = new Set<number>();
      let after: string | null = null;
      for (;;) {
        const page: any = await gql(server.url, `query($a: String) { events(first: 1000, after: $a) { edges { node { index } } pageInfo { hasNextPage endCursor } } }`, { a: after });
        for (const e of page.data.events.edges) indexes.add(e.node.index);
        if (!page.data.events.pageInfo.hasNextPage) break;
        after = page.data.events.pageInfo.endCursor;
      }
      expect(indexes.size).toBe(size);
      expect(Math.max(...indexes)).toBe(size - 1);

      // The ledger keeps working: more appends, a checkpoint, a full verification.
      await gql(server.url, `mutation { appendEvent(input: {type: "after-restart", actor: "x"}) { index } }`);
      const cp = await gql(server.url, `mutation { createCheckpoint(name: "after-crash") { treeSize } }`);
      expect(cp.data.createCheckpoint.treeSize).toBe(size + 1);
      const v = await gql(server.url, `{ verify(full: true) { status eventsVerified issues { kind index message } } }`);
      expect(v.data.verify.issues).toEqual([]);
      expect(v.data.verify.status).toBe('VALID');
    } finally {
      stop.stop = true;
      await server?.kill('SIGTERM');
    }
  });
});

/** An operation that names itself: its variables hash as the audit records them. */
const LOOKUP = `query Lookup($id: String!) { event(id: $id) { index } }`;
const variablesHash = (id: string) => createHash('sha256').update(canonicalize({ id })!).digest('hex');

/** Looks up made-up ids over HTTP until the server dies; each answered id is kept. */
async function lookUpOverHttp(url: string, key: string, answered: Set<string>, stop: { stop: boolean }) {
  while (!stop.stop) {
    const id = randomUUID();
    try {
      const r = await gql(url, LOOKUP, { id }, key);
      if (r.data?.event !== null) return;
      answered.add(id);
    } catch {
      return;
    }
  }
}

/** The same over one WebSocket, one operation after another. */
async function lookUpOverWebSocket(wsUrl: string, key: string, answered: Set<string>, stop: { stop: boolean }) {
  const client = createClient({ url: wsUrl, webSocketImpl: WebSocket, retryAttempts: 0, connectionParams: { authorization: `Bearer ${key}` }, lazy: false });
  try {
    while (!stop.stop) {
      const id = randomUUID();
      const ok = await new Promise<boolean>((resolve) => {
        let got = false;
        client.subscribe({ query: LOOKUP, variables: { id } }, {
          next: (r) => (got = r.errors === undefined && (r.data as { event: unknown }).event === null),
          error: () => resolve(false),
          complete: () => resolve(got),
        });
      });
      if (!ok) return;
      answered.add(id);
    }
  } finally {
    void client.dispose();
  }
}

describe(`SIGKILL while an audited agent reads (${usingPostgres() ? 'PostgreSQL' : 'embedded PGlite'})`, () => {
  it('keeps the audit of every operation the agent got an answer to, over HTTP and WebSocket', async () => {
    const auditEnv = { ...env, CHAINPROOF_AUDIT_AGENTS: 'crash-agent' };
    let server: ServerProcess | undefined = await startServer(auditEnv);
    const answered = new Set<string>();
    const stop = { stop: false };
    try {
      const created = await gql(server.url, `mutation { createApiKey(name: "crash-agent", role: "reader") { key } }`);
      const key: string = created.data.createApiKey.key;
      const before: number = (await gql(server.url, `{ ledger { treeSize } }`)).data.ledger.treeSize;
      const clients = [
        ...Array.from({ length: 12 }, () => lookUpOverHttp(server!.url, key, answered, stop)),
        ...Array.from({ length: 4 }, () => lookUpOverWebSocket(server!.wsUrl, key, answered, stop)),
      ];
      // Killed with answers and audits in flight: each answered operation must already be in the ledger.
      await killUnderLoad(server, () => answered.size >= 200, stop, clients);
      const answeredCount = answered.size;

      server = await startServer(auditEnv);
      const recorded = new Set<string>();
      let after: string | null = null;
      for (;;) {
        const page: any = await gql(server.url, `query($a: String) { events(filter: {types: ["OperationAudited"]}, first: 1000, after: $a) { edges { node { index payload } } pageInfo { hasNextPage endCursor } } }`, { a: after });
        for (const e of page.data.events.edges) {
          expect(e.node.index).toBeGreaterThanOrEqual(before);
          recorded.add(e.node.payload.variablesHash);
        }
        if (!page.data.events.pageInfo.hasNextPage) break;
        after = page.data.events.pageInfo.endCursor;
      }
      const missing = [...answered].filter((id) => !recorded.has(variablesHash(id)));
      expect(missing, `${missing.length} of ${answeredCount} answered operations have no audit`).toEqual([]);
      const v = await gql(server.url, `{ verify(full: true) { status issues { kind index message } } }`);
      expect(v.data.verify.issues).toEqual([]);
    } finally {
      stop.stop = true;
      await server?.kill('SIGTERM');
    }
  });
});
