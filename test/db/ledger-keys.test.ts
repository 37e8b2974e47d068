import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestDatabase, type TestDatabase } from '../support/db.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await openTestDatabase();
});
afterAll(async () => db?.destroy());

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
    const rows: Array<{ t: string }> = await db.dataSource.query(
      `SELECT conrelid::regclass::text AS t FROM pg_constraint WHERE contype = 'f' AND confrelid = 'ledgers'::regclass ORDER BY 1`,
    );
    const keyed = rows.map((r) => r.t);
    expect(keyed).toContain('events');
    for (const derived of ['tree_nodes', 'prov_sources', 'prov_assertions', 'prov_query_audits', 'prov_operation_audits']) expect(keyed).not.toContain(derived);
  });
});
