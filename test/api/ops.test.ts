import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ED25519_SIGNING } from '../../src/ledger/events/ed25519.js';
import { serverBackend, usingPostgres } from '../support/db.js';
import { gql, startServer, type ServerProcess } from '../support/server.js';

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

const base = () => server.url.replace(/\/graphql$/, '');

describe('operations', () => {
  it('serves /healthz, /readyz and Prometheus /metrics that move with the ledger', async () => {
    expect((await fetch(`${base()}/healthz`)).status).toBe(200);
    const ready = await fetch(`${base()}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready' });
    // A flood of probes is answered (shared, not a database round trip each).
    const flood = await Promise.all(Array.from({ length: 200 }, () => fetch(`${base()}/readyz`).then((r) => r.status)));
    expect(new Set(flood)).toEqual(new Set([200]));

    await gql(server.url, `mutation($i: [AppendEventInput!]!) { appendEvents(inputs: $i) { index } }`, {
      i: Array.from({ length: 7 }, () => ({ type: 'm', actor: 'a' })),
    });
    await gql(server.url, `mutation { appendEvent(input: {type: "m", actor: "a", parents: ["${'ab'.repeat(32)}"]}) { index } }`);
    for (const name of ['junk-1', 'junk-2', 'junk-3']) {
      const r = await gql(server.url, `mutation($l: String!) { appendEvent(ledger: $l, input: {type: "m", actor: "a"}) { index } }`, { l: name });
      expect(r.errors?.[0]?.extensions?.code).toBe('UNKNOWN_LEDGER');
    }
    await gql(server.url, `{ inclusionProof(index: 0) { rootHash } }`);
    await gql(server.url, `mutation { createCheckpoint { id } }`);
    // Long enough for the checkpoint's age to tell seconds from milliseconds.
    await new Promise((r) => setTimeout(r, 1_100));
    const scrape = await fetch(`${base()}/metrics`);
    // Prometheus picks its parser by the content type: the text format, version 0.0.4.
    expect(scrape.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await scrape.text();
    expect(text).toMatch(/chainproof_events_appended_total\{ledger="main"\} 7\b/);
    expect(text).toMatch(/chainproof_events_refused_total\{ledger="main",code="UNKNOWN_PARENT"\} 1\b/);
    // Made-up ledger names share one label: a series per name would grow without bound.
    expect(text).toMatch(/chainproof_events_refused_total\{ledger="\(unknown\)",code="UNKNOWN_LEDGER"\} 3\b/);
    expect(text).not.toContain('junk-');
    expect(text).toMatch(/chainproof_append_duration_seconds_count\{ledger="main"\} 1\b/);
    expect(text).toMatch(/chainproof_commit_batch_events_bucket/);
    expect(text).toMatch(/chainproof_proof_duration_seconds_count\{kind="inclusion"\} 1\b/);
    expect(text).toMatch(/chainproof_block_mining_seconds_count\{ledger="main"\} [1-9]/);
    expect(text).toMatch(/chainproof_block_difficulty\{ledger="main"\} [1-9]/); // CHAINPROOF_MIN_DIFFICULTY is 1
    const age = Number(/chainproof_checkpoint_age_seconds\{ledger="main"\} (\S+)/.exec(text)?.[1]);
    expect(age).toBeGreaterThanOrEqual(1);
    expect(age).toBeLessThan(60);
    expect(text).toMatch(/chainproof_subscribers \d+/);
  });

  it.runIf(usingPostgres())('/readyz is 503 while a migration is pending, and 200 again once none is', async () => {
    const db = new pg.Client({ connectionString: env.DATABASE_URL });
    await db.connect();
    try {
      const ready = async () => {
        const res = await fetch(`${base()}/readyz`);
        return { status: res.status, body: await res.json() };
      };
      // As a newer build's migration would look to this one: not yet run.
      const { rows } = await db.query('DELETE FROM schema_migrations WHERE id = (SELECT max(id) FROM schema_migrations) RETURNING *');
      try {
        // The answer is shared for a second.
        await vi.waitFor(async () => expect(await ready()).toEqual({ status: 503, body: { status: 'migrations pending' } }), { timeout: 5_000, interval: 200 });
      } finally {
        await db.query('INSERT INTO schema_migrations (id, timestamp, name) VALUES ($1, $2, $3)', [rows[0].id, rows[0].timestamp, rows[0].name]);
      }
      await vi.waitFor(async () => expect(await ready()).toEqual({ status: 200, body: { status: 'ready' } }), { timeout: 5_000, interval: 200 });
    } finally {
      await db.end();
    }
  });

  it('logs each request as JSON with a request id, and echoes it', async () => {
    const res = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'trace-me-42' },
      body: JSON.stringify({ query: '{ ledgers { name } }' }),
    });
    expect(res.headers.get('x-request-id')).toBe('trace-me-42');
    await new Promise((r) => setTimeout(r, 100));
    const line = server.logs.map((l) => { try { return JSON.parse(l); } catch { return null; } }).find((l) => l?.requestId === 'trace-me-42');
    expect(line).toMatchObject({ msg: 'request', method: 'POST', path: '/graphql', status: 200 });
    expect(server.logs.join('\n')).not.toMatch(/cpk_test-admin|9d61b19d/); // neither the admin key nor the signing seed
    // The path is logged without its query string.
    await fetch(`${server.url}?query=${encodeURIComponent('{ ledgers { name } }')}`, { headers: { 'apollo-require-preflight': 'true', 'x-request-id': 'get-with-query' } });
    await new Promise((r) => setTimeout(r, 100));
    const get = server.logs.map((l) => { try { return JSON.parse(l); } catch { return null; } }).find((l) => l?.requestId === 'get-with-query');
    expect(get).toMatchObject({ msg: 'request', method: 'GET', path: '/graphql', status: 200 });
  });

  it('takes a client\'s request id into its logs only if it is short and plain; else makes one', async () => {
    const idFor = async (id: string) => (await fetch(`${base()}/healthz`, { headers: { 'x-request-id': id } })).headers.get('x-request-id');
    expect(await idFor('x'.repeat(128))).toBe('x'.repeat(128));
    for (const id of ['x'.repeat(129), 'two words', '{"level":60}', '']) expect(await idFor(id), id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  });

  it('says at start-up which library signs the server\'s events', async () => {
    // Logged once the node has started syncing, just after it listens.
    const signingLine = () => server.logs.map((l) => { try { return JSON.parse(l); } catch { return null; } }).find((l) => l?.verifierKey);
    for (let i = 0; i < 100 && !signingLine(); i++) await new Promise((r) => setTimeout(r, 50));
    expect(signingLine()).toMatchObject({ msg: 'checkpoints are signed; check them with this verifier key', signingLibrary: ED25519_SIGNING });
  });

  it('SIGTERM under load: exits cleanly and keeps every acknowledged event', async () => {
    const acked = new Map<string, number>();
    let stop = false;
    const client = async (c: number) => {
      for (let i = 0; !stop; i++) {
        try {
          const r = await gql(server.url, `mutation { appendEvent(input: {type: "term", actor: "c${c}"}) { index id } }`);
          if (!r.data?.appendEvent) return;
          acked.set(r.data.appendEvent.id, r.data.appendEvent.index);
        } catch {
          return;
        }
      }
    };
    const clients = Array.from({ length: 12 }, (_, c) => client(c));
    await new Promise((r) => setTimeout(r, 1000));
    const exitCode = await server.kill('SIGTERM');
    stop = true;
    await Promise.all(clients);
    expect(exitCode).toBe(0);
    expect(acked.size).toBeGreaterThan(10);
    server = await startServer(env);
    for (const [id, index] of acked) {
      const r = await gql(server.url, `query($id: String!) { event(id: $id) { index } }`, { id });
      expect(r.data.event?.index).toBe(index);
    }
    const v = await gql(server.url, `{ verify(full: true) { status issues { kind message } } }`);
    expect(v.data.verify.status).toBe('VALID');
  });
});
