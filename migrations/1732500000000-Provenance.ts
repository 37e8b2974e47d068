import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Provenance projections. Every row is derived from one ledger event and keeps that event's
 * leaf index (`event_idx`) and id, so any row can be proven and `asOf` reads are a filter on
 * `event_idx`. Hashes are raw 32-byte bytea; JSON values are kept as their RFC 8785 text, so
 * the hashes over them can be recomputed byte for byte.
 */
export class Provenance1732500000000 implements MigrationInterface {
  name = 'Provenance1732500000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE prov_sources (
        ledger_id integer NOT NULL REFERENCES ledgers(id),
        content_hash bytea NOT NULL,
        locator text NOT NULL,
        media_type text,
        recorded_by text NOT NULL,
        hlc_ms bigint NOT NULL,
        event_idx bigint NOT NULL,
        event_id bytea NOT NULL,
        PRIMARY KEY (ledger_id, event_idx)
      )`);
    await q.query(`CREATE UNIQUE INDEX prov_sources_key ON prov_sources (ledger_id, content_hash, locator)`);
    await q.query(`
      CREATE TABLE prov_assertions (
        ledger_id integer NOT NULL REFERENCES ledgers(id),
        hash bytea NOT NULL,
        subject text NOT NULL,
        predicate text NOT NULL,
        value text NOT NULL,
        lifecycle text NOT NULL CHECK (lifecycle IN ('PROPOSED', 'ACCEPTED', 'DEPRECATED', 'REJECTED')),
        confidence float8 NOT NULL,
        source_hash bytea NOT NULL,
        supersedes bytea,
        recorded_by text NOT NULL,
        hlc_ms bigint NOT NULL,
        event_idx bigint NOT NULL,
        event_id bytea NOT NULL,
        PRIMARY KEY (ledger_id, hash)
      )`);
    await q.query(`CREATE UNIQUE INDEX prov_assertions_event ON prov_assertions (ledger_id, event_idx)`);
    // One successor per assertion: a supersession chain never forks.
    await q.query(`CREATE UNIQUE INDEX prov_assertions_supersedes ON prov_assertions (ledger_id, supersedes) WHERE supersedes IS NOT NULL`);
    await q.query(`CREATE INDEX prov_assertions_subject ON prov_assertions (ledger_id, subject text_pattern_ops, predicate)`);
    await q.query(`
      CREATE TABLE prov_query_audits (
        ledger_id integer NOT NULL REFERENCES ledgers(id),
        event_idx bigint NOT NULL,
        event_id bytea NOT NULL,
        query_id text NOT NULL,
        agent_id text NOT NULL,
        subject text NOT NULL,
        predicate text NOT NULL,
        lens text,
        lifecycle_filter text[],
        result text NOT NULL,
        result_hash bytea NOT NULL,
        result_confidence float8,
        recorded_by text NOT NULL,
        hlc_ms bigint NOT NULL,
        PRIMARY KEY (ledger_id, event_idx)
      )`);
    await q.query(`CREATE UNIQUE INDEX prov_query_audits_query_id ON prov_query_audits (ledger_id, query_id)`);
    // The trace: one agent, a time window, in ledger order.
    await q.query(`CREATE INDEX prov_query_audits_agent ON prov_query_audits (ledger_id, agent_id, hlc_ms, event_idx)`);
    // Subject globs use their literal prefix as a range on this index.
    await q.query(`CREATE INDEX prov_query_audits_subject ON prov_query_audits (ledger_id, subject text_pattern_ops, event_idx)`);
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
      CREATE TABLE prov_operation_audits (
        ledger_id integer NOT NULL REFERENCES ledgers(id),
        event_idx bigint NOT NULL,
        event_id bytea NOT NULL,
        principal text NOT NULL,
        operation_name text,
        operation_type text,
        document_hash bytea NOT NULL,
        variables_hash bytea NOT NULL,
        result_hash bytea NOT NULL,
        duration_ms float8 NOT NULL,
        hlc_ms bigint NOT NULL,
        PRIMARY KEY (ledger_id, event_idx)
      )`);
    await q.query(`CREATE INDEX prov_operation_audits_principal ON prov_operation_audits (ledger_id, principal, hlc_ms, event_idx)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE prov_operation_audits, prov_contributions, prov_query_audits, prov_assertions, prov_sources`);
  }
}
