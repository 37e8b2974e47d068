import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Rows derived from events (the stored tree's nodes, the provenance projections) no longer
 * carry a foreign key to `ledgers`; `events` keeps its own.
 *
 * Each of those rows is written in the transaction that appends the events it derives from, to
 * the same ledger, and those events' key is checked in that same transaction; a rebuild
 * derives them from stored events again. So their keys checked nothing the events' did not,
 * and cost a lookup and a row lock on `ledgers` per row: ≈ 4 µs of PostgreSQL's ≈ 37 µs per
 * recorded query audit (in process, 60,000 audits; see bench/HISTORY.md, run 17).
 *
 * Dropping a foreign key locks both tables. An append elsewhere locks `ledgers` (its events'
 * key check) before the derived tables, so this takes them in that order too, all at once:
 * the other way round the two could deadlock.
 */
export class LedgerKeyOnEventsOnly1733400000000 implements MigrationInterface {
  name = 'LedgerKeyOnEventsOnly1733400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`LOCK TABLE ledgers, ${DERIVED.join(', ')} IN ACCESS EXCLUSIVE MODE`);
    for (const table of DERIVED) {
      for (const { name } of await ledgerKeys(q, table)) await q.query(`ALTER TABLE ${table} DROP CONSTRAINT "${name}"`);
    }
  }

  /** Adds the keys unchecked first, then checks them, so the tables are not held locked while old rows are read. */
  async down(q: QueryRunner): Promise<void> {
    for (const table of DERIVED) {
      if ((await ledgerKeys(q, table)).length > 0) continue;
      await q.query(`ALTER TABLE ${table} ADD CONSTRAINT ${table}_ledger_id_fkey FOREIGN KEY (ledger_id) REFERENCES ledgers(id) NOT VALID`);
      await q.query(`ALTER TABLE ${table} VALIDATE CONSTRAINT ${table}_ledger_id_fkey`);
    }
  }
}

const DERIVED = ['tree_nodes', 'prov_sources', 'prov_assertions', 'prov_query_audits', 'prov_operation_audits'];

/** The foreign keys from `table` to `ledgers`, whatever they were named. */
export const ledgerKeys = (q: QueryRunner, table: string): Promise<Array<{ name: string }>> =>
  q.query(
    `SELECT conname AS name FROM pg_constraint WHERE contype = 'f' AND conrelid = $1::regclass AND confrelid = 'ledgers'::regclass`,
    [table],
  );
