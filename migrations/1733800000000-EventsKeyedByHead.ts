import type { MigrationInterface, QueryRunner } from 'typeorm';
import { ledgerKeys } from './1733400000000-LedgerKeyOnEventsOnly.js';

/**
 * `events` no longer carries a foreign key to `ledgers`: its ledger is proven by the head row.
 *
 * Events are inserted only by the sequencer, in a transaction that first locks the ledger's
 * `ledger_heads` row FOR UPDATE and gives up if there is none; that row keeps its own key to
 * `ledgers`, so the ledger exists, and cannot go, while the events are written. The key on
 * `events` checked the same thing again once per row, at ≈ 5 µs each (5,000-row inserts with
 * the events' indexes: 92 against 65 ms, this machine, see BENCHMARKS.md) — inside the
 * transaction that holds the head lock, which is what sets the pace of appends.
 *
 * Locks `ledgers` before `events`, as an append's key check did (see LedgerKeyOnEventsOnly).
 */
export class EventsKeyedByHead1733800000000 implements MigrationInterface {
  name = 'EventsKeyedByHead1733800000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`LOCK TABLE ledgers, events IN ACCESS EXCLUSIVE MODE`);
    for (const { name } of await ledgerKeys(q, 'events')) await q.query(`ALTER TABLE events DROP CONSTRAINT "${name}"`);
  }

  /** Added unchecked first, then checked, so `events` is not held locked while its rows are read. */
  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE events ADD CONSTRAINT events_ledger_id_fkey FOREIGN KEY (ledger_id) REFERENCES ledgers(id) NOT VALID`);
    await q.query(`ALTER TABLE events VALIDATE CONSTRAINT events_ledger_id_fkey`);
  }
}
