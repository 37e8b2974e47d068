import { prepared, type Queryable } from '../db/driver-pool.js';
import { ChainproofError } from '../errors.js';
import { perTick } from '../per-tick.js';
import type { NodeReader, NodeRef } from './merkle/index.js';

/**
 * Stored full-subtree hashes of one ledger: level 0 is the events' ids, higher levels the
 * `tree_nodes` table. Every read is one statement of primary-key look-ups, one per node.
 *
 * Each look-up is a LATERAL sub-select with LIMIT 1 so that it stays a unique-index probe
 * whatever the statistics say. Joined to the arrays directly, the planner sized
 * `ledger_id = $1` from statistics taken when the ledger was small, and read every event of
 * the ledger to find a block's 1,000 (seen at 23,003 events: 50 ms a block, growing with n).
 * The same holds for a generic plan, so the statement is prepared once per connection.
 */
export function storedTree(db: Queryable, ledgerId: number): NodeReader {
  return {
    async getNodes(refs: NodeRef[]): Promise<Buffer[]> {
      const leaves = refs.filter((r) => r.level === 0).map((r) => r.index);
      const inner = refs.filter((r) => r.level > 0);
      const rows = await prepared<{ level: number; idx: string; hash: Buffer }>(
        db,
        `SELECT 0 AS level, l.idx, e.id AS hash FROM unnest($2::bigint[]) AS l(idx)
           CROSS JOIN LATERAL (SELECT id FROM events WHERE ledger_id = $1 AND idx = l.idx LIMIT 1) e
         UNION ALL
         SELECT r.level, r.idx, t.hash FROM unnest($3::smallint[], $4::bigint[]) AS r(level, idx)
           CROSS JOIN LATERAL (SELECT hash FROM tree_nodes WHERE ledger_id = $1 AND level = r.level AND idx = r.idx LIMIT 1) t`,
        [ledgerId, leaves, inner.map((r) => r.level), inner.map((r) => r.index)],
      );
      const byKey = new Map(rows.map((r) => [`${r.level}:${r.idx}`, r.hash]));
      return refs.map((r) => {
        const hash = byKey.get(`${r.level}:${r.index}`);
        if (!hash) {
          throw new ChainproofError('INTERNAL', `stored tree node (level ${r.level}, index ${r.index}) is missing; run verify`);
        }
        return hash;
      });
    },
  };
}

/**
 * Every getNodes call made in one event-loop turn, answered with one read: a proof, the root it
 * is checked against and its leaf are three calls, and a trace's proven lines hundreds.
 *
 * @example
 *   const tree = batchingReader(storedTree(dataSource, ledgerId));
 *   await Promise.all([inclusionProof(tree, hasher, 5, 8), rootAt(tree, hasher, 8)]); // one statement
 */
export function batchingReader(inner: NodeReader): NodeReader {
  const batched = perTick(async (batches: NodeRef[][]) => {
    const nodes = await inner.getNodes(batches.flat());
    let at = 0;
    return batches.map((refs) => nodes.slice(at, (at += refs.length)));
  });
  return { getNodes: batched };
}
