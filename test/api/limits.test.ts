import { request } from 'node:http';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isGraphqlPath } from '../../src/server/graphql-http.js';
import { serverBackend } from '../support/db.js';
import { gql, startServer, TEST_ADMIN_KEY, type ServerProcess } from '../support/server.js';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { wsRequest } from '../support/ws.js';

let server: ServerProcess;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  let env: Record<string, string>;
  ({ env, cleanup } = await serverBackend());
  server = await startServer({
    ...env,
    CHAINPROOF_MAX_DEPTH: '4',
    CHAINPROOF_MAX_ALIASES: '3',
    CHAINPROOF_MAX_COST: '2000',
    CHAINPROOF_MAX_TOKENS: '300',
    CHAINPROOF_MAX_BODY_BYTES: '4096',
    CHAINPROOF_RATE_LIMIT_PER_IP: '0',
    CHAINPROOF_RATE_LIMIT_PER_KEY: '10',
    CHAINPROOF_INTROSPECTION: 'false',
  });
});
afterAll(async () => {
  await server?.kill('SIGTERM');
  await cleanup?.();
});

const codeOf = async (query: string, variables?: Record<string, unknown>, key?: string | null) => {
  const r = await gql(server.url, query, variables, key);
  return r.errors?.[0]?.extensions?.code;
};

describe('requests the server cannot take are the client\'s errors', () => {
  it('a persisted query it cannot use is BAD_REQUEST, with Apollo\'s reason, and no internal error is logged', async () => {
    const post = async (body: unknown) => {
      const r = await fetch(server.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      return { status: r.status, body: (await r.json()) as { errors: Array<{ message: string; extensions: { code: string } }> } };
    };
    const logged = server.logs.length;
    const mismatch = await post({ query: '{ __typename }', extensions: { persistedQuery: { version: 1, sha256Hash: 'abc' } } });
    const version = await post({ query: '{ __typename }', extensions: { persistedQuery: { version: 2, sha256Hash: 'a'.repeat(64) } } });
    for (const [answer, reason] of [[mismatch, /sha/i], [version, /version/i]] as const) {
      expect(answer.status).toBe(400);
      expect(answer.body.errors[0]!.extensions.code).toBe('BAD_REQUEST');
      expect(answer.body.errors[0]!.message).toMatch(reason);
    }
    await new Promise((r) => setTimeout(r, 200));
    expect(server.logs.slice(logged).join('\n')).not.toMatch(/internal error/);
  });
});

describe('limits, each breach a coded error that changes nothing', () => {
  it('depth', async () => {
    expect(await codeOf(`{ events(first: 5) { edges { node { index } } } }`, undefined, null)).toBeUndefined();
    expect(await codeOf(`{ events(first: 5) { edges { node { hlc { logical } } } } }`, undefined, null)).toBe('DEPTH_LIMIT');
    // Fragments do not hide depth.
    expect(
      await codeOf(`{ events(first: 5) { ...E } } fragment E on EventConnection { edges { node { hlc { logical } } } }`, undefined, null),
    ).toBe('DEPTH_LIMIT');
  });

  it('aliases', async () => {
    expect(await codeOf(`{ a: ledgers { name } b: ledgers { name } c: ledgers { name } d: ledgers { name } }`, undefined, null)).toBe('ALIAS_LIMIT');
  });

  it('cost, counting list sizes, and worst case for variables', async () => {
    expect(await codeOf(`{ events(first: 10) { edges { node { index id type } } } }`, undefined, null)).toBeUndefined();
    expect(await codeOf(`{ events(first: 1000) { edges { node { index id type } } } }`, undefined, null)).toBe('COST_LIMIT');
    expect(await codeOf(`query($n: Int) { events(first: $n) { edges { node { index } } } }`, { n: 1 }, null)).toBe('COST_LIMIT');
    expect(await codeOf(`{ a: verify(full: true) { status } b: verify(full: true) { status } c: verify { status } }`, undefined, null)).toBe('COST_LIMIT');
  });

  it('tokens', async () => {
    const many = Array.from({ length: 400 }, () => 'name').join(' ');
    expect(await codeOf(`{ ledgers { ${many} } }`, undefined, null)).toBe('TOKEN_LIMIT');
  });

  it('request body size', async () => {
    const res = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ ledgers { name } }', variables: { pad: 'x'.repeat(5000) } }),
    });
    expect(res.status).toBe(413);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(((await res.json()) as any).errors[0].extensions.code).toBe('BODY_TOO_LARGE');
  });

  it('a body of exactly CHAINPROOF_MAX_BODY_BYTES is read, one byte more is not, whether its length is declared or not', async () => {
    const ofSize = (n: number) => {
      const empty = JSON.stringify({ query: '{ ledgers { name } }', variables: { pad: '' } });
      return empty.replace('"pad":""', `"pad":"${'x'.repeat(n - empty.length)}"`);
    };
    const chunked = (body: string) =>
      new ReadableStream<Uint8Array>({
        start(c) {
          for (let i = 0; i < body.length; i += 1000) c.enqueue(new TextEncoder().encode(body.slice(i, i + 1000)));
          c.close();
        },
      });
    const status = async (body: NonNullable<RequestInit['body']>) =>
      (await fetch(server.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body, duplex: 'half' } as RequestInit)).status;
    expect(ofSize(4096)).toHaveLength(4096);
    expect(await status(ofSize(4096))).toBe(200);
    expect(await status(ofSize(4097))).toBe(413);
    expect(await status(chunked(ofSize(4096)))).toBe(200);
    expect(await status(chunked(ofSize(4097)))).toBe(413);
  });

  it('a declared length past the limit is refused at once, before the client sends the body', async () => {
    // The body never comes: a server that waited to read it would never answer.
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(server.url, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': String(1 << 30) } }, (res) => {
        resolve(res.statusCode!);
        req.destroy();
      });
      req.on('error', reject);
      req.flushHeaders();
      setTimeout(() => reject(new Error('no answer before the body')), 5_000);
    });
    expect(status).toBe(413);
  });

  it('an identity content-encoding is no encoding, and JSON is JSON in any case or as a +json type', async () => {
    const status = async (headers: Record<string, string>) =>
      (await fetch(server.url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ query: '{ ledgers { name } }' }) })).status;
    expect(await status({ 'content-encoding': 'identity' })).toBe(200);
    expect(await status({ 'content-encoding': 'Identity' })).toBe(200);
    expect(await status({ 'content-type': 'Application/JSON; charset=utf-8' })).toBe(200);
    expect(await status({ 'content-type': 'application/graphql-response+json' })).toBe(200);
  });

  it('bodies that are not JSON, compressed, or oversized without a declared length', async () => {
    const post = (body: NonNullable<RequestInit['body']>, headers: Record<string, string> = {}) =>
      fetch(server.url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body, duplex: 'half' } as RequestInit);
    const codeAndStatus = async (res: Response) => [res.status, ((await res.json()) as any).errors[0].extensions.code];
    expect(await codeAndStatus(await post('{"query": '))).toEqual([400, 'BAD_REQUEST']);
    expect(await codeAndStatus(await post('42'))).toEqual([400, 'BAD_REQUEST']);
    expect(await codeAndStatus(await post(gzipSync('{"query":"{ ledgers { name } }"}'), { 'content-encoding': 'gzip' }))).toEqual([415, 'UNSUPPORTED_MEDIA_TYPE']);
    const chunked = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < 10; i++) c.enqueue(new TextEncoder().encode(i === 0 ? '{"query":"' : 'x'.repeat(1000)));
        c.close();
      },
    });
    expect(await codeAndStatus(await post(chunked))).toEqual([413, 'BODY_TOO_LARGE']);
    expect((await gql(server.url, `{ ledgers { name } }`, undefined, null)).data.ledgers[0].name).toBe('main');
  });

  it('CSRF: a simple cross-site request is refused', async () => {
    const get = await fetch(`${server.url}?query=${encodeURIComponent('{ ledgers { name } }')}`);
    expect(get.status).toBe(400);
    const form = await fetch(server.url, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{"query":"{ ledgers { name } }"}' });
    expect(form.status).toBeGreaterThanOrEqual(400);
    const ok = await fetch(`${server.url}?query=${encodeURIComponent('{ ledgers { name } }')}`, { headers: { 'apollo-require-preflight': 'true' } });
    expect(ok.status).toBe(200);
  });

  it('introspection can be turned off', async () => {
    expect(await codeOf(`{ __schema { types { name } } }`, undefined, null)).toBe('GRAPHQL_VALIDATION_FAILED');
  });

  it('rate limit per key, with Retry-After', async () => {
    const created = await gql(server.url, `mutation { createApiKey(role: "writer", name: "busy") { key } }`);
    const key = created.data.createApiKey.key;
    let limited: Response | undefined;
    for (let i = 0; i < 60 && !limited; i++) {
      const res = await fetch(server.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
        body: JSON.stringify({ query: '{ ledgers { name } }' }),
      });
      if (res.status === 429) limited = res;
      else expect(res.status).toBe(200);
    }
    expect(limited, 'a burst of 60 requests at 10/s should be limited').toBeDefined();
    expect(Number(limited!.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(((await limited!.json()) as any).errors[0].extensions.code).toBe('RATE_LIMITED');
    // Others are not affected.
    expect((await gql(server.url, `{ ledgers { name } }`, undefined, null)).status).toBe(200);
  });
});

describe('over the WebSocket, the same limits and codes as over HTTP', () => {
  /** The code of the first error, whether it came as an `error` message or in a `next` result (anonymous unless told). */
  const wsCode = async (query: string, variables?: Record<string, unknown>, operationName?: string, key?: string) => {
    const answer = await wsRequest(server.wsUrl, { query, variables, operationName }, key ? { authorization: `Bearer ${key}` } : undefined);
    return (answer.errors ?? answer.result?.errors)?.[0]?.extensions?.code;
  };
  const treeSize = async () => (await gql(server.url, `{ ledger { treeSize } }`)).data.ledger.treeSize as number;

  it('depth, aliases, cost, tokens and introspection are refused before anything runs', async () => {
    expect(await wsCode(`{ events(first: 5) { edges { node { index } } } }`)).toBeUndefined();
    expect(await wsCode(`{ events(first: 5) { edges { node { hlc { logical } } } } }`)).toBe('DEPTH_LIMIT');
    expect(await wsCode(`{ a: ledgers { name } b: ledgers { name } c: ledgers { name } d: ledgers { name } }`)).toBe('ALIAS_LIMIT');
    expect(await wsCode(`{ events(first: 1000) { edges { node { index id type } } } }`)).toBe('COST_LIMIT');
    expect(await wsCode(`{ ledgers { ${Array.from({ length: 400 }, () => 'name').join(' ')} } }`)).toBe('TOKEN_LIMIT');
    expect(await wsCode(`{ __schema { types { name } } }`)).toBe('GRAPHQL_VALIDATION_FAILED');
  });

  it('a message larger than CHAINPROOF_MAX_BODY_BYTES closes the socket with 1009, as the HTTP body would be refused', async () => {
    const ws = new WebSocket(server.wsUrl, 'graphql-transport-ws');
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    await new Promise((r) => ws.once('open', r));
    ws.send(JSON.stringify({ type: 'connection_init' }));
    await new Promise((r) => ws.once('message', r));
    // Or answered, as it would be if taken.
    const answered = new Promise<string>((resolve) => ws.once('message', (m) => resolve(JSON.parse(String(m)).type)));
    ws.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: `{ ledgers { name } }${' '.repeat(5000)}` } }));
    expect(await Promise.race([closed, answered])).toBe(1009);
  });

  it('a refused mutation appends nothing', async () => {
    const before = await treeSize();
    const append = (alias: string) => `${alias}: appendEvent(input: {type: "limits.ws", actor: "t"}) { index }`;
    expect(await wsCode(`mutation { ${['a', 'b', 'c', 'd'].map(append).join(' ')} }`, undefined, undefined, TEST_ADMIN_KEY)).toBe('ALIAS_LIMIT');
    expect(await treeSize()).toBe(before);
  });

  it('operations draw on the same per-key rate limit as HTTP requests', async () => {
    const key = (await gql(server.url, `mutation { createApiKey(role: "reader", name: "busy-socket") { key } }`)).data.createApiKey.key;
    const client = createClient({ url: server.wsUrl, webSocketImpl: WebSocket, retryAttempts: 0, connectionParams: { authorization: `Bearer ${key}` } });
    try {
      const one = () =>
        new Promise<string | undefined>((resolve, reject) => {
          client.subscribe({ query: '{ ledgers { name } }' }, {
            next: () => {},
            error: (e) => (Array.isArray(e) ? resolve(e[0]?.extensions?.code as string) : reject(e)),
            complete: () => resolve(undefined),
          });
        });
      const codes = await Promise.all(Array.from({ length: 60 }, one));
      expect(codes.filter((c) => c === 'RATE_LIMITED').length, 'a burst of 60 at 10/s should be limited').toBeGreaterThan(0);
      expect(codes.every((c) => c === undefined || c === 'RATE_LIMITED')).toBe(true);
      // The socket spent the key's bucket: the same key over HTTP (written another way) waits too. Ten at
      // once, so a slow machine refilling a token or two meanwhile still shows it; a bucket of its own holds 20.
      const statuses = await Promise.all(Array.from({ length: 10 }, () =>
        fetch(server.url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `bearer  ${key}` }, body: JSON.stringify({ query: '{ ledgers { name } }' }) }).then((r) => r.status)));
      expect(statuses).toContain(429);
    } finally {
      await client.dispose();
    }
  });

  it('a syntax error, bad variables or an unknown operation name are coded answers, and the socket stays up', async () => {
    expect(await wsCode(`{ ledgers { name }`)).toBe('GRAPHQL_PARSE_FAILED');
    expect(await wsCode(`query($l: String!) { ledger(name: $l) { treeSize } }`, { l: 5 })).toBe('BAD_USER_INPUT');
    expect(await wsCode(`query($l: String!) { ledger(name: $l) { treeSize } }`)).toBe('BAD_USER_INPUT');
    expect(await wsCode(`query A { ledgers { name } } query B { ledgers { name } }`, undefined, 'C')).toBe('OPERATION_RESOLUTION_FAILURE');
    expect(await wsCode(`query A { ledgers { name } } query B { ledgers { name } }`)).toBe('OPERATION_RESOLUTION_FAILURE');
  });
});

describe('the paths GraphQL answers on', () => {
  it('is /graphql with or without a trailing slash or query, nothing else', () => {
    for (const url of ['/graphql', '/graphql/', '/graphql?query=x', '/graphql/?query=x']) expect(isGraphqlPath(url), url).toBe(true);
    for (const url of ['/graphqlx', '/graphql/x', '/graph', '/healthz', '/', undefined]) expect(isGraphqlPath(url), String(url)).toBe(false);
  });
});
