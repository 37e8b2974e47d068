import { describe, expect, it } from 'vitest';
import { isHashAlg, treeHasher } from '../../src/ledger/merkle/index.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('treeHasher', () => {
  it('sha256 matches RFC 6962 known answers', () => {
    const h = treeHasher('sha256');
    expect(h.alg).toBe('sha256');
    expect(hex(h.emptyRoot())).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(hex(h.leafHash(new Uint8Array(0)))).toBe('6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d');
    // Root of the two-leaf CT test tree ["", 0x00].
    const root2 = h.nodeHash(h.leafHash(new Uint8Array(0)), h.leafHash(Uint8Array.of(0)));
    expect(hex(root2)).toBe('fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125');
  });

  it('blake3 uses the same domain separation', () => {
    const h = treeHasher('blake3');
    expect(h.alg).toBe('blake3');
    expect(hex(h.emptyRoot())).toBe('af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262');
    expect(h.leafHash(Uint8Array.of(1, 2))).not.toEqual(h.nodeHash(Uint8Array.of(1), Uint8Array.of(2)));
    expect(h.leafHash(Uint8Array.of(1)).length).toBe(32);
  });

  it('returns Buffers and caches instances', () => {
    for (const alg of ['sha256', 'blake3'] as const) {
      const h = treeHasher(alg);
      expect(treeHasher(alg)).toBe(h);
      expect(Buffer.isBuffer(h.leafHash(Uint8Array.of(1)))).toBe(true);
      expect(Buffer.isBuffer(h.nodeHash(h.emptyRoot(), h.emptyRoot()))).toBe(true);
      // The cached empty root cannot be corrupted through a returned copy.
      h.emptyRoot().fill(0);
      expect(h.emptyRoot()).not.toEqual(Buffer.alloc(32));
    }
  });

  it('recognises algorithm names', () => {
    expect(isHashAlg('sha256')).toBe(true);
    expect(isHashAlg('blake3')).toBe(true);
    expect(isHashAlg('SHA256')).toBe(false);
    expect(isHashAlg('md5')).toBe(false);
    expect(() => treeHasher('md5' as any)).toThrow(RangeError);
  });
});
