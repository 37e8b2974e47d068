import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { openDatabase, type Database } from '../../src/db/database.js';
import { LedgerService } from '../../src/ledger/ledger-service.js';
import { loadServerKey } from '../../src/ledger/server-key.js';
import { openTestDatabase, usingPostgres, type TestDatabase } from '../support/db.js';
import { testConfig } from '../support/ledger.js';

const config = testConfig();
const key = loadServerKey(config, false)!.key;

describe('commit watchers', () => {
  let db: TestDatabase;
  let service: LedgerService;
  beforeAll(async () => {
    db = await openTestDatabase();
    service = new LedgerService(db.dataSource, config, key, pino({ level: 'silent' }), { produceBlocks: false });
    await service.start(['main', 'other']);
  });
  afterAll(async () => {
    await service?.stop();
    await db?.destroy();
  });

  it("are called once each commit of their ledger is acknowledged, and not for another ledger's", async () => {
    const calls: string[] = [];
    const stopMain = service.onCommit('main', () => calls.push('main'));
    const stopOther = service.onCommit('other', () => calls.push('other'));
    await service.append('main', [{ type: 't', actor: 'a' }]);
    expect(calls).toEqual(['main']);
    await service.append('other', [{ type: 't', actor: 'a' }]);
    expect(calls).toEqual(['main', 'other']);
    stopMain();
    await service.append('main', [{ type: 't', actor: 'a' }]);
    expect(calls).toEqual(['main', 'other']);
    stopOther();
  });

  it('are not called for a retry that commits nothing new', async () => {
    await service.append('main', [{ type: 't', actor: 'a', idempotencyKey: 'watched-once' }]);
    let calls = 0;
    const stop = service.onCommit('main', () => void calls++);
    await service.append('main', [{ type: 't', actor: 'a', idempotencyKey: 'watched-once' }]);
    stop();
    expect(calls).toBe(0);
  });

  it('one that throws fails neither the append nor the watchers after it', async () => {
    let later = 0;
    const stops = [service.onCommit('main', () => {
      throw new Error('watcher bug');
    }), service.onCommit('main', () => void later++)];
    const [e] = await service.append('main', [{ type: 't', actor: 'b' }]);
    expect(e!.index).toBeGreaterThan(0);
    expect(later).toBe(1);
    stops.forEach((stop) => stop());
  });
});

/** Two servers on one database: each learns of the other's commits through LISTEN/NOTIFY. */
describe.runIf(usingPostgres())('commit watchers across processes', () => {
  let db: TestDatabase;
  let second: Database;
  let a: LedgerService;
  let b: LedgerService;
  beforeAll(async () => {
    db = await openTestDatabase();
    const url = db.env.DATABASE_URL!;
    second = await openDatabase({ databaseUrl: url, dataDir: '', dbPoolSize: 4 });
    a = new LedgerService(db.dataSource, config, key, pino({ level: 'silent' }), { produceBlocks: false, listenUrl: url });
    b = new LedgerService(second.dataSource, config, key, pino({ level: 'silent' }), { produceBlocks: false, listenUrl: url });
    await a.start();
    await b.start();
  });
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await second?.close();
    await db?.destroy();
  });

  it("wake on another process's commits, and no committed event is read back for them", async () => {
    let woken = 0;
    const stop = a.onCommit('main', () => void woken++);
    const query = vi.spyOn(db.dataSource, 'query');
    try {
      for (let i = 0; i < 10; i++) await b.append('main', [{ type: 't', actor: `b${i}` }]);
      for (let i = 0; i < 200 && woken < 10; i++) await new Promise((r) => setTimeout(r, 25));
      expect(woken).toBeGreaterThanOrEqual(10);
      // A subscriber would have the live feed read these events back from the database.
      const readBack = query.mock.calls.filter(([sql]) => /FROM events WHERE ledger_id = \$1 AND idx >= \$2/.test(String(sql)));
      expect(readBack).toHaveLength(0);
    } finally {
      query.mockRestore();
      stop();
    }
  });

  it('wake once for their own process\'s commits: its announcements, heard back, are passed over', async () => {
    let woken = 0;
    const stop = a.onCommit('main', () => void woken++);
    const query = vi.spyOn(db.dataSource, 'query');
    try {
      for (let i = 0; i < 5; i++) await a.append('main', [{ type: 't', actor: `a${i}` }]);
      expect(woken).toBe(5);
      // Notifications reach a listener in commit order: once b's is heard, a's own five were too.
      await b.append('main', [{ type: 't', actor: 'b' }]);
      for (let i = 0; i < 200 && woken < 6; i++) await new Promise((r) => setTimeout(r, 25));
      expect(woken).toBe(6);
      // Only b's commit has the live feed read the head (nobody subscribes): none of a's own did.
      const headReads = query.mock.calls.filter(([sql]) => /tree_size AS n FROM ledger_heads/.test(String(sql)));
      expect(headReads.length).toBeLessThanOrEqual(1);
    } finally {
      query.mockRestore();
      stop();
    }
  });
});
