import type { EntityManager } from 'typeorm';
import { Frontier, treeHasher } from '../ledger/merkle/index.js';

/**
 * The state root: the RFC 9162 Merkle tree hash over governance's projections as of a tree
 * size, in their canonical form — one line per fact that events before that leaf wrote, the
 * line a JSON array of the fact's kind and its values as text, its leaf hash SHA-256(0x00 ‖ line).
 * Facts are ordered by the leaf index of the event that wrote them, then by kind in the
 * order of FACTS, then by their key (bytewise). Only values fixed by their event enter (tallies and
 * balances are folds of them), so the root of tree size N never changes once the ledger
 * holds N events, and a checkpoint can carry it.
 *
 * Because facts are ordered by event, the tree for N + k extends the tree for N: a checkpoint
 * hashes only the facts written since the last one (`gov_state_roots` keeps the frontier),
 * and replay computes every checkpoint's root in one pass. Anyone with the events can
 * recompute it: replay them (`chainproof verify --replay` does) and hash the same lines.
 */
interface Fact {
  kind: string;
  /** The leaf index that wrote the fact (a column expression). */
  idx: string;
  /** Column expressions (text), in order. */
  columns: string[];
  table: string;
  /** Orders facts of one kind written by one event: text in byte order, whatever the database's collation. */
  key: string[];
}

const FACTS: Fact[] = [
  { kind: 'balance', idx: 'idx', columns: ['account', 'idx::text', 'balance::text', 'delta::text', 'kind', `encode(event_id, 'hex')`], table: 'gov_balance_history', key: ['account'] },
  { kind: 'delegate', idx: 'idx', columns: ['account', 'idx::text', 'delegate'], table: 'gov_delegate_history', key: ['account'] },
  { kind: 'power', idx: 'idx', columns: ['account', 'idx::text', 'power::text'], table: 'gov_power_history', key: ['account'] },
  { kind: 'supply', idx: 'idx', columns: ['idx::text', 'supply::text'], table: 'gov_supply_history', key: [] },
  {
    kind: 'proposal',
    idx: 'idx',
    columns: [
      'id', 'idx::text', 'proposer', 'title', 'description', 'voting_type', 'created_ms::text', 'vote_start_ms::text', 'vote_end_ms::text',
      'quorum_ppm::text', 'threshold_ppm::text', 'timelock_s::text', 'grace_s::text', 'actions::text',
    ],
    table: 'gov_proposals',
    key: [],
  },
  // A proposal's later steps are facts of the events that took them.
  { kind: 'queued', idx: 'queued_idx', columns: ['id', 'queued_idx::text', 'queued_ms::text'], table: 'gov_proposals', key: ['id'] },
  { kind: 'executed', idx: 'executed_idx', columns: ['id', 'executed_idx::text'], table: 'gov_proposals', key: ['id'] },
  { kind: 'canceled', idx: 'canceled_idx', columns: ['id', 'canceled_idx::text'], table: 'gov_proposals', key: ['id'] },
  { kind: 'vote', idx: 'idx', columns: ['idx::text', 'proposal_id', 'voter', 'choice', 'delegate_at_snapshot', 'own_balance::text', 'reason', 'signature', `encode(event_id, 'hex')`], table: 'gov_votes', key: ['proposal_id', 'voter'] },
];

/**
 * Leaf indexes read per round trip. Hashing a window runs on the event loop, so windows stay
 * small enough (a few thousand facts, a few milliseconds) not to stall requests meanwhile.
 */
const WINDOW = 2_000;
const sha256 = treeHasher('sha256');

/** An empty state tree, for `extendStateTree`. */
export const emptyStateTree = (): Frontier => new Frontier(sha256);

/** Appends the facts that events at leaves [from, to) wrote to `tree`, `window` leaves per read. */
export async function extendStateTree(tx: EntityManager, tree: Frontier, from: number, to: number, window = WINDOW): Promise<void> {
  for (let lo = from; lo < to; lo += window) {
    const hi = Math.min(lo + window, to);
    const lines: Array<{ idx: number; line: string }> = [];
    for (const f of FACTS) {
      const rows: Array<Record<string, unknown>> = await tx.query(
        `SELECT ${f.idx} AS i, ${f.columns.map((c, n) => `${c} AS c${n}`).join(', ')} FROM ${f.table}
          WHERE ${f.idx} >= $1 AND ${f.idx} < $2 ORDER BY ${[f.idx, ...f.key.map((k) => `${k} COLLATE "C"`)].join(', ')}`,
        [lo, hi],
      );
      for (const r of rows) lines.push({ idx: Number(r.i), line: JSON.stringify([f.kind, ...f.columns.map((_, n) => r[`c${n}`])]) });
    }
    // Stable: facts of one leaf keep FACTS order, then key order.
    lines.sort((a, b) => a.idx - b.idx);
    for (const l of lines) tree.append(sha256.leafHash(Buffer.from(l.line, 'utf8')));
  }
}

/**
 * The state root at `treeSize` (lowercase hex), extending the nearest stored tree below it
 * and storing the result, so each checkpoint hashes only what was written since the last.
 *
 * @example await governanceStateRoot(tx, 1000) // 'e3b0c442…'
 */
export async function governanceStateRoot(tx: EntityManager, treeSize: number): Promise<string> {
  const [base]: Array<{ tree_size: string; leaves: string; frontier: Buffer }> = await tx.query(
    `SELECT tree_size, leaves, frontier FROM gov_state_roots WHERE tree_size <= $1 ORDER BY tree_size DESC LIMIT 1`,
    [treeSize],
  );
  const tree = base ? Frontier.fromBytes(sha256, Number(base.leaves), base.frontier) : emptyStateTree();
  const from = base ? Number(base.tree_size) : 0;
  if (from < treeSize) {
    await extendStateTree(tx, tree, from, treeSize);
    await tx.query(
      `INSERT INTO gov_state_roots (tree_size, leaves, frontier) VALUES ($1, $2, $3) ON CONFLICT (tree_size) DO NOTHING`,
      [treeSize, tree.size, tree.toBytes()],
    );
  }
  return tree.root().toString('hex');
}
