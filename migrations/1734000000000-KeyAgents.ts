import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `agents` binds a key to the agents whose query audits it may record: NULL for a key that may
 * record any agent's (every key made before), a list for one an agent holds, so that a leaked or
 * misused agent key cannot write lines into another agent's trace.
 */
export class KeyAgents1734000000000 implements MigrationInterface {
  name = 'KeyAgents1734000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE api_keys ADD COLUMN agents text[]`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE api_keys DROP COLUMN agents`);
  }
}
