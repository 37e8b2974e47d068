import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Events copied from other nodes, and what this node knows of the peers it pulls from.
 *
 * `events.origin` is NULL for the ledger's own events and names the first-written origin of a
 * synced copy; like every other column it is an index over the canonical bytes, which
 * verification checks it against.
 */
export class Syndication1732900000000 implements MigrationInterface {
  name = 'Syndication1732900000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE events ADD COLUMN origin text`);
    await q.query(`
      CREATE TABLE sync_peers (
        url text PRIMARY KEY,
        verifier_key text NOT NULL,
        -- the peer's log origin, the name of its verifier key
        origin text NOT NULL,
        source text NOT NULL CHECK (source IN ('config', 'admin')),
        -- how far this node has taken the peer's log: every leaf below it is in the local ledger
        position bigint NOT NULL DEFAULT 0,
        -- the newest peer checkpoint this node has checked, the base of the next consistency proof
        checkpoint_size bigint,
        checkpoint_root bytea,
        checkpoint_note text,
        status text NOT NULL DEFAULT 'disconnected',
        last_sync_at timestamptz,
        last_error text,
        error_count integer NOT NULL DEFAULT 0,
        events_received bigint NOT NULL DEFAULT 0,
        events_sent bigint NOT NULL DEFAULT 0,
        latency_ms integer,
        -- set when the peer showed a history inconsistent with one it signed before; never cleared by a sync
        flagged_reason text,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE sync_peers`);
    await q.query(`ALTER TABLE events DROP COLUMN origin`);
  }
}
