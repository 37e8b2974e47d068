import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isGraphqlPath } from '../../src/server/graphql-http.js';
import { serverBackend } from '../support/db.js';
import { gql, startServer, type ServerProcess } from '../support/server.js';

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
    expect(((await res.json()) as any).errors[0].extensions.code).toBe('BODY_TOO_LARGE');
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

describe('the paths GraphQL answers on', () => {
  it('is /graphql with or without a trailing slash or query, nothing else', () => {
    for (const url of ['/graphql', '/graphql/', '/graphql?query=x', '/graphql/?query=x']) expect(isGraphqlPath(url), url).toBe(true);
    for (const url of ['/graphqlx', '/graphql/x', '/graph', '/healthz', '/', undefined]) expect(isGraphqlPath(url), String(url)).toBe(false);
  });
});
