import pg from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/database.js';
import { LedgerService } from '../../src/ledger/ledger-service.js';
import { loadServerKey } from '../../src/ledger/server-key.js';
import { freshDatabaseUrl, usingPostgres } from '../support/db.js';
import { testConfig } from '../support/ledger.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.runIf(usingPostgres())('waiting for locks other processes hold', () => {
  let fresh: { url: string; drop(): Promise<void> };
  let other: pg.Client;
  beforeAll(async () => {
    fresh = await freshDatabaseUrl();
    other = new pg.Client({ connectionString: fresh.url });
    await other.connect();
  });
  afterAll(async () => {
    await other?.end();
    await fresh?.drop();
  });

  it('a server starting while another migrates waits past the lock timeout, then starts', async () => {
    await other.query('SELECT pg_advisory_lock(7235001)'); // another process's migrations, running long
    const opening = openDatabase({ databaseUrl: fresh.url, dataDir: '', dbPoolSize: 2, dbLockTimeoutMs: 200 });
    const outcome = opening.then(() => 'open', (e: Error) => `failed: ${e.message}`);
    await sleep(1000);
    await other.query('SELECT pg_advisory_unlock(7235001)');
    expect(await outcome).toBe('open');
    const db = await opening;
    // The migration session's wait was its own: pooled connections keep the configured timeout.
    expect((await db.dataSource.query('SHOW lock_timeout'))[0].lock_timeout).toBe('200ms');
    await db.close();
  });

  it('appends behind a ledger head held past the lock timeout fail as UNAVAILABLE after one wait, and write nothing', async () => {
    const db = await openDatabase({ databaseUrl: fresh.url, dataDir: '', dbPoolSize: 2, dbLockTimeoutMs: 1000 });
    const config = testConfig();
    const service = new LedgerService(db.dataSource, config, loadServerKey(config, false)?.key, pino({ level: 'silent' }), { produceBlocks: false });
    try {
      await service.start();
      await service.append('main', [{ type: 'first', actor: 'a' }]);
      await other.query('BEGIN');
      await other.query('SELECT * FROM ledger_heads FOR UPDATE'); // a stalled process holding the head
      const started = Date.now();
      const codes = await Promise.all([1, 2, 3, 4].map((i) =>
        service.append('main', [{ type: 'blocked', actor: `a${i}` }]).then(() => 'appended', (e: { code?: string }) => e.code)));
      const waited = Date.now() - started;
      await other.query('ROLLBACK');
      expect(codes).toEqual(['UNAVAILABLE', 'UNAVAILABLE', 'UNAVAILABLE', 'UNAVAILABLE']);
      // Not one wait per caller: retried alone, the four would wait the timeout four times more.
      expect(waited).toBeLessThan(3000);
      expect((await service.head('main')).treeSize).toBe(1);
      expect((await service.append('main', [{ type: 'after', actor: 'a' }]))[0]!.index).toBe(1);
    } finally {
      await other.query('ROLLBACK').catch(() => undefined);
      await service.stop();
      await db.close();
    }
  });
});
