import type pg from 'pg';
import { inclusionPlan, rangePlan, resolvePlan, treeHasher, type NodeRef } from '../../src/ledger/merkle/index.js';

/**
 * Prototype of a proposed fix for `LedgerService.inclusionProof`: everything one proof needs —
 * head size, checkpoint at the size, the proof's nodes, the root's nodes and the leaf — in ONE
 * statement (the service sends five: head, checkpoint via TypeORM, and three node look-ups in
 * parallel), optionally as a named prepared statement so PostgreSQL plans it once per connection.
 */
const SQL = `SELECT 0::smallint AS level, idx, id AS hash FROM events WHERE ledger_id = $1 AND idx = ANY($2::bigint[])
UNION ALL
SELECT t.level, t.idx, t.hash FROM tree_nodes t JOIN unnest($3::smallint[], $4::bigint[]) AS r(level, idx)
    ON t.level = r.level AND t.idx = r.idx WHERE t.ledger_id = $1
UNION ALL
SELECT -1::smallint, h.tree_size, h.root_hash FROM ledger_heads h WHERE h.ledger_id = $1
UNION ALL
SELECT -2::smallint, c.id, convert_to(c.note, 'UTF8') FROM checkpoints c WHERE c.ledger_id = $1 AND c.tree_size = $5`;

const hasher = treeHasher('sha256');

export async function oneRoundTripProof(pool: pg.Pool, ledgerId: number, index: number, treeSize: number, prepared: boolean) {
  const inc = inclusionPlan(index, treeSize);
  const root = rangePlan(0, treeSize);
  const refs = new Map<string, NodeRef>();
  for (const r of [...inc.refs, ...root.refs, { level: 0, index }]) refs.set(`${r.level}:${r.index}`, r);
  const all = [...refs.values()];
  const leaves = all.filter((r) => r.level === 0).map((r) => r.index);
  const inner = all.filter((r) => r.level > 0);
  const values = [ledgerId, leaves, inner.map((r) => r.level), inner.map((r) => r.index), treeSize];
  const { rows } = await pool.query<{ level: number; idx: string; hash: Buffer }>(prepared ? { name: 'bench_one_round_trip_proof', text: SQL, values } : { text: SQL, values });
  const byKey = new Map<string, Buffer>();
  let headSize = -1;
  for (const r of rows) {
    if (r.level === -1) headSize = Number(r.idx);
    else if (r.level >= 0) byKey.set(`${r.level}:${r.idx}`, r.hash);
  }
  if (headSize < treeSize) throw new Error('tree size beyond the head');
  const get = (refs: NodeRef[]) => refs.map((r) => byKey.get(`${r.level}:${r.index}`)!);
  const hashes = resolvePlan(inc, get(inc.refs), hasher);
  const [rootHash] = resolvePlan(root, get(root.refs), hasher);
  return { leafIndex: index, treeSize, leafHash: byKey.get(`0:${index}`)!.toString('hex'), hashes: hashes.map((h) => h.toString('hex')), rootHash: rootHash!.toString('hex') };
}
