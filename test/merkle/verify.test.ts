import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { verifyConsistency, verifyInclusion } from '../../src/ledger/merkle/index.js';
import { ALGS, consistency, makeLeaves, mth, nodeHash, path } from './reference.js';

const MAX = 300;
const RUNS = 200;

const flipBit = (proof: Uint8Array[], i: number, bit: number): Uint8Array[] =>
  proof.map((h, j) => {
    if (j !== i) return h;
    const c = Uint8Array.from(h);
    c[bit >> 3]! ^= 1 << (bit & 7);
    return c;
  });

const positions = fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }));

describe.each(ALGS)('tampered proofs are rejected (%s)', (alg) => {
  const log = makeLeaves(alg, MAX, 2);
  const roots = Array.from({ length: MAX + 1 }, (_, n) => mth(alg, log.slice(0, n)));
  const incl = fc
    .integer({ min: 1, max: MAX })
    .chain((size) => fc.tuple(fc.constant(size), fc.integer({ min: 0, max: size - 1 })));
  const cons = fc
    .tuple(fc.integer({ min: 1, max: MAX }), fc.integer({ min: 1, max: MAX }))
    .filter(([a, b]) => a !== b)
    .map(([a, b]): [number, number] => (a < b ? [a, b] : [b, a]));
  const extra = fc.uint8Array({ minLength: 32, maxLength: 32 });

  it('inclusion: bit flip, dropped or added hash', () => {
    fc.assert(
      fc.property(incl, positions, extra, ([size, index], [pos, bit], junk) => {
        const proof = path(alg, index, log.slice(0, size));
        const root = roots[size]!;
        const ok = (p: Uint8Array[]) => verifyInclusion(alg, index, size, log[index]!, p, root);
        expect(ok(proof)).toBe(true);
        if (proof.length > 0) {
          const i = pos % proof.length;
          expect(ok(flipBit(proof, i, bit))).toBe(false);
          expect(ok(proof.filter((_, j) => j !== i))).toBe(false);
        }
        const at = pos % (proof.length + 1);
        expect(ok([...proof.slice(0, at), junk, ...proof.slice(at)])).toBe(false);
        expect(ok([...proof.slice(0, at), log[index]!, ...proof.slice(at)])).toBe(false);
        expect(verifyInclusion(alg, index, size, flipBit([log[index]!], 0, bit)[0]!, proof, root)).toBe(false);
        expect(verifyInclusion(alg, index, size, log[index]!, proof, flipBit([root], 0, bit)[0]!)).toBe(false);
      }),
      { numRuns: RUNS },
    );
  });

  it('inclusion: wrong index or wrong size', () => {
    fc.assert(
      fc.property(incl, fc.nat(), fc.integer({ min: 1, max: MAX }), ([size, index], other, otherSize) => {
        const proof = path(alg, index, log.slice(0, size));
        const wrong = (index + 1 + (other % size)) % size;
        if (wrong !== index) expect(verifyInclusion(alg, wrong, size, log[index]!, proof, roots[size]!)).toBe(false);
        expect(verifyInclusion(alg, size + (other % 3), size, log[index]!, proof, roots[size]!)).toBe(false);
        if (otherSize !== size) {
          // Honest about the other tree's root, lying about which proof belongs to it.
          expect(verifyInclusion(alg, index, otherSize, log[index]!, proof, roots[otherSize]!)).toBe(false);
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('an inclusion proof alone does not pin the tree size (the signed checkpoint does)', () => {
    // Known RFC 9162 property: for leaf 0 the size-4 and size-3 paths have the same shape.
    const proof = path(alg, 0, log.slice(0, 4));
    expect(verifyInclusion(alg, 0, 3, log[0]!, proof, roots[4]!)).toBe(true);
    expect(verifyInclusion(alg, 0, 3, log[0]!, proof, roots[3]!)).toBe(false);
  });

  it('consistency: bit flip, dropped, added hash, swapped roots', () => {
    fc.assert(
      fc.property(cons, positions, extra, ([from, to], [pos, bit], junk) => {
        const proof = consistency(alg, from, log.slice(0, to));
        const ok = (p: Uint8Array[], r1: Uint8Array = roots[from]!, r2: Uint8Array = roots[to]!) => verifyConsistency(alg, from, to, r1, r2, p);
        expect(ok(proof)).toBe(true);
        const i = pos % proof.length;
        expect(ok(flipBit(proof, i, bit))).toBe(false);
        expect(ok(proof.filter((_, j) => j !== i))).toBe(false);
        const at = pos % (proof.length + 1);
        expect(ok([...proof.slice(0, at), junk, ...proof.slice(at)])).toBe(false);
        expect(ok([...proof.slice(0, at), roots[from]!, ...proof.slice(at)])).toBe(false);
        expect(ok(proof, roots[to], roots[from])).toBe(false);
        expect(ok(proof, flipBit([roots[from]!], 0, bit)[0])).toBe(false);
        expect(ok(proof, undefined, flipBit([roots[to]!], 0, bit)[0])).toBe(false);
      }),
      { numRuns: RUNS },
    );
  });

  it('consistency: wrong sizes', () => {
    fc.assert(
      fc.property(cons, fc.integer({ min: 1, max: MAX }), ([from, to], other) => {
        const proof = consistency(alg, from, log.slice(0, to));
        const sameProof = (a: number, b: number) =>
          a < b && Buffer.concat(consistency(alg, a, log.slice(0, b))).equals(Buffer.concat(proof));
        if (other !== from && !sameProof(other, to)) {
          expect(verifyConsistency(alg, other, to, roots[other]!, roots[to]!, proof)).toBe(false);
        }
        if (other !== to && !sameProof(from, other)) {
          expect(verifyConsistency(alg, from, other, roots[from]!, roots[other]!, proof)).toBe(false);
        }
        expect(verifyConsistency(alg, to, from, roots[to]!, roots[from]!, proof)).toBe(false);
      }),
      { numRuns: RUNS },
    );
  });

  it('equal sizes need an empty proof and equal roots', () => {
    const r = roots[5]!;
    expect(verifyConsistency(alg, 5, 5, r, r, [])).toBe(true);
    expect(verifyConsistency(alg, 5, 5, r, roots[4]!, [])).toBe(false);
    expect(verifyConsistency(alg, 5, 5, r, r, [r])).toBe(false);
  });

  it('equal sizes compare whole roots: a prefix of the root is not the root', () => {
    const r = roots[5]!;
    expect(verifyConsistency(alg, 5, 5, r.subarray(0, 16), r, [])).toBe(false);
    expect(verifyConsistency(alg, 5, 5, r, r.subarray(0, 16), [])).toBe(false);
    expect(verifyConsistency(alg, 5, 5, new Uint8Array(), r, [])).toBe(false);
  });

  it('from size 0, roots longer than a hash are refused', () => {
    const long = Buffer.concat([roots[5]!, Buffer.of(0)]);
    expect(verifyConsistency(alg, 0, 5, roots[0]!, long, [])).toBe(false);
    expect(verifyConsistency(alg, 0, 5, Buffer.concat([roots[0]!, Buffer.of(0)]), roots[5]!, [])).toBe(false);
  });

  it('inclusion: a hash past the root, folding the claimed root one level up, is refused', () => {
    // Leaf 0 of a one-leaf tree is its root; a left sibling added after that makes the
    // two-leaf root, which must not pass as a size-1 tree containing leaf 1 at index 0.
    expect(verifyInclusion(alg, 1, 2, log[1]!, [log[0]!], roots[2]!)).toBe(true);
    expect(verifyInclusion(alg, 0, 1, log[1]!, [log[0]!], roots[2]!)).toBe(false);
    const proof = path(alg, 2, log.slice(0, 3));
    const junk = log[9]!;
    const folded = nodeHash(alg, junk, roots[3]!);
    expect(verifyInclusion(alg, 2, 3, log[2]!, [...proof, junk], folded)).toBe(false);
  });

  it('inclusion: a negative or fractional index is refused, even with a proof that fits another index', () => {
    const proof = path(alg, 0, log.slice(0, 2));
    expect(verifyInclusion(alg, 0, 2, log[0]!, proof, roots[2]!)).toBe(true);
    expect(verifyInclusion(alg, -1, 2, log[0]!, proof, roots[2]!)).toBe(false);
    expect(verifyInclusion(alg, 0.5, 2, log[0]!, proof, roots[2]!)).toBe(false);
    expect(verifyInclusion(alg, 0, 2.5, log[0]!, proof, roots[2]!)).toBe(false);
  });

  it('consistency: a hash past both roots, folding each one level up, is refused', () => {
    for (const [from, to] of [[3, 4], [5, 8], [6, 7]] as const) {
      const proof = consistency(alg, from, log.slice(0, to));
      expect(verifyConsistency(alg, from, to, roots[from]!, roots[to]!, proof)).toBe(true);
      const junk = log[20]!;
      const up = (r: Uint8Array) => nodeHash(alg, junk, r);
      expect(verifyConsistency(alg, from, to, up(roots[from]!), up(roots[to]!), [...proof, junk]), `${from}->${to}`).toBe(false);
    }
  });

  it('from size 0, an empty proof to any size, between hashes', () => {
    const empty = roots[0]!;
    for (const size of [1, 2, 5, MAX]) expect(verifyConsistency(alg, 0, size, empty, roots[size]!, []), `0->${size}`).toBe(true);
    expect(verifyConsistency(alg, 0, 0, empty, empty, [])).toBe(true);
    expect(verifyConsistency(alg, 0, 0, empty, roots[1]!, [])).toBe(false);
    expect(verifyConsistency(alg, 0, 5, empty, roots[5]!, [roots[5]!])).toBe(false);
    expect(verifyConsistency(alg, 0, 5, empty, roots[5]!.subarray(1), [])).toBe(false);
    expect(verifyConsistency(alg, 0, 5, new Uint8Array(), roots[5]!, [])).toBe(false);
    expect(verifyConsistency(alg, 0, 0, new Uint8Array(12), new Uint8Array(12), [])).toBe(false);
  });
});

describe('verifiers never throw', () => {
  const h = new Uint8Array(32);
  const cases: [string, () => boolean][] = [
    ['unknown alg', () => verifyInclusion('md5' as any, 0, 1, h, [], h)],
    ['proof not an array', () => verifyInclusion('sha256', 0, 2, h, null as any, h)],
    ['proof holds a non-hash', () => verifyInclusion('sha256', 0, 2, h, [undefined as any], h)],
    ['short proof hash', () => verifyInclusion('sha256', 0, 2, h, [new Uint8Array(31)], h)],
    ['long proof hash', () => verifyInclusion('sha256', 0, 2, h, [new Uint8Array(33)], h)],
    ['missing root', () => verifyInclusion('sha256', 0, 1, h, [], undefined as any)],
    ['string leaf', () => verifyInclusion('sha256', 0, 1, 'x' as any, [], h)],
    ['NaN size', () => verifyInclusion('sha256', 0, NaN, h, [], h)],
    ['bigint size', () => verifyInclusion('sha256', 0, 1n as any, h, [], h)],
    ['unsafe index', () => verifyInclusion('sha256', 2 ** 64, 2 ** 64 + 1, h, [], h)],
    ['negative size', () => verifyConsistency('sha256', -1, 2, h, h, [h])],
    ['consistency unknown alg', () => verifyConsistency('sha1' as any, 1, 2, h, h, [h])],
    ['consistency proof not an array', () => verifyConsistency('blake3', 1, 2, h, h, {} as any)],
    ['consistency short hash', () => verifyConsistency('blake3', 1, 2, h, h, [new Uint8Array(8)])],
    ['consistency missing root', () => verifyConsistency('blake3', 1, 2, null as any, h, [h])],
    ['equal sizes, missing roots', () => verifyConsistency('blake3', 3, 3, null as any, null as any, [])],
  ];
  it.each(cases)('%s', (_, f) => {
    expect(f).not.toThrow();
    expect(f()).toBe(false);
  });
});

describe('verify.ts stays portable', () => {
  it('uses neither node: modules nor Buffer', () => {
    for (const file of ['verify.ts', 'bits.ts']) {
      const src = readFileSync(new URL(`../../src/ledger/merkle/${file}`, import.meta.url), 'utf8');
      expect(src, file).not.toMatch(/from ['"]node:|require\(|\bBuffer\b/);
      // Value imports of the Node-only hasher would drag node:crypto into a bundle.
      expect(src, file).not.toMatch(/^import (?!type)[^;]*'\.\/hasher\.js'/m);
    }
  });
});
