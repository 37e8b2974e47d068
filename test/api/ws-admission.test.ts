import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { serverBackend } from '../support/db.js';
import { gql, startServer, TEST_ADMIN_KEY, type ServerProcess } from '../support/server.js';

let capped: ServerProcess;
let throttled: ServerProcess;
const cleanups: Array<() => Promise<void>> = [];

beforeAll(async () => {
  // A database each: the embedded one takes one process.
  const [a, b] = await Promise.all([serverBackend(), serverBackend()]);
  cleanups.push(a.cleanup, b.cleanup);
  [capped, throttled] = await Promise.all([
    startServer({ ...a.env, CHAINPROOF_WS_MAX_CONNECTIONS_PER_IP: '3' }),
    startServer({ ...b.env, CHAINPROOF_RATE_LIMIT_PER_IP: '1' }),
  ]);
});
afterAll(async () => {
  await Promise.all([capped?.kill('SIGTERM'), throttled?.kill('SIGTERM')]);
  await Promise.all(cleanups.map((c) => c()));
});

type Handshake = { socket: WebSocket } | { status: number; retryAfter: string | undefined; body: string };

/** Opens a graphql-ws socket and acknowledges it (so the server keeps it), or reports the HTTP refusal. */
function open(url: string): Promise<Handshake> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, 'graphql-transport-ws');
    socket.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, retryAfter: res.headers['retry-after'] as string | undefined, body }));
    });
    socket.once('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${TEST_ADMIN_KEY}` } })));
    socket.once('message', (m) => (JSON.parse(String(m)).type === 'connection_ack' ? resolve({ socket }) : reject(new Error(String(m)))));
    socket.once('error', (e) => (socket.readyState === socket.CLOSED ? undefined : reject(e)));
  });
}

const closeAll = (hs: Handshake[]) =>
  Promise.all(hs.map((h) => ('socket' in h ? new Promise<void>((r) => (h.socket.once('close', () => r()), h.socket.close())) : undefined)));

describe('WebSocket handshakes', () => {
  it('one address holds at most the configured sockets: 429 with Retry-After, and a slot frees on close', async () => {
    const held = await Promise.all([open(capped.wsUrl), open(capped.wsUrl), open(capped.wsUrl)]);
    expect(held.every((h) => 'socket' in h)).toBe(true);
    try {
      const refused = await open(capped.wsUrl);
      expect(refused).toEqual({ status: 429, retryAfter: '5', body: 'too many WebSocket connections from this address (at most 3)' });
      // HTTP is not capped by it.
      expect((await gql(capped.url, '{ ledger { treeSize } }')).status).toBe(200);
      await closeAll(held.splice(0, 1));
      const again = await open(capped.wsUrl);
      held.push(again);
      expect('socket' in again).toBe(true);
    } finally {
      await closeAll(held);
    }
  });

  it('a handshake draws on its address\'s request bucket, as an HTTP request does', async () => {
    // A burst of two seconds at one a second: ten requests at once empty the bucket.
    const statuses = await Promise.all(Array.from({ length: 10 }, async () => (await gql(throttled.url, '{ ledger { treeSize } }')).status));
    expect(statuses).toContain(429);
    const refused = await open(throttled.wsUrl);
    expect(refused).toMatchObject({ status: 429, body: 'rate limit exceeded; retry later' });
    expect(Number((refused as { retryAfter: string }).retryAfter)).toBeGreaterThanOrEqual(1);
  });
});

describe('WebSocket subprotocols', () => {
  it('picks graphql-transport-ws among those a client offers, whatever their order', async () => {
    const socket = new WebSocket(capped.wsUrl, ['graphql-ws', 'graphql-transport-ws']);
    await new Promise((r) => socket.once('open', r));
    expect(socket.protocol).toBe('graphql-transport-ws');
    await new Promise((r) => (socket.once('close', r), socket.close()));
  });
});

describe('probes and scrapes', () => {
  // Unauthenticated, and each a database round trip: /readyz and /metrics share a bucket per address of their own.
  it('are rate-limited per address: 429 with Retry-After under a flood', async () => {
    const base = throttled.url.replace(/\/graphql$/, '');
    for (const path of ['/readyz', '/metrics']) {
      const answers = await Promise.all(Array.from({ length: 10 }, () => fetch(`${base}${path}`)));
      const limited = answers.find((r) => r.status === 429);
      expect(limited, path).toBeDefined();
      expect(Number(limited!.headers.get('retry-after')), path).toBeGreaterThanOrEqual(1);
    }
  });
});
