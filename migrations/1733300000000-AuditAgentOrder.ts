import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * An agent's audits in ledger order: "its last ten as of Tuesday 03:00" and paging through
 * `queryAudits(filter: {agent})` walk this index from one leaf bound and stop after a page.
 * The trace's index (agent, time, leaf) serves time windows, but not an order by leaf: a
 * time-travel read of one agent fetched every audit of that agent before the bound (a
 * thousand heap rows, most of them cold) to sort them and keep ten.
 */
export class AuditAgentOrder1733300000000 implements MigrationInterface {
  name = 'AuditAgentOrder1733300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX prov_query_audits_agent_order ON prov_query_audits (ledger_id, agent_id, event_idx)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX prov_query_audits_agent_order`);
  }
}
