import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Each block keeps the difficulty bounds and retarget settings it was mined under. Governance
 * and rules may change them (minDifficulty, maxDifficulty, targetBlockMs, retargetBlocks); a
 * verifier that judged every past block by today's settings reported a correctly mined chain
 * INVALID after the first change. Blocks mined before this migration hold NULL: they are judged
 * by the ledger's current settings, as before.
 */
export class BlockDifficultyBounds1733600000000 implements MigrationInterface {
  name = 'BlockDifficultyBounds1733600000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE blocks
        ADD COLUMN min_difficulty smallint,
        ADD COLUMN max_difficulty smallint,
        ADD COLUMN target_block_ms integer,
        ADD COLUMN retarget_blocks integer`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE blocks DROP COLUMN min_difficulty, DROP COLUMN max_difficulty, DROP COLUMN target_block_ms, DROP COLUMN retarget_blocks`);
  }
}
