import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The governance state root as a Merkle tree over facts in event order (src/governance/state-root.ts):
 * each checkpoint extends the tree stored at the one before it instead of hashing every
 * projection row again.
 *
 * The history tables are written in leaf order, so a BRIN index on `idx` finds a checkpoint's
 * range for a few pages of index at almost no cost to the append path.
 * (Unsummarised ranges made that a scan: 1733100000000 replaces them with B-tree indexes.)
 */
export class IncrementalStateRoot1733000000000 implements MigrationInterface {
  name = 'IncrementalStateRoot1733000000000';

  async up(q: QueryRunner): Promise<void> {
    for (const table of ['gov_balance_history', 'gov_delegate_history', 'gov_power_history', 'gov_votes']) {
      await q.query(`CREATE INDEX ${table}_idx ON ${table} USING brin (idx)`);
    }
    await q.query(`
      CREATE TABLE gov_state_roots (
        -- the tree size the root is of
        tree_size bigint PRIMARY KEY,
        -- facts hashed so far, and the Merkle frontier over them
        leaves bigint NOT NULL,
        frontier bytea NOT NULL
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE gov_state_roots`);
    for (const table of ['gov_balance_history', 'gov_delegate_history', 'gov_power_history', 'gov_votes']) {
      await q.query(`DROP INDEX ${table}_idx`);
    }
  }
}
