import { createHash } from 'node:crypto';
import type { EntityManager } from 'typeorm';

/**
 * The state root: SHA-256 over the canonical form of governance's projections as of a tree
 * size — every row that events before that leaf wrote, table by table in a fixed order, each
 * row one JSON array of its table's name and its values as text, one per line. Only values
 * fixed by events before the bound enter (tallies and balances are folds of them), so the root
 * of tree size N never changes once the ledger holds N events, and a checkpoint can carry it.
 *
 * Anyone with the events can recompute it: replay them (`chainproof verify --replay` does)
 * and hash the same rows.
 */
interface Part {
  table: string;
  /** Column expressions (text), in order; `$1` is the tree size bound. */
  columns: string[];
  from: string;
  /** Unique ordering key (columns of the row, as text-comparable expressions). */
  key: string[];
}

const PARTS: Part[] = [
  { table: 'balance', columns: ['account', 'idx::text', 'balance::text', 'delta::text', 'kind', `encode(event_id, 'hex')`], from: 'gov_balance_history WHERE idx < $1', key: ['account', 'idx'] },
  { table: 'delegate', columns: ['account', 'idx::text', 'delegate'], from: 'gov_delegate_history WHERE idx < $1', key: ['account', 'idx'] },
  { table: 'power', columns: ['account', 'idx::text', 'power::text'], from: 'gov_power_history WHERE idx < $1', key: ['account', 'idx'] },
  { table: 'supply', columns: ['idx::text', 'supply::text'], from: 'gov_supply_history WHERE idx < $1', key: ['idx'] },
  {
    table: 'proposal',
    columns: [
      'id', 'idx::text', 'proposer', 'title', 'description', 'voting_type', 'created_ms::text', 'vote_start_ms::text', 'vote_end_ms::text',
      'quorum_ppm::text', 'threshold_ppm::text', 'timelock_s::text', 'grace_s::text', 'actions::text',
      'CASE WHEN queued_idx < $1 THEN queued_idx::text END', 'CASE WHEN queued_idx < $1 THEN queued_ms::text END',
      'CASE WHEN executed_idx < $1 THEN executed_idx::text END', 'CASE WHEN canceled_idx < $1 THEN canceled_idx::text END',
    ],
    from: 'gov_proposals WHERE idx < $1',
    key: ['idx'],
  },
  { table: 'vote', columns: ['idx::text', 'proposal_id', 'voter', 'choice', 'delegate_at_snapshot', 'own_balance::text', 'reason', 'signature', `encode(event_id, 'hex')`], from: 'gov_votes WHERE idx < $1', key: ['idx'] },
];

const PAGE = 5_000;

/** @example await governanceStateRoot(tx, 1000) // 'e3b0c442…' (hex) */
export async function governanceStateRoot(tx: EntityManager, treeSize: number): Promise<string> {
  const hash = createHash('sha256');
  for (const part of PARTS) {
    let after: unknown[] | null = null;
    for (;;) {
      // Keyset paging over the unique key keeps memory flat on large projections.
      const keyCols = part.key.join(', ');
      const cond: string = after === null ? '' : ` AND (${keyCols}) > (${part.key.map((_, i) => `$${i + 2}`).join(', ')})`;
      const rows: Array<Record<string, unknown>> = await tx.query(
        `SELECT ${part.columns.map((c, i) => `${c} AS c${i}`).join(', ')}, ${part.key.map((k, i) => `${k} AS k${i}`).join(', ')} FROM ${part.from}${cond} ORDER BY ${keyCols} LIMIT ${PAGE}`,
        after === null ? [treeSize] : [treeSize, ...after],
      );
      for (const r of rows) {
        hash.update(`${JSON.stringify([part.table, ...part.columns.map((_, i) => r[`c${i}`])])}\n`);
      }
      if (rows.length < PAGE) break;
      const last = rows[rows.length - 1]!;
      after = part.key.map((_, i) => last[`k${i}`]);
    }
  }
  return hash.digest('hex');
}
