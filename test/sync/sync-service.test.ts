import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ChainproofError } from '../../src/errors.js';
import { noteSignerFromSeed } from '../../src/ledger/note/index.js';
import { SYNC_SUBSYSTEM } from '../../src/sync/events.js';
import { PeerClient } from '../../src/sync/peer-client.js';
import { peerSpec } from '../../src/sync/peer.js';
import { SyncService, type PeerView, type SyncSettings } from '../../src/sync/sync-service.js';
import { SyncStore } from '../../src/sync/sync-store.js';
import { openTestLedger, type TestLedger } from '../support/ledger.js';
import { servePeer } from '../support/peer-server.js';

// Nothing listens on port 9 (discard): every pull fails as an unreachable peer's would.
const DOWN = 'http://127.0.0.1:9/graphql';
const vkey = noteSignerFromSeed('down.test', Buffer.alloc(32, 3)).verifierKey;

let t: TestLedger;
let sync: SyncService;

/** A sync service on `ledger`'s database, pulling `peers`, hourly when syncs run on their own; logs nothing. */
/** A sync service on `ledger`; syncs on their own come hourly unless `settings` says otherwise. */
function serviceOn(ledger: TestLedger, peers: SyncSettings['peers'], settings: Omit<SyncSettings, 'peers' | 'intervalMs'> & Partial<Pick<SyncSettings, 'intervalMs'>>): SyncService {
  return new SyncService(ledger.db.dataSource, ledger.service, { peers, intervalMs: 3_600_000, ...settings }, pino({ level: 'silent' }));
}

beforeAll(async () => {
  t = await openTestLedger({}, { produceBlocks: false });
  sync = serviceOn(t, [{ url: DOWN, vkey }], { enabled: true, requestTimeoutMs: 2_000 });
  await sync.start();
});
afterAll(async () => {
  await sync?.stop();
  await t?.close();
});

describe('the sync service', () => {
  it('retries an unreachable peer with exponential backoff, and says so in its status', { timeout: 30_000 }, async () => {
    const gaps = new Map<number, number>();
    const deadline = Date.now() + 20_000;
    while (gaps.size < 3 && Date.now() < deadline) {
      const [p] = (await sync.status()).peers;
      if (p!.nextSyncAt && p!.lastSyncAt && p!.errorCount > 0 && !gaps.has(p!.errorCount)) {
        gaps.set(p!.errorCount, p!.nextSyncAt.getTime() - p!.lastSyncAt.getTime());
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    const [p] = (await sync.status()).peers;
    expect(p).toMatchObject({ status: 'disconnected', origin: 'down.test/main', source: 'config', position: 0 });
    expect(p!.lastError).toMatch(/^PEER_UNAVAILABLE: cannot reach peer/);
    // 1 s, 2 s, 4 s after each failure (give or take the time to record it).
    const seconds = [1, 2, 3].map((n) => Math.round((gaps.get(n) ?? 0) / 100) / 10);
    expect(seconds.map((s) => Math.round(s))).toEqual([1, 2, 4]);
  });

  it('syncNow answers each peer\'s outcome; an unknown peer or a bad key is refused with a code', async () => {
    const [r] = await sync.syncNow('down.test/main');
    expect(r).toMatchObject({ peer: DOWN, ok: false, received: 0, error: { code: 'PEER_UNAVAILABLE' } });
    await expect(sync.syncNow('nobody.test/main')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(sync.createPeer('http://127.0.0.1:10/graphql', 'not-a-key')).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    await expect(sync.createPeer('file:///etc/passwd', vkey)).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    await expect(sync.createPeer('http://127.0.0.1:11/graphql', t.service.verifierKey()!)).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    await expect(sync.createPeer(DOWN, vkey)).rejects.toMatchObject({ code: 'CONFLICT' });
    expect((await sync.status()).peers).toHaveLength(1);
  });
});

describe('a timed sync', () => {
  it.each(['peer', 'failed'] as const)('whose store.%s fails (the database is away) is tried again, and throws nowhere', { timeout: 30_000 }, async (broken) => {
    const other = await openTestLedger({}, { produceBlocks: false });
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => void unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    const svc = serviceOn(other, [{ url: DOWN, vkey }], { enabled: true, requestTimeoutMs: 2_000 });
    const store = (svc as unknown as { store: Record<'peer' | 'failed', (...a: unknown[]) => Promise<unknown>> }).store;
    vi.spyOn(store, broken).mockRejectedValueOnce(new Error('Connection terminated unexpectedly'));
    try {
      await svc.start();
      // The second attempt comes on its own timer, and its failure is recorded (as is the first's, where the database let it be).
      const errors = broken === 'failed' ? 1 : 2;
      let peer: Awaited<ReturnType<typeof svc.status>>['peers'][number] | undefined;
      for (let i = 0; i < 200 && !(peer?.status === 'disconnected' && peer.errorCount >= errors); i++) {
        await new Promise((r) => setTimeout(r, 50));
        [peer] = (await svc.status()).peers;
      }
      expect(peer?.status).toBe('disconnected');
      expect(peer?.errorCount).toBeGreaterThanOrEqual(errors);
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
      await svc.stop();
      await other.close();
    }
  });
});

describe('a sync that loses a re-pin race', () => {
  it('is no failure of the peer, keeps nothing, and is followed by a sync under the new key', { timeout: 60_000 }, async () => {
    const node = await openTestLedger({ CHAINPROOF_ORIGIN: 'node.test', CHAINPROOF_SIGNING_SEED: '71'.repeat(32) }, { produceBlocks: false });
    // One URL, one name, two keys: the peer was given a new key, and its log started anew.
    const before = await openTestLedger({ CHAINPROOF_ORIGIN: 'peer.test', CHAINPROOF_SIGNING_SEED: '72'.repeat(32) }, { produceBlocks: false });
    const after = await openTestLedger({ CHAINPROOF_ORIGIN: 'peer.test', CHAINPROOF_SIGNING_SEED: '73'.repeat(32) }, { produceBlocks: false });
    for (const [l, type] of [[before, 'OldKey'], [after, 'NewKey']] as const) {
      await l.service.append('main', [1, 2, 3].map((n) => ({ type, actor: 'writer', payload: { n } })));
      await l.service.createCheckpoint('main');
    }
    let current = before;
    let answer!: () => void;
    const repinned = new Promise<void>((r) => (answer = r));
    let asked!: () => void;
    const leavesAsked = new Promise<void>((r) => (asked = r));
    const served = await servePeer(() => current, { beforeLeaves: async () => (asked(), repinned) });
    const settings = { peers: [{ url: served.url, vkey: before.service.verifierKey()! }], intervalMs: 3_600_000, enabled: true, requestTimeoutMs: 30_000 };
    const svc = new SyncService(node.db.dataSource, node.service, settings, pino({ level: 'silent' }));
    const held = async (type: string) => (await node.db.dataSource.query(`SELECT count(*)::int AS n FROM events WHERE type = $1`, [type]))[0].n;
    try {
      await svc.start();
      const outcome = svc.syncNow(served.url);
      await leavesAsked;
      // Another process starts with the peer pinned to its new key.
      await new SyncStore(node.db.dataSource).upsertConfigured(peerSpec(served.url, after.service.verifierKey()!));
      current = after;
      answer();
      const [r] = await outcome;
      expect(r).toMatchObject({ ok: false, received: 0, error: { code: 'CONFLICT' } });
      expect(await held('OldKey')).toBe(0);
      // The next sync comes on its own (the interval is an hour) and takes the new log from 0. Its success is
      // stored a moment before it stops running, and the status says "syncing" until then.
      let p = (await svc.status()).peers[0]!;
      for (let i = 0; i < 200 && (p.lastSuccessAt === null || p.status === 'syncing'); i++) {
        await new Promise((res) => setTimeout(res, 50));
        p = (await svc.status()).peers[0]!;
      }
      expect(p).toMatchObject({ verifierKey: after.service.verifierKey(), status: 'connected', position: 3, errorCount: 0, lastError: null, flagged: false });
      expect(await held('NewKey')).toBe(3);
      expect(await held('OldKey')).toBe(0);
    } finally {
      answer();
      await svc.stop();
      served.server.close();
      await Promise.all([node.close(), before.close(), after.close()]);
    }
  });
});

describe('the sync subsystem', () => {
  it('is the server\'s own from the moment the service exists, before it starts', async () => {
    const other = await openTestLedger({}, { produceBlocks: false });
    try {
      serviceOn(other, [], { enabled: false });
      await expect(other.service.append('main', [{ type: 'PeerSynced', actor: 'writer', subsystem: SYNC_SUBSYSTEM }])).rejects.toMatchObject({ code: 'FORBIDDEN' });
    } finally {
      await other.close();
    }
  });

  it('counts leaves served to a named peer in one write per flush, and no name past the bound', async () => {
    const writes: unknown[] = [];
    const query = t.db.dataSource.query.bind(t.db.dataSource);
    const spy = vi.spyOn(t.db.dataSource, 'query').mockImplementation(async (sql: string, params?: any) => {
      if (sql.includes('SET events_sent')) writes.push(params); // not the timed syncs' reads of the row
      return query(sql, params);
    });
    try {
      for (let i = 0; i < 100; i++) sync.served('down.test/main', 10);
      for (let i = 0; i < 500; i++) sync.served(`made-up-${i}`, 1);
      expect(writes).toEqual([]);
      await sync.flushSent();
    } finally {
      spy.mockRestore();
    }
    expect(writes).toHaveLength(64);
    expect(writes[0]).toEqual(['down.test/main', 1000]);
    const [p] = (await sync.status()).peers;
    expect(p!.eventsSent).toBe(1000);
  });
});

describe('syncs of one peer', () => {
  it('run one at a time: a syncNow while one runs gets that one\'s outcome, and counts one failure', async () => {
    const other = await openTestLedger({}, { produceBlocks: false });
    // Held until both calls are in: a peer refusing at once could end the first sync before the second asks.
    const held = await heldPeer();
    const svc = serviceOn(other, [{ url: held.url, vkey }], { enabled: false, requestTimeoutMs: 10_000 });
    try {
      await svc.start();
      const first = svc.syncNow(held.url);
      await held.wasAsked;
      expect(await svc.status()).toMatchObject({ syncing: true, peers: [{ status: 'syncing' }] });
      const lookUps = vi.spyOn(SyncStore.prototype, 'peers');
      const second = svc.syncNow('down.test/main');
      // Awaited after the second call awaits it: by then that call has joined the sync under way or started its own.
      await lookUps.mock.results[0]!.value;
      lookUps.mockRestore();
      held.release();
      const [[a], [b]] = await Promise.all([first, second]);
      expect(a).toBe(b);
      expect((await svc.status()).peers[0]!.errorCount).toBe(1);
    } finally {
      await svc.stop();
      held.close();
      await other.close();
    }
  });
});

/** A peer that holds every answer until `release()`, then answers with a gateway error. */
async function heldPeer() {
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  let asked!: () => void;
  const wasAsked = new Promise<void>((r) => (asked = r));
  const server = createServer(async (_req, res) => {
    asked();
    await released;
    res.statusCode = 502;
    res.end('bad gateway');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`, release, wasAsked, close: () => server.close() };
}

describe('stopping the sync service', () => {
  it('waits for the sync under way, and schedules no sync after it', { timeout: 30_000 }, async () => {
    const other = await openTestLedger({}, { produceBlocks: false });
    const peer = await heldPeer();
    const svc = serviceOn(other, [{ url: peer.url, vkey }], { enabled: true, requestTimeoutMs: 20_000 });
    try {
      await svc.start();
      await peer.wasAsked;
      let stopped = false;
      const stopping = svc.stop().then(() => (stopped = true));
      await new Promise((r) => setTimeout(r, 100));
      expect(stopped).toBe(false);
      peer.release();
      await stopping;
      const status = await svc.status();
      expect(status).toMatchObject({ running: false, syncing: false });
      // The failed sync was recorded, and no retry waits on a timer.
      expect(status.peers[0]).toMatchObject({ status: 'disconnected', errorCount: 1, nextSyncAt: null });
    } finally {
      peer.release();
      await svc.stop();
      peer.close();
      await other.close();
    }
  });
});

describe('a sync service without automatic syncs', () => {
  it('syncs only when asked, schedules no retry, and never pulls a flagged peer', { timeout: 30_000 }, async () => {
    const other = await openTestLedger({}, { produceBlocks: false });
    const svc = serviceOn(other, [{ url: DOWN, vkey }], { enabled: false, requestTimeoutMs: 2_000 });
    try {
      await svc.start();
      expect((await svc.status()).peers[0]).toMatchObject({ errorCount: 0, lastSyncAt: null, nextSyncAt: null });
      const [r] = await svc.syncNow(DOWN);
      expect(r).toMatchObject({ ok: false, error: { code: 'PEER_UNAVAILABLE' } });
      expect((await svc.status()).peers[0]).toMatchObject({ status: 'disconnected', errorCount: 1, nextSyncAt: null });
      const store = new SyncStore(other.db.dataSource);
      await store.flag((await store.peer(DOWN))!, 'PEER_MISBEHAVED: two roots', 'two roots');
      const [flagged] = await svc.syncNow(DOWN);
      expect(flagged).toMatchObject({ ok: false, error: { code: 'PEER_MISBEHAVED', message: expect.stringMatching(/is flagged: two roots/) } });
      expect((await svc.status()).peers[0]).toMatchObject({ flagged: true, errorCount: 2 });
    } finally {
      await svc.stop();
      await other.close();
    }
  });
});

describe('a successful sync when syncs run only when asked', () => {
  it('sets no timer for a next one', { timeout: 60_000 }, async () => {
    const node = await openTestLedger({ CHAINPROOF_ORIGIN: 'manual.test', CHAINPROOF_SIGNING_SEED: '76'.repeat(32) }, { produceBlocks: false });
    const peer = await openTestLedger({ CHAINPROOF_ORIGIN: 'manual-source.test', CHAINPROOF_SIGNING_SEED: '77'.repeat(32) }, { produceBlocks: false });
    await peer.service.append('main', [{ type: 'FromPeer', actor: 'writer' }]);
    await peer.service.createCheckpoint('main');
    const served = await servePeer(peer);
    const svc = serviceOn(node, [{ url: served.url, vkey: peer.service.verifierKey()! }], { enabled: false, requestTimeoutMs: 30_000 });
    // A timer "after Infinity" is one after 1 ms, and Node says so with a TimeoutOverflowWarning.
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on('warning', onWarning);
    const updates = svc.subscribe();
    const views: PeerView[] = [];
    const reading = (async () => {
      for await (const v of updates) {
        views.push(v);
        if (v.status !== 'syncing') break;
      }
    })();
    try {
      await svc.start();
      const [r] = await svc.syncNow(served.url);
      expect(r).toMatchObject({ ok: true, received: 1 });
      expect((await svc.status()).peers[0]).toMatchObject({ status: 'connected', nextSyncAt: null });
      // Subscribers saw the sync start and end.
      await vi.waitFor(() => expect(views.map((v) => [v.url, v.status])).toEqual([[served.url, 'syncing'], [served.url, 'connected']]), { timeout: 5_000, interval: 20 });
      await reading;
      await new Promise((res) => setTimeout(res, 50));
      expect(warnings).not.toContain('TimeoutOverflowWarning');
    } finally {
      process.off('warning', onWarning);
      await svc.stop();
      served.server.close();
      await Promise.all([node.close(), peer.close()]);
    }
  });
});

describe('a successful sync when syncs run on their own', () => {
  it('is followed by the next one an interval later, which brings what the peer wrote meanwhile', { timeout: 60_000 }, async () => {
    const node = await openTestLedger({ CHAINPROOF_ORIGIN: 'timed.test', CHAINPROOF_SIGNING_SEED: '7e'.repeat(32) }, { produceBlocks: false });
    const peer = await openTestLedger({ CHAINPROOF_ORIGIN: 'timed-source.test', CHAINPROOF_SIGNING_SEED: '7f'.repeat(32) }, { produceBlocks: false });
    await peer.service.append('main', [{ type: 'FromPeer', actor: 'writer' }]);
    await peer.service.createCheckpoint('main');
    const served = await servePeer(peer);
    const svc = serviceOn(node, [{ url: served.url, vkey: peer.service.verifierKey()! }], { intervalMs: 500, enabled: true, requestTimeoutMs: 30_000 });
    try {
      await svc.start();
      await vi.waitFor(async () => expect((await svc.status()).peers[0]).toMatchObject({ status: 'connected', eventsReceived: 1 }), { timeout: 20_000, interval: 50 });
      const [p] = (await svc.status()).peers;
      expect(p!.nextSyncAt!.getTime() - p!.lastSyncAt!.getTime()).toBeLessThanOrEqual(600);
      await peer.service.append('main', [{ type: 'FromPeer', actor: 'writer' }]);
      await peer.service.createCheckpoint('main');
      await vi.waitFor(async () => expect((await svc.status()).peers[0]).toMatchObject({ status: 'connected', eventsReceived: 2 }), { timeout: 20_000, interval: 50 });
    } finally {
      await svc.stop();
      served.server.close();
      await Promise.all([node.close(), peer.close()]);
    }
  });
});

describe('requests to one peer', () => {
  it('are spaced by the rate bound, also between the pages of one sync', { timeout: 60_000 }, async () => {
    const node = await openTestLedger({ CHAINPROOF_ORIGIN: 'paced.test', CHAINPROOF_SIGNING_SEED: '7d'.repeat(32) }, { produceBlocks: false });
    const peer = await openTestLedger({ CHAINPROOF_ORIGIN: 'paced-source.test', CHAINPROOF_SIGNING_SEED: '7c'.repeat(32) }, { produceBlocks: false });
    await peer.service.append('main', [1, 2, 3].map((n) => ({ type: 'FromPeer', actor: 'writer', payload: { n } })));
    await peer.service.createCheckpoint('main');
    const arrivals: number[] = [];
    const arrived = async () => void arrivals.push(performance.now());
    const served = await servePeer(peer, { beforeCheckpoint: arrived, beforeLeaves: arrived });
    // Five requests a second: one checkpoint and three pages of one leaf, at least 200 ms apart.
    const svc = serviceOn(node, [{ url: served.url, vkey: peer.service.verifierKey()! }], { enabled: false, requestTimeoutMs: 30_000, pageSize: 1, maxRequestsPerSecond: 5 });
    try {
      await svc.start();
      expect(await svc.syncNow(served.url)).toMatchObject([{ ok: true, received: 3 }]);
      expect(arrivals).toHaveLength(4);
      // Spaced where they leave; where they arrive, each may be late by what the two cores were busy with.
      const gaps = arrivals.slice(1).map((t, i) => t - arrivals[i]!);
      expect(Math.min(...gaps)).toBeGreaterThanOrEqual(100);
      expect(arrivals.at(-1)! - arrivals[0]!).toBeGreaterThanOrEqual(500);
    } finally {
      await svc.stop();
      served.server.close();
      await Promise.all([node.close(), peer.close()]);
    }
  });
});

describe('a peer an admin adds', () => {
  it('is synced at once when syncs run on their own', { timeout: 30_000 }, async () => {
    const added = 'http://127.0.0.1:10/graphql';
    const view = await sync.createPeer(added, noteSignerFromSeed('added.test', Buffer.alloc(32, 4)).verifierKey);
    expect(view).toMatchObject({ url: added, source: 'admin', origin: 'added.test/main' });
    await vi.waitFor(async () => expect((await sync.status()).peers.find((p) => p.url === added)).toMatchObject({ errorCount: 1, status: 'disconnected' }), { timeout: 20_000, interval: 50 });
  });
});

describe('counts of leaves served', () => {
  it('are written once each, and a name counted already is counted on past the bound', async () => {
    const other = await openTestLedger({}, { produceBlocks: false });
    const svc = serviceOn(other, [{ url: DOWN, vkey }], { enabled: false });
    try {
      await svc.start();
      // Names that were sent nothing take none of the bound.
      for (let i = 0; i < 100; i++) svc.served(`idle-${i}`, 0);
      svc.served('down.test/main', 5);
      svc.served('down.test/main', 0);
      for (let i = 0; i < 100; i++) svc.served(`made-up-${i}`, 1);
      svc.served('down.test/main', 2);
      await svc.flushSent();
      await svc.flushSent();
      expect((await svc.status()).peers[0]!.eventsSent).toBe(7);
      // Counts not yet written when the service stops are written then.
      svc.served('down.test/main', 4);
      await svc.stop();
      expect((await new SyncStore(other.db.dataSource).peer(DOWN))!.eventsSent).toBe(11);
    } finally {
      await svc.stop();
      await other.close();
    }
  });
});

/**
 * A node with a manual-only sync service (started) and peers `p1.test`, `p2.test`… served over
 * HTTP: `syncWith(n, type)` has peer n write one event and checkpoint it, then syncs the node from
 * it; `peerSyncs(n, from)` has peer n sync from peer `from` and checkpoint what it then holds.
 */
async function mesh(origin: string, seed: string, peerSeeds: string[]) {
  const node = await openTestLedger({ CHAINPROOF_ORIGIN: origin, CHAINPROOF_SIGNING_SEED: seed.repeat(32) }, { produceBlocks: false });
  const peers = await Promise.all(peerSeeds.map((s, n) => openTestLedger({ CHAINPROOF_ORIGIN: `p${n + 1}.test`, CHAINPROOF_SIGNING_SEED: s.repeat(32) }, { produceBlocks: false })));
  const served = await Promise.all(peers.map((p) => servePeer(p)));
  const svc = serviceOn(node, peers.map((p, n) => ({ url: served[n]!.url, vkey: p.service.verifierKey()! })), { enabled: false });
  await svc.start();
  return {
    node,
    types: async (): Promise<string[]> => (await node.db.dataSource.query(`SELECT type FROM events ORDER BY idx`)).map((r: { type: string }) => r.type),
    async syncWith(n: number, type?: string, payload?: Record<string, unknown>) {
      if (type) {
        await peers[n]!.service.append('main', [{ type, actor: 'writer', ...(payload ? { payload } : {}) }]);
        await peers[n]!.service.createCheckpoint('main');
      }
      return svc.syncNow(served[n]!.url);
    },
    async peerSyncs(n: number, from: number) {
      const peerSvc = serviceOn(peers[n]!, [{ url: served[from]!.url, vkey: peers[from]!.service.verifierKey()! }], { enabled: false });
      await peerSvc.start();
      try {
        expect(await peerSvc.syncNow(served[from]!.url)).toMatchObject([{ ok: true }]);
      } finally {
        await peerSvc.stop();
      }
      await peers[n]!.service.createCheckpoint('main');
    },
    async close() {
      await svc.stop();
      for (const s of served) s.server.close();
      await Promise.all([node.close(), ...peers.map((p) => p.close())]);
    },
  };
}

describe('a sync that brought events', () => {
  it('is recorded once, with a conflict where it left two branches; a sync that brought nothing records nothing', { timeout: 60_000 }, async () => {
    const node = await openTestLedger({ CHAINPROOF_ORIGIN: 'recorder.test', CHAINPROOF_SIGNING_SEED: '74'.repeat(32) }, { produceBlocks: false });
    const peer = await openTestLedger({ CHAINPROOF_ORIGIN: 'source.test', CHAINPROOF_SIGNING_SEED: '75'.repeat(32) }, { produceBlocks: false });
    await peer.service.append('main', [1, 2, 3].map((n) => ({ type: 'FromPeer', actor: 'writer', payload: { n } })));
    await peer.service.createCheckpoint('main');
    // The node wrote on its own meanwhile: after the sync its ledger has two branches.
    await node.service.append('main', [{ type: 'OwnEvent', actor: 'writer' }]);
    const served = await servePeer(peer);
    const svc = serviceOn(node, [{ url: served.url, vkey: peer.service.verifierKey()! }], { enabled: true, requestTimeoutMs: 30_000 });
    const held = async (type: string) => (await node.db.dataSource.query(`SELECT count(*)::int AS n FROM events WHERE type = $1`, [type]))[0].n;
    try {
      await svc.start();
      await vi.waitFor(async () => expect(await held('FromPeer')).toBe(3), { timeout: 30_000, interval: 50 });
      await svc.syncNow(served.url);
      const [again] = await svc.syncNow(served.url);
      expect(again).toMatchObject({ ok: true, received: 0 });
      expect({ started: await held('SyncStarted'), completed: await held('SyncCompleted'), conflicts: await held('ConflictDetected') }).toEqual({ started: 1, completed: 1, conflicts: 1 });
      const [completed] = await node.db.dataSource.query(`SELECT convert_from(canonical, 'UTF8') AS envelope FROM events WHERE type = 'SyncCompleted'`);
      expect(JSON.parse(completed.envelope).payload).toMatchObject({ peer: served.url, origin: 'source.test/main', received: 3, fromPosition: 0, toPosition: 3 });
      const [view] = (await svc.status()).peers;
      expect(view).toMatchObject({ status: 'connected', position: 3, eventsReceived: 3, errorCount: 0 });
      // The checkpoint's block, and the next sync an interval (an hour) on.
      expect(view!.lastCheckpointHeight).toBe((await peer.service.checkpoint('main'))!.blockHeight);
      expect(view!.nextSyncAt!.getTime()).toBeGreaterThan(Date.now() + 30 * 60_000);
    } finally {
      await svc.stop();
      served.server.close();
      await Promise.all([node.close(), peer.close()]);
    }
  });

  it('records no conflict in a node that wrote nothing of its own, in a first sync or a later one', { timeout: 60_000 }, async () => {
    const m = await mesh('quiet.test', '76', ['77']);
    try {
      for (const n of [1, 2]) expect(await m.syncWith(0, 'FromPeer', { n })).toMatchObject([{ ok: true, received: 1 }]);
      // Each sync's SyncStarted sits beside the copies it brought, a branch of its own making only.
      expect(await m.types()).toEqual(['SyncStarted', 'FromPeer', 'SyncCompleted', 'SyncStarted', 'FromPeer', 'SyncCompleted']);
      // Then the node writes, and the peer too: that is a conflict.
      await m.node.service.append('main', [{ type: 'OwnEvent', actor: 'writer' }]);
      await m.syncWith(0, 'FromPeer', { n: 3 });
      expect((await m.types()).slice(6)).toEqual(['OwnEvent', 'SyncStarted', 'FromPeer', 'ConflictDetected', 'SyncCompleted']);
      expect(await m.node.service.tips('main')).toHaveLength(1);
    } finally {
      await m.close();
    }
  });

  it('records a conflict where a peer\'s events run beside what an earlier sync merged, from another peer', { timeout: 60_000 }, async () => {
    const m = await mesh('hub.test', '78', ['79', '7a']);
    try {
      await m.node.service.append('main', [{ type: 'OwnEvent', actor: 'writer' }]);
      for (const [n, type] of [[1, 'FromP2'], [0, 'FromP1'], [0, 'FromP1Again']] as const) {
        // p1 has seen neither the node's own event nor p2's, which the sync before it merged.
        expect(await m.syncWith(n, type)).toMatchObject([{ ok: true, received: 1 }]);
      }
      expect(await m.types()).toEqual([
        'OwnEvent', 'SyncStarted', 'FromP2', 'ConflictDetected', 'SyncCompleted',
        'SyncStarted', 'FromP1', 'ConflictDetected', 'SyncCompleted',
        'SyncStarted', 'FromP1Again', 'SyncCompleted',
      ]);
    } finally {
      await m.close();
    }
  });

  it('records a conflict where the node wrote an event typed like a sync record in a subsystem of its own', { timeout: 60_000 }, async () => {
    const m = await mesh('lookalike.test', '7e', ['7f']);
    try {
      await m.syncWith(0, 'FromPeer', { n: 1 });
      // The node's own writing, typed like bookkeeping but in its own subsystem: a branch like any other.
      await m.node.service.append('main', [{ type: 'SyncCompleted', actor: 'billing', subsystem: 'billing' }]);
      expect(await m.syncWith(0, 'FromPeer', { n: 2 })).toMatchObject([{ ok: true, received: 1 }]);
      expect((await m.types()).slice(3)).toEqual(['SyncCompleted', 'SyncStarted', 'FromPeer', 'ConflictDetected', 'SyncCompleted']);
    } finally {
      await m.close();
    }
  });

  it("records no conflict where the only other branch is another node's sync records", { timeout: 60_000 }, async () => {
    const m = await mesh('ring.test', '7b', ['7c', '7d']);
    try {
      await m.syncWith(0, 'FromP1');
      // p2 syncs p1 too; the node then gets from p2 only p2's records of that sync, and writes none of its own.
      await m.peerSyncs(1, 0);
      expect(await m.syncWith(1)).toMatchObject([{ ok: true, received: 2 }]);
      expect(await m.types()).toEqual(['SyncStarted', 'FromP1', 'SyncCompleted', 'SyncStarted', 'SyncCompleted']);
      expect(await m.node.service.tips('main')).toHaveLength(2);
      // p1's next event builds on what both merged: no branch of anyone's writing beside it.
      await m.syncWith(0, 'FromP1Again');
      expect((await m.types()).slice(5)).toEqual(['SyncStarted', 'FromP1Again', 'SyncCompleted']);
    } finally {
      await m.close();
    }
  });
});

describe('counts of leaves served, not flushed by anyone', () => {
  it('are written five seconds after the first', async () => {
    const other = await openTestLedger({}, { produceBlocks: false });
    const svc = serviceOn(other, [{ url: DOWN, vkey }], { enabled: false });
    try {
      await svc.start();
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
      try {
        svc.served('down.test/main', 4);
        vi.advanceTimersByTime(5_000);
      } finally {
        vi.useRealTimers();
      }
      await vi.waitFor(async () => expect((await svc.status()).peers[0]!.eventsSent).toBe(4), { timeout: 10_000, interval: 50 });
    } finally {
      await svc.stop();
      await other.close();
    }
  });
});

describe('the backoff after failed syncs', () => {
  /** The delay to each next attempt, as status shows it, after each of the first `failures` failures. */
  async function gapsOf(svc: SyncService, failures: number): Promise<number[]> {
    const gaps = new Map<number, number>();
    await vi.waitFor(
      async () => {
        const [p] = (await svc.status()).peers;
        if (p!.nextSyncAt && p!.lastSyncAt && p!.errorCount > 0 && !gaps.has(p!.errorCount)) gaps.set(p!.errorCount, p!.nextSyncAt.getTime() - p!.lastSyncAt.getTime());
        expect(gaps.size).toBeGreaterThanOrEqual(failures);
      },
      { timeout: 20_000, interval: 20 },
    );
    return [...gaps.values()].slice(0, failures);
  }

  it('is never longer than the interval between syncs', { timeout: 30_000 }, async () => {
    const other = await openTestLedger({}, { produceBlocks: false });
    const svc = serviceOn(other, [{ url: DOWN, vkey }], { intervalMs: 1_200, enabled: true, requestTimeoutMs: 2_000 });
    try {
      await svc.start();
      const gaps = await gapsOf(svc, 3);
      // 1 s, then the interval's 1.2 s where the backoff would be 2 s and 4 s.
      expect(Math.max(...gaps)).toBeLessThanOrEqual(1_200);
      expect(gaps[0]).toBeLessThanOrEqual(1_000);
    } finally {
      await svc.stop();
      await other.close();
    }
  });

  it('starts over after a sync that succeeds', { timeout: 60_000 }, async () => {
    const node = await openTestLedger({ CHAINPROOF_ORIGIN: 'retrier.test', CHAINPROOF_SIGNING_SEED: '78'.repeat(32) }, { produceBlocks: false });
    const peer = await openTestLedger({ CHAINPROOF_ORIGIN: 'flaky.test', CHAINPROOF_SIGNING_SEED: '79'.repeat(32) }, { produceBlocks: false });
    await peer.service.append('main', [{ type: 'FromFlaky', actor: 'writer' }]);
    await peer.service.createCheckpoint('main');
    const served = await servePeer(peer);
    // The peer is unreachable for the next `down` syncs of it.
    let down = 2;
    const checkpoint = PeerClient.prototype.checkpoint;
    const spy = vi.spyOn(PeerClient.prototype, 'checkpoint').mockImplementation(function (this: PeerClient) {
      if (this.url === served.url && down > 0) {
        down--;
        return Promise.reject(new ChainproofError('PEER_UNAVAILABLE', `cannot reach peer ${this.url}: down`));
      }
      return checkpoint.call(this);
    });
    const svc = serviceOn(node, [{ url: served.url, vkey: peer.service.verifierKey()! }], { enabled: true, requestTimeoutMs: 30_000 });
    try {
      await svc.start();
      // Down twice (retried after 1 s, then 2 s), then synced.
      await vi.waitFor(async () => expect((await svc.status()).peers[0]).toMatchObject({ status: 'connected', errorCount: 2 }), { timeout: 20_000, interval: 50 });
      down = 1;
      const [r] = await svc.syncNow(served.url);
      expect(r).toMatchObject({ ok: false, error: { code: 'PEER_UNAVAILABLE' } });
      const [p] = (await svc.status()).peers;
      // The first failure since the success: retried after 1 s, not the 4 s of a third failure in a row.
      expect(p!.nextSyncAt!.getTime() - p!.lastSyncAt!.getTime()).toBeLessThanOrEqual(1_000);
    } finally {
      spy.mockRestore();
      await svc.stop();
      served.server.close();
      await Promise.all([node.close(), peer.close()]);
    }
  });
});

describe('a peer that misbehaves', () => {
  it('by contradicting a checkpoint it signed is flagged and recorded; not under a key re-pinned meanwhile; otherwise it is an error, not a disconnection', { timeout: 60_000 }, async () => {
    const node = await openTestLedger({ CHAINPROOF_ORIGIN: 'judge.test', CHAINPROOF_SIGNING_SEED: '7a'.repeat(32) }, { produceBlocks: false });
    // One key, two histories of the same size.
    const forkA = await openTestLedger({ CHAINPROOF_ORIGIN: 'liar.test', CHAINPROOF_SIGNING_SEED: '7b'.repeat(32) }, { produceBlocks: false });
    const forkB = await openTestLedger({ CHAINPROOF_ORIGIN: 'liar.test', CHAINPROOF_SIGNING_SEED: '7b'.repeat(32) }, { produceBlocks: false });
    for (const [l, type] of [[forkA, 'ForkA'], [forkB, 'ForkB']] as const) {
      await l.service.append('main', [1, 2, 3].map((n) => ({ type, actor: 'writer', payload: { n } })));
      await l.service.createCheckpoint('main');
    }
    const liarKey = forkA.service.verifierKey()!;
    const otherKey = noteSignerFromSeed('liar.test', Buffer.alloc(32, 0x7c)).verifierKey;
    let current = forkA;
    let onCheckpoint: (() => Promise<void>) | undefined;
    const liar = await servePeer(() => current);
    const repinned = await servePeer(() => current, { beforeCheckpoint: async () => onCheckpoint?.() });
    // Answers with a checkpoint signed by the liar's key, where another key is pinned.
    const impostor = await servePeer(forkA);
    // The same, but re-pinned to the liar's key while its pull checks that checkpoint.
    const store = new SyncStore(node.db.dataSource);
    let repinStale: (() => Promise<void>) | undefined;
    const stale = await servePeer(forkA, { beforeCheckpoint: async () => repinStale?.() });
    repinStale = async () => {
      repinStale = undefined;
      await store.upsertConfigured(peerSpec(stale.url, liarKey));
    };
    const svc = serviceOn(node, [liar, repinned].map((s) => ({ url: s.url, vkey: liarKey })).concat([impostor, stale].map((s) => ({ url: s.url, vkey: otherKey }))), { enabled: false, requestTimeoutMs: 30_000 });
    const flags = async () => (await node.db.dataSource.query(`SELECT convert_from(canonical, 'UTF8') AS envelope FROM events WHERE type = 'PeerFlagged' ORDER BY idx`)).map((r: { envelope: string }) => JSON.parse(r.envelope).payload);
    const viewOf = async (url: string) => (await svc.status()).peers.find((p) => p.url === url)!;
    try {
      await svc.start();
      expect(await svc.syncNow(liar.url)).toMatchObject([{ ok: true, received: 3 }]);
      expect(await svc.syncNow(repinned.url)).toMatchObject([{ ok: true }]);
      const noteA = (await store.peer(liar.url))!.checkpointNote;
      current = forkB;
      const noteB = (await forkB.service.syncCheckpoint('main'))!.note;

      expect(await svc.syncNow(liar.url)).toMatchObject([{ ok: false, error: { code: 'PEER_MISBEHAVED' } }]);
      expect(await viewOf(liar.url)).toMatchObject({ flagged: true, status: 'error', nextSyncAt: null });
      expect(await flags()).toEqual([{ peer: liar.url, origin: 'liar.test/main', reason: expect.stringMatching(/two different roots for size 3/), checkpoint: noteB, previousCheckpoint: noteA }]);

      // Re-pinned to another key while its pull was checking the contradiction: the old key's evidence flags nothing.
      onCheckpoint = async () => {
        onCheckpoint = undefined;
        await store.upsertConfigured(peerSpec(repinned.url, otherKey));
      };
      expect(await svc.syncNow(repinned.url)).toMatchObject([{ ok: false, error: { code: 'PEER_MISBEHAVED' } }]);
      expect(await viewOf(repinned.url)).toMatchObject({ flagged: false, verifierKey: otherKey, errorCount: 0 });
      expect(await flags()).toHaveLength(1);

      // A checkpoint that is not signed by the pinned key: an error of the peer's, retried, not flagged.
      expect(await svc.syncNow(impostor.url)).toMatchObject([{ ok: false, error: { code: 'PEER_MISBEHAVED' } }]);
      expect(await viewOf(impostor.url)).toMatchObject({ flagged: false, status: 'error', errorCount: 1, lastError: expect.stringMatching(/^PEER_MISBEHAVED: .*not signed by the pinned key/) });
      expect(await flags()).toHaveLength(1);

      // The failure of a pull under a key re-pinned meanwhile is not the new pin's.
      expect(await svc.syncNow(stale.url)).toMatchObject([{ ok: false, error: { code: 'PEER_MISBEHAVED' } }]);
      expect(await viewOf(stale.url)).toMatchObject({ verifierKey: liarKey, errorCount: 0, lastError: null, lastSyncAt: null });
    } finally {
      await svc.stop();
      for (const s of [liar, repinned, impostor, stale]) s.server.close();
      await Promise.all([node.close(), forkA.close(), forkB.close()]);
    }
  });
});
