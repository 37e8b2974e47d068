import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rangePlan } from '../../src/ledger/merkle/index.js';
import { storedTree, type Queryable } from '../../src/ledger/tree-store.js';
import { openTestLedger, type TestLedger } from '../support/ledger.js';

let t: TestLedger;
beforeAll(async () => {
  t = await openTestLedger({}, { produceBlocks: false });
});
afterAll(async () => t?.close());

interface PlanNode {
  'Relation Name'?: string;
  'Actual Rows'?: number;
  'Actual Loops'?: number;
  'Rows Removed by Filter'?: number;
  Plans?: PlanNode[];
}

/** Rows of `relation` the statement's plan read, kept or filtered out, over all loops. */
function rowsRead(plan: PlanNode, relation: string): number {
  const own = plan['Relation Name'] === relation ? ((plan['Actual Rows'] ?? 0) + (plan['Rows Removed by Filter'] ?? 0)) * (plan['Actual Loops'] ?? 1) : 0;
  return own + (plan.Plans ?? []).reduce((n, p) => n + rowsRead(p, relation), 0);
}

describe('stored tree reads', () => {
  it('read the nodes asked for, not the ledger, even when statistics are stale', async () => {
    const ds = t.db.dataSource;
    await t.service.createLedger('stale', {});
    await t.service.append('stale', Array.from({ length: 8 }, (_, i) => ({ type: 't', actor: `a${i}` })));
    // Statistics taken while the ledger was tiny: the planner then thinks `ledger_id = $1` is
    // a handful of rows and may read them all rather than probe for the ones it needs.
    await ds.query('ANALYZE events');
    await ds.query('ANALYZE tree_nodes');
    for (let i = 0; i < 6; i++) {
      await t.service.append('stale', Array.from({ length: 1000 }, (_, k) => ({ type: 't', actor: `b${i}-${k}` })));
    }
    const [{ id }] = await ds.query(`SELECT id FROM ledgers WHERE name = 'stale'`);
    let plan: PlanNode | undefined;
    const explaining: Queryable = {
      async query(sql, params) {
        const [row] = await ds.query(`EXPLAIN (ANALYZE, FORMAT JSON) ${sql}`, params);
        const json = row['QUERY PLAN'];
        plan = (typeof json === 'string' ? JSON.parse(json) : json)[0].Plan;
        return ds.query(sql, params);
      },
    };
    // A block [3003, 4003) starts on an odd index: its root needs its 1,000 leaves one by one.
    const refs = rangePlan(3003, 4003).refs;
    expect(refs.filter((r) => r.level === 0)).toHaveLength(1000);
    const hashes = await storedTree(explaining, Number(id)).getNodes(refs);
    expect(hashes).toHaveLength(refs.length);
    const [first] = await ds.query(`SELECT id FROM events WHERE ledger_id = $1 AND idx = 3003`, [id]);
    expect(hashes[0]!.equals(first.id)).toBe(true);
    expect(rowsRead(plan!, 'events')).toBe(1000);
  });
});
