import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  consistencyPlan,
  consistencyProof,
  inclusionPlan,
  inclusionProof,
  rangePlan,
  rangeProof,
  rangeProofPlan,
  resolvePlan,
  rootAt,
  rootFromRange,
  subtreeRoot,
  treeHasher,
  verifyConsistency,
  verifyInclusion,
  type NodeReader,
  type NodeRef,
} from '../../src/ledger/merkle/index.js';
import { batchingReader } from '../../src/ledger/tree-store.js';
import { ALGS, MemoryReader, consistency, makeLeaves, mth, nodeHash, path, refBound } from './reference.js';

const MAX = 300;
const RUNS = 150;

const sizeAndIndex = fc
  .integer({ min: 1, max: MAX })
  .chain((size) => fc.tuple(fc.constant(size), fc.integer({ min: 0, max: size - 1 })));
const sizePair = fc
  .tuple(fc.integer({ min: 0, max: MAX }), fc.integer({ min: 0, max: MAX }))
  .map(([a, b]): [number, number] => (a <= b ? [a, b] : [b, a]));

/** One query when anything is needed, none otherwise, and never more than the bound. */
function expectOneQuery(reader: MemoryReader, bound: number): void {
  expect(reader.calls.length).toBeLessThanOrEqual(1);
  if (reader.calls.length === 1) {
    const refs = reader.calls[0]!;
    expect(refs.length).toBeGreaterThan(0);
    expect(refs.length).toBeLessThanOrEqual(bound);
    expect(new Set(refs.map((r) => `${r.level}:${r.index}`)).size).toBe(refs.length);
  }
}

describe.each(ALGS)('proofs over stored nodes (%s)', (alg) => {
  const hasher = treeHasher(alg);
  const log = makeLeaves(alg, MAX, 1);
  const roots = Array.from({ length: MAX + 1 }, (_, n) => mth(alg, log.slice(0, n)));

  it('inclusion proofs match RFC 9162 PATH and verify', async () => {
    await fc.assert(
      fc.asyncProperty(sizeAndIndex, async ([size, index]) => {
        // The reader holds a longer log: proofs for an older size must not touch newer nodes.
        const reader = new MemoryReader(alg, log, size);
        const proof = await inclusionProof(reader, hasher, index, size);
        expect(proof).toEqual(path(alg, index, log.slice(0, size)));
        expect(verifyInclusion(alg, index, size, log[index]!, proof, roots[size]!)).toBe(true);
        expect(reader.calls.length).toBe(size > 1 ? 1 : 0);
        expectOneQuery(reader, refBound(size));
      }),
      { numRuns: RUNS },
    );
  });

  it('consistency proofs match RFC 9162 PROOF and verify', async () => {
    await fc.assert(
      fc.asyncProperty(sizePair, async ([from, to]) => {
        const reader = new MemoryReader(alg, log, to);
        const proof = await consistencyProof(reader, hasher, from, to);
        expect(proof).toEqual(consistency(alg, from, log.slice(0, to)));
        expect(verifyConsistency(alg, from, to, roots[from]!, roots[to]!, proof)).toBe(true);
        expect(reader.calls.length).toBe(from > 0 && from < to ? 1 : 0);
        expectOneQuery(reader, refBound(to));
      }),
      { numRuns: RUNS },
    );
  });

  it('every inclusion and consistency proof up to size 64 (exhaustive)', async () => {
    for (let to = 1; to <= 64; to++) {
      for (let i = 0; i < to; i++) {
        const proof = await inclusionProof(new MemoryReader(alg, log, to), hasher, i, to);
        expect(verifyInclusion(alg, i, to, log[i]!, proof, roots[to]!), `${i}/${to}`).toBe(true);
      }
      for (let from = 0; from <= to; from++) {
        const proof = await consistencyProof(new MemoryReader(alg, log, to), hasher, from, to);
        expect(verifyConsistency(alg, from, to, roots[from]!, roots[to]!, proof), `${from}->${to}`).toBe(true);
      }
    }
  });

  it('rootAt equals MTH for every size', async () => {
    for (let size = 0; size <= MAX; size++) {
      const reader = new MemoryReader(alg, log, size);
      expect(await rootAt(reader, hasher, size)).toEqual(roots[size]);
      expect(reader.calls.length).toBe(size > 0 ? 1 : 0);
      expectOneQuery(reader, refBound(size));
    }
  });

  it('a batching reader answers a proof, its root and its leaf with one read, as three reads would', async () => {
    await fc.assert(
      fc.asyncProperty(sizeAndIndex, async ([size, index]) => {
        const inner = new MemoryReader(alg, log, size);
        const tree = batchingReader(inner);
        const [proof, root, [leaf]] = await Promise.all([inclusionProof(tree, hasher, index, size), rootAt(tree, hasher, size), tree.getNodes([{ level: 0, index }])]);
        expect(proof).toEqual(path(alg, index, log.slice(0, size)));
        expect(root).toEqual(roots[size]);
        expect(leaf).toEqual(log[index]);
        expect(inner.calls).toHaveLength(1);
      }),
      { numRuns: RUNS },
    );
  });

  it('subtreeRoot equals MTH of any range', async () => {
    await fc.assert(
      fc.asyncProperty(sizePair, async ([start, end]) => {
        const reader = new MemoryReader(alg, log, end);
        expect(await subtreeRoot(reader, hasher, start, end)).toEqual(mth(alg, log.slice(start, end)));
        expect(reader.calls.length).toBe(start < end ? 1 : 0);
        // Cheap only when the range's own tree lines up with the stored one.
        expectOneQuery(reader, end - start);
      }),
      { numRuns: RUNS },
    );
  });

  it('subtreeRoot needs O(log n) nodes for a range starting on a power-of-two boundary', async () => {
    const aligned = fc
      .tuple(fc.integer({ min: 0, max: 8 }), fc.integer({ min: 0, max: 255 }))
      .chain(([lg, k]) => {
        const w = 2 ** lg;
        const start = Math.min(k * w, MAX - 1) - (Math.min(k * w, MAX - 1) % w);
        return fc.tuple(fc.constant(start), fc.integer({ min: start, max: Math.min(start + w, MAX) }));
      });
    await fc.assert(
      fc.asyncProperty(aligned, async ([start, end]) => {
        const reader = new MemoryReader(alg, log, end);
        expect(await subtreeRoot(reader, hasher, start, end)).toEqual(mth(alg, log.slice(start, end)));
        expectOneQuery(reader, refBound(end - start));
      }),
      { numRuns: RUNS },
    );
  });
});

describe('plans', () => {
  it('reject arguments outside the tree', () => {
    const bad: [string, () => unknown][] = [
      ['index == size', () => inclusionPlan(5, 5)],
      ['index > size', () => inclusionPlan(6, 5)],
      ['empty tree', () => inclusionPlan(0, 0)],
      ['negative index', () => inclusionPlan(-1, 5)],
      ['fractional index', () => inclusionPlan(1.5, 5)],
      ['NaN size', () => inclusionPlan(0, NaN)],
      ['unsafe size', () => inclusionPlan(0, 2 ** 53)],
      ['from > to', () => consistencyPlan(6, 5)],
      ['negative from', () => consistencyPlan(-1, 5)],
      ['start > end', () => rangePlan(4, 3)],
      ['infinite end', () => rangePlan(0, Infinity)],
    ];
    for (const [name, f] of bad) expect(f, name).toThrow(RangeError);
    // Refused by the check, not by running out of stack.
    expect(() => rangePlan(4, 3)).toThrow(/exceeds/);
  });

  it('rejects bad arguments before touching storage', async () => {
    const reader = new MemoryReader('sha256', []);
    const h = treeHasher('sha256');
    await expect(inclusionProof(reader, h, 3, 3)).rejects.toThrow(RangeError);
    await expect(consistencyProof(reader, h, 4, 3)).rejects.toThrow(RangeError);
    await expect(rootAt(reader, h, -1)).rejects.toThrow(RangeError);
    await expect(subtreeRoot(reader, h, 2, 1)).rejects.toThrow(RangeError);
    expect(reader.calls).toEqual([]);
  });

  it('gives empty consistency proofs for equal sizes and from the empty tree', () => {
    expect(consistencyPlan(7, 7)).toEqual({ ranges: [], refs: [] });
    expect(consistencyPlan(0, 7)).toEqual({ ranges: [], refs: [] });
    expect(consistencyPlan(0, 0)).toEqual({ ranges: [], refs: [] });
  });

  it('decomposes the right-edge sibling into full subtrees', () => {
    // Leaf 0 of 7: siblings are leaf 1, [2,4) and the partial [4,7) = [4,6) + leaf 6.
    const plan = inclusionPlan(0, 7);
    expect(plan.ranges).toEqual([
      { start: 1, end: 2 },
      { start: 2, end: 4 },
      { start: 4, end: 7 },
    ]);
    expect(plan.refs).toEqual([
      { level: 0, index: 1 },
      { level: 1, index: 1 },
      { level: 1, index: 2 },
      { level: 0, index: 6 },
    ]);
  });

  it('handles sizes beyond 32 bits', async () => {
    // With every leaf equal, a level-L node is the hash chain x, H(x,x), … so storage of any
    // size is cheap to fake; truncating arithmetic would still produce the wrong shape.
    const alg = 'sha256';
    const h = treeHasher(alg);
    const x = h.leafHash(Buffer.from('same'));
    const full: Buffer[] = [x];
    for (let l = 1; l <= 53; l++) full.push(nodeHash(alg, full[l - 1]!, full[l - 1]!));
    const reader: NodeReader = { getNodes: async (refs: NodeRef[]) => refs.map((r) => full[r.level]!) };
    const memo = new Map<number, Buffer>();
    const uniformMth = (n: number): Buffer => {
      if (n === 1) return x;
      if (!memo.has(n)) {
        let k = 1;
        while (k * 2 < n) k *= 2;
        memo.set(n, nodeHash(alg, uniformMth(k), uniformMth(n - k)));
      }
      return memo.get(n)!;
    };
    const sizes = [2 ** 32 + 1, 2 ** 33 - 1, 2 ** 40 + 12345, 2 ** 52 + 7, Number.MAX_SAFE_INTEGER];
    for (const size of sizes) {
      const root = await rootAt(reader, h, size);
      expect(root).toEqual(uniformMth(size));
      for (const index of [0, 2 ** 31, 2 ** 32 - 1, 2 ** 32, size - 2, size - 1]) {
        const proof = await inclusionProof(reader, h, index, size);
        expect(verifyInclusion(alg, index, size, x, proof, root), `${index}/${size}`).toBe(true);
      }
      for (const from of [1, 2 ** 31 + 3, 2 ** 32, size - 1]) {
        const proof = await consistencyProof(reader, h, from, size);
        expect(verifyConsistency(alg, from, size, uniformMth(from), root, proof), `${from}->${size}`).toBe(true);
      }
    }
  });
});

describe.each(ALGS)('range proofs (%s)', (alg) => {
  const hasher = treeHasher(alg);
  const log = makeLeaves(alg, 40, 3);
  const roots = Array.from({ length: 41 }, (_, n) => mth(alg, log.slice(0, n)));

  it('rebuild the root from the range and its proof, for every range of every size up to 24', async () => {
    for (let size = 1; size <= 24; size++) {
      const reader = new MemoryReader(alg, log, size);
      for (let start = 0; start < size; start++) {
        for (let end = start + 1; end <= size; end++) {
          const proof = await rangeProof(reader, hasher, start, end, size);
          const leaves = log.slice(start, end);
          expect(rootFromRange(hasher, start, leaves, size, proof), `[${start},${end}) of ${size}`).toEqual(roots[size]);
        }
      }
    }
  });

  it('give null, never a root or an exception, for a proof with a hash too many or too few', async () => {
    const reader = new MemoryReader(alg, log, 21);
    for (const [start, end] of [[0, 1], [3, 9], [5, 21], [20, 21]] as const) {
      const proof = await rangeProof(reader, hasher, start, end, 21);
      const leaves = log.slice(start, end);
      expect(rootFromRange(hasher, start, leaves, 21, [...proof, proof[0] ?? log[0]!])).toBeNull();
      if (proof.length > 0) {
        expect(rootFromRange(hasher, start, leaves, 21, proof.slice(1))).toBeNull();
        expect(rootFromRange(hasher, start, leaves, 21, [])).toBeNull();
      }
    }
  });

  it('refuse an empty range, or one past the tree, and take one that ends at the tree size', () => {
    expect(rootFromRange(hasher, 0, [], 4, [])).toBeNull();
    // A lone proof hash must not stand in for the whole tree when there is no range to place.
    expect(rootFromRange(hasher, 0, [], 4, [roots[4]!])).toBeNull();
    expect(rootFromRange(hasher, -1, [log[0]!], 4, [roots[4]!])).toBeNull();
    expect(rootFromRange(hasher, 0.5, [log[0]!], 4, [roots[4]!])).toBeNull();
    expect(rootFromRange(hasher, 0, [log[0]!], 4.5, [roots[4]!])).toBeNull();
    expect(rootFromRange(hasher, 3, log.slice(3, 5), 4, [])).toBeNull();
    expect(rootFromRange(hasher, 0, log.slice(0, 4), 4, [])).toEqual(roots[4]);
    expect(() => rangeProofPlan(2, 2, 4)).toThrow(RangeError);
    expect(() => rangeProofPlan(2, 5, 4)).toThrow(RangeError);
    expect(rangeProofPlan(0, 4, 4).ranges).toEqual([]);
    expect(rangeProofPlan(3, 4, 4).ranges).toEqual([{ start: 0, end: 2 }, { start: 2, end: 3 }]);
  });
});

describe('resolvePlan', () => {
  const hasher = treeHasher('sha256');
  const plan = inclusionPlan(0, 4);
  const nodes = plan.refs.map(() => Buffer.alloc(32, 1));

  it('refuses a reader that answers with too few or too many hashes', () => {
    expect(() => resolvePlan(plan, nodes.slice(1), hasher)).toThrow(/returned/);
    expect(() => resolvePlan(plan, [...nodes, Buffer.alloc(32)], hasher)).toThrow(/returned/);
  });

  it('refuses a reader that answers with a hash of the wrong length', () => {
    expect(() => resolvePlan(plan, [Buffer.alloc(31), ...nodes.slice(1)], hasher)).toThrow(/malformed/);
    expect(() => resolvePlan(plan, [Buffer.alloc(33), ...nodes.slice(1)], hasher)).toThrow(/malformed/);
  });

  it('asks storage nothing when the plan needs nothing', async () => {
    const reader = new MemoryReader('sha256', []);
    expect(await rootAt(reader, hasher, 0)).toEqual(hasher.emptyRoot());
    expect(await consistencyProof(reader, hasher, 0, 5)).toEqual([]);
    expect(reader.calls).toEqual([]);
  });
});
