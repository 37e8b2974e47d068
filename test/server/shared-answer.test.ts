import { describe, expect, it } from 'vitest';
import { sharedAnswer } from '../../src/server/shared-answer.js';

describe('sharedAnswer', () => {
  it('shares one computation among calls while it runs and for ttl after, then computes again', async () => {
    let clock = 0;
    let computed = 0;
    const ask = sharedAnswer(1000, async () => ++computed, () => clock);
    const together = await Promise.all(Array.from({ length: 500 }, () => ask()));
    expect(new Set(together)).toEqual(new Set([1]));
    clock = 999;
    expect(await ask()).toBe(1);
    clock = 1000;
    expect(await ask()).toBe(2);
    expect(computed).toBe(2);
  });

  it('keeps no failure: the next call tries again', async () => {
    let calls = 0;
    const ask = sharedAnswer(60_000, async () => {
      if (++calls === 1) throw new Error('database down');
      return 'ready';
    });
    const [a, b] = await Promise.allSettled([ask(), ask()]);
    expect([a.status, b.status]).toEqual(['rejected', 'rejected']);
    expect(await ask()).toBe('ready');
    expect(calls).toBe(2);
  });
});

describe('sharedAnswer on a clock not starting at zero', () => {
  it('counts ttl from when the answer came, not from the epoch', async () => {
    let clock = 5000;
    let computed = 0;
    const ask = sharedAnswer(1000, async () => ++computed, () => clock);
    expect(await ask()).toBe(1);
    clock = 5999;
    expect(await ask()).toBe(1);
    clock = 6000;
    expect(await ask()).toBe(2);
  });
});
