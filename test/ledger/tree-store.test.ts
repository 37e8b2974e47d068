import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rangePlan } from '../../src/ledger/merkle/index.js';
import { storedTree } from '../../src/ledger/tree-store.js';
import { openTestLedger, type TestLedger } from '../support/ledger.js';
import { explaining, rowsRead } from '../support/plan.js';
import { tamper } from '../verify/support.js';

let t: TestLedger;
beforeAll(async () => {
  t = await openTestLedger({}, { produceBlocks: false });
});
afterAll(async () => t?.close());

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
    const { db, lastPlan } = explaining(ds);
    // A block [3003, 4003) starts on an odd index: its root needs its 1,000 leaves one by one.
    const refs = rangePlan(3003, 4003).refs;
    expect(refs.filter((r) => r.level === 0)).toHaveLength(1000);
    const hashes = await storedTree(db, Number(id)).getNodes(refs);
    expect(hashes).toHaveLength(refs.length);
    const [first] = await ds.query(`SELECT id FROM events WHERE ledger_id = $1 AND idx = 3003`, [id]);
    expect(hashes[0]!.equals(first.id)).toBe(true);
    expect(rowsRead(lastPlan(), 'events')).toBe(1000);
  });

  it('name a stored node that is missing, rather than answer without it', async () => {
    await t.service.createLedger('holed', {});
    await t.service.append('holed', Array.from({ length: 4 }, (_, i) => ({ type: 't', actor: `a${i}` })));
    const [{ id }] = await t.db.dataSource.query(`SELECT id FROM ledgers WHERE name = 'holed'`);
    await tamper(t.db.dataSource, [`DELETE FROM tree_nodes WHERE ledger_id = $1 AND level = 1 AND idx = 1`, [id]]);
    await expect(storedTree(t.db.dataSource, Number(id)).getNodes([{ level: 1, index: 0 }, { level: 1, index: 1 }])).rejects.toMatchObject({
      code: 'INTERNAL',
      message: expect.stringMatching(/level 1, index 1\) is missing; run verify/),
    });
  });
});
