import type { MigrationInterface, QueryRunner } from 'typeorm';

const INDEX = 'prov_query_audits_agent_order';

/**
 * An agent's audits in ledger order: "its last ten as of Tuesday 03:00" and paging through
 * `queryAudits(filter: {agent})` walk this index from one leaf bound and stop after a page.
 * The trace's index (agent, time, leaf) serves time windows, but not an order by leaf: a
 * time-travel read of one agent fetched every audit of that agent before the bound (a
 * thousand heap rows, most of them cold) to sort them and keep ten.
 *
 * Built CONCURRENTLY, outside a transaction: a plain CREATE INDEX would hold off every append
 * of provenance (other servers' too) for as long as the build of a large table takes.
 */
export class AuditAgentOrder1733300000000 implements MigrationInterface {
  name = 'AuditAgentOrder1733300000000';
  transaction = false;

  async up(q: QueryRunner): Promise<void> {
    // A concurrent build that was interrupted leaves an invalid index behind; build it again.
    const [invalid] = await q.query(
      `SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = $1 AND NOT i.indisvalid`,
      [INDEX],
    );
    if (invalid) await q.query(`DROP INDEX CONCURRENTLY ${INDEX}`);
    await q.query(`CREATE INDEX CONCURRENTLY IF NOT EXISTS ${INDEX} ON prov_query_audits (ledger_id, agent_id, event_idx)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS ${INDEX}`);
  }
}
