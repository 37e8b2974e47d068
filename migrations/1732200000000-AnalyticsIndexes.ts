import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Indexes for subsystem and failure analytics (activity by time already has the BRIN on hlc_ms). */
export class AnalyticsIndexes1732200000000 implements MigrationInterface {
  name = 'AnalyticsIndexes1732200000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX events_subsystem_hlc ON events (ledger_id, subsystem, hlc_ms) WHERE subsystem IS NOT NULL`);
    await q.query(`CREATE INDEX events_result_hlc ON events (ledger_id, lower(result), hlc_ms) WHERE result IS NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX events_result_hlc`);
    await q.query(`DROP INDEX events_subsystem_hlc`);
  }
}
