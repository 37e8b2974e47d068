import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestDatabase, type TestDatabase } from '../support/db.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await openTestDatabase();
});
afterAll(async () => db?.destroy());

const DERIVED = ['tree_nodes', 'prov_sources', 'prov_assertions', 'prov_query_audits', 'prov_operation_audits'];
/** The tables whose rows name a ledger that must exist (validated keys only). */
const keyed = async (): Promise<string[]> =>
  (await db.dataSource.query(
    `SELECT conrelid::regclass::text AS t FROM pg_constraint WHERE contype = 'f' AND confrelid = 'ledgers'::regclass AND convalidated ORDER BY 1`,
  )).map((r: { t: string }) => r.t);

/** Which tables check their `ledger_id` against `ledgers` (see migration LedgerKeyOnEventsOnly). */
describe('ledger keys', () => {
  it('keep an event out of a ledger that does not exist', async () => {
    await expect(
      db.dataSource.query(
        `INSERT INTO events (ledger_id, idx, id, canonical, type, actor, parents, hlc_ms, hlc_logical)
         VALUES (987654, 0, '\\x00', '\\x00', 't', 'a', '\\x', 0, 0)`,
      ),
    ).rejects.toThrow(/foreign key/);
  });

  it('are checked on events, not again on every row derived from them in the same append', async () => {
    const now = await keyed();
    expect(now).toContain('events');
    for (const derived of DERIVED) expect(now).not.toContain(derived);
  });

  it('come back checked when the migration is undone, and go again when it is redone', async () => {
    // Undo the migrations after it, then it.
    const names = db.dataSource.migrations.map((m) => m.name);
    expect(names).toContain('LedgerKeyOnEventsOnly1733400000000');
    for (let n = names.length - names.indexOf('LedgerKeyOnEventsOnly1733400000000'); n > 0; n--) await db.dataSource.undoLastMigration({ transaction: 'each' });
    const back = await keyed();
    for (const derived of DERIVED) expect(back).toContain(derived);
    await db.dataSource.runMigrations({ transaction: 'each' });
    expect((await keyed()).filter((t) => DERIVED.includes(t))).toEqual([]);
  });
});
