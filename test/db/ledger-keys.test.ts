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

/** Undoes the migrations from `name` on, checks, and runs them again. */
async function undoFrom(name: string): Promise<string[]> {
  const names = db.dataSource.migrations.map((m) => m.name);
  expect(names).toContain(name);
  for (let n = names.length - names.indexOf(name); n > 0; n--) await db.dataSource.undoLastMigration({ transaction: 'each' });
  const back = await keyed();
  await db.dataSource.runMigrations({ transaction: 'each' });
  return back;
}

/** Which tables check their `ledger_id` against `ledgers` (see migrations LedgerKeyOnEventsOnly, EventsKeyedByHead). */
describe('ledger keys', () => {
  it('keep a head row, the lock every append takes before writing events, out of a ledger that does not exist', async () => {
    await expect(
      db.dataSource.query(`INSERT INTO ledger_heads (ledger_id, root_hash) VALUES (987654, '\\x00')`),
    ).rejects.toThrow(/foreign key/);
  });

  it('are checked on the head row, not again on every event or row derived from them in an append', async () => {
    const now = await keyed();
    expect(now).toContain('ledger_heads');
    for (const t of ['events', ...DERIVED]) expect(now).not.toContain(t);
  });

  it('come back checked when the migrations are undone, and go again when they are redone', async () => {
    expect(await undoFrom('EventsKeyedByHead1733800000000')).toContain('events');
    expect((await keyed()).filter((t) => t === 'events' || DERIVED.includes(t))).toEqual([]);
    const back = await undoFrom('LedgerKeyOnEventsOnly1733400000000');
    for (const t of ['events', ...DERIVED]) expect(back).toContain(t);
    expect((await keyed()).filter((t) => t === 'events' || DERIVED.includes(t))).toEqual([]);
  });
});
