import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { leafBound } from '../../src/provenance/as-of.js';
import { openTestLedger, type TestLedger } from '../support/ledger.js';

let t: TestLedger;
beforeAll(async () => {
  t = await openTestLedger({}, { produceBlocks: false });
});
afterAll(async () => t?.close());

describe('asOf.time', () => {
  it('counts the leaves appended by then, whatever hlc an event carries', async () => {
    const started = Date.now();
    const first = await t.service.append('main', Array.from({ length: 10 }, (_, i) => ({ type: 'before', actor: 'a', payload: { i } })));
    // Leaf 10, where the search looks first among 20: stamped by its client 30 s in the past
    // (within the allowed skew), with no parents.
    const [backdated] = await t.service.append('main', [{ type: 'backdated', actor: 'b', parents: [], hlc: { physicalMs: started - 30_000, logical: 0 } }]);
    expect(backdated!.index).toBe(10);
    await t.service.append('main', Array.from({ length: 9 }, (_, i) => ({ type: 'after', actor: 'a', payload: { i } })));
    const { id } = await t.service.ledger('main');
    const at = (timeMs: number) => leafBound(t.db.dataSource, id, 20, { timeMs });
    // Twenty seconds before any of it was appended, though leaf 10 says it is older still.
    expect(await at(started - 20_000)).toBe(0);
    expect(await at(started - 1)).toBe(0);
    expect(await at(Date.now())).toBe(20);
    // Each leaf as of the moment it was appended: it and everything before it.
    for (const e of [first[3]!, backdated!]) expect(await at(e.appendedAt.getTime())).toBeGreaterThanOrEqual(e.index + 1);
  });

  it('is the server\'s clock, not a client\'s: an event stamped ahead moves no later leaf\'s time ahead', async () => {
    const [ahead] = await t.service.append('main', [{ type: 'ahead', actor: 'c', parents: [], hlc: { physicalMs: Date.now() + 30_000, logical: 0 } }]);
    const [next] = await t.service.append('main', [{ type: 'plain', actor: 'c' }]);
    const now = Date.now();
    // Else a block due after the interval since its oldest event would wait out the client's 30 s.
    for (const e of [ahead!, next!]) expect(e.appendedAt.getTime()).toBeLessThanOrEqual(now);
    const { id } = await t.service.ledger('main');
    expect(await leafBound(t.db.dataSource, id, next!.index + 1, { timeMs: now })).toBe(next!.index + 1);
  });
});

describe('asOf', () => {
  it('takes the one bound given beside fields left null, as a client that spells out every field sends it', async () => {
    await t.service.append('main', Array.from({ length: 3 }, (_, i) => ({ type: 'spelled-out', actor: 'a', payload: { i } })));
    const { id } = await t.service.ledger('main');
    const { treeSize } = await t.service.head('main');
    expect(await leafBound(t.db.dataSource, id, treeSize, { treeSize: 3, blockHeight: null, timeMs: null })).toBe(3);
    expect(await leafBound(t.db.dataSource, id, treeSize, { treeSize: null, blockHeight: null, timeMs: Date.now() })).toBe(treeSize);
  });
});
