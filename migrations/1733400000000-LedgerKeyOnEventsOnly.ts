import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Rows derived from events (the stored tree's nodes, the provenance projections) no longer
 * carry a foreign key to `ledgers`; `events` keeps its own.
 *
 * Each of those rows is written in the transaction that appends the events it derives from, to
 * the same ledger, and those events' key is checked in that same transaction; a rebuild
 * derives them from stored events again. So their keys checked nothing the events' did not,
 * and cost a lookup and a row lock on `ledgers` per row: ≈ 7 µs of PostgreSQL's ≈ 37 µs per
 * recorded query audit (in process, 60,000 audits; see BENCHMARKS.md).
 */
export class LedgerKeyOnEventsOnly1733400000000 implements MigrationInterface {
  name = 'LedgerKeyOnEventsOnly1733400000000';

  async up(q: QueryRunner): Promise<void> {
    for (const table of DERIVED) await q.query(`ALTER TABLE ${table} DROP CONSTRAINT IF EXISTS ${table}_ledger_id_fkey`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of DERIVED) await q.query(`ALTER TABLE ${table} ADD CONSTRAINT ${table}_ledger_id_fkey FOREIGN KEY (ledger_id) REFERENCES ledgers(id)`);
  }
}

const DERIVED = ['tree_nodes', 'prov_sources', 'prov_assertions', 'prov_query_audits', 'prov_operation_audits'];
