import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Rules projections: contracts and their firings, folded from `rules` events of the main
 * ledger, and the consumer's cursor. `rules_derived` marks events the consumer wrote outside
 * its own subsystem (token mints) with their causal depth, which bounds contract loops.
 */
export class Rules1732600000000 implements MigrationInterface {
  name = 'Rules1732600000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE rules_contracts (
        id text PRIMARY KEY,
        idx bigint NOT NULL UNIQUE,
        name text NOT NULL,
        definition jsonb NOT NULL,
        active boolean NOT NULL,
        created_by text NOT NULL,
        created_ms bigint NOT NULL
      )`);
    await q.query(`
      CREATE TABLE rules_contract_changes (
        contract_id text NOT NULL REFERENCES rules_contracts (id),
        idx bigint NOT NULL,
        active boolean NOT NULL,
        PRIMARY KEY (contract_id, idx)
      )`);
    await q.query(`
      CREATE TABLE rules_executions (
        idx bigint PRIMARY KEY,
        event_id bytea NOT NULL,
        contract_id text NOT NULL REFERENCES rules_contracts (id),
        trigger_idx bigint NOT NULL,
        trigger_id text NOT NULL,
        trigger_actor text NOT NULL,
        trigger_ms bigint NOT NULL,
        ok boolean NOT NULL,
        error text,
        record jsonb NOT NULL
      )`);
    await q.query(`CREATE INDEX rules_executions_contract ON rules_executions (contract_id, idx)`);
    await q.query(`CREATE INDEX rules_executions_actor ON rules_executions (contract_id, trigger_actor, trigger_ms)`);
    await q.query(`CREATE TABLE rules_derived (idx bigint PRIMARY KEY, depth integer NOT NULL)`);
    await q.query(`CREATE TABLE rules_cursor (ledger_id integer PRIMARY KEY, position bigint NOT NULL)`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of ['rules_cursor', 'rules_derived', 'rules_executions', 'rules_contract_changes', 'rules_contracts']) await q.query(`DROP TABLE ${t}`);
  }
}
