import { randomBytes } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';

// Counts the base58 decodes: decoding costs time quadratic in the text's length.
const decoded = vi.hoisted(() => ({ lengths: [] as number[] }));
vi.mock('@scure/base', async (importOriginal) => {
  const real = await importOriginal<typeof import('@scure/base')>();
  return {
    ...real,
    base58: {
      ...real.base58,
      decode: (s: string) => {
        decoded.lengths.push(s.length);
        return real.base58.decode(s);
      },
    },
  };
});

const { didKeyFromPublicKey, publicKeyFromDidKey } = await import('../../src/ledger/events/did-key.js');

describe('a did:key far longer than any Ed25519 one', () => {
  it('is refused before its base58 is decoded (it is attacker-controlled: a signed request\'s header)', () => {
    const genuine = didKeyFromPublicKey(randomBytes(32));
    expect(publicKeyFromDidKey(genuine)).toHaveLength(32);
    decoded.lengths.length = 0;
    // ≈ 4,000 base58 characters cost ≈ 10 ms to decode; the header may carry them on every request.
    expect(() => publicKeyFromDidKey(`did:key:z${'z'.repeat(4000)}`, 'did')).toThrow(/did DID does not carry an Ed25519 key/);
    expect(() => publicKeyFromDidKey(`${genuine}${'1'.repeat(40)}`)).toThrow(/does not carry an Ed25519 key/);
    expect(decoded.lengths).toEqual([]);
  });
});
