import type { DataSource } from 'typeorm';
import { rebuildAndCompare } from '../db/table-digest.js';
import type { LedgerRow } from '../ledger/entities/index.js';
import { EVENT_COLUMNS, eventFromRow, type RawEventRow } from '../ledger/sequencer.js';
import { GOVERNANCE_SUBSYSTEM } from './events.js';
import { GovernanceProjector } from './projector.js';
import { emptyStateTree, extendStateTree } from './state-root.js';

/** Every projection table with its unique key. */
const TABLES: Array<{ name: string; key: string[] }> = [
  { name: 'gov_accounts', key: ['account'] },
  { name: 'gov_balance_history', key: ['account', 'idx'] },
  { name: 'gov_delegate_history', key: ['account', 'idx'] },
  { name: 'gov_power_history', key: ['account', 'idx'] },
  { name: 'gov_supply_history', key: ['idx'] },
  { name: 'gov_proposals', key: ['idx'] },
  { name: 'gov_votes', key: ['proposal_id', 'voter'] },
  { name: 'gov_ledger_rewards', key: ['ledger'] },
];

export interface ReplayReport {
  ok: boolean;
  treeSize: number;
  eventsReplayed: number;
  stateRoot: string;
  /** Tables whose live rows differ from the replayed ones. */
  mismatchedTables: string[];
  /** Checkpoints whose `state` line disagrees with the replayed state at their tree size. */
  checkpoints: Array<{ treeSize: number; recorded: string; replayed: string; ok: boolean }>;
  /** A governance event the projector refused on replay (the ledger holds something the live path never accepted). */
  refused?: { index: number; message: string };
}

/**
 * Rebuilds governance's projections from the ledger alone and compares them with the live
 * ones (see rebuildAndCompare), in one REPEATABLE READ snapshot so appends running meanwhile
 * do not skew either side; then checks each checkpoint's state root against the rebuilt state.
 */
export async function replayGovernance(
  dataSource: DataSource,
  ledger: LedgerRow,
  /** The server's DIDs (current key first, then previous ones): the authors governance events may have. */
  serverDids: readonly string[] | undefined,
  onProgress?: (done: number) => void,
): Promise<ReplayReport> {
  return dataSource.transaction('REPEATABLE READ', async (tx) => {
    const [head] = await tx.query(`SELECT tree_size FROM ledger_heads WHERE ledger_id = $1`, [ledger.id]);
    const treeSize = Number(head.tree_size);
    const projector = new GovernanceProjector({ ledgerId: ledger.id, origin: ledger.origin });
    let replayed = 0;
    let refused: ReplayReport['refused'];
    const mismatchedTables = await rebuildAndCompare(tx, TABLES, async () => {
      let after = -1;
      for (;;) {
        const rows: RawEventRow[] = await tx.query(
          `SELECT ${EVENT_COLUMNS} FROM events WHERE ledger_id = $1 AND idx > $2 AND idx < $3 AND subsystem = $4 AND origin IS NULL ORDER BY idx LIMIT 1000`,
          [ledger.id, after, treeSize, GOVERNANCE_SUBSYSTEM],
        );
        for (const r of rows) {
          after = Number(r.idx);
          const e = eventFromRow(ledger.name, r);
          // Only this server writes governance events (copies synced from peers are history, not state).
          if (serverDids !== undefined && (typeof e.author !== 'string' || !serverDids.includes(e.author))) continue;
          try {
            await tx.query('SAVEPOINT replay_event');
            await projector.applyAll(tx, [e]);
            await tx.query('RELEASE SAVEPOINT replay_event');
          } catch (err) {
            await tx.query('ROLLBACK TO SAVEPOINT replay_event');
            refused ??= { index: e.index, message: (err as Error).message };
          }
          replayed++;
        }
        onProgress?.(replayed);
        if (rows.length < 1000) return;
      }
    });
    const checkpoints: ReplayReport['checkpoints'] = [];
    let done = 0;
    const cps: Array<{ tree_size: string; note: string }> = await tx.query(
      `SELECT tree_size, note FROM checkpoints WHERE ledger_id = $1 AND tree_size <= $2 ORDER BY tree_size`,
      [ledger.id, treeSize],
    );
    // One state tree, extended checkpoint by checkpoint: each one's root is a prefix of the next.
    const tree = emptyStateTree();
    for (const c of cps) {
      const recorded = stateLineOf(c.note);
      if (recorded === null) continue;
      await extendStateTree(tx, tree, done, Number(c.tree_size));
      done = Number(c.tree_size);
      const at = tree.root().toString('hex');
      checkpoints.push({ treeSize: done, recorded, replayed: at, ok: at === recorded });
    }
    await extendStateTree(tx, tree, done, treeSize);
    const stateRoot = tree.root().toString('hex');
    return {
      ok: mismatchedTables.length === 0 && checkpoints.every((c) => c.ok) && refused === undefined,
      treeSize,
      eventsReplayed: replayed,
      stateRoot,
      mismatchedTables,
      checkpoints,
      refused,
    };
  });
}

/** The `state <hex>` extension line of a checkpoint note, if it has one. */
export function stateLineOf(note: string): string | null {
  const m = /^state ([0-9a-f]{64})$/m.exec(note.split('\n\n')[0] ?? '');
  return m ? m[1]! : null;
}
