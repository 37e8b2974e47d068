import type { MigrationInterface, QueryRunner } from 'typeorm';

/** did:key identities allowed to sign requests, a projection of `DidRegistered` / `DidRevoked` events. */
export class KnownDids1732300000000 implements MigrationInterface {
  name = 'KnownDids1732300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE known_dids (
        did text PRIMARY KEY,
        name text NOT NULL,
        role text NOT NULL CHECK (role IN ('reader', 'writer', 'governor', 'admin', 'validator')),
        registered_by text NOT NULL,
        registered_at timestamptz NOT NULL,
        registered_event bytea NOT NULL,
        revoked_at timestamptz,
        revoked_event bytea
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE known_dids`);
  }
}
