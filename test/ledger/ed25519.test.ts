import * as ed from '@noble/ed25519';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ED25519_SIGNING, ed25519FromSeed, ed25519Verify, type Ed25519Library } from '../../src/ledger/events/ed25519.js';

const seed = Buffer.alloc(32, 7);
const key = ed25519FromSeed(seed);
const message = Buffer.from('{"type":"chainproof.vote/v1"}');
const LIBRARIES: Ed25519Library[] = ['libsodium', 'openssl'];

describe('ed25519', () => {
  it.runIf(process.platform === 'linux' && process.arch === 'x64')('signs with libsodium on linux-x64, where sodium-native is prebuilt', () => {
    expect(ED25519_SIGNING).toBe('libsodium');
  });

  it.each(LIBRARIES)('signs with %s exactly as @noble/ed25519 does, and verifies', async (library) => {
    const key = ed25519FromSeed(seed, library);
    expect(key.publicKey).toEqual(Buffer.from(await ed.getPublicKeyAsync(seed)));
    const signature = key.sign(message);
    expect(signature).toEqual(Buffer.from(await ed.signAsync(message, seed)));
    expect(ed25519Verify(key.publicKey, message, signature)).toBe(true);
    // Twice: the second time from the key cache.
    expect(ed25519Verify(key.publicKey, message, signature)).toBe(true);
  });

  it('gives the same key and signature bytes on either library, for any seed and message', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ maxLength: 2048 }), (seed, message) => {
        const [sodium, openssl] = LIBRARIES.map((library) => ed25519FromSeed(seed, library));
        expect(sodium!.publicKey).toEqual(openssl!.publicKey);
        expect(sodium!.sign(message)).toEqual(openssl!.sign(message));
      }),
      { numRuns: 300 },
    );
  });

  it('derives as many keys as a tool needs and keeps them all (guarded memory ran out of mappings at ≈ 65,000)', () => {
    const keys = Array.from({ length: 70_000 }, (_, i) => ed25519FromSeed(Buffer.alloc(32, i % 251).fill(i >>> 8, 0, 4), 'libsodium'));
    const last = Buffer.alloc(32, 69_999 % 251).fill(69_999 >>> 8, 0, 4);
    expect(keys.at(-1)!.sign(message)).toEqual(ed25519FromSeed(last, 'openssl').sign(message));
  });

  it('refuses a seed that is not 32 bytes on either library', () => {
    for (const library of LIBRARIES) expect(() => ed25519FromSeed(Buffer.alloc(31), library)).toThrow(RangeError);
  });

  it('refuses a wrong message, signature or key, and never throws on attacker bytes', () => {
    const signature = key.sign(message);
    expect(ed25519Verify(key.publicKey, Buffer.from('{}'), signature)).toBe(false);
    const flipped = Buffer.from(signature);
    flipped[5]! ^= 1;
    expect(ed25519Verify(key.publicKey, message, flipped)).toBe(false);
    expect(ed25519Verify(ed25519FromSeed(Buffer.alloc(32, 8)).publicKey, message, signature)).toBe(false);
    // Not a curve point, wrong lengths.
    expect(ed25519Verify(Buffer.alloc(32, 0xff), message, signature)).toBe(false);
    expect(ed25519Verify(key.publicKey.subarray(1), message, signature)).toBe(false);
    expect(ed25519Verify(key.publicKey, message, signature.subarray(1))).toBe(false);
  });
});
