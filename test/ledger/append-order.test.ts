import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mapInSlices } from '../../src/ledger/in-slices.js';
import { openTestLedger, type TestLedger } from '../support/ledger.js';

let t: TestLedger;
beforeAll(async () => {
  t = await openTestLedger({ CHAINPROOF_MAX_BATCH: '5000' }, { produceBlocks: false });
});
afterAll(async () => t?.close());

const events = (actor: string, n: number) => Array.from({ length: n }, (_, i) => ({ type: 'order.thing', actor, payload: { i, pad: 'x'.repeat(200) } }));

describe('appends called one after another', () => {
  it('are sequenced in call order, though checking a large batch yields to the event loop', async () => {
    await t.service.createLedger('order', {});
    const large = t.service.append('order', events('large', 4000));
    const small = t.service.append('order', events('small', 1));
    const built = t.service.append('order', async () => events('built', 2));
    const [l, s, b] = await Promise.all([large, small, built]);
    expect(l.map((e) => e.index)).toEqual(Array.from({ length: 4000 }, (_, i) => i));
    expect(s.map((e) => e.index)).toEqual([4000]);
    expect(b.map((e) => e.index)).toEqual([4001, 4002]);
  });

  it('a refused append in the line holds up nothing after it, and lands nothing', async () => {
    await t.service.createLedger('order-refused', {});
    const bad = [...events('bad', 3000), { type: '', actor: 'bad' }];
    const [refused, thrown, good] = await Promise.allSettled([
      t.service.append('order-refused', bad),
      t.service.append('order-refused', async () => {
        throw new Error('no records today');
      }),
      t.service.append('order-refused', events('good', 1)),
    ]);
    expect(refused).toMatchObject({ status: 'rejected', reason: { code: 'BAD_USER_INPUT', details: { index: 3000 } } });
    expect(thrown).toMatchObject({ status: 'rejected', reason: { message: 'no records today' } });
    expect(good.status === 'fulfilled' && good.value.map((e) => [e.index, e.actor])).toEqual([[0, 'good']]);
    expect((await t.service.head('order-refused')).treeSize).toBe(1);
  });
  it('a list of the wrong shape is refused at once, not after the appends called before it', async () => {
    await t.service.createLedger('order-shape', {});
    const settled: string[] = [];
    const large = t.service.append('order-shape', events('large', 4000)).then(() => settled.push('large'));
    const empty = t.service.append('order-shape', []).catch((e) => settled.push(`empty ${e.code}`));
    const missing = t.service.append('no-such-ledger', []).catch((e) => settled.push(`missing ${e.code}`));
    await Promise.all([large, empty, missing]);
    expect(settled).toEqual(['empty BAD_USER_INPUT', 'missing BAD_USER_INPUT', 'large']);
  });
});

describe('mapInSlices', () => {
  it('maps in order and lets other callbacks run while it works', async () => {
    let ran = 0;
    const timer = setInterval(() => ran++, 0);
    const busy = (ms: number) => {
      const end = performance.now() + ms;
      while (performance.now() < end);
    };
    const out = await mapInSlices([1, 2, 3, 4, 5, 6, 7, 8], (x, i) => {
      busy(1);
      return x * 10 + i;
    });
    clearInterval(timer);
    expect(out).toEqual([10, 21, 32, 43, 54, 65, 76, 87]);
    expect(ran).toBeGreaterThan(0);
  });

  it('rejects with what the function throws', async () => {
    await expect(mapInSlices([1, 2], (x) => {
      if (x === 2) throw new Error('two');
      return x;
    })).rejects.toThrow('two');
  });
});
