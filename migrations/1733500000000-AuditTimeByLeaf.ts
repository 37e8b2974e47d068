import type { MigrationInterface, QueryRunner } from 'typeorm';

const INDEX = 'prov_query_audits_agent';

/**
 * An agent's audits in a time window are read through (ledger, agent, leaf), between the leaves
 * that bound the window (src/provenance/audit-leaves.ts): audit times never go back along leaf
 * order. The index by (ledger, agent, time, leaf) then served nothing, and cost every recorded
 * audit an entry in one of a thousand places of a B-tree under the ledger's lock: ≈ 2 µs of
 * PostgreSQL's ≈ 33 µs per audit (in process, 200,000 audits; see bench/HISTORY.md, run 22).
 *
 * Dropped CONCURRENTLY, outside a transaction, so appends of provenance never wait for it.
 */
export class AuditTimeByLeaf1733500000000 implements MigrationInterface {
  name = 'AuditTimeByLeaf1733500000000';
  transaction = false;

  async up(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX CONCURRENTLY IF EXISTS ${INDEX}`);
  }

  /** Undone inside a transaction (TypeORM's undo does not skip one), so built plainly: appends of provenance wait for it. */
  async down(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX IF NOT EXISTS ${INDEX} ON prov_query_audits (ledger_id, agent_id, hlc_ms, event_idx)`);
  }
}
