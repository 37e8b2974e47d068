import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rootFromRange, treeHasher, verifyConsistency, verifyInclusion } from '../../src/ledger/merkle/index.js';
import { openTestLedger, type TestLedger } from '../support/ledger.js';

let t: TestLedger;
const SIZE = 300;
const hex = (h: string) => Buffer.from(h, 'hex');
const flip = (hs: string[], i: number) => hs.map((h, k) => (k === i ? (h[0] === '0' ? '1' : '0') + h.slice(1) : h));

beforeAll(async () => {
  t = await openTestLedger({}, { produceBlocks: false });
  await t.service.createLedger('prop', {});
  // Uneven batches, so the stored tree is built across many group commits.
  let n = 0;
  for (const k of [1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 69]) {
    await t.service.append('prop', Array.from({ length: k }, (_, i) => ({ type: 'p', actor: `a${n + i}` })));
    n += k;
  }
  expect(n).toBe(SIZE);
});
afterAll(async () => t?.close());

describe('proofs served from the stored tree (random trees)', () => {
  it('every inclusion proof verifies; a tampered one does not', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: SIZE }).chain((size) => fc.tuple(fc.constant(size), fc.nat(size - 1))), async ([size, index]) => {
        const p = await t.service.inclusionProof('prop', { index }, size);
        const ok = (hashes: string[], idx = index, root = p.rootHash) =>
          verifyInclusion('sha256', idx, size, hex(p.leafHash), hashes.map(hex), hex(root));
        expect(ok(p.hashes)).toBe(true);
        if (p.hashes.length > 0) {
          expect(ok(flip(p.hashes, p.hashes.length - 1))).toBe(false);
          expect(ok(p.hashes.slice(1))).toBe(false);
        }
        expect(ok([...p.hashes, p.leafHash])).toBe(false);
        if (size > 1) expect(ok(p.hashes, (index + 1) % size)).toBe(false);
      }),
      { numRuns: 150 },
    );
  });

  it('every consistency proof verifies; a tampered one does not', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: SIZE }).chain((to) => fc.tuple(fc.integer({ min: 1, max: to }), fc.constant(to))), async ([from, to]) => {
        const p = await t.service.consistencyProof('prop', from, to);
        const ok = (hashes: string[]) => verifyConsistency('sha256', from, to, hex(p.fromRoot), hex(p.toRoot), hashes.map(hex));
        expect(ok(p.hashes)).toBe(true);
        if (p.hashes.length > 0) {
          expect(ok(flip(p.hashes, 0))).toBe(false);
          expect(ok(p.hashes.slice(0, -1))).toBe(false);
        }
      }),
      { numRuns: 150 },
    );
  });

  it('every range proof rebuilds the root; a wrong leaf, offset or proof does not', async () => {
    const hasher = treeHasher('sha256');
    const range = fc.integer({ min: 1, max: SIZE }).chain((size) =>
      fc.integer({ min: 0, max: size - 1 }).chain((start) => fc.tuple(fc.constant(size), fc.constant(start), fc.integer({ min: start + 1, max: Math.min(size, start + 64) }))),
    );
    await fc.assert(
      fc.asyncProperty(range, async ([size, start, end]) => {
        const r = await t.service.leafRange('prop', start, end, size);
        const root = hex((await t.service.consistencyProof('prop', size, size)).toRoot);
        const leaves = r.leaves.map((l) => hasher.leafHash(l.canonical));
        expect(rootFromRange(hasher, start, leaves, size, r.proof)).toEqual(root);
        const other = [...leaves];
        other[other.length - 1] = hasher.leafHash(Buffer.from('forged'));
        expect(rootFromRange(hasher, start, other, size, r.proof)).not.toEqual(root);
        if (start > 0) expect(rootFromRange(hasher, start - 1, leaves, size, r.proof)).not.toEqual(root);
        if (r.proof.length > 0) expect(rootFromRange(hasher, start, leaves, size, r.proof.slice(1))).not.toEqual(root);
      }),
      { numRuns: 150 },
    );
  });
});
