import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The tree hash a witness cosigned each origin under. A log's tree hash is fixed for its life; a
 * checkpoint naming another one could still pass the consistency check at a power-of-two old
 * size, whose root the proof takes as given. NULL for an origin cosigned before this column: its
 * next cosignature pins it.
 */
export class WitnessTreeHash1734100000000 implements MigrationInterface {
  name = 'WitnessTreeHash1734100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE witness_state ADD COLUMN hash_alg text`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE witness_state DROP COLUMN hash_alg`);
  }
}
