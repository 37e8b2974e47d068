import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { nextDifficulty, retargetWindow, type DifficultyParams, type RecentBlock } from '../../src/ledger/blocks/index.js';

const params: DifficultyParams = {
  minDifficulty: 4,
  maxDifficulty: 24,
  targetBlockMs: 1000,
  retargetBlocks: 10,
  initialDifficulty: 12,
};

/** Blocks height-R .. height-1 spaced `intervalMs` apart, all at `difficulty`. */
function window(intervalMs: number, difficulty: number, n = params.retargetBlocks): RecentBlock[] {
  return Array.from({ length: n }, (_, i) => ({ timestamp: 1_700_000_000_000 + i * intervalMs, difficulty }));
}

describe('retargetWindow', () => {
  it('names the headers each height needs', () => {
    expect(retargetWindow(params, 0)).toBeNull();
    expect(retargetWindow(params, 1)).toEqual({ from: 0, to: 0 });
    expect(retargetWindow(params, 9)).toEqual({ from: 8, to: 8 });
    expect(retargetWindow(params, 10)).toEqual({ from: 0, to: 9 });
    expect(retargetWindow(params, 25)).toEqual({ from: 24, to: 24 });
    expect(retargetWindow(params, 30)).toEqual({ from: 20, to: 29 });
  });

  it('rejects unsound parameters', () => {
    expect(() => retargetWindow({ ...params, retargetBlocks: 1 }, 5)).toThrow(RangeError);
    expect(() => retargetWindow({ ...params, minDifficulty: 30 }, 5)).toThrow(RangeError);
    expect(() => retargetWindow({ ...params, maxDifficulty: 257 }, 5)).toThrow(RangeError);
    expect(() => retargetWindow({ ...params, targetBlockMs: 0 }, 5)).toThrow(RangeError);
    expect(() => retargetWindow(params, -1)).toThrow(RangeError);
  });

  it('accepts the tightest sound parameters: a fixed difficulty, all 256 bits, windows of 2', () => {
    const fixed = { ...params, minDifficulty: 256, maxDifficulty: 256, initialDifficulty: 256, retargetBlocks: 2, targetBlockMs: 1 };
    expect(retargetWindow(fixed, 2)).toEqual({ from: 0, to: 1 });
    expect(nextDifficulty(fixed, 2, window(1, 256, 2))).toBe(256);
  });
});

describe('nextDifficulty', () => {
  it('starts genesis at the clamped initial difficulty', () => {
    expect(nextDifficulty(params, 0, [])).toBe(12);
    expect(nextDifficulty({ ...params, initialDifficulty: 40 }, 0, [])).toBe(24);
    expect(nextDifficulty({ ...params, initialDifficulty: 0 }, 0, [])).toBe(4);
  });

  it('rises by one bit when blocks come more than twice too fast', () => {
    expect(nextDifficulty(params, 10, window(400, 12))).toBe(13);
  });

  it('falls by one bit when blocks come more than twice too slow', () => {
    expect(nextDifficulty(params, 20, window(2500, 12))).toBe(11);
  });

  it('holds inside the dead band, including its edges', () => {
    expect(nextDifficulty(params, 10, window(1000, 12))).toBe(12);
    expect(nextDifficulty(params, 10, window(500, 12))).toBe(12);
    expect(nextDifficulty(params, 10, window(2000, 12))).toBe(12);
  });

  it('only reads the last entries it needs', () => {
    const longer = [...window(9_999_999, 5, 7), ...window(400, 12)];
    expect(nextDifficulty(params, 10, longer)).toBe(13);
    expect(() => nextDifficulty(params, 10, window(400, 12, 9))).toThrow(RangeError);
    expect(() => nextDifficulty(params, 11, [])).toThrow(RangeError);
  });

  it('refuses headers without integer timestamps or difficulties', () => {
    const fractional = window(400, 12).map((b, i) => (i === 3 ? { ...b, timestamp: b.timestamp + 0.5 } : b));
    expect(() => nextDifficulty(params, 10, fractional)).toThrow(TypeError);
    expect(() => nextDifficulty(params, 11, [{ timestamp: 0, difficulty: Number.NaN }])).toThrow(TypeError);
  });

  it('is unchanged off retarget heights however fast or slow the blocks were', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1_000_000 }).filter((h) => h % params.retargetBlocks !== 0),
        fc.integer({ min: params.minDifficulty, max: params.maxDifficulty }),
        fc.array(fc.record({ timestamp: fc.maxSafeNat(), difficulty: fc.integer({ min: 0, max: 256 }) }), { maxLength: 5 }),
        (height, previous, before) => {
          const recent = [...before, { timestamp: 0, difficulty: previous }];
          expect(nextDifficulty(params, height, recent)).toBe(previous);
        },
      ),
    );
  });

  const arbParams = fc
    .record({
      a: fc.integer({ min: 0, max: 256 }),
      b: fc.integer({ min: 0, max: 256 }),
      targetBlockMs: fc.integer({ min: 1, max: 600_000 }),
      retargetBlocks: fc.integer({ min: 2, max: 50 }),
      initialDifficulty: fc.integer({ min: 0, max: 300 }),
    })
    .map(({ a, b, ...rest }): DifficultyParams => ({ minDifficulty: Math.min(a, b), maxDifficulty: Math.max(a, b), ...rest }));

  it('always stays within [min, max]', () => {
    fc.assert(
      fc.property(
        arbParams,
        fc.nat({ max: 10_000 }),
        fc.array(fc.record({ timestamp: fc.maxSafeNat(), difficulty: fc.integer({ min: 0, max: 256 }) }), { minLength: 50, maxLength: 50 }),
        (p, height, recent) => {
          const d = nextDifficulty(p, height, recent);
          expect(d).toBeGreaterThanOrEqual(p.minDifficulty);
          expect(d).toBeLessThanOrEqual(p.maxDifficulty);
          expect(Number.isInteger(d)).toBe(true);
        },
      ),
    );
  });

  it('moves towards the target: up for fast windows, down for slow ones (fast-check)', () => {
    fc.assert(
      fc.property(
        arbParams,
        fc.integer({ min: 1, max: 1000 }),
        fc.integer({ min: 0, max: 256 }),
        fc.boolean(),
        (p, k, previousRaw, fast) => {
          const previous = Math.min(p.maxDifficulty, Math.max(p.minDifficulty, previousRaw));
          const height = k * p.retargetBlocks;
          // Strictly under half, or strictly over twice, the target interval.
          const interval = fast ? Math.floor((p.targetBlockMs - 1) / 2) : p.targetBlockMs * 2 + 1;
          const recent = Array.from({ length: p.retargetBlocks }, (_, i) => ({ timestamp: i * interval, difficulty: previous }));
          const d = nextDifficulty(p, height, recent);
          if (fast) expect(d).toBe(Math.min(previous + 1, p.maxDifficulty));
          else expect(d).toBe(Math.max(previous - 1, p.minDifficulty));
        },
      ),
    );
  });

  it('lets a verifier replay a whole chain from headers alone', () => {
    // Simulate a chain whose blocks arrive 4x too fast, then 4x too slow.
    const chain: RecentBlock[] = [];
    let t = 0;
    for (let h = 0; h < 200; h++) {
      const w = retargetWindow(params, h);
      const recent = w ? chain.slice(w.from, w.to + 1) : [];
      chain.push({ timestamp: t, difficulty: nextDifficulty(params, h, recent) });
      t += h < 100 ? 250 : 4000;
    }
    expect(chain[99]!.difficulty).toBe(21);
    expect(Math.max(...chain.map((b) => b.difficulty))).toBeLessThanOrEqual(params.maxDifficulty);
    expect(chain[199]!.difficulty).toBeLessThan(chain[99]!.difficulty);
  });
});
