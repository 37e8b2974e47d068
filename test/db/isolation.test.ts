import pg from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../src/db/database.js';
import { LedgerService } from '../../src/ledger/ledger-service.js';
import { loadServerKey } from '../../src/ledger/server-key.js';
import { freshDatabaseUrl, usingPostgres } from '../support/db.js';
import { testConfig } from '../support/ledger.js';

/**
 * The sequencer's transactions run READ COMMITTED because every connection is opened that way
 * (src/db/database.ts), not because each transaction asks. An operator's database may default to
 * SERIALIZABLE; two processes appending to it must still take turns on the head row rather than
 * fail each other's appends with serialisation errors. (PostgreSQL only: the embedded database is
 * one process and keeps PostgreSQL's default.)
 */
describe.runIf(usingPostgres())('transaction isolation on a database that defaults to SERIALIZABLE', () => {
  let drop: () => Promise<void>;
  const dbs: Database[] = [];
  const services: LedgerService[] = [];

  beforeAll(async () => {
    const fresh = await freshDatabaseUrl();
    drop = fresh.drop;
    const admin = new pg.Client({ connectionString: fresh.url });
    await admin.connect();
    await admin.query(`DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET default_transaction_isolation = serializable', current_database()); END $$`);
    await admin.end();
    const config = testConfig();
    for (let i = 0; i < 2; i++) {
      const db = await openDatabase({ databaseUrl: fresh.url, dataDir: '', dbPoolSize: 4 });
      dbs.push(db);
      const service = new LedgerService(db.dataSource, config, loadServerKey(config, false)?.key, pino({ level: 'silent' }), { produceBlocks: false });
      await service.start();
      services.push(service);
    }
  });
  afterAll(async () => {
    for (const s of services) await s.stop();
    for (const db of dbs) await db.close();
    await drop?.();
  });

  it('opens connections READ COMMITTED whatever the database default', async () => {
    const plain = new pg.Client({ connectionString: (dbs[0]!.dataSource.options as { url: string }).url });
    await plain.connect();
    const [{ default_transaction_isolation: theDefault }] = (await plain.query('SHOW default_transaction_isolation')).rows;
    await plain.end();
    expect(theDefault).toBe('serializable');
    const level = await dbs[0]!.dataSource.transaction(async (tx) => (await tx.query('SHOW transaction_isolation'))[0].transaction_isolation);
    expect(level).toBe('read committed');
  });

  it('sequences appends from two processes sharing the head row, none refused', async () => {
    const appended = await Promise.all(
      services.flatMap((service, s) =>
        Array.from({ length: 8 }, async (_, c) => {
          const indexes: number[] = [];
          for (let i = 0; i < 25; i++) {
            const [e] = await service.append('main', [{ type: 'isolation.probe', actor: `p${s}-c${c}` }]);
            indexes.push(e!.index);
          }
          return indexes;
        }),
      ),
    );
    const indexes = appended.flat().sort((a, b) => a - b);
    expect(indexes).toEqual(Array.from({ length: 400 }, (_, i) => i));
  });
});
