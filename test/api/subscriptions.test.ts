import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serverBackend } from '../support/db.js';
import { gql, startServer, TEST_ADMIN_KEY, type ServerProcess } from '../support/server.js';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { collect } from '../support/ws.js';

let env: Record<string, string>;
let server: ServerProcess;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  ({ env, cleanup } = await serverBackend());
  server = await startServer(env);
});
afterAll(async () => {
  await server?.kill('SIGTERM');
  await cleanup?.();
});

const append = (url: string, n: number, type: string) =>
  gql(url, `mutation($i: [AppendEventInput!]!) { appendEvents(inputs: $i) { index } }`, {
    i: Array.from({ length: n }, (_, k) => ({ type, actor: `a${k}` })),
  });

type Msg = { auditEvent: { index: number; cursor: string; type: string } };
const SUB = `subscription($after: String, $types: [String!]) { auditEvent(after: $after, filter: {types: $types}) { index cursor type } }`;

describe('subscriptions that lose nothing', () => {
  it('resumes after a disconnect and after a server restart: every event once, in order', async () => {
    const first = collect<Msg>(server.wsUrl, SUB, { types: ['resume'] });
    await first.connected;
    await new Promise((r) => setTimeout(r, 200));
    expect((await append(server.url, 5, 'resume')).errors).toBeUndefined();
    const seen = (await first.until(5)).map((m) => m.auditEvent);
    await first.close();

    // Missed while disconnected: 4 more of ours, and noise the filter must drop.
    await append(server.url, 4, 'resume');
    await append(server.url, 3, 'noise');
    // And across a restart of the server, which tells open sockets it is going away (1001), so clients reconnect.
    const open = new WebSocket(server.wsUrl, 'graphql-transport-ws');
    const closedWith = new Promise<number>((resolve) => open.once('close', (code) => resolve(code)));
    await new Promise((r) => open.once('open', r));
    open.send(JSON.stringify({ type: 'connection_init' }));
    await new Promise((r) => open.once('message', r));
    open.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: SUB, variables: { types: ['none'] } } }));
    await server.kill('SIGTERM');
    expect(await closedWith).toBe(1001);
    server = await startServer(env);
    await append(server.url, 2, 'resume');

    const second = collect<Msg>(server.wsUrl, SUB, { types: ['resume'], after: seen.at(-1)!.cursor });
    const replayed = (await second.until(6)).map((m) => m.auditEvent);
    // Then live, with no gap between replay and live.
    await append(server.url, 3, 'resume');
    const all = [...seen, ...(await second.until(9)).map((m) => m.auditEvent)];
    await second.close();

    const indexes = all.map((e) => e.index);
    expect(new Set(indexes).size).toBe(14);
    expect([...indexes].sort((a, b) => a - b)).toEqual(indexes);
    expect(all.every((e) => e.type === 'resume')).toBe(true);
    expect(replayed).toHaveLength(6);
  });

  it('replays blocks and checkpoints after a cursor, then goes live', async () => {
    await append(server.url, 3, 'b');
    await gql(server.url, `mutation { createCheckpoint { id } }`);
    const blocks = await gql(server.url, `{ blocks(first: 1) { edges { cursor node { height } } } }`);
    const cursor = blocks.data.blocks.edges[0].cursor;
    const sub = collect<{ blockMined: { height: number } }>(server.wsUrl, `subscription($a: String) { blockMined(after: $a) { height } }`, { a: cursor });
    const total = (await gql(server.url, `{ stats { blocks } }`)).data.stats.blocks;
    const replayed = await sub.until(total - 1);
    expect(replayed.map((b) => b.blockMined.height)).toEqual(Array.from({ length: total - 1 }, (_, i) => i + 1));
    await append(server.url, 1, 'b');
    await gql(server.url, `mutation { createCheckpoint { id } }`);
    const next = await sub.until(total);
    expect(next.at(-1)!.blockMined.height).toBe(total);
    await sub.close();

    const cps = collect<{ checkpointCreated: { treeSize: number } }>(server.wsUrl, `subscription { checkpointCreated(after: "${Buffer.from('checkpoint:0').toString('base64url')}") { treeSize } }`);
    const got = await cps.until(2);
    expect(got[0]!.checkpointCreated.treeSize).toBeLessThan(got[1]!.checkpointCreated.treeSize);
    await cps.close();
  });

  it('refuses a malformed cursor with BAD_USER_INPUT', async () => {
    const sub = collect<Msg>(server.wsUrl, SUB, { after: 'bm90LWEtY3Vyc29y' });
    await new Promise((r) => setTimeout(r, 500));
    expect(JSON.stringify(sub.errors)).toContain('BAD_USER_INPUT');
    await sub.close();
  });

  // With a key, each operation first waits for the key's re-check: the count must not wait with it.
  it.each([['without a key', undefined], ['with a key', TEST_ADMIN_KEY]])('runs at most CHAINPROOF_WS_MAX_OPERATIONS operations on one socket (%s), and takes another once one completes', async (_, key) => {
    const connectionParams = key ? { authorization: `Bearer ${key}` } : undefined;
    const client = createClient({ url: server.wsUrl, webSocketImpl: WebSocket, retryAttempts: 0, lazy: false, connectionParams });
    const failures: unknown[] = [];
    const subscribe = (onNext: () => void = () => {}) =>
      client.subscribe({ query: SUB, variables: { types: ['cap'] } }, { next: onNext, error: (e) => failures.push(e), complete: () => {} });
    const stops = Array.from({ length: 100 }, () => subscribe());
    // Refused at once, or (wrongly) taken and left running: then nothing comes within the wait.
    const refused = await new Promise<Array<{ extensions?: { code?: string } }>>((resolve) => {
      client.subscribe({ query: SUB, variables: { types: ['cap'] } }, { next: () => {}, error: (e) => resolve(e as never), complete: () => {} });
      setTimeout(() => resolve([]), 10_000);
    });
    expect(refused[0]?.extensions?.code).toBe('OPERATION_LIMIT');
    expect(failures).toEqual([]);

    stops[0]!();
    const delivered = new Promise<void>((resolve) => stops.push(subscribe(resolve)));
    // Given time to be set up before the event it is to see.
    await new Promise((r) => setTimeout(r, 300));
    expect((await append(server.url, 1, 'cap')).errors).toBeUndefined();
    await delivered;
    expect(failures).toEqual([]);
    stops.forEach((stop) => stop());
    await client.dispose();
  });
});
