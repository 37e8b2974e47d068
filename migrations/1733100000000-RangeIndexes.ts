import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A BRIN index answers a range only for the page ranges vacuum has summarised: every page
 * written since is scanned whole, by every query.
 *
 * - The state root reads each checkpoint's facts by leaf range (`idx >= $1 AND idx < $2`), so
 *   every window of every checkpoint scanned the history written since the last vacuum: at a
 *   million rows ≈ 300 ms a statement where a B-tree takes 3. These get B-tree indexes on `idx`,
 *   which grow at their right edge as the tables do.
 * - `events` keeps its BRIN on `hlc_ms` (a B-tree there would cost every append), now summarised
 *   by autovacuum as each page range fills instead of at the next vacuum of the table.
 */
export class RangeIndexes1733100000000 implements MigrationInterface {
  name = 'RangeIndexes1733100000000';

  async up(q: QueryRunner): Promise<void> {
    for (const table of HISTORY) {
      await q.query(`DROP INDEX ${table}_idx`);
      await q.query(`CREATE INDEX ${table}_idx ON ${table} (idx)`);
    }
    await q.query(`ALTER INDEX events_hlc_brin SET (autosummarize = on)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER INDEX events_hlc_brin RESET (autosummarize)`);
    for (const table of HISTORY) {
      await q.query(`DROP INDEX ${table}_idx`);
      await q.query(`CREATE INDEX ${table}_idx ON ${table} USING brin (idx)`);
    }
  }
}

const HISTORY = ['gov_balance_history', 'gov_delegate_history', 'gov_power_history', 'gov_votes'];
