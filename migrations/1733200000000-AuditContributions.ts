import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A query audit's contributing assertions move into the audit's own row, as two arrays in
 * citation order. As rows of their own they were the largest provenance table (638 MB for
 * 1M audits, more than the audits), cost every recorded audit three more heap rows and six
 * index entries under the ledger's lock, and every read of an audit one more statement and
 * the cold pages it touched. Nothing looked them up by assertion.
 */
export class AuditContributions1733200000000 implements MigrationInterface {
  name = 'AuditContributions1733200000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE prov_query_audits ADD COLUMN assertion_hashes bytea[] NOT NULL DEFAULT '{}',
                     ADD COLUMN weights float8[] NOT NULL DEFAULT '{}'`);
    await q.query(`
      UPDATE prov_query_audits q SET assertion_hashes = c.hashes, weights = c.weights
        FROM (SELECT ledger_id, event_idx, array_agg(assertion_hash ORDER BY ordinal) AS hashes,
                     array_agg(weight ORDER BY ordinal) AS weights
                FROM prov_contributions GROUP BY ledger_id, event_idx) c
       WHERE q.ledger_id = c.ledger_id AND q.event_idx = c.event_idx`);
    await q.query(`DROP TABLE prov_contributions`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE prov_contributions (
        ledger_id integer NOT NULL REFERENCES ledgers(id),
        event_idx bigint NOT NULL,
        ordinal smallint NOT NULL,
        assertion_hash bytea NOT NULL,
        weight float8 NOT NULL,
        PRIMARY KEY (ledger_id, event_idx, ordinal)
      )`);
    await q.query(`CREATE INDEX prov_contributions_assertion ON prov_contributions (ledger_id, assertion_hash, event_idx)`);
    await q.query(`
      INSERT INTO prov_contributions (ledger_id, event_idx, ordinal, assertion_hash, weight)
      SELECT q.ledger_id, q.event_idx, (c.n - 1)::smallint, c.hash, c.weight
        FROM prov_query_audits q, unnest(q.assertion_hashes, q.weights) WITH ORDINALITY AS c(hash, weight, n)`);
    await q.query(`ALTER TABLE prov_query_audits DROP COLUMN assertion_hashes, DROP COLUMN weights`);
  }
}
