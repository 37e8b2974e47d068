import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ED25519_SIGNING } from '../../src/ledger/events/ed25519.js';
import { serverBackend } from '../support/db.js';
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
    const text = await (await fetch(`${base()}/metrics`)).text();
    expect(text).toMatch(/chainproof_events_appended_total\{ledger="main"\} 7\b/);
    expect(text).toMatch(/chainproof_events_refused_total\{ledger="main",code="UNKNOWN_PARENT"\} 1\b/);
    // Made-up ledger names share one label: a series per name would grow without bound.
    expect(text).toMatch(/chainproof_events_refused_total\{ledger="\(unknown\)",code="UNKNOWN_LEDGER"\} 3\b/);
    expect(text).not.toContain('junk-');
    expect(text).toMatch(/chainproof_append_duration_seconds_count\{ledger="main"\} 1\b/);
    expect(text).toMatch(/chainproof_commit_batch_events_bucket/);
    expect(text).toMatch(/chainproof_proof_duration_seconds_count\{kind="inclusion"\} 1\b/);
    expect(text).toMatch(/chainproof_block_mining_seconds_count\{ledger="main"\} [1-9]/);
    expect(text).toMatch(/chainproof_block_difficulty\{ledger="main"\} \d+/);
    expect(text).toMatch(/chainproof_checkpoint_age_seconds\{ledger="main"\} \d/);
    expect(text).toMatch(/chainproof_subscribers \d+/);
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
