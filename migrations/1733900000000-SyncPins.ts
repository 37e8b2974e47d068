import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `pin` counts the changes of a peer's pinned key. A pull's writes hold only while the pin it
 * started under is current; conditioning them on the key alone let a pull that began under key A
 * keep writing after a re-pin A → B → A, onto a row whose checkpoint (the base of every
 * consistency proof) the re-pins had cleared. `last_success_at` is when a sync of the peer last
 * succeeded: what monitors alert on (`last_sync_at` moves on failures too).
 */
export class SyncPins1733900000000 implements MigrationInterface {
  name = 'SyncPins1733900000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE sync_peers ADD COLUMN pin integer NOT NULL DEFAULT 0, ADD COLUMN last_success_at timestamptz`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE sync_peers DROP COLUMN pin, DROP COLUMN last_success_at`);
  }
}
