import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * API keys, a projection of the ledger's `ApiKeyCreated` / `ApiKeyRevoked` events. Only a
 * SHA-256 of each key is stored; the key itself is shown once, when it is created.
 */
export class ApiKeys1732100000000 implements MigrationInterface {
  name = 'ApiKeys1732100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE api_keys (
        id text PRIMARY KEY,
        name text NOT NULL,
        role text NOT NULL CHECK (role IN ('reader', 'writer', 'governor', 'admin', 'validator')),
        key_hash bytea NOT NULL UNIQUE,
        created_by text NOT NULL,
        created_at timestamptz NOT NULL,
        created_event bytea NOT NULL,
        revoked_at timestamptz,
        revoked_event bytea
      )`);
    await q.query(`CREATE UNIQUE INDEX api_keys_active_name ON api_keys (name) WHERE revoked_at IS NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE api_keys`);
  }
}
