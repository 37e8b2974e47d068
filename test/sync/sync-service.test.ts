import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { noteSignerFromSeed } from '../../src/ledger/note/index.js';
import { SYNC_SUBSYSTEM } from '../../src/sync/events.js';
import { SyncService } from '../../src/sync/sync-service.js';
import { openTestLedger, type TestLedger } from '../support/ledger.js';

// Nothing listens on port 9 (discard): every pull fails as an unreachable peer's would.
const DOWN = 'http://127.0.0.1:9/graphql';
const vkey = noteSignerFromSeed('down.test', Buffer.alloc(32, 3)).verifierKey;

let t: TestLedger;
let sync: SyncService;

beforeAll(async () => {
  t = await openTestLedger({}, { produceBlocks: false });
  sync = new SyncService(t.db.dataSource, t.service, { peers: [{ url: DOWN, vkey }], intervalMs: 3_600_000, enabled: true, requestTimeoutMs: 2_000 }, pino({ level: 'silent' }));
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
    const svc = new SyncService(other.db.dataSource, other.service, { peers: [{ url: DOWN, vkey }], intervalMs: 3_600_000, enabled: true, requestTimeoutMs: 2_000 }, pino({ level: 'silent' }));
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

describe('the sync subsystem', () => {
  it('is the server\'s own from the moment the service exists, before it starts', async () => {
    const other = await openTestLedger({}, { produceBlocks: false });
    try {
      new SyncService(other.db.dataSource, other.service, { peers: [], intervalMs: 3_600_000, enabled: false }, pino({ level: 'silent' }));
      await expect(other.service.append('main', [{ type: 'PeerSynced', actor: 'writer', subsystem: SYNC_SUBSYSTEM }])).rejects.toMatchObject({ code: 'FORBIDDEN' });
    } finally {
      await other.close();
    }
  });

  it('counts leaves served to a named peer in one write per flush, and no name past the bound', async () => {
    const writes: unknown[] = [];
    const query = t.db.dataSource.query.bind(t.db.dataSource);
    const spy = vi.spyOn(t.db.dataSource, 'query').mockImplementation(async (sql: string, params?: any) => {
      if (sql.includes('events_sent')) writes.push(params);
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
