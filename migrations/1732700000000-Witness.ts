import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What this node, as a witness, last cosigned for each log origin. The row is read FOR UPDATE
 * and rewritten in the transaction that cosigns, so two racing submissions cannot roll it back.
 */
export class Witness1732700000000 implements MigrationInterface {
  name = 'Witness1732700000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE witness_state (
        origin text PRIMARY KEY,
        tree_size bigint NOT NULL,
        root_hash bytea NOT NULL,
        cosigned_at timestamptz NOT NULL DEFAULT now()
      )`);
    // Checkpoints that were signed by a trusted log but failed consistency: evidence of misbehaviour.
    await q.query(`
      CREATE TABLE witness_evidence (
        id bigserial PRIMARY KEY,
        origin text NOT NULL,
        reason text NOT NULL,
        request text NOT NULL,
        received_at timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE witness_evidence`);
    await q.query(`DROP TABLE witness_state`);
  }
}
