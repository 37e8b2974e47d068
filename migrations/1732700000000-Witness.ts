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

    // The other side: cosignatures this node's checkpoints collected from its validators, and how
    // far each validator has cosigned each of its logs (the old size of the next request).
    await q.query(`
      CREATE TABLE checkpoint_cosignatures (
        checkpoint_id bigint NOT NULL REFERENCES checkpoints(id),
        witness text NOT NULL,
        line text NOT NULL,
        cosigned_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (checkpoint_id, witness)
      )`);
    await q.query(`
      CREATE TABLE validator_progress (
        witness text NOT NULL,
        origin text NOT NULL,
        tree_size bigint NOT NULL,
        PRIMARY KEY (witness, origin)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE validator_progress`);
    await q.query(`DROP TABLE checkpoint_cosignatures`);
    await q.query(`DROP TABLE witness_evidence`);
    await q.query(`DROP TABLE witness_state`);
  }
}
