import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `agents` binds an API key or a registered DID to the agents whose query audits it may record:
 * NULL for one that may record any agent's (every one made before), a list for one an agent
 * holds, so that a leaked or misused agent credential cannot write lines into another agent's trace.
 */
export class KeyAgents1734000000000 implements MigrationInterface {
  name = 'KeyAgents1734000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE api_keys ADD COLUMN agents text[]`);
    await q.query(`ALTER TABLE known_dids ADD COLUMN agents text[]`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE known_dids DROP COLUMN agents`);
    await q.query(`ALTER TABLE api_keys DROP COLUMN agents`);
  }
}
