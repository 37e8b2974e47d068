import type { Snapshot } from './snapshot.js';

export interface HeadRow {
  treeSize: number;
  frontier: Buffer;
  rootHash: Buffer;
  lastHlcMs: number;
  lastHlcLogical: number;
  tips: Buffer;
}

export async function readHead(db: Snapshot, ledgerId: number): Promise<HeadRow | undefined> {
  const [r] = await db.query<{ tree_size: string; frontier: Buffer; root_hash: Buffer; last_hlc_ms: string; last_hlc_logical: number; tips: Buffer }>(
    `SELECT tree_size, frontier, root_hash, last_hlc_ms, last_hlc_logical, tips FROM ledger_heads WHERE ledger_id = $1`,
    [ledgerId],
  );
  if (!r) return undefined;
  return {
    treeSize: Number(r.tree_size),
    frontier: r.frontier,
    rootHash: r.root_hash,
    lastHlcMs: Number(r.last_hlc_ms),
    lastHlcLogical: r.last_hlc_logical,
    tips: r.tips,
  };
}
