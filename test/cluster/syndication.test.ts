import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { loadServerKey } from '../../src/ledger/server-key.js';
import { freshDatabaseUrl, usingPostgres } from '../support/db.js';
import { gql, startServer, TEST_ADMIN_KEY, type ServerProcess } from '../support/server.js';
import { cli } from '../support/cli.js';
import { collect } from '../support/ws.js';

/**
 * Four nodes, each a real server process with its own database, each a peer of the other three
 * and a witness (validator) of their logs. They append concurrently and pull from each other;
 * afterwards all hold the same events. (PostgreSQL only, like the witness cluster.)
 */
describe.runIf(usingPostgres())('syndication between nodes', () => {
  interface Node {
    name: string;
    port: number;
    db: { url: string; drop(): Promise<void> };
    env: Record<string, string>;
    server?: ServerProcess;
    verifierKey: string;
    witnessKey: string;
  }
  const nodes: Node[] = [];
  const extra: Array<{ server: ServerProcess; db: { url: string; drop(): Promise<void> } }> = [];
  const url = (n: Node) => `http://127.0.0.1:${n.port}/graphql`;

  const keysOf = (name: string, seed: string) => {
    const key = loadServerKey(loadConfig({ CHAINPROOF_ORIGIN: name, CHAINPROOF_SIGNING_SEED: seed }), false)!.key;
    return { verifierKey: key.note.verifierKey, witnessKey: key.cosigner.verifierKey };
  };

  beforeAll(async () => {
    const ports = await Promise.all([0, 1, 2, 3].map(() => freePort()));
    for (let i = 0; i < 4; i++) {
      const name = `n${i + 1}.test`;
      const seed = String(i + 1).repeat(64);
      nodes.push({ name, port: ports[i]!, db: await freshDatabaseUrl(), env: {}, ...keysOf(name, seed) });
      nodes[i]!.env = { CHAINPROOF_ORIGIN: name, CHAINPROOF_SIGNING_SEED: seed };
    }
    for (const n of nodes) {
      const others = nodes.filter((o) => o !== n);
      Object.assign(n.env, {
        DATABASE_URL: n.db.url,
        PORT: String(n.port),
        CHAINPROOF_PEERS: others.map((o) => `${url(o)}|${o.verifierKey}`).join(','),
        CHAINPROOF_SYNC_INTERVAL_MS: '3600000', // the tests pull with syncNow; the timer only runs at start
        CHAINPROOF_SYNC_PAGE_SIZE: '25', // many pages, so resuming mid-log is exercised
        CHAINPROOF_WITNESS_LOGS: others.map((o) => o.verifierKey).join(','),
        CHAINPROOF_VALIDATORS: others.map((o) => `http://127.0.0.1:${o.port}|${o.witnessKey}`).join(','),
        CHAINPROOF_RULES_BUILTINS: 'true', // contribution rewards: a bug report fires where it was written, not where it is copied
      });
    }
    await Promise.all(nodes.map(async (n) => (n.server = await startServer(n.env))));
  });
  afterAll(async () => {
    await Promise.all([...nodes.map((n) => n.server), ...extra.map((e) => e.server)].map((s) => s?.kill('SIGTERM')));
    for (const d of [...nodes.map((n) => n.db), ...extra.map((e) => e.db)]) await d.drop();
  });

  const append = (n: Node, count: number, tag: string) =>
    gql(url(n), `mutation($i: [AppendEventInput!]!) { appendEvents(inputs: $i) { id } }`, {
      i: Array.from({ length: count }, (_, k) => ({ type: 'deploy', actor: `${n.name}/ci`, payload: { tag, k } })),
    });

  async function ids(n: Node): Promise<Set<string>> {
    const out = new Set<string>();
    let after: string | null = null;
    for (;;) {
      const r: any = await gql(url(n), `query($a: String) { events(first: 500, after: $a) { edges { node { id } } pageInfo { endCursor hasNextPage } } }`, { a: after });
      expect(r.errors).toBeUndefined();
      for (const e of r.data.events.edges) out.add(e.node.id);
      if (!r.data.events.pageInfo.hasNextPage) return out;
      after = r.data.events.pageInfo.endCursor;
    }
  }

  const syncNow = async (n: Node) => {
    const r = await gql(url(n), `mutation { syncNow { peer ok received skipped error { code message } } }`);
    expect(r.errors).toBeUndefined();
    return r.data.syncNow as Array<{ peer: string; ok: boolean; received: number; error: { code: string; message: string } | null }>;
  };

  /** Rounds of syncNow on every live node until they all hold the same ids. */
  async function converge(live: Node[]): Promise<Set<string>[]> {
    for (let round = 0; round < 8; round++) {
      for (const n of live) await syncNow(n);
      const sets = await Promise.all(live.map(ids));
      if (sets.every((s) => sameSet(s, sets[0]!))) return sets;
    }
    throw new Error('nodes did not converge in 8 rounds');
  }

  it('four nodes that each append and sync hold the same events, and each verifies VALID', { timeout: 240_000 }, async () => {
    const written = await Promise.all(nodes.map((n, i) => append(n, 10 + i, 'first')));
    const report = await gql(url(nodes[0]!), `mutation { appendEvent(input: {type: "bug_report", actor: "alice"}) { id } }`);
    const mine = written.flatMap((r) => r.data.appendEvents.map((e: { id: string }) => e.id));
    const sets = await converge(nodes);
    for (const s of sets) for (const id of mine) expect(s.has(id)).toBe(true);

    for (const n of nodes) {
      const v = await gql(url(n), `{ verify(full: true) { status issues { message } } }`);
      expect(v.data.verify, JSON.stringify(v.data.verify.issues)).toMatchObject({ status: 'VALID' });
    }
    // The reward fired once, on the node the report was written to; every node holds that one firing.
    for (const n of nodes) {
      const fired = await gql(url(n), `{ events(filter: { types: ["ContractExecuted"] }, first: 50) { edges { node { origin payload } } } }`);
      const forReport = fired.data.events.edges.map((e: any) => e.node).filter((e: any) => e.payload.trigger === report.data.appendEvent.id);
      expect(forReport).toEqual([expect.objectContaining({ origin: 'n1.test/main' })]);
    }
    // Concurrent writes were branches somewhere, and syncs were recorded.
    const kinds = await gql(url(nodes[0]!), `{ stats { eventsByType { type count } } }`);
    const count = (t: string) => kinds.data.stats.eventsByType.find((e: { type: string }) => e.type === t)?.count ?? 0;
    expect(count('SyncCompleted')).toBeGreaterThan(0);
    expect(count('SyncStarted')).toBeGreaterThan(0);
    expect(count('ConflictDetected')).toBeGreaterThan(0);

    // Copies keep their origin; the status shows what flowed each way.
    const copy = await gql(url(nodes[0]!), `query($id: String!) { event(id: $id) { origin } }`, { id: written[1]!.data.appendEvents[0].id });
    expect(copy.data.event.origin).toBe('n2.test/main');
    const status = (await gql(url(nodes[0]!), `{ syncStatus { running autoSync intervalMs peers { origin status eventsReceived eventsSent lastCheckpointSize lastSyncAt } } }`)).data.syncStatus;
    expect(status).toMatchObject({ running: true, autoSync: true, intervalMs: 3_600_000 });
    expect(status.peers).toHaveLength(3);
    for (const p of status.peers) {
      expect(p.status).toBe('CONNECTED');
      expect(p.eventsSent + p.eventsReceived).toBeGreaterThan(0);
      expect(p.lastCheckpointSize).toBeGreaterThan(0);
    }

    // Monitors see each peer's status change over a WebSocket.
    const updates = collect<{ syncUpdated: { origin: string; status: string; position: number } }>(
      url(nodes[0]!).replace(/^http/, 'ws'),
      `subscription { syncUpdated { origin status position } }`,
    );
    await updates.connected;
    await append(nodes[2]!, 3, 'watched');
    await syncNow(nodes[0]!);
    const seen = (await updates.until(6)).map((u) => u.syncUpdated);
    expect(seen.filter((u) => u.origin === 'n3.test/main').map((u) => u.status).slice(0, 2)).toEqual(['SYNCING', 'CONNECTED']);
    await updates.close();

    // The CLI, through the server and on the node's own database.
    const viaServer = cli(['sync', 'status', '--url', url(nodes[0]!), '--key', TEST_ADMIN_KEY], {});
    expect(viaServer.code, viaServer.stderr).toBe(0);
    expect(viaServer.stdout).toMatch(/^sync running; auto-sync every 3600000 ms/);
    expect(viaServer.stdout).toMatch(/n2\.test\/main\s+CONNECTED/);
    const now = cli(['sync', 'now', 'n2.test/main', '--url', url(nodes[0]!), '--key', TEST_ADMIN_KEY, '--json'], {});
    expect(now.code, now.stderr).toBe(0);
    expect(JSON.parse(now.stdout)).toEqual([expect.objectContaining({ peer: url(nodes[1]!), ok: true })]);
    const onDb = cli(['sync', 'peers', '--json'], { ...nodes[0]!.env });
    expect(onDb.code, onDb.stderr).toBe(0);
    expect(JSON.parse(onDb.stdout).map((p: { origin: string }) => p.origin).sort()).toEqual(['n2.test/main', 'n3.test/main', 'n4.test/main']);
  });

  it('a stopped node catches up on what its peers appended meanwhile, also when killed mid-sync', { timeout: 240_000 }, async () => {
    const down = nodes[3]!;
    await down.server!.kill('SIGKILL');
    const live = nodes.slice(0, 3);
    for (let k = 0; k < 2; k++) await Promise.all(live.map((n) => append(n, 100, 'while-down')));
    await converge(live);
    // It starts pulling on its own at start; kill it mid-way (pages of 25), then let it finish.
    down.server = await startServer(down.env);
    const deadline = Date.now() + 30_000;
    for (;;) {
      const peers = (await gql(url(down), `{ syncStatus { peers { position } } }`)).data?.syncStatus.peers ?? [];
      if (peers.some((p: { position: number }) => p.position > 0) || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    await down.server.kill('SIGKILL');
    down.server = await startServer(down.env);
    const sets = await converge(nodes);
    expect(sets[3]!.size).toBe(sets[0]!.size);
    const v = await gql(url(down), `{ verify(full: true) { status } }`);
    expect(v.data.verify.status).toBe('VALID');
  });

  it('a peer serving a tampered event or a bad proof gets nothing appended', { timeout: 240_000 }, async () => {
    const source = nodes[0]!;
    let tamper: 'event' | 'proof' | 'none' = 'event';
    const proxy = await proxyTo(url(source), (body) => {
      const range = body?.data?.leafRange;
      if (!range || tamper === 'none') return body;
      if (tamper === 'event') {
        const bytes = Buffer.from(range.leaves[0].canonical, 'base64').toString().replace('"actor":"', '"actor":"x');
        range.leaves[0].canonical = Buffer.from(bytes).toString('base64');
      } else {
        if (range.proof.length === 0) range.proof.push('00'.repeat(32));
        else range.proof[0] = range.proof[0].replace(/^./, (c: string) => (c === '0' ? '1' : '0'));
      }
      return body;
    });
    try {
      const db = await freshDatabaseUrl();
      const fresh = await startServer({ DATABASE_URL: db.url, CHAINPROOF_ORIGIN: 'fresh.test', CHAINPROOF_SIGNING_SEED: '5'.repeat(64), CHAINPROOF_SYNC: 'false', CHAINPROOF_SYNC_PAGE_SIZE: '7' });
      extra.push({ server: fresh, db });
      const before = (await gql(fresh.url, `{ stats { treeSize } }`)).data.stats.treeSize;
      const added = await gql(fresh.url, `mutation($u: String!, $k: String!) { createPeer(url: $u, verifierKey: $k) { origin status } }`, { u: proxy.url, k: source.verifierKey });
      expect(added.data.createPeer).toMatchObject({ origin: 'n1.test/main' });
      const dup = await gql(fresh.url, `mutation($u: String!, $k: String!) { createPeer(url: $u, verifierKey: $k) { origin } }`, { u: proxy.url, k: source.verifierKey });
      expect(dup.errors?.[0]?.extensions?.code).toBe('CONFLICT');
      const bad = await gql(fresh.url, `mutation { createPeer(url: "ftp://x", verifierKey: "nope") { origin } }`);
      expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      // Credentials in a URL would show in logs, status and metrics: refused (peers take CHAINPROOF_SYNC_API_KEY).
      const withCredentials = proxy.url.replace('://', '://user:secret@');
      const creds = await gql(fresh.url, `mutation($u: String!, $k: String!) { createPeer(url: $u, verifierKey: $k) { origin } }`, { u: withCredentials, k: source.verifierKey });
      expect(creds.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      expect(creds.errors?.[0]?.message).toMatch(/credentials/);

      for (const mode of ['event', 'proof'] as const) {
        tamper = mode;
        const [r] = (await gql(fresh.url, `mutation { syncNow { ok received error { code message } } }`)).data.syncNow;
        expect(r.ok).toBe(false);
        expect(r.error.code).toBe('PEER_MISBEHAVED');
        expect(r.received).toBe(0);
        expect((await gql(fresh.url, `{ stats { treeSize } }`)).data.stats.treeSize).toBe(before);
      }
      const st = (await gql(fresh.url, `{ syncStatus { peers { status errorCount lastError flagged lastSyncAt lastSuccessAt } } }`)).data.syncStatus.peers[0];
      expect(st).toMatchObject({ status: 'ERROR', errorCount: 2, flagged: false, lastSuccessAt: null });
      expect(st.lastSyncAt).not.toBeNull();
      expect(st.lastError).toContain('PEER_MISBEHAVED');
      // Monitors see the peer failing: no success yet, and the checked checkpoint's leaves not taken.
      const failing = await peerMetrics(fresh.url, proxy.url);
      expect(failing.flagged).toBe(0);
      expect(failing.behind).toBeGreaterThan(0);
      expect(failing.successAge).toBeGreaterThanOrEqual(0);

      tamper = 'none';
      const [ok] = (await gql(fresh.url, `mutation { syncNow { ok received } }`)).data.syncNow;
      expect(ok.ok).toBe(true);
      const [healed] = (await gql(fresh.url, `{ syncStatus { peers { status lastSuccessAt } } }`)).data.syncStatus.peers;
      expect(healed.status).toBe('CONNECTED');
      expect(Date.parse(healed.lastSuccessAt)).toBeGreaterThan(Date.parse(st.lastSyncAt));
      const synced = await peerMetrics(fresh.url, proxy.url);
      expect(synced.behind).toBe(0);
      expect(synced.successAge).toBeLessThan(failing.successAge + 60);
      const theirs = await ids(source);
      const got = await ids({ ...source, port: Number(new URL(fresh.url).port) });
      for (const id of theirs) expect(got.has(id)).toBe(true);
    } finally {
      proxy.server.close();
    }
  });

  it('a node whose database was rewritten after a checkpoint is flagged by every peer and refused by every witness', { timeout: 240_000 }, async () => {
    const liar = nodes[2]!;
    const honest = nodes.filter((n) => n !== liar);
    await converge(nodes); // every peer has seen (and every witness cosigned) a checkpoint of the liar's
    await liar.server!.kill('SIGKILL');
    // The same key and origin over a database restored from nothing: a different history.
    await liar.db.drop();
    liar.db = await freshDatabaseUrl();
    liar.env.DATABASE_URL = liar.db.url;
    liar.server = await startServer(liar.env);
    // Longer than before, so witnesses get a consistency proof (that fails) rather than an older size.
    for (let k = 0; k < 2; k++) await append(liar, 1000, 'rewritten');
    await gql(url(liar), `mutation { createCheckpoint { treeSize } }`);

    for (const n of honest) {
      const results = await syncNow(n);
      const fromLiar = results.find((r) => r.peer === url(liar))!;
      expect(fromLiar.ok).toBe(false);
      expect(fromLiar.error!.code).toBe('PEER_MISBEHAVED');
      const peer = (await gql(url(n), `{ syncStatus { peers { url flagged flaggedReason status } } }`)).data.syncStatus.peers.find((p: { url: string }) => p.url === url(liar));
      expect(peer).toMatchObject({ flagged: true, status: 'ERROR' });
      expect(peer.flaggedReason).toMatch(/not consistent|smaller|two different roots/);
      expect((await peerMetrics(url(n), url(liar))).flagged).toBe(1);
      const again = cli(['sync', 'now', url(liar), '--url', url(n), '--key', TEST_ADMIN_KEY], {});
      expect(again.code).toBe(3);
      expect(again.stdout).toContain('is flagged');
      const flagged = await gql(url(n), `{ events(filter: { types: ["PeerFlagged"] }, first: 5) { edges { node { resource } } } }`);
      expect(flagged.data.events.edges.map((e: any) => e.node.resource)).toContain('peer/n3.test/main');
    }

    // Witnesses: each holds evidence against the rewritten log, and none cosigned its new checkpoint.
    const deadline = Date.now() + 20_000;
    for (const n of honest) {
      for (;;) {
        const c = new pg.Client({ connectionString: n.db.url });
        await c.connect();
        const [row] = (await c.query(`SELECT count(*)::int AS n FROM witness_evidence WHERE origin = 'n3.test/main'`)).rows;
        await c.end();
        if (row.n > 0) break;
        if (Date.now() > deadline) throw new Error(`witness ${n.name} holds no evidence against the rewritten log`);
        await new Promise((r) => setTimeout(r, 500));
      }
    }
    const latest = await gql(url(liar), `{ checkpoint { cosignatures { witness } finality } }`);
    expect(latest.data.checkpoint).toMatchObject({ cosignatures: [], finality: 'PENDING' });
  });
});

/** The /metrics gauges of one peer on the node serving `graphqlUrl` (NaN where a gauge has no series). */
async function peerMetrics(graphqlUrl: string, peerUrl: string): Promise<{ successAge: number; behind: number; flagged: number }> {
  const text = await (await fetch(graphqlUrl.replace(/\/graphql$/, '/metrics'))).text();
  const gauge = (name: string) => {
    const line = text.split('\n').find((l) => l.startsWith(`chainproof_sync_peer_${name}{peer="${peerUrl}"} `));
    return line === undefined ? NaN : Number(line.split(' ').at(-1));
  };
  return { successAge: gauge('success_age_seconds'), behind: gauge('behind_leaves'), flagged: gauge('flagged') };
}

function sameSet(a: Set<string>, b: Set<string>): boolean {
  if (a.size !== b.size) return false;
  for (const x of a) if (!b.has(x)) return false;
  return true;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createNetServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** An HTTP proxy to `target` that lets the test rewrite each JSON answer. */
async function proxyTo(target: string, rewrite: (body: any) => any): Promise<{ server: Server; url: string }> {
  const server = createHttpServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const upstream = await fetch(target, { method: 'POST', headers: { 'content-type': 'application/json' }, body: Buffer.concat(chunks) });
    const body = rewrite(await upstream.json());
    res.writeHead(upstream.status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}/graphql` };
}
