import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Signatures of did:key-signed requests already accepted, so each is accepted once by every
 * server process sharing the database, and across restarts. A row is kept until its request's
 * timestamp is far enough past that the timestamp check refuses the request anyway.
 */
export class UsedRequestSignatures1733700000000 implements MigrationInterface {
  name = 'UsedRequestSignatures1733700000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE used_request_signatures (signature bytea PRIMARY KEY, expires_at timestamptz NOT NULL)`);
    await q.query(`CREATE INDEX used_request_signatures_expiry ON used_request_signatures (expires_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE used_request_signatures`);
  }
}
