import { describe, expect, it } from 'vitest';
import { packHashes } from '../../src/provenance/packed-hashes.js';
import { sha } from './support.js';

describe('packed hashes', () => {
  it('packs 32-byte hashes end to end, in order', () => {
    const hashes = [sha('a'), sha('b'), sha('c')];
    const packed = packHashes(hashes);
    expect(packed).toHaveLength(96);
    expect([0, 1, 2].map((i) => packed.subarray(i * 32, i * 32 + 32).toString('hex'))).toEqual(hashes);
    expect(packHashes([])).toHaveLength(0);
  });

  it('refuses a hash that is not 64 hex digits rather than shift the ones after it', () => {
    for (const bad of [sha('a').slice(1), `${sha('a').slice(0, 63)}g`, `${sha('a')}00`]) {
      expect(() => packHashes([bad, sha('b')])).toThrow(expect.objectContaining({ code: 'INTERNAL' }));
    }
  });
});
