import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serverBackend } from '../support/db.js';
import { gql, startServer, type ServerProcess } from '../support/server.js';
import { collect } from '../support/ws.js';

let server: ServerProcess;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  let env: Record<string, string>;
  ({ env, cleanup } = await serverBackend());
  server = await startServer({ ...env, CHAINPROOF_WS_MAX_BUFFERED_BYTES: '65536', CHAINPROOF_SUBSCRIBER_QUEUE: '100' });
});
afterAll(async () => {
  await server?.kill('SIGTERM');
  await cleanup?.();
});

const executions = async () => {
  const text = await (await fetch(server.url.replace(/graphql$/, 'metrics'))).text();
  return Number(/chainproof_subscription_executions_total (\d+)/.exec(text)?.[1] ?? NaN);
};

describe('subscription fan-out', () => {
  it('executes once per event and selection, however many subscribe', async () => {
    const same = Array.from({ length: 10 }, () => collect<{ auditEvent: { index: number; blockHeight: number | null } }>(server.wsUrl, `subscription { auditEvent { index blockHeight } }`));
    const other = collect<{ auditEvent: { id: string } }>(server.wsUrl, `subscription { auditEvent { id } }`);
    await Promise.all([...same, other].map((s) => s.connected));
    await new Promise((r) => setTimeout(r, 300));
    const subscribers = /chainproof_subscribers (\d+)/.exec(await (await fetch(server.url.replace(/graphql$/, 'metrics'))).text())?.[1];
    expect(Number(subscribers)).toBeGreaterThanOrEqual(11);
    const before = await executions();
    await gql(server.url, `mutation($i: [AppendEventInput!]!) { appendEvents(inputs: $i) { index } }`, {
      i: Array.from({ length: 5 }, () => ({ type: 'fan', actor: 'a' })),
    });
    for (const s of same) expect((await s.until(5)).map((m) => m.auditEvent.index)).toEqual([0, 1, 2, 3, 4]);
    await other.until(5);
    expect((await executions()) - before).toBe(10); // 5 events × 2 selections, not 5 × 11 subscribers
    await Promise.all([...same, other].map((s) => s.close()));
  });

  it('gives each selection its own result, on one connection, and an error only to its subscription', async () => {
    const client = createClient({ url: server.wsUrl, webSocketImpl: WebSocket, retryAttempts: 0, lazy: false });
    const got: Record<string, unknown[]> = { all: [], bOnly: [], broken: [] };
    const errors: Record<string, unknown[]> = { all: [], bOnly: [], broken: [] };
    const listen = (name: string, query: string, variables?: Record<string, unknown>) =>
      client.subscribe({ query, variables }, {
        next: (v) => (v.errors ? errors[name]!.push(v.errors) : got[name]!.push(v.data)),
        error: (e) => errors[name]!.push(e),
        complete: () => {},
      });
    const stops = [
      listen('all', 'subscription { auditEvent { index payload } }'),
      listen('bOnly', 'subscription($f: EventFilter) { auditEvent(filter: $f) { index type } }', { f: { types: ['b'] } }),
      listen('broken', 'subscription { auditEvent(after: "bm90LWEtY3Vyc29y") { index } }'),
    ];
    await new Promise((r) => setTimeout(r, 500));
    // Near the largest payload accepted, so its message needs a frame with a 64-bit length.
    const big = 'y'.repeat(65_500);
    const { data } = await gql(server.url, `mutation($i: [AppendEventInput!]!) { appendEvents(inputs: $i) { index } }`, {
      i: [{ type: 'a', actor: 'x', payload: { z: 1, a: 2 } }, { type: 'b', actor: 'x', payload: { big } }, { type: 'a', actor: 'x' }, { type: 'b', actor: 'x' }],
    });
    const [i0, i1, , i3] = (data.appendEvents as Array<{ index: number }>).map((e) => e.index);
    for (let waited = 0; got.all!.length < 4 && waited < 10_000; waited += 50) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 300));
    expect(got.all).toEqual([
      { auditEvent: { index: i0, payload: { a: 2, z: 1 } } },
      { auditEvent: { index: i1, payload: { big } } },
      { auditEvent: { index: i0! + 2, payload: null } },
      { auditEvent: { index: i3, payload: null } },
    ]);
    // Live, as replayed: the payload as the canonical envelope holds it.
    expect(Object.keys((got.all[0] as { auditEvent: { payload: object } }).auditEvent.payload)).toEqual(['a', 'z']);
    expect(got.bOnly).toEqual([{ auditEvent: { index: i1, type: 'b' } }, { auditEvent: { index: i3, type: 'b' } }]);
    expect(errors.all).toEqual([]);
    expect(errors.bOnly).toEqual([]);
    expect(got.broken).toEqual([]);
    expect(JSON.stringify(errors.broken)).toContain('BAD_USER_INPUT');
    stops.forEach((stop) => stop());
    await client.dispose();
  });

  it('closes a subscriber that stops reading, with a reason, before it grows memory', async () => {
    const ws = new WebSocket(server.wsUrl, 'graphql-transport-ws');
    await new Promise((r) => ws.once('open', r));
    ws.send(JSON.stringify({ type: 'connection_init' }));
    await new Promise((r) => ws.once('message', r));
    ws.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: 'subscription { auditEvent { payload canonical } }' } }));
    await new Promise((r) => setTimeout(r, 300));
    const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    (ws as unknown as { _socket: { pause(): void; resume(): void } })._socket.pause();
    const big = 'x'.repeat(30_000);
    for (let b = 0; b < 10; b++) {
      await gql(server.url, `mutation($i: [AppendEventInput!]!) { appendEvents(inputs: $i) { index } }`, {
        i: Array.from({ length: 50 }, () => ({ type: 'flood', actor: 'a', payload: { big } })),
      });
    }
    (ws as unknown as { _socket: { resume(): void } })._socket.resume();
    const { code, reason } = await closed;
    expect(code).toBe(4429);
    expect(reason).toMatch(/^slow consumer/);
  });

  it('closes a client that sends queries over the socket and reads none of the answers', async () => {
    const big = 'q'.repeat(20_000);
    await gql(server.url, `mutation($i: [AppendEventInput!]!) { appendEvents(inputs: $i) { index } }`, {
      i: Array.from({ length: 20 }, () => ({ type: 'answer-flood', actor: 'a', payload: { big } })),
    });
    const ws = new WebSocket(server.wsUrl, 'graphql-transport-ws');
    await new Promise((r) => ws.once('open', r));
    ws.send(JSON.stringify({ type: 'connection_init' }));
    await new Promise((r) => ws.once('message', r));
    const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    (ws as unknown as { _socket: { pause(): void } })._socket.pause();
    // Each answer is ≈ 400 kB; the limit here is 64 kB unread.
    const query = '{ events(first: 20, filter: {types: ["answer-flood"]}) { edges { node { payload } } } }';
    for (let i = 0; i < 200; i++) ws.send(JSON.stringify({ id: `q${i}`, type: 'subscribe', payload: { query } }));
    // Unread long enough for the answers to pass the kernel's buffers and the limit even on a busy
    // machine: read too soon, they are all taken and nothing is cut off.
    await new Promise((r) => setTimeout(r, 5_000));
    (ws as unknown as { _socket: { resume(): void } })._socket.resume();
    const { code, reason } = await closed;
    expect(code).toBe(4429);
    expect(reason).toMatch(/^slow consumer/);
  });

  it('replays a backlog far larger than the unread limit at the pace of a client that reads, without cutting it off', async () => {
    const mark = await gql(server.url, `mutation { appendEvent(input: {type: "mark", actor: "a"}) { index cursor } }`);
    const first = (mark.data.appendEvent.index as number) + 1;
    const chunk = 'z'.repeat(10_000);
    for (let b = 0; b < 10; b++) {
      await gql(server.url, `mutation($i: [AppendEventInput!]!) { appendEvents(inputs: $i) { index } }`, {
        i: Array.from({ length: 150 }, () => ({ type: 'backlog', actor: 'a', payload: { chunk } })),
      });
    }
    const ws = new WebSocket(server.wsUrl, 'graphql-transport-ws');
    const indices: number[] = [];
    let closed: number | undefined;
    ws.on('close', (code) => (closed = code));
    ws.on('message', (raw: Buffer) => {
      const m = JSON.parse(raw.toString());
      if (m.type === 'next') indices.push(m.payload.data.auditEvent.index);
    });
    await new Promise((r) => ws.once('open', r));
    ws.send(JSON.stringify({ type: 'connection_init' }));
    await new Promise((r) => ws.once('message', r));
    ws.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: `subscription($a: String) { auditEvent(after: $a, filter: {types: ["backlog"]}) { index payload } }`, variables: { a: mark.data.appendEvent.cursor } } }));
    (ws as unknown as { _socket: { pause(): void } })._socket.pause();
    await new Promise((r) => setTimeout(r, 1_500));
    (ws as unknown as { _socket: { resume(): void } })._socket.resume();
    for (let waited = 0; indices.length < 1500 && closed === undefined && waited < 30_000; waited += 100) await new Promise((r) => setTimeout(r, 100));
    expect(closed).toBeUndefined();
    expect(indices).toEqual(Array.from({ length: 1500 }, (_, i) => first + i));
    ws.close();
  });
});
