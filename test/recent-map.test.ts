import { describe, expect, it } from 'vitest';
import { RecentMap } from '../src/recent-map.js';

describe('RecentMap', () => {
  it('drops the entry set longest ago, counting a key set again as new', () => {
    const m = new RecentMap<string, number>(2);
    m.set('a', 1).set('b', 2).set('a', 3).set('c', 4);
    expect([...m]).toEqual([['a', 3], ['c', 4]]);
  });
});
