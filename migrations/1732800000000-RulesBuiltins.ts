import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Built-in contracts are installed once per database: the unique index makes a second server
 * starting at the same moment fail its install instead of writing a duplicate. Contract
 * parameters can be changed; their history lets the consumer resume with the parameters that
 * applied at its cursor.
 */
export class RulesBuiltins1732800000000 implements MigrationInterface {
  name = 'RulesBuiltins1732800000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE UNIQUE INDEX rules_contracts_builtin ON rules_contracts ((definition->>'builtin')) WHERE definition ? 'builtin'`);
    await q.query(`
      CREATE TABLE rules_contract_params (
        contract_id text NOT NULL REFERENCES rules_contracts (id),
        idx bigint NOT NULL,
        parameters jsonb NOT NULL,
        PRIMARY KEY (contract_id, idx)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE rules_contract_params`);
    await q.query(`DROP INDEX rules_contracts_builtin`);
  }
}
