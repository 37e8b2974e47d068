import { ChainproofError } from '../errors.js';
import type { NodeReader, NodeRef } from './merkle/index.js';

export interface Queryable {
  query(sql: string, params?: unknown[]): Promise<any>;
}

/**
 * Stored full-subtree hashes of one ledger: level 0 is the events' ids, higher levels the
 * `tree_nodes` table. Every read is one statement over O(log n) primary-key look-ups.
 */
export function storedTree(db: Queryable, ledgerId: number): NodeReader {
  return {
    async getNodes(refs: NodeRef[]): Promise<Buffer[]> {
      const leaves = refs.filter((r) => r.level === 0).map((r) => r.index);
      const inner = refs.filter((r) => r.level > 0);
      const rows: Array<{ level: number; idx: string; hash: Buffer }> = await db.query(
        `SELECT 0 AS level, idx, id AS hash FROM events WHERE ledger_id = $1 AND idx = ANY($2::bigint[])
         UNION ALL
         SELECT t.level, t.idx, t.hash FROM tree_nodes t
           JOIN unnest($3::smallint[], $4::bigint[]) AS r(level, idx) ON t.level = r.level AND t.idx = r.idx
          WHERE t.ledger_id = $1`,
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
