import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  Frontier,
  consistencyProof,
  inclusionProof,
  rootAt,
  treeHasher,
  verifyConsistency,
  verifyInclusion,
  type NodeReader,
} from '../../src/ledger/merkle/index.js';
import { ALGS, fullNodeKeys, makeLeaves, mth } from './reference.js';

const MAX = 300;

describe.each(ALGS)('Frontier (%s)', (alg) => {
  const hasher = treeHasher(alg);
  const log = makeLeaves(alg, MAX, 3);

  it('tracks MTH and reports exactly the full subtrees each append completes', () => {
    const f = new Frontier(hasher);
    expect(f.size).toBe(0);
    expect(f.root()).toEqual(hasher.emptyRoot());
    for (let n = 0; n < MAX; n++) {
      const created = f.append(log[n]!);
      expect(f.size).toBe(n + 1);
      expect(f.root()).toEqual(mth(alg, log.slice(0, n + 1)));
      const before = fullNodeKeys(n, 1);
      const expected = [...fullNodeKeys(n + 1, 1)].filter((k) => !before.has(k));
      expect(created.map((c) => `${c.level}:${c.index}`).sort()).toEqual(expected.sort());
      for (const { level, index, hash } of created) {
        expect(hash).toEqual(mth(alg, log.slice(index * 2 ** level, (index + 1) * 2 ** level)));
      }
    }
  });

  it('round-trips through bytes at every size', () => {
    const f = new Frontier(hasher);
    for (let n = 0; n <= MAX; n++) {
      const bytes = f.toBytes();
      const popcount = n.toString(2).replaceAll('0', '').length;
      expect(bytes.length).toBe(popcount * 32);
      const g = Frontier.fromBytes(hasher, n, bytes);
      expect(g.size).toBe(n);
      expect(g.root()).toEqual(f.root());
      expect(g.toBytes()).toEqual(bytes);
      if (n < MAX) {
        // The restored copy must carry on exactly like the original.
        expect(g.append(log[n]!)).toEqual(f.append(log[n]!));
        expect(g.root()).toEqual(f.root());
      }
    }
  });

  it('stores subtrees largest first', () => {
    const f = new Frontier(hasher);
    for (let n = 0; n < 13; n++) f.append(log[n]!);
    const bytes = f.toBytes(); // 13 = 8 + 4 + 1
    expect(bytes.subarray(0, 32)).toEqual(mth(alg, log.slice(0, 8)));
    expect(bytes.subarray(32, 64)).toEqual(mth(alg, log.slice(8, 12)));
    expect(bytes.subarray(64, 96)).toEqual(log[12]);
  });

  it('rejects frontiers whose length does not match the size', () => {
    const f = new Frontier(hasher);
    for (let n = 0; n < 7; n++) f.append(log[n]!);
    const bytes = f.toBytes(); // 3 hashes
    expect(() => Frontier.fromBytes(hasher, 7, bytes.subarray(1))).toThrow(RangeError);
    expect(() => Frontier.fromBytes(hasher, 7, Buffer.concat([bytes, Buffer.alloc(1)]))).toThrow(RangeError);
    expect(() => Frontier.fromBytes(hasher, 8, bytes)).toThrow(RangeError);
    expect(() => Frontier.fromBytes(hasher, 6, bytes)).toThrow(RangeError);
    expect(() => Frontier.fromBytes(hasher, -1, Buffer.alloc(0))).toThrow(RangeError);
    expect(() => Frontier.fromBytes(hasher, 1.5, Buffer.alloc(32))).toThrow(RangeError);
    expect(() => new Frontier(hasher, 3, [log[0]!])).toThrow(RangeError);
    expect(() => new Frontier(hasher, -1)).toThrow(/invalid tree size/);
    expect(() => new Frontier(hasher, 2 ** 53, [log[0]!])).toThrow(/invalid tree size/);
    expect(() => new Frontier(hasher, 1, [Buffer.alloc(31)])).toThrow(RangeError);
    expect(() => f.append(Buffer.alloc(31))).toThrow(RangeError);
  });

  it('hands out its root as a copy', () => {
    const f = new Frontier(hasher);
    f.append(log[0]!);
    f.root().fill(0);
    expect(f.root()).toEqual(log[0]);
    f.append(log[1]!);
    f.root().fill(0);
    expect(f.root()).toEqual(mth(alg, log.slice(0, 2)));
  });

  it('refuses to grow past 2^53-1 leaves', () => {
    const full = new Frontier(hasher, Number.MAX_SAFE_INTEGER, Array.from({ length: 53 }, () => log[0]!));
    expect(() => full.append(log[1]!)).toThrow(/full/);
    expect(full.size).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('does not share state with the buffers it was given', () => {
    const bytes = Buffer.from(log[0]!);
    const f = Frontier.fromBytes(hasher, 1, bytes);
    bytes.fill(0);
    expect(f.root()).toEqual(log[0]);
  });

  it("feeds the proof builder: appended nodes plus leaves are all the storage proofs need", async () => {
    // What the sequencer persists (leaf hashes + returned nodes) must suffice for any proof.
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 120 }), fc.nat(), fc.nat(), async (size, a, b) => {
        const store = new Map<string, Buffer>();
        const f = new Frontier(hasher);
        for (let i = 0; i < size; i++) {
          store.set(`0:${i}`, log[i]!);
          for (const n of f.append(log[i]!)) store.set(`${n.level}:${n.index}`, n.hash);
        }
        const reader: NodeReader = {
          getNodes: async (refs) =>
            refs.map((r) => {
              const h = store.get(`${r.level}:${r.index}`);
              if (!h) throw new Error(`missing node ${r.level}:${r.index}`);
              return h;
            }),
        };
        const root = await rootAt(reader, hasher, size);
        expect(root).toEqual(f.root());
        const index = a % size;
        const incl = await inclusionProof(reader, hasher, index, size);
        expect(verifyInclusion(alg, index, size, log[index]!, incl, root)).toBe(true);
        const from = 1 + (b % size);
        const cons = await consistencyProof(reader, hasher, from, size);
        expect(verifyConsistency(alg, from, size, await rootAt(reader, hasher, from), root, cons)).toBe(true);
      }),
      { numRuns: 60 },
    );
  });
});
