import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The ledger's tables. Everything but `ledger_heads` (the per-ledger lock and running
 * tree state) is append-only, enforced by triggers so that even a buggy server or a
 * careless operator cannot rewrite history without first disabling them.
 */
export class LedgerCore1732000000000 implements MigrationInterface {
  name = 'LedgerCore1732000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE ledgers (
        id serial PRIMARY KEY,
        name text NOT NULL UNIQUE,
        origin text NOT NULL UNIQUE,
        hash_alg text NOT NULL CHECK (hash_alg IN ('sha256', 'blake3')),
        block_size integer NOT NULL CHECK (block_size > 0),
        max_block_interval_ms integer NOT NULL CHECK (max_block_interval_ms > 0),
        min_difficulty smallint NOT NULL,
        max_difficulty smallint NOT NULL,
        initial_difficulty smallint NOT NULL,
        target_block_ms integer NOT NULL,
        retarget_blocks integer NOT NULL,
        checkpoint_interval integer NOT NULL CHECK (checkpoint_interval > 0),
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE ledger_heads (
        ledger_id integer PRIMARY KEY REFERENCES ledgers(id),
        tree_size bigint NOT NULL DEFAULT 0,
        frontier bytea NOT NULL DEFAULT '\\x'::bytea,
        root_hash bytea NOT NULL,
        last_hlc_ms bigint NOT NULL DEFAULT 0,
        last_hlc_logical integer NOT NULL DEFAULT 0,
        tips bytea NOT NULL DEFAULT '\\x'::bytea
      )`);
    await q.query(`
      CREATE TABLE events (
        ledger_id integer NOT NULL REFERENCES ledgers(id),
        idx bigint NOT NULL,
        id bytea NOT NULL,
        canonical bytea NOT NULL,
        signature bytea,
        type text NOT NULL,
        actor text NOT NULL,
        author text,
        resource text,
        subsystem text,
        result text,
        correlation_id text,
        parents bytea NOT NULL,
        hlc_ms bigint NOT NULL,
        hlc_logical integer NOT NULL,
        idempotency_key text,
        appended_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (ledger_id, idx)
      )`);
    await q.query(`CREATE UNIQUE INDEX events_id_key ON events (ledger_id, id)`);
    await q.query(
      `CREATE UNIQUE INDEX events_idempotency_key ON events (ledger_id, idempotency_key) WHERE idempotency_key IS NOT NULL`,
    );
    await q.query(`CREATE INDEX events_type_idx ON events (ledger_id, type, idx)`);
    await q.query(`CREATE INDEX events_actor_idx ON events (ledger_id, actor, idx)`);
    await q.query(
      `CREATE INDEX events_correlation_idx ON events (ledger_id, correlation_id, idx) WHERE correlation_id IS NOT NULL`,
    );
    await q.query(`CREATE INDEX events_hlc_brin ON events USING brin (hlc_ms)`);
    await q.query(`
      CREATE TABLE tree_nodes (
        ledger_id integer NOT NULL REFERENCES ledgers(id),
        level smallint NOT NULL CHECK (level > 0),
        idx bigint NOT NULL,
        hash bytea NOT NULL,
        PRIMARY KEY (ledger_id, level, idx)
      )`);
    await q.query(`
      CREATE TABLE blocks (
        ledger_id integer NOT NULL REFERENCES ledgers(id),
        height bigint NOT NULL,
        hash bytea NOT NULL,
        previous_hash bytea NOT NULL,
        events_root bytea NOT NULL,
        start_index bigint NOT NULL,
        tree_size bigint NOT NULL,
        tree_root bytea NOT NULL,
        timestamp_ms bigint NOT NULL,
        difficulty smallint NOT NULL,
        nonce bigint NOT NULL,
        mining_ms integer NOT NULL,
        mined_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (ledger_id, height)
      )`);
    await q.query(`CREATE UNIQUE INDEX blocks_tree_size_key ON blocks (ledger_id, tree_size)`);
    await q.query(`
      CREATE TABLE checkpoints (
        id bigserial PRIMARY KEY,
        ledger_id integer NOT NULL REFERENCES ledgers(id),
        tree_size bigint NOT NULL,
        root_hash bytea NOT NULL,
        block_height bigint NOT NULL,
        timestamp_ms bigint NOT NULL,
        name text,
        tags text[] NOT NULL DEFAULT '{}',
        note text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX checkpoints_size_idx ON checkpoints (ledger_id, tree_size, id)`);
    await q.query(`
      CREATE FUNCTION chainproof_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'chainproof: % on % refused: ledger tables are append-only', TG_OP, TG_TABLE_NAME
          USING ERRCODE = 'restrict_violation';
      END $$`);
    for (const table of ['events', 'tree_nodes', 'blocks', 'checkpoints']) {
      await q.query(
        `CREATE TRIGGER ${table}_append_only BEFORE UPDATE OR DELETE ON ${table}
           FOR EACH ROW EXECUTE FUNCTION chainproof_refuse_change()`,
      );
      await q.query(
        `CREATE TRIGGER ${table}_no_truncate BEFORE TRUNCATE ON ${table}
           FOR EACH STATEMENT EXECUTE FUNCTION chainproof_refuse_change()`,
      );
    }
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE checkpoints, blocks, tree_nodes, events, ledger_heads, ledgers`);
    await q.query(`DROP FUNCTION chainproof_refuse_change()`);
  }
}
